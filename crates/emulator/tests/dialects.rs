//! The native dialects (Anthropic Messages, Gemini, Bedrock Converse) over
//! real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use switchyard_emulator::MockConfig;

async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    call(addr, Method::POST, path, headers, body).await
}

/// Reads a body until it ends or fails; returns the bytes and whether it failed.
async fn read_partial(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (StatusCode, Vec<u8>, bool) {
    let resp = client()
        .request(request(addr, Method::POST, path, headers, body))
        .await
        .unwrap();
    let status = resp.status();
    let mut body = resp.into_body();
    let mut got = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(d) = f.into_data() {
                    got.extend_from_slice(&d);
                }
            }
            Err(_) => return (status, got, true),
        }
    }
    (status, got, false)
}

const EXPECTED_ECHO: &str =
    "Hello from the Switchyard emulator. You said: Tell me a joke about gateways please";

// ---------------------------------------------------------------------------
// Anthropic
// ---------------------------------------------------------------------------

const MESSAGES: &str = "/v1/messages";

fn anthropic_headers(key: &str) -> Vec<(&str, &str)> {
    vec![
        ("x-api-key", key),
        ("anthropic-version", "2023-06-01"),
        ("content-type", "application/json"),
    ]
}

fn anthropic_body(stream: bool) -> String {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Tell me a joke about gateways please"}]}
        ],
        "stream": stream,
        "temperature": 0.2
    })
    .to_string()
}

fn weather_tool() -> Value {
    json!({
        "name": "get_weather",
        "description": "Weather for a place",
        "input_schema": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "days": {"type": "integer"},
                "metric": {"type": "boolean"},
                "note": {"type": "string"}
            },
            "required": ["location", "days", "metric"]
        }
    })
}

/// `event: X\ndata: Y\n\n` blocks.
fn parse_anthropic_sse(body: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(body).unwrap();
    text.split_terminator("\n\n")
        .map(|block| {
            let (ev, data) = block.split_once('\n').expect(block);
            let ev = ev.strip_prefix("event: ").expect(block);
            let data = data.strip_prefix("data: ").expect(block);
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["type"], ev, "{block}");
            (ev.to_owned(), v)
        })
        .collect()
}

#[tokio::test]
async fn anthropic_message() {
    let emu = start(MockConfig::default()).await;
    let r = post(
        emu.addr,
        MESSAGES,
        &anthropic_headers("sk-ant-good"),
        &anthropic_body(false),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("content-length"), r.body.len().to_string());
    assert!(r.header("request-id").starts_with("req_"));
    assert_eq!(r.header("request-id"), r.header("x-request-id"));
    let v = r.json();
    let id = v["id"].as_str().unwrap();
    assert!(id.starts_with("msg_") && id.len() > 10, "{id}");
    assert_eq!(v["type"], "message");
    assert_eq!(v["role"], "assistant");
    assert_eq!(v["model"], "claude-sonnet-4-5");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": EXPECTED_ECHO}])
    );
    assert_eq!(v["stop_reason"], "end_turn");
    assert!(v["stop_sequence"].is_null());
    let u = &v["usage"];
    assert_eq!(u["input_tokens"], (14 + 36) / 4 + 4);
    assert_eq!(u["output_tokens"], 14);
    assert_eq!(u["cache_read_input_tokens"], 0);
    assert_eq!(u["cache_creation_input_tokens"], 0);

    // Unique ids; Bearer works too; any prefix before /v1/messages.
    let auth = [
        ("authorization", "Bearer sk-bearer"),
        ("anthropic-version", "2023-06-01"),
    ];
    let r2 = post(
        emu.addr,
        "/anthropic/v1/messages",
        &auth,
        &anthropic_body(false),
    )
    .await;
    assert_eq!(r2.status, StatusCode::OK);
    assert_ne!(r2.json()["id"], v["id"]);

    // max_tokens truncates.
    let body =
        json!({"model": "c", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]});
    let v = post(
        emu.addr,
        MESSAGES,
        &anthropic_headers("k"),
        &body.to_string(),
    )
    .await
    .json();
    assert_eq!(v["content"][0]["text"], "Hello from the");
    assert_eq!(v["stop_reason"], "max_tokens");
    assert_eq!(v["usage"]["output_tokens"], 3);

    let recs = emu.emulator.requests();
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].credential.as_deref(), Some("sk-ant-good"));
    assert_eq!(recs[0].auth_header.as_deref(), Some("x-api-key"));
    assert_eq!(recs[0].model.as_deref(), Some("claude-sonnet-4-5"));
    assert!(!recs[0].stream);
    assert_eq!(recs[1].credential.as_deref(), Some("sk-bearer"));
    assert_eq!(recs[1].auth_header.as_deref(), Some("authorization"));
    assert_eq!(recs[1].path, "/anthropic/v1/messages");
}

#[tokio::test]
async fn anthropic_stream() {
    let emu = start(MockConfig {
        stream_chunks: 5,
        ..MockConfig::default()
    })
    .await;
    let full = post(
        emu.addr,
        MESSAGES,
        &anthropic_headers("k"),
        &anthropic_body(false),
    )
    .await
    .json();
    let r = post(
        emu.addr,
        MESSAGES,
        &anthropic_headers("k"),
        &anthropic_body(true),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "text/event-stream; charset=utf-8");
    assert_eq!(r.header("cache-control"), "no-cache");
    assert!(!r.headers.contains_key("content-length"));
    assert!(
        std::str::from_utf8(&r.body)
            .unwrap()
            .contains("data: {\"type\": \"ping\"}\n\n")
    );
    let events = parse_anthropic_sse(&r.body);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &events[0].1["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(start["model"], "claude-sonnet-4-5");
    assert_eq!(start["content"], json!([]));
    assert_eq!(
        start["usage"]["input_tokens"],
        full["usage"]["input_tokens"]
    );
    assert_eq!(start["usage"]["output_tokens"], 1);
    assert_eq!(
        events[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    let text: String = events[3..8]
        .iter()
        .map(|(_, e)| {
            assert_eq!(e["index"], 0);
            assert_eq!(e["delta"]["type"], "text_delta");
            e["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, EXPECTED_ECHO);
    assert_eq!(events[8].1["index"], 0);
    let delta = &events[9].1;
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert!(delta["delta"]["stop_sequence"].is_null());
    assert_eq!(
        delta["usage"]["output_tokens"],
        full["usage"]["output_tokens"]
    );

    let recs = emu.emulator.requests();
    assert!(!recs[0].stream);
    assert!(recs[1].stream);
}

#[tokio::test]
async fn anthropic_tools() {
    let emu = start(MockConfig {
        stream_chunks: 4,
        ..MockConfig::default()
    })
    .await;
    let h = anthropic_headers("k");
    let ask = |stream: bool, tool: Value| {
        json!({
            "model": "claude-haiku-4-5",
            "max_tokens": 256,
            "tools": [tool, {"name": "other", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "What is the weather in SF?"}],
            "stream": stream
        })
        .to_string()
    };

    let v = post(emu.addr, MESSAGES, &h, &ask(false, weather_tool()))
        .await
        .json();
    assert_eq!(v["stop_reason"], "tool_use");
    let content = v["content"].as_array().unwrap();
    assert_eq!(content.len(), 2);
    assert_eq!(
        content[0],
        json!({"type": "text", "text": "Calling get_weather."})
    );
    let tu = &content[1];
    assert_eq!(tu["type"], "tool_use");
    assert!(tu["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(tu["name"], "get_weather");
    assert_eq!(
        tu["input"],
        json!({"location": "sf", "days": 1, "metric": true})
    );
    assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 2);

    // Streamed: text block, then the tool_use block with input_json_delta fragments.
    let r = post(emu.addr, MESSAGES, &h, &ask(true, weather_tool())).await;
    let events = parse_anthropic_sse(&r.body);
    let starts: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(starts.len(), 2);
    let block = &starts[1]["content_block"];
    assert_eq!(starts[1]["index"], 1);
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["name"], "get_weather");
    assert_eq!(block["input"], json!({}));
    let fragments: Vec<&str> = events
        .iter()
        .filter(|(_, e)| e["delta"]["type"] == "input_json_delta")
        .map(|(_, e)| {
            assert_eq!(e["index"], 1);
            e["delta"]["partial_json"].as_str().unwrap()
        })
        .collect();
    assert!((2..=3).contains(&fragments.len()), "{fragments:?}");
    let input: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(input, json!({"location": "sf", "days": 1, "metric": true}));
    let text: String = events
        .iter()
        .filter(|(_, e)| e["delta"]["type"] == "text_delta")
        .map(|(_, e)| e["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "Calling get_weather.");
    let stops = events
        .iter()
        .filter(|(n, _)| n == "content_block_stop")
        .count();
    assert_eq!(stops, 2);
    let (_, delta) = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(delta["delta"]["stop_reason"], "tool_use");
    assert_eq!(events.last().unwrap().0, "message_stop");

    // A tool without required properties: input {} and, streamed, one empty fragment.
    let no_args = json!({"name": "now", "input_schema": {"type": "object", "properties": {}}});
    let v = post(emu.addr, MESSAGES, &h, &ask(false, no_args.clone()))
        .await
        .json();
    assert_eq!(v["content"][1]["input"], json!({}));
    let r = post(emu.addr, MESSAGES, &h, &ask(true, no_args)).await;
    let fragments: Vec<Value> = parse_anthropic_sse(&r.body)
        .into_iter()
        .filter(|(_, e)| e["delta"]["type"] == "input_json_delta")
        .map(|(_, e)| e["delta"]["partial_json"].clone())
        .collect();
    assert_eq!(fragments, [json!("")]);

    // The round trip: a tool_result answers with its text.
    let follow = json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "tools": [weather_tool()],
        "messages": [
            {"role": "user", "content": "What is the weather in SF?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Calling get_weather."},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"location": "sf"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C and foggy, as usual for the season in SF"}
            ]}
        ]
    });
    let v = post(emu.addr, MESSAGES, &h, &follow.to_string())
        .await
        .json();
    assert_eq!(v["stop_reason"], "end_turn");
    assert_eq!(
        v["content"],
        json!([{"type": "text", "text": "Tool said: 18C and foggy, as usual for the season i"}])
    );
    // Content blocks in the tool_result work too.
    let mut blocks = follow.clone();
    blocks["messages"][2]["content"][0]["content"] = json!([{"type": "text", "text": "sunny"}]);
    let v = post(emu.addr, MESSAGES, &h, &blocks.to_string())
        .await
        .json();
    assert_eq!(v["content"][0]["text"], "Tool said: sunny");
}

#[tokio::test]
async fn anthropic_errors() {
    let emu = start(MockConfig::default()).await;
    let addr = emu.addr;
    let body = anthropic_body(false);
    let check = |r: &Reply, status: u16, ty: &str| {
        assert_eq!(
            r.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("content-type"), "application/json");
        let v = r.json();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], ty);
        assert!(v["error"]["message"].is_string());
        v["error"]["message"].as_str().unwrap().to_owned()
    };

    let r = post(
        addr,
        MESSAGES,
        &anthropic_headers("bad-0123456789wxyz"),
        &body,
    )
    .await;
    let msg = check(&r, 401, "authentication_error");
    assert!(
        msg.contains("bad-…wxyz") && !msg.contains("0123456789"),
        "{msg}"
    );
    assert!(r.headers.contains_key("request-id"));

    let r = post(addr, MESSAGES, &anthropic_headers("limited-1"), &body).await;
    check(&r, 429, "rate_limit_error");
    assert_eq!(r.header("retry-after"), "1");

    let r = post(addr, MESSAGES, &anthropic_headers("down-1"), &body).await;
    check(&r, 529, "overloaded_error");

    // Missing anthropic-version header.
    let r = post(addr, MESSAGES, &[("x-api-key", "k")], &body).await;
    let msg = check(&r, 400, "invalid_request_error");
    assert_eq!(msg, "anthropic-version: header is required");

    let h = anthropic_headers("k");
    let r = post(
        addr,
        MESSAGES,
        &h,
        r#"{"model":"c","messages":[{"role":"user","content":"x"}]}"#,
    )
    .await;
    let msg = check(&r, 400, "invalid_request_error");
    assert!(msg.contains("max_tokens"), "{msg}");
    let r = post(addr, MESSAGES, &h, r#"{"max_tokens":5,"messages":[]}"#).await;
    assert!(check(&r, 400, "invalid_request_error").contains("model"));
    let r = post(addr, MESSAGES, &h, "{nope").await;
    check(&r, 400, "invalid_request_error");
    let r = call(addr, Method::GET, MESSAGES, &h, "").await;
    check(&r, 405, "invalid_request_error");
    assert_eq!(r.header("allow"), "POST");

    // Everything was recorded.
    assert_eq!(emu.emulator.requests().len(), 8);
}

#[tokio::test]
async fn anthropic_cut_stream() {
    let emu = start(MockConfig::default()).await;
    let (status, got, failed) = read_partial(
        emu.addr,
        MESSAGES,
        &anthropic_headers("cut-1"),
        &anthropic_body(true),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(failed, "client must see an incomplete body");
    let names: Vec<String> = parse_anthropic_sse(&got)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta"
        ]
    );

    // Non-streamed: half the announced body.
    let (status, got, failed) = read_partial(
        emu.addr,
        MESSAGES,
        &anthropic_headers("cut-2"),
        &anthropic_body(false),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(failed);
    assert!(serde_json::from_slice::<Value>(&got).is_err());
}

// ---------------------------------------------------------------------------
// Gemini / Vertex
// ---------------------------------------------------------------------------

const GENERATE: &str = "/v1beta/models/gemini-2.0-flash:generateContent";
const STREAM: &str = "/v1beta/models/gemini-2.0-flash:streamGenerateContent";

fn gemini_body() -> String {
    json!({
        "contents": [{"role": "user", "parts": [{"text": "Tell me a joke about gateways please"}]}],
        "systemInstruction": {"parts": [{"text": "You are terse."}]},
        "generationConfig": {"temperature": 0.1}
    })
    .to_string()
}

fn gemini_tools_body(follow_up: bool) -> String {
    let mut contents = vec![json!({"role": "user", "parts": [{"text": "Weather in SF?"}]})];
    if follow_up {
        contents.push(json!({"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"location": "sf"}}}]}));
        contents.push(json!({"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"result": "18C and foggy"}}}]}));
    }
    json!({
        "contents": contents,
        "tools": [{"functionDeclarations": [{
            "name": "get_weather",
            "parameters": {"type": "OBJECT", "properties": {"location": {"type": "STRING"}, "days": {"type": "INTEGER"}}, "required": ["location", "days"]}
        }]}]
    })
    .to_string()
}

fn gemini_text(v: &Value) -> String {
    v["candidates"][0]["content"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect()
}

#[tokio::test]
async fn gemini_generate() {
    let emu = start(MockConfig::default()).await;
    let r = post(
        emu.addr,
        GENERATE,
        &[("x-goog-api-key", "g-key")],
        &gemini_body(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json; charset=UTF-8");
    let v = r.json();
    let cand = &v["candidates"][0];
    assert_eq!(cand["content"]["role"], "model");
    assert_eq!(cand["content"]["parts"], json!([{"text": EXPECTED_ECHO}]));
    assert_eq!(cand["finishReason"], "STOP");
    assert_eq!(cand["index"], 0);
    let u = &v["usageMetadata"];
    let (p, c) = (
        u["promptTokenCount"].as_u64().unwrap(),
        u["candidatesTokenCount"].as_u64().unwrap(),
    );
    assert_eq!(p, (14 + 36) / 4 + 4);
    assert_eq!(c, 14);
    assert_eq!(u["totalTokenCount"].as_u64().unwrap(), p + c);
    assert_eq!(v["modelVersion"], "gemini-2.0-flash");
    let rid = v["responseId"].as_str().unwrap().to_owned();
    assert!(!rid.is_empty());

    // ?key=, Vertex (Bearer) and Vertex express paths; max tokens.
    let r2 = post(
        emu.addr,
        &format!("{GENERATE}?key=q%2Dkey"),
        &[],
        &gemini_body(),
    )
    .await;
    assert_eq!(r2.status, StatusCode::OK);
    assert_ne!(r2.json()["responseId"], rid.as_str());
    let vertex = "/v1/projects/p1/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent";
    let r = post(
        emu.addr,
        vertex,
        &[("authorization", "Bearer ya29.token")],
        &gemini_body(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["modelVersion"], "gemini-2.5-pro");
    let express = "/v1/publishers/google/models/gemini-2.5-flash:generateContent";
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 2}});
    let v = post(
        emu.addr,
        express,
        &[("x-goog-api-key", "e")],
        &body.to_string(),
    )
    .await
    .json();
    assert_eq!(gemini_text(&v), "Hello from");
    assert_eq!(v["candidates"][0]["finishReason"], "MAX_TOKENS");

    let recs = emu.emulator.requests();
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[0].credential.as_deref(), Some("g-key"));
    assert_eq!(recs[0].auth_header.as_deref(), Some("x-goog-api-key"));
    assert_eq!(recs[0].model.as_deref(), Some("gemini-2.0-flash"));
    assert!(!recs[0].stream);
    assert_eq!(recs[1].credential.as_deref(), Some("q-key"));
    assert_eq!(recs[1].auth_header.as_deref(), Some("?key"));
    assert_eq!(recs[1].path, format!("{GENERATE}?key=q%2Dkey"));
    assert_eq!(recs[2].credential.as_deref(), Some("ya29.token"));
    assert_eq!(recs[2].auth_header.as_deref(), Some("authorization"));
    assert_eq!(recs[2].model.as_deref(), Some("gemini-2.5-pro"));
    assert_eq!(recs[3].model.as_deref(), Some("gemini-2.5-flash"));
}

#[tokio::test]
async fn gemini_streams() {
    let emu = start(MockConfig {
        stream_chunks: 4,
        ..MockConfig::default()
    })
    .await;
    let h = [("x-goog-api-key", "g")];
    let full = post(emu.addr, GENERATE, &h, &gemini_body()).await.json();

    // SSE: `data: {...}\r\n\r\n`, no event lines, no [DONE].
    let r = post(emu.addr, &format!("{STREAM}?alt=sse"), &h, &gemini_body()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "text/event-stream");
    let text = std::str::from_utf8(&r.body).unwrap();
    assert!(text.ends_with("\r\n\r\n"));
    let sse: Vec<Value> = text
        .split_terminator("\r\n\r\n")
        .map(|b| serde_json::from_str(b.strip_prefix("data: ").expect(b)).unwrap())
        .collect();

    // Without alt=sse: a JSON array of the same responses.
    let r = post(emu.addr, STREAM, &h, &gemini_body()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/json; charset=UTF-8");
    let array = r.json().as_array().unwrap().clone();

    for chunks in [&sse, &array] {
        assert_eq!(chunks.len(), 4);
        let mut last_count = 0;
        let mut id = None;
        for (i, c) in chunks.iter().enumerate() {
            let u = &c["usageMetadata"];
            assert_eq!(
                u["promptTokenCount"],
                full["usageMetadata"]["promptTokenCount"]
            );
            let n = u["candidatesTokenCount"].as_u64().unwrap();
            assert!(n >= last_count);
            last_count = n;
            assert_eq!(
                u["totalTokenCount"].as_u64().unwrap(),
                u["promptTokenCount"].as_u64().unwrap() + n
            );
            assert_eq!(c["modelVersion"], "gemini-2.0-flash");
            let rid = c["responseId"].as_str().unwrap();
            assert_eq!(*id.get_or_insert(rid.to_owned()), rid);
            let fin = &c["candidates"][0]["finishReason"];
            if i == 3 {
                assert_eq!(fin, "STOP");
            } else {
                assert!(fin.is_null());
            }
        }
        assert_eq!(chunks[3]["usageMetadata"], full["usageMetadata"]);
        let joined: String = chunks.iter().map(gemini_text).collect();
        assert_eq!(joined, EXPECTED_ECHO);
    }

    let recs = emu.emulator.requests();
    assert!(!recs[0].stream);
    assert!(recs[1].stream && recs[2].stream);
}

#[tokio::test]
async fn gemini_tools() {
    let emu = start(MockConfig {
        stream_chunks: 3,
        ..MockConfig::default()
    })
    .await;
    let h = [("x-goog-api-key", "g")];
    let v = post(emu.addr, GENERATE, &h, &gemini_tools_body(false))
        .await
        .json();
    let cand = &v["candidates"][0];
    assert_eq!(cand["finishReason"], "STOP");
    assert_eq!(
        cand["content"]["parts"],
        json!([
            {"text": "Calling get_weather."},
            {"functionCall": {"name": "get_weather", "args": {"location": "sf", "days": 1}}}
        ])
    );

    // Streamed: text chunks, then one chunk with the call and the finish reason.
    let r = post(
        emu.addr,
        &format!("{STREAM}?alt=sse"),
        &h,
        &gemini_tools_body(false),
    )
    .await;
    let chunks: Vec<Value> = std::str::from_utf8(&r.body)
        .unwrap()
        .split_terminator("\r\n\r\n")
        .map(|b| serde_json::from_str(&b[6..]).unwrap())
        .collect();
    let last = chunks.last().unwrap();
    assert_eq!(
        last["candidates"][0]["content"]["parts"],
        json!([{"functionCall": {"name": "get_weather", "args": {"location": "sf", "days": 1}}}])
    );
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"], v["usageMetadata"]);
    let text: String = chunks.iter().map(gemini_text).collect();
    assert_eq!(text, "Calling get_weather.");
    assert!(
        chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c["candidates"][0]["finishReason"].is_null())
    );

    let v = post(emu.addr, GENERATE, &h, &gemini_tools_body(true))
        .await
        .json();
    assert_eq!(gemini_text(&v), "Tool said: 18C and foggy");
    assert_eq!(
        v["candidates"][0]["content"]["parts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn gemini_errors() {
    let emu = start(MockConfig::default()).await;
    let addr = emu.addr;
    let check = |r: &Reply, code: u16, status: &str| {
        assert_eq!(
            r.status.as_u16(),
            code,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("content-type"), "application/json; charset=UTF-8");
        let v = r.json();
        assert_eq!(v["error"]["code"], code);
        assert_eq!(v["error"]["status"], status);
        assert!(v["error"]["message"].is_string());
        v
    };
    let r = post(
        addr,
        GENERATE,
        &[("x-goog-api-key", "bad-0123456789wxyz")],
        &gemini_body(),
    )
    .await;
    let v = check(&r, 401, "UNAUTHENTICATED");
    assert!(!v.to_string().contains("0123456789"));
    let r = post(
        addr,
        &format!("{GENERATE}?key=limited-1"),
        &[],
        &gemini_body(),
    )
    .await;
    let v = check(&r, 429, "RESOURCE_EXHAUSTED");
    assert_eq!(v["error"]["details"][0]["retryDelay"], "1s");
    let r = post(
        addr,
        &format!("{STREAM}?alt=sse"),
        &[("authorization", "Bearer down-1")],
        &gemini_body(),
    )
    .await;
    check(&r, 503, "UNAVAILABLE");
    let r = post(addr, GENERATE, &[], r#"{"contents":[]}"#).await;
    check(&r, 400, "INVALID_ARGUMENT");
    let r = post(addr, GENERATE, &[], "not json").await;
    check(&r, 400, "INVALID_ARGUMENT");
    let r = call(addr, Method::GET, GENERATE, &[], "").await;
    check(&r, 405, "UNIMPLEMENTED");
    assert_eq!(r.header("allow"), "POST");
}

#[tokio::test]
async fn gemini_cut_stream() {
    let emu = start(MockConfig::default()).await;
    let (status, got, failed) = read_partial(
        emu.addr,
        &format!("{STREAM}?alt=sse&key=cut-1"),
        &[],
        &gemini_body(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(failed);
    let text = String::from_utf8(got).unwrap();
    assert_eq!(text.matches("data: ").count(), 1, "{text}");
    assert!(!text.contains("finishReason"), "{text}");

    let (_, got, failed) = read_partial(
        emu.addr,
        &format!("{STREAM}?key=cut-2"),
        &[],
        &gemini_body(),
    )
    .await;
    assert!(failed);
    assert!(got.starts_with(b"[{"));
    assert!(!got.ends_with(b"]"));
}

// ---------------------------------------------------------------------------
// Bedrock Converse
// ---------------------------------------------------------------------------

const MODEL_ID: &str = "anthropic.claude-3-5-sonnet-20240620-v1%3A0";
const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn converse_path(stream: bool) -> String {
    let verb = if stream {
        "converse-stream"
    } else {
        "converse"
    };
    format!("/model/{MODEL_ID}/{verb}")
}

const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-west-2/bedrock/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0123456789abcdef";

fn sigv4(akid: &str) -> String {
    SIGV4.replace("AKIDEXAMPLE", akid)
}

fn aws_headers(auth: &str) -> Vec<(&str, &str)> {
    vec![
        ("authorization", auth),
        ("x-amz-date", "20250101T000000Z"),
        (
            "x-amz-content-sha256",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        ("content-type", "application/json"),
    ]
}

fn converse_body(tools: bool, follow_up: bool) -> String {
    let mut messages = vec![
        json!({"role": "user", "content": [{"text": "Tell me a joke about gateways please"}]}),
    ];
    if follow_up {
        messages.push(json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"location": "sf"}}}]}));
        messages.push(json!({"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "18C and foggy"}], "status": "success"}}]}));
    }
    let mut v = json!({
        "messages": messages,
        "system": [{"text": "You are terse."}],
        "inferenceConfig": {"temperature": 0.1}
    });
    if tools {
        v["toolConfig"] = json!({"tools": [{"toolSpec": {
            "name": "get_weather",
            "inputSchema": {"json": {"type": "object", "properties": {"location": {"type": "string"}, "days": {"type": "number"}}, "required": ["location", "days"]}}
        }}]});
    }
    v.to_string()
}

/// Bitwise CRC32 (independent of the emulator's table-driven one).
fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// Decodes an event stream, checking both CRCs of every frame.
fn decode_frames(mut b: &[u8]) -> Vec<(HashMap<String, String>, Value)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        assert!(b.len() >= 16, "truncated prelude");
        let total = u32::from_be_bytes(b[0..4].try_into().unwrap()) as usize;
        let hlen = u32::from_be_bytes(b[4..8].try_into().unwrap()) as usize;
        assert_eq!(
            u32::from_be_bytes(b[8..12].try_into().unwrap()),
            crc32(&b[..8]),
            "prelude CRC"
        );
        assert!(b.len() >= total, "truncated frame");
        let msg = &b[..total];
        assert_eq!(
            u32::from_be_bytes(msg[total - 4..].try_into().unwrap()),
            crc32(&msg[..total - 4]),
            "message CRC"
        );
        let mut headers = HashMap::new();
        let mut h = &msg[12..12 + hlen];
        while !h.is_empty() {
            let n = h[0] as usize;
            let name = std::str::from_utf8(&h[1..1 + n]).unwrap().to_owned();
            assert_eq!(h[1 + n], 7, "string header");
            let vl = u16::from_be_bytes([h[2 + n], h[3 + n]]) as usize;
            let value = std::str::from_utf8(&h[4 + n..4 + n + vl])
                .unwrap()
                .to_owned();
            headers.insert(name, value);
            h = &h[4 + n + vl..];
        }
        let payload: Value = serde_json::from_slice(&msg[12 + hlen..total - 4]).unwrap();
        out.push((headers, payload));
        b = &b[total..];
    }
    out
}

fn event_types(frames: &[(HashMap<String, String>, Value)]) -> Vec<&str> {
    frames
        .iter()
        .map(|(h, _)| h[":event-type"].as_str())
        .collect()
}

#[tokio::test]
async fn bedrock_converse() {
    let emu = start(MockConfig::default()).await;
    let auth = sigv4("AKIAEMULATOR01");
    let r = post(
        emu.addr,
        &converse_path(false),
        &aws_headers(&auth),
        &converse_body(false, false),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("x-amzn-requestid").len(), 36);
    let v = r.json();
    assert_eq!(
        v["output"],
        json!({"message": {"role": "assistant", "content": [{"text": EXPECTED_ECHO}]}})
    );
    assert_eq!(v["stopReason"], "end_turn");
    let u = &v["usage"];
    assert_eq!(u["inputTokens"], (14 + 36) / 4 + 4);
    assert_eq!(u["outputTokens"], 14);
    assert_eq!(u["totalTokens"], (14 + 36) / 4 + 4 + 14);
    assert!(v["metrics"]["latencyMs"].as_u64().unwrap() >= 1);

    // Bedrock API keys (Bearer) work too.
    let r = post(
        emu.addr,
        &converse_path(false),
        &[("authorization", "Bearer ABSK-key")],
        &converse_body(false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    let recs = emu.emulator.requests();
    assert_eq!(recs[0].credential.as_deref(), Some("AKIAEMULATOR01"));
    assert_eq!(recs[0].auth_header.as_deref(), Some("authorization"));
    assert_eq!(recs[0].model.as_deref(), Some(MODEL));
    assert_eq!(recs[0].path, format!("/model/{MODEL_ID}/converse"));
    assert!(!recs[0].stream);
    assert_eq!(recs[1].credential.as_deref(), Some("ABSK-key"));
}

#[tokio::test]
async fn bedrock_signature_headers_required() {
    let emu = start(MockConfig::default()).await;
    let auth = sigv4("AKIA1");
    for missing in ["x-amz-date", "x-amz-content-sha256"] {
        let h: Vec<(&str, &str)> = aws_headers(&auth)
            .into_iter()
            .filter(|(k, _)| *k != missing)
            .collect();
        let r = post(
            emu.addr,
            &converse_path(false),
            &h,
            &converse_body(false, false),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{missing}");
        assert_eq!(r.header("x-amzn-errortype"), "IncompleteSignatureException");
        let msg = r.json()["message"].as_str().unwrap().to_owned();
        assert!(msg.contains(missing), "{msg}");
    }
}

#[tokio::test]
async fn bedrock_stream_frames() {
    let emu = start(MockConfig {
        stream_chunks: 4,
        ..MockConfig::default()
    })
    .await;
    let auth = sigv4("AKIA1");
    let h = aws_headers(&auth);
    let full = post(
        emu.addr,
        &converse_path(false),
        &h,
        &converse_body(false, false),
    )
    .await
    .json();
    let r = post(
        emu.addr,
        &converse_path(true),
        &h,
        &converse_body(false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type"),
        "application/vnd.amazon.eventstream"
    );
    let frames = decode_frames(&r.body);
    assert_eq!(
        event_types(&frames),
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop",
            "messageStop",
            "metadata"
        ]
    );
    for (h, p) in &frames {
        assert_eq!(h[":content-type"], "application/json");
        assert_eq!(h[":message-type"], "event");
        assert!(p["p"].is_string(), "padding like Bedrock: {p}");
    }
    assert_eq!(frames[0].1["role"], "assistant");
    let text: String = frames[1..5]
        .iter()
        .map(|(_, p)| {
            assert_eq!(p["contentBlockIndex"], 0);
            p["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, EXPECTED_ECHO);
    assert_eq!(frames[5].1["contentBlockIndex"], 0);
    assert_eq!(frames[6].1["stopReason"], "end_turn");
    assert_eq!(frames[7].1["usage"], full["usage"]);
    assert!(frames[7].1["metrics"]["latencyMs"].as_u64().unwrap() >= 1);
    assert!(emu.emulator.requests()[1].stream);
}

#[tokio::test]
async fn bedrock_tools() {
    let emu = start(MockConfig {
        stream_chunks: 2,
        ..MockConfig::default()
    })
    .await;
    let auth = sigv4("AKIA1");
    let h = aws_headers(&auth);
    let v = post(
        emu.addr,
        &converse_path(false),
        &h,
        &converse_body(true, false),
    )
    .await
    .json();
    assert_eq!(v["stopReason"], "tool_use");
    let content = v["output"]["message"]["content"].as_array().unwrap();
    assert_eq!(content[0], json!({"text": "Calling get_weather."}));
    let tu = &content[1]["toolUse"];
    assert!(tu["toolUseId"].as_str().unwrap().starts_with("tooluse_"));
    assert_eq!(tu["name"], "get_weather");
    assert_eq!(tu["input"], json!({"location": "sf", "days": 1}));

    let r = post(
        emu.addr,
        &converse_path(true),
        &h,
        &converse_body(true, false),
    )
    .await;
    let frames = decode_frames(&r.body);
    assert_eq!(
        event_types(&frames)[..4],
        [
            "messageStart",
            "contentBlockDelta",
            "contentBlockDelta",
            "contentBlockStop"
        ]
    );
    let start = frames
        .iter()
        .find(|(h, _)| h[":event-type"] == "contentBlockStart")
        .map(|(_, p)| p)
        .unwrap();
    assert_eq!(start["contentBlockIndex"], 1);
    assert_eq!(start["start"]["toolUse"]["name"], "get_weather");
    assert!(
        start["start"]["toolUse"]["toolUseId"]
            .as_str()
            .unwrap()
            .starts_with("tooluse_")
    );
    let fragments: Vec<&str> = frames
        .iter()
        .filter(|(_, p)| p["contentBlockIndex"] == 1 && p["delta"].is_object())
        .map(|(_, p)| p["delta"]["toolUse"]["input"].as_str().unwrap())
        .collect();
    assert!((2..=3).contains(&fragments.len()), "{fragments:?}");
    let input: Value = serde_json::from_str(&fragments.concat()).unwrap();
    assert_eq!(input, json!({"location": "sf", "days": 1}));
    let tail = event_types(&frames);
    assert_eq!(
        tail[tail.len() - 3..],
        ["contentBlockStop", "messageStop", "metadata"]
    );
    assert_eq!(frames[frames.len() - 2].1["stopReason"], "tool_use");

    let v = post(
        emu.addr,
        &converse_path(false),
        &h,
        &converse_body(true, true),
    )
    .await
    .json();
    assert_eq!(v["stopReason"], "end_turn");
    assert_eq!(
        v["output"]["message"]["content"],
        json!([{"text": "Tool said: 18C and foggy"}])
    );
}

#[tokio::test]
async fn bedrock_errors() {
    let emu = start(MockConfig::default()).await;
    let addr = emu.addr;
    let check = |r: &Reply, status: u16, ty: &str| {
        assert_eq!(
            r.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.header("x-amzn-errortype"), ty);
        assert_eq!(r.header("content-type"), "application/json");
        assert!(r.headers.contains_key("x-amzn-requestid"));
        let v = r.json();
        assert!(v["message"].is_string());
        v
    };
    let bad = sigv4("bad-AKIA0123456789");
    let r = post(
        addr,
        &converse_path(false),
        &aws_headers(&bad),
        &converse_body(false, false),
    )
    .await;
    let v = check(&r, 403, "UnrecognizedClientException");
    assert!(!v.to_string().contains("0123456789"));
    let limited = sigv4("limited-AKIA");
    let r = post(
        addr,
        &converse_path(true),
        &aws_headers(&limited),
        &converse_body(false, false),
    )
    .await;
    check(&r, 429, "ThrottlingException");
    let r = post(
        addr,
        &converse_path(false),
        &[("authorization", "Bearer down-1")],
        &converse_body(false, false),
    )
    .await;
    check(&r, 503, "ServiceUnavailableException");
    let r = post(addr, &converse_path(false), &[], "{oops").await;
    check(&r, 400, "ValidationException");
    let r = post(addr, &converse_path(false), &[], "{}").await;
    check(&r, 400, "ValidationException");
}

#[tokio::test]
async fn bedrock_cut_stream() {
    let emu = start(MockConfig::default()).await;
    let auth = sigv4("cut-AKIA");
    let (status, got, failed) = read_partial(
        emu.addr,
        &converse_path(true),
        &aws_headers(&auth),
        &converse_body(false, false),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(failed);
    let frames = decode_frames(&got);
    assert_eq!(event_types(&frames), ["messageStart", "contentBlockDelta"]);
}

// ---------------------------------------------------------------------------
// Shared behaviours
// ---------------------------------------------------------------------------

#[tokio::test]
async fn accept_tokens_apply_to_every_dialect() {
    let emu = start(MockConfig {
        accept_tokens: Some(vec!["good".into(), "AKIAGOOD".into()]),
        ..MockConfig::default()
    })
    .await;
    let addr = emu.addr;
    let ok = post(
        addr,
        MESSAGES,
        &anthropic_headers("good"),
        &anthropic_body(false),
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let r = post(
        addr,
        MESSAGES,
        &anthropic_headers("other-key-123456"),
        &anthropic_body(false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["type"], "authentication_error");
    assert!(!String::from_utf8_lossy(&r.body).contains("other-key-123456"));
    let r = post(
        addr,
        MESSAGES,
        &[("anthropic-version", "2023-06-01")],
        &anthropic_body(false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    assert_eq!(
        post(addr, &format!("{GENERATE}?key=good"), &[], &gemini_body())
            .await
            .status,
        StatusCode::OK
    );
    let r = post(
        addr,
        GENERATE,
        &[("x-goog-api-key", "nope")],
        &gemini_body(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error"]["status"], "UNAUTHENTICATED");

    let good = sigv4("AKIAGOOD");
    let r = post(
        addr,
        &converse_path(false),
        &aws_headers(&good),
        &converse_body(false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let other = sigv4("AKIAOTHER");
    let r = post(
        addr,
        &converse_path(false),
        &aws_headers(&other),
        &converse_body(false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("x-amzn-errortype"), "UnrecognizedClientException");
    let r = post(
        addr,
        &converse_path(false),
        &[],
        &converse_body(false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.header("x-amzn-errortype"),
        "MissingAuthenticationTokenException"
    );
}

#[tokio::test]
async fn latency_slow_and_hang() {
    let emu = start(MockConfig {
        latency: Duration::from_millis(40),
        ..MockConfig::default()
    })
    .await;
    let t = Instant::now();
    let r = post(
        emu.addr,
        GENERATE,
        &[("x-goog-api-key", "slow-60-k")],
        &gemini_body(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(100), "{e:?}");
    assert!(e < Duration::from_millis(1500), "{e:?}");
    // Bedrock reports the time spent answering.
    let auth = sigv4("slow-30-AKIA");
    let v = post(
        emu.addr,
        &converse_path(false),
        &aws_headers(&auth),
        &converse_body(false, false),
    )
    .await
    .json();
    assert!(v["metrics"]["latencyMs"].as_u64().unwrap() >= 30, "{v}");

    let fut = client().request(request(
        emu.addr,
        Method::POST,
        MESSAGES,
        &anthropic_headers("hang-1"),
        &anthropic_body(true),
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(200), fut)
            .await
            .is_err(),
        "hang- must not answer"
    );
    assert_eq!(emu.emulator.requests().len(), 3);
}

#[tokio::test]
async fn control_api_lists_dialect_requests() {
    let emu = start(MockConfig::default()).await;
    post(
        emu.addr,
        MESSAGES,
        &anthropic_headers("a"),
        &anthropic_body(true),
    )
    .await;
    post(
        emu.addr,
        &format!("{STREAM}?alt=sse"),
        &[("x-goog-api-key", "g")],
        &gemini_body(),
    )
    .await;
    let auth = sigv4("AKIA2");
    post(
        emu.addr,
        &converse_path(true),
        &aws_headers(&auth),
        &converse_body(false, false),
    )
    .await;
    let v = call(emu.addr, Method::GET, "/_mock/requests", &[], "")
        .await
        .json();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 3);
    let models: Vec<&str> = list.iter().map(|r| r["model"].as_str().unwrap()).collect();
    assert_eq!(models, ["claude-sonnet-4-5", "gemini-2.0-flash", MODEL]);
    assert!(list.iter().all(|r| r["stream"] == true));
    let creds: Vec<&str> = list
        .iter()
        .map(|r| r["credential"].as_str().unwrap())
        .collect();
    assert_eq!(creds, ["a", "g", "AKIA2"]);
}

#[tokio::test]
async fn openai_paths_are_unchanged() {
    let emu = start(MockConfig::default()).await;
    // `/models` (GET) is still the OpenAI list; unknown verbs are 404s.
    let r = call(emu.addr, Method::GET, "/v1beta/models", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["object"], "list");
    let r = post(emu.addr, "/v1beta/models/g:countTokens", &[], "{}").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = post(emu.addr, "/model/m/invoke", &[], "{}").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn openai_chat_tools() {
    let emu = start(MockConfig {
        stream_chunks: 2,
        ..MockConfig::default()
    })
    .await;
    let tools = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}, "required": ["city", "days"]}}},
        {"type": "function", "function": {"name": "other"}}
    ]);
    let ask = |stream: bool| {
        json!({"model": "gpt-4o-mini", "stream": stream, "stream_options": {"include_usage": true},
            "tools": tools, "messages": [{"role": "user", "content": "Weather in Paris?"}]})
        .to_string()
    };
    let v = post(emu.addr, "/v1/chat/completions", &[], &ask(false))
        .await
        .json();
    let choice = &v["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], "Calling get_weather.");
    let tc = &choice["message"]["tool_calls"][0];
    assert!(tc["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(tc["type"], "function");
    assert_eq!(tc["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(tc["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "sf", "days": 1}));
    assert!(v["usage"]["completion_tokens"].as_u64().unwrap() > 2);

    let r = post(emu.addr, "/v1/chat/completions", &[], &ask(true)).await;
    let text = std::str::from_utf8(&r.body).unwrap();
    let chunks: Vec<Value> = text
        .split_terminator("\n\n")
        .filter_map(|b| b.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0))
        .collect();
    assert!((3..=4).contains(&calls.len()), "{calls:?}");
    assert_eq!(calls[0]["index"], 0);
    assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let streamed: String = calls
        .iter()
        .map(|c| c["function"]["arguments"].as_str().unwrap())
        .collect();
    assert_eq!(serde_json::from_str::<Value>(&streamed).unwrap(), args);
    let finish: Vec<&Value> = chunks
        .iter()
        .map(|c| &c["choices"][0]["finish_reason"])
        .filter(|f| !f.is_null())
        .collect();
    assert_eq!(finish, [&json!("tool_calls")]);
    assert_eq!(chunks.last().unwrap()["usage"], v["usage"]);

    // The tool result comes back.
    let follow = json!({"model": "gpt-4o-mini", "tools": tools, "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\":\"sf\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"}
    ]});
    let v = post(emu.addr, "/v1/chat/completions", &[], &follow.to_string())
        .await
        .json();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Tool said: sunny, 21C"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["message"].get("tool_calls").is_none());
}

// ---------------------------------------------------------------------------
// nousage-: the Ok answer without any token usage
// ---------------------------------------------------------------------------

fn anthropic_tools_body(stream: bool) -> String {
    json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 256,
        "tools": [weather_tool()],
        "messages": [{"role": "user", "content": "What is the weather in SF?"}],
        "stream": stream
    })
    .to_string()
}

/// Messages, streamed and not, plain and with a tool call: no `usage` in the
/// message, in `message_start` or in `message_delta`; all else as for `ok`.
#[tokio::test]
async fn nousage_anthropic() {
    bounded(async {
        let emu = start(MockConfig {
            stream_chunks: 3,
            ..MockConfig::default()
        })
        .await;
        let (ok_h, no_h) = (anthropic_headers("sk-ok"), anthropic_headers("nousage-a"));
        for body in [anthropic_body(false), anthropic_tools_body(false)] {
            let ok = post(emu.addr, MESSAGES, &ok_h, &body).await;
            let no = post(emu.addr, MESSAGES, &no_h, &body).await;
            assert_eq!(no.status, StatusCode::OK);
            assert_eq!(no.header("content-type"), "application/json");
            assert_eq!(no.header("content-length"), no.body.len().to_string());
            assert!(no.header("request-id").starts_with("req_"));
            let ok = ok.json();
            assert!(ok["usage"]["output_tokens"].as_u64().unwrap() > 0);
            assert_no_usage(&no.body);
            assert_eq!(normalized(&no.json(), &[]), normalized(&ok, &["usage"]));
        }
        for body in [anthropic_body(true), anthropic_tools_body(true)] {
            let ok = post(emu.addr, MESSAGES, &ok_h, &body).await;
            let no = post(emu.addr, MESSAGES, &no_h, &body).await;
            assert_eq!(no.status, StatusCode::OK);
            assert_eq!(
                no.header("content-type"),
                "text/event-stream; charset=utf-8"
            );
            let ok = parse_anthropic_sse(&ok.body);
            assert!(ok[0].1["message"]["usage"].is_object());
            let (_, ok_delta) = ok.iter().find(|(n, _)| n == "message_delta").unwrap();
            assert!(ok_delta["usage"]["output_tokens"].as_u64().unwrap() > 0);
            assert_no_usage(&no.body);
            let want: Vec<(String, Value)> = ok
                .iter()
                .map(|(n, e)| (n.clone(), normalized(e, &["usage"])))
                .collect();
            let got: Vec<(String, Value)> = parse_anthropic_sse(&no.body)
                .into_iter()
                .map(|(n, e)| (n, normalized(&e, &[])))
                .collect();
            assert_eq!(got, want);
            assert_eq!(got.last().unwrap().0, "message_stop");
        }
    })
    .await;
}

/// Gemini `generateContent` and both stream shapes (SSE, JSON array), plain
/// and with a function call: no `usageMetadata` anywhere.
#[tokio::test]
async fn nousage_gemini() {
    bounded(async {
        let emu = start(MockConfig {
            stream_chunks: 3,
            ..MockConfig::default()
        })
        .await;
        let (ok_h, no_h) = (
            [("x-goog-api-key", "g-ok")],
            [("x-goog-api-key", "nousage-g")],
        );
        for body in [gemini_body(), gemini_tools_body(false)] {
            let ok = post(emu.addr, GENERATE, &ok_h, &body).await.json();
            let no = post(emu.addr, GENERATE, &no_h, &body).await;
            assert_eq!(no.status, StatusCode::OK);
            assert_eq!(no.header("content-type"), "application/json; charset=UTF-8");
            assert!(ok["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0);
            assert_no_usage(&no.body);
            assert_eq!(
                normalized(&no.json(), &[]),
                normalized(&ok, &["usageMetadata"])
            );

            // SSE.
            let sse = |r: &Reply| -> Vec<Value> {
                std::str::from_utf8(&r.body)
                    .unwrap()
                    .split_terminator("\r\n\r\n")
                    .map(|b| serde_json::from_str(b.strip_prefix("data: ").expect(b)).unwrap())
                    .collect()
            };
            let path = format!("{STREAM}?alt=sse");
            let ok = sse(&post(emu.addr, &path, &ok_h, &body).await);
            let no = post(emu.addr, &path, &no_h, &body).await;
            assert_eq!(no.status, StatusCode::OK);
            assert_eq!(no.header("content-type"), "text/event-stream");
            assert!(ok.iter().all(|c| c["usageMetadata"].is_object()));
            assert_no_usage(&no.body);
            let want: Vec<Value> = ok
                .iter()
                .map(|c| normalized(c, &["usageMetadata"]))
                .collect();
            let got: Vec<Value> = sse(&no).iter().map(|c| normalized(c, &[])).collect();
            assert_eq!(got, want);

            // The streamed JSON array.
            let ok = post(emu.addr, STREAM, &ok_h, &body).await.json();
            let no = post(emu.addr, STREAM, &no_h, &body).await;
            assert_eq!(no.status, StatusCode::OK);
            assert!(ok[0]["usageMetadata"].is_object());
            assert_no_usage(&no.body);
            assert_eq!(
                normalized(&no.json(), &[]),
                normalized(&ok, &["usageMetadata"])
            );
            assert_eq!(no.json().as_array().unwrap().len(), want.len());
        }
    })
    .await;
}

/// Bedrock Converse and ConverseStream, plain and with a tool call: no
/// `usage` in the response (`metrics` stays); the stream ends with
/// `messageStop`, without the `metadata` event.
#[tokio::test]
async fn nousage_bedrock() {
    bounded(async {
        let emu = start(MockConfig {
            stream_chunks: 3,
            ..MockConfig::default()
        })
        .await;
        let (ok_auth, no_auth) = (sigv4("AKIAOK"), sigv4("nousage-AKIA"));
        let (ok_h, no_h) = (aws_headers(&ok_auth), aws_headers(&no_auth));
        for body in [converse_body(false, false), converse_body(true, false)] {
            let ok = post(emu.addr, &converse_path(false), &ok_h, &body)
                .await
                .json();
            let no = post(emu.addr, &converse_path(false), &no_h, &body).await;
            assert_eq!(no.status, StatusCode::OK);
            assert!(no.headers.contains_key("x-amzn-requestid"));
            assert!(ok["usage"]["totalTokens"].as_u64().unwrap() > 0);
            assert_no_usage(&no.body);
            let no = no.json();
            assert!(no["metrics"]["latencyMs"].as_u64().unwrap() >= 1);
            assert_eq!(normalized(&no, &[]), normalized(&ok, &["usage"]));

            let ok = post(emu.addr, &converse_path(true), &ok_h, &body).await;
            let no = post(emu.addr, &converse_path(true), &no_h, &body).await;
            assert_eq!(no.status, StatusCode::OK);
            assert_eq!(
                no.header("content-type"),
                "application/vnd.amazon.eventstream"
            );
            let (ok, no) = (decode_frames(&ok.body), decode_frames(&no.body));
            let ok_types = event_types(&ok);
            assert_eq!(ok_types.last(), Some(&"metadata"));
            assert!(
                ok.last().unwrap().1["usage"]["totalTokens"]
                    .as_u64()
                    .unwrap()
                    > 0
            );
            assert_eq!(event_types(&no), ok_types[..ok_types.len() - 1]);
            for (h, p) in &no {
                assert_no_usage(p.to_string().as_bytes());
                assert_no_usage(h[":event-type"].as_bytes());
            }
            let want: Vec<Value> = ok[..ok.len() - 1]
                .iter()
                .map(|(_, p)| normalized(p, &[]))
                .collect();
            let got: Vec<Value> = no.iter().map(|(_, p)| normalized(p, &[])).collect();
            assert_eq!(got, want);
        }
    })
    .await;
}
