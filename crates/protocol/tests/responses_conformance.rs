//! Conformance of the Responses dialect (a client dialect only), the same
//! four paths as `conformance.rs` runs for the others, goldens under
//! `golden/responses/`:
//!
//! - request: a Responses client body (the suite's story: greeting, two
//!   photos, an assistant turn with two parallel calls, their results; plus
//!   a namespaced tool, a custom tool and built-in tools) -> canonical
//!   (`canonical-request.json`) -> every provider's body
//!   (`request-to-{provider}[-stream].json`);
//! - response: each provider's answer -> canonical -> a `response` object
//!   (`{provider}-to-responses.json`);
//! - stream: the stream script through each provider's encoder and decoder
//!   (every chunking) -> the Responses event stream
//!   (`{provider}-to-responses.txt`), with the lifecycle checked;
//! - error: each provider's error bodies -> OpenAI's error shape
//!   (`error-{provider}-to-responses.json`).
//!
//! `UPDATE_GOLDEN=1` rewrites them; `golden/REVIEW.md` records the review.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
mod support;

use serde_json::{Value, json};
use switchyard_protocol::canonical::{ImageSource, Part, Role, StreamEvent, ToolChoice};
use switchyard_protocol::dialect::StreamEncode;
use switchyard_protocol::openai;
use switchyard_protocol::responses::{self, Echo};

use support::fixtures::*;
use support::*;

const RESP_ID: &str = "resp_gw0000000000000001";
const CREATED: u64 = 1_735_689_700;

fn client_request(stream: bool) -> String {
    let stream = if stream { r#""stream": true,"# } else { "" };
    format!(
        r#"{{
  "model": "gpt-4.1",
  {stream}
  "instructions": "You are Switchyard's travel assistant. Answer in one short paragraph.",
  "input": [
    {{"role": "user", "content": "Hi! I have two photos for you."}},
    {{"type": "message", "role": "assistant", "id": "msg_prev1", "status": "completed",
      "content": [{{"type": "output_text", "text": "Great, send them over.", "annotations": []}}]}},
    {{"role": "developer", "content": [{{"type": "input_text", "text": "Photos may be large."}}]}},
    {{"role": "user", "content": [
      {{"type": "input_text", "text": "Where were these taken? And what is the weather in Paris and the time in Tokyo right now?"}},
      {{"type": "input_image", "image_url": "{IMAGE_URL}", "detail": "high"}},
      {{"type": "input_image", "image_url": "data:image/png;base64,{PNG_1X1}"}}
    ]}},
    {{"type": "reasoning", "id": "rs_prev1", "summary": [{{"type": "summary_text", "text": "Two tools."}}], "encrypted_content": "gAAAAB..."}},
    {{"type": "message", "role": "assistant", "content": [{{"type": "output_text", "text": "Both photos show Paris. Let me check the weather and the time."}}]}},
    {{"type": "function_call", "id": "fc_prev1", "call_id": "call_Wx7pQ2", "name": "get_weather", "arguments": "{{\"city\": \"Paris\", \"unit\": \"celsius\"}}"}},
    {{"type": "function_call", "id": "fc_prev2", "call_id": "call_Tm4kR9", "namespace": "clock", "name": "get_time", "arguments": "{{\"timezone\":\"Asia/Tokyo\"}}"}},
    {{"type": "function_call_output", "call_id": "call_Wx7pQ2", "output": "18°C, light rain"}},
    {{"type": "function_call_output", "call_id": "call_Tm4kR9", "output": [{{"type": "input_text", "text": "{{\"time\":\"21:04\",\"timezone\":\"Asia/Tokyo\"}}"}}]}}
  ],
  "tools": [
    {{"type": "function", "name": "get_weather", "description": "Current weather for a city.", "strict": true,
      "parameters": {{
        "type": "object",
        "properties": {{
          "city": {{"type": "string", "description": "City name, e.g. Paris"}},
          "unit": {{"type": "string", "enum": ["celsius", "fahrenheit"]}}
        }},
        "required": ["city", "unit"],
        "additionalProperties": false
      }}}},
    {{"type": "namespace", "name": "clock", "description": "Time tools",
      "tools": [{{"type": "function", "name": "get_time", "description": "Current local time in an IANA time zone.",
        "parameters": {{"type": "object", "properties": {{"timezone": {{"type": "string", "description": "IANA zone, e.g. Asia/Tokyo"}}}}, "required": ["timezone"]}}}}]}},
    {{"type": "custom", "name": "apply_patch", "description": "Apply a patch to the itinerary."}},
    {{"type": "web_search"}},
    {{"type": "file_search", "vector_store_ids": ["vs_1"]}}
  ],
  "tool_choice": {{"type": "function", "name": "get_weather"}},
  "parallel_tool_calls": true,
  "temperature": 0.7,
  "top_p": 0.9,
  "max_output_tokens": 4096,
  "user": "user-1234",
  "reasoning": {{"effort": "low", "summary": "auto"}},
  "store": false,
  "include": ["reasoning.encrypted_content"],
  "prompt_cache_key": "trip-42",
  "metadata": {{"trip": "paris"}},
  "text": {{"format": {{"type": "json_schema", "name": "trip_report", "strict": true,
    "schema": {{
      "type": "object",
      "properties": {{"city": {{"type": "string"}}, "summary": {{"type": "string"}}}},
      "required": ["city", "summary"],
      "additionalProperties": false
    }}}}}}
}}"#
    )
}

fn echo() -> Echo {
    let d = responses::decode_request(client_request(false).as_bytes()).unwrap();
    Echo {
        id: RESP_ID.into(),
        created_at: CREATED,
        ..d.echo
    }
}

#[test]
fn canonical_request() {
    let d = responses::decode_request(client_request(false).as_bytes()).unwrap();
    let r = &d.request;
    // What the mapping table promises.
    assert_eq!(d.dropped_tools, ["web_search", "file_search"]);
    assert!(d.has_instructions);
    assert_eq!(r.system.len(), 2);
    assert_eq!(
        r.messages.iter().map(|m| m.role).collect::<Vec<_>>(),
        [
            Role::User,
            Role::Assistant,
            Role::User,
            Role::Assistant,
            Role::Tool
        ]
    );
    let calls: Vec<_> = r.messages[3]
        .content
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("call_Wx7pQ2", "get_weather"),
            ("call_Tm4kR9", "clock__get_time")
        ]
    );
    assert_eq!(
        r.messages[4].content.len(),
        2,
        "both results in one tool turn"
    );
    assert_eq!(r.tool_choice, Some(ToolChoice::Tool("get_weather".into())));
    assert_eq!(
        r.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["get_weather", "clock__get_time", "apply_patch"]
    );
    assert_eq!(r.max_tokens, Some(4096));
    assert_eq!(r.user.as_deref(), Some("user-1234"));
    let again = responses::decode_request(client_request(true).as_bytes()).unwrap();
    assert!(again.request.stream);
    assert_golden(
        "responses/canonical-request.json",
        &pretty_json(&serde_json::to_vec(r).unwrap()),
    );
}

#[test]
fn requests_to_every_provider() {
    for stream in [false, true] {
        let d = responses::decode_request(client_request(stream).as_bytes()).unwrap();
        for provider in PROVIDERS {
            let mut req = d.request.clone();
            req.model = provider_model(provider).into();
            if provider == Bedrock {
                // Bedrock takes inline images only (a clear error otherwise,
                // covered by conformance.rs): the URL image left out.
                for m in &mut req.messages {
                    m.content.retain(|p| {
                        !matches!(
                            p,
                            Part::Image {
                                source: ImageSource::Url { .. }
                            }
                        )
                    });
                }
            }
            let body = encode_provider_request(provider, &req)
                .unwrap_or_else(|e| panic!("{}: {e}", provider.name()));
            // What went upstream reads back with the calls and results.
            let back =
                decode_provider_request(provider, &body, provider_model(provider), stream).unwrap();
            let names: Vec<_> = back
                .messages
                .iter()
                .flat_map(|m| &m.content)
                .filter_map(|p| match p {
                    Part::ToolCall { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(
                names,
                ["get_weather", "clock__get_time"],
                "{}",
                provider.name()
            );
            let suffix = if stream { "-stream" } else { "" };
            assert_golden(
                &format!("responses/request-to-{}{suffix}.json", provider.name()),
                &pretty_json(&body),
            );
        }
    }
}

#[test]
fn responses_from_every_provider() {
    for provider in PROVIDERS {
        let r = decode_provider_response(provider, provider_response(provider).as_bytes()).unwrap();
        let body = responses::encode_response(&r, &echo());
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["id"], RESP_ID);
        assert_eq!(v["object"], "response");
        assert_eq!(v["store"], false);
        assert_eq!(v["metadata"], json!({"trip": "paris"}));
        assert_eq!(v["usage"]["input_tokens"], r.usage.input_tokens);
        assert_eq!(v["usage"]["output_tokens"], r.usage.output_tokens);
        let back = responses::decode_response(&body).unwrap();
        assert_eq!(back.usage, r.usage, "{}", provider.name());
        let calls = |c: &[Part]| -> Vec<String> {
            c.iter()
                .filter_map(|p| match p {
                    Part::ToolCall { arguments, .. } => Some(arguments.clone()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(
            calls(&back.content),
            calls(&r.content),
            "{}",
            provider.name()
        );
        assert_golden(
            &format!("responses/{}-to-responses.json", provider.name()),
            &pretty_json(&body),
        );
    }
}

/// (event line, data) of every event.
fn events_of(bytes: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let ev = lines.next().unwrap().strip_prefix("event: ").unwrap();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            (ev.to_string(), serde_json::from_str(data).unwrap())
        })
        .collect()
}

#[test]
fn streams_from_every_provider() {
    for provider in PROVIDERS {
        let upstream = encode_stream(provider, &stream_script());
        let events = decode_stream_all_chunkings(provider, &upstream);
        let mut enc = responses::StreamEncoder::new(echo());
        let mut out = vec![];
        for e in &events {
            enc.encode(e, &mut out);
        }
        enc.finish(&mut out);
        let evs = events_of(&out);
        // Lifecycle: sequence numbers, items opened before use, closed once.
        let mut open = std::collections::BTreeMap::new();
        for (i, (name, d)) in evs.iter().enumerate() {
            assert_eq!(d["sequence_number"], i as u64, "{}", provider.name());
            assert_eq!(d["type"], name.as_str());
            if let Some(idx) = d.get("output_index").and_then(Value::as_u64) {
                match name.as_str() {
                    "response.output_item.added" => assert!(open.insert(idx, true).is_none()),
                    "response.output_item.done" => assert_eq!(open.remove(&idx), Some(true)),
                    _ => assert!(open.contains_key(&idx), "{name} before its item"),
                }
            }
        }
        assert!(open.is_empty());
        let last = &evs.last().unwrap().1;
        assert_eq!(last["type"], "response.completed", "{}", provider.name());
        let calls: Vec<&Value> = last["response"]["output"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "function_call")
            .collect();
        assert_eq!(calls.len(), 2, "{}", provider.name());
        // Read back by the Responses decoder: the same answer.
        let back = collect(&decode_stream_responses(&out));
        let sent = collect(&events);
        assert_eq!(back.stop_reason, sent.stop_reason);
        assert_eq!(
            back.usage.output_tokens,
            sent.usage.output_tokens,
            "{}",
            provider.name()
        );
        assert_golden(
            &format!("responses/{}-to-responses.txt", provider.name()),
            &String::from_utf8(out).unwrap(),
        );
    }
}

fn decode_stream_responses(bytes: &[u8]) -> Vec<StreamEvent> {
    use switchyard_protocol::dialect::StreamDecode;
    let mut d = responses::StreamDecoder::new();
    let mut out = vec![];
    d.push(bytes, &mut out).unwrap();
    d.finish(&mut out).unwrap();
    out
}

#[test]
fn errors_from_every_provider() {
    for provider in PROVIDERS {
        let mut all = vec![];
        for (status, body) in provider_errors(provider) {
            let err = decode_error(provider, status, body.as_bytes());
            let out = openai::encode_error(status, &err);
            let v: Value = serde_json::from_slice(&out).unwrap();
            assert!(v["error"]["message"].as_str().is_some());
            all.push(json!({"status": status, "body": v}));
        }
        assert_golden(
            &format!("responses/error-{}-to-responses.json", provider.name()),
            &pretty_json(&serde_json::to_vec(&all).unwrap()),
        );
    }
}

/// Every file under `golden/responses/` is one this suite writes.
#[test]
fn golden_files_match_the_cases() {
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        return;
    }
    let mut want = vec!["canonical-request.json".to_string()];
    for p in PROVIDERS {
        let n = p.name();
        want.push(format!("request-to-{n}.json"));
        want.push(format!("request-to-{n}-stream.json"));
        want.push(format!("{n}-to-responses.json"));
        want.push(format!("{n}-to-responses.txt"));
        want.push(format!("error-{n}-to-responses.json"));
    }
    want.sort();
    let mut have: Vec<String> = std::fs::read_dir(golden_root().join("responses"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".new"))
        .collect();
    have.sort();
    assert_eq!(have, want);
}
