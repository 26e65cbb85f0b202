//! Tests against the recorded Anthropic traffic in `shared/fixtures`, and
//! hand-written cases for what the recordings do not cover.

use serde_json::{Value, json};

use super::request::json_instruction;
use super::*;
use crate::canonical::{
    ChatRequest, ChatResponse, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    StopReason, StreamCollector, StreamError, StreamEvent, TokenUsage, Tool, ToolChoice,
};
use crate::dialect::{StreamDecode, StreamEncode};

const ROOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/anthropic"
);

/// `(case, bytes)` of every case that has `file`, sorted by case name.
fn fixtures(file: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    for case in std::fs::read_dir(ROOT).unwrap().flatten() {
        let name = case.file_name().to_string_lossy().to_string();
        if let Ok(b) = std::fs::read(case.path().join(file)) {
            out.push((name, b));
        }
    }
    out.sort();
    out
}

fn fixture(case: &str, file: &str) -> Vec<u8> {
    let p = format!("{ROOT}/{case}/{file}");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn recorded_status(case: &str) -> u16 {
    let meta: Value = serde_json::from_slice(&fixture(case, "response.meta.json")).unwrap();
    meta["status"].as_u64().unwrap() as u16
}

/// Decode `bytes` fed in pieces of the given sizes (the rest in one piece).
fn decode_stream(bytes: &[u8], pieces: &[usize]) -> Vec<StreamEvent> {
    let mut d = StreamDecoder::new();
    let mut out = vec![];
    let mut at = 0;
    for &n in pieces {
        let end = (at + n).min(bytes.len());
        d.push(&bytes[at..end], &mut out).unwrap();
        at = end;
    }
    d.push(&bytes[at..], &mut out).unwrap();
    d.finish(&mut out).unwrap();
    out
}

fn collect(events: &[StreamEvent]) -> ChatResponse {
    let mut c = StreamCollector::default();
    events.iter().for_each(|e| c.push(e));
    c.finish()
}

fn encode_stream(events: &[StreamEvent]) -> Vec<u8> {
    let mut enc = StreamEncoder::new();
    let mut out = vec![];
    for e in events {
        enc.encode(e, &mut out);
    }
    enc.finish(&mut out);
    out
}

/// `(event name, data JSON)` of SSE text, checking the exact framing
/// `event: NAME\ndata: JSON\n\n` of every event.
fn sse_events(bytes: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(bytes).unwrap();
    assert!(text.ends_with("\n\n"), "{text}");
    text.strip_suffix("\n\n")
        .unwrap()
        .split("\n\n")
        .map(|ev| {
            let (first, second) = ev.split_once('\n').unwrap_or_else(|| panic!("{ev}"));
            let name = first
                .strip_prefix("event: ")
                .unwrap_or_else(|| panic!("{ev}"));
            let data = second
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("{ev}"));
            assert!(!data.contains('\n'), "{ev}");
            let v: Value = serde_json::from_str(data).unwrap();
            assert_eq!(v["type"], name, "{ev}");
            (name.to_string(), v)
        })
        .collect()
}

// 1. Every recording decodes.

#[test]
fn fixture_requests_decode() {
    let all = fixtures("request.json");
    assert!(all.len() >= 15, "{}", all.len());
    for (name, body) in all {
        let r = decode_request(&body);
        if name == "messages-document-url" {
            // A PDF document has no canonical form: a clear error, not a
            // request that silently lost what the user asked about.
            let e = r.unwrap_err();
            assert_eq!(e.path, "messages[0].content[1]");
            assert!(e.message.contains("`document`"), "{e}");
            continue;
        }
        let req = r.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!req.model.is_empty(), "{name}");
        assert!(!req.messages.is_empty(), "{name}");
    }
}

#[test]
fn fixture_requests_map_their_fields() {
    let req = decode_request(&fixture("messages-tool-result-followup", "request.json")).unwrap();
    assert_eq!(req.system.len(), 1);
    assert_eq!(req.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(req.tools[0].name, "retrieve_entity_info");
    assert_eq!(req.tools[0].parameters["required"], json!(["name"]));
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
    match &req.messages[1].content[1] {
        Part::ToolCall {
            id,
            name,
            arguments,
        } => {
            assert_eq!(id, "toolu_0167cfEnoQaPviGdVXA95zcu");
            assert_eq!(name, "retrieve_entity_info");
            assert_eq!(arguments, r#"{"name":"Alice"}"#);
        }
        p => panic!("{p:?}"),
    }
    assert_eq!(req.messages[2].content.len(), 4);
    assert_eq!(
        req.messages[2].content[3],
        Part::ToolResult {
            tool_call_id: "toolu_013mnQZbgtK2oe3Mo3XKJsx3".into(),
            name: Some("retrieve_entity_info".into()),
            content: vec![Part::Text {
                text: "daisy is bob's daughter and charlie's younger sister".into()
            }],
            is_error: false,
        }
    );

    let req = decode_request(&fixture("messages-image-url", "request.json")).unwrap();
    assert!(matches!(
        &req.messages[0].content[1],
        Part::Image { source: ImageSource::Url { url } } if url.starts_with("https://")
    ));

    let req = decode_request(&fixture("messages-stream-thinking", "request.json")).unwrap();
    assert_eq!(req.reasoning.unwrap().budget_tokens, Some(1024));
    assert!(req.stream);

    let req = decode_request(&fixture(
        "messages-stream-prefill-stop-sequence",
        "request.json",
    ))
    .unwrap();
    assert_eq!(req.stop, ["```"]);
    assert_eq!(req.temperature, Some(1.0));
    assert_eq!(req.messages[1].role, Role::Assistant);

    // Built-in tools are dropped, with the choice that could only name them.
    let req = decode_request(&fixture("messages-stream-code-execution", "request.json")).unwrap();
    assert!(req.tools.is_empty());
    assert_eq!(req.tool_choice, None);
    let req = decode_request(&fixture("messages-stream-tool-search", "request.json")).unwrap();
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["get_exchange_rate", "stock_lookup"]);

    // Structured outputs read as a JSON schema response format.
    let req = decode_request(&fixture("messages-stream-schema-tool", "request.json")).unwrap();
    match req.response_format {
        Some(ResponseFormat::JsonSchema { schema, .. }) => {
            assert_eq!(schema["title"], "Dog")
        }
        f => panic!("{f:?}"),
    }

    let req = decode_request(&fixture("count-tokens", "request.json")).unwrap();
    assert_eq!(req.max_tokens, None);
}

#[test]
fn fixture_responses_decode() {
    let all = fixtures("response.json");
    assert!(all.len() >= 12, "{}", all.len());
    for (name, body) in all {
        if name.starts_with("error-") {
            let e = decode_error(recorded_status(&name), &body);
            assert_eq!(e.status, Some(recorded_status(&name)), "{name}");
            assert!(!e.message.is_empty(), "{name}");
            continue;
        }
        if name == "count-tokens" {
            // `{"input_tokens": 16}` answers /v1/messages/count_tokens and
            // is not a message: a clear error rather than an empty answer.
            let e = decode_response(&body).unwrap_err();
            assert!(e.message.contains("not an Anthropic message"), "{e}");
            continue;
        }
        let resp = decode_response(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(resp.id.starts_with("msg_"), "{name}");
        assert!(!resp.content.is_empty(), "{name}");
        assert!(resp.usage.output_tokens > 0, "{name}");
    }
}

#[test]
fn fixture_responses_map_their_fields() {
    let r = decode_response(&fixture("messages-cache-usage", "response.json")).unwrap();
    assert_eq!(
        r.usage,
        TokenUsage {
            input_tokens: 3 + 1111 + 418,
            output_tokens: 33,
            cached_tokens: 1111,
            cache_creation_tokens: 418,
            reasoning_tokens: 0,
        }
    );
    assert_eq!(r.created, 0);
    assert_eq!(r.stop_reason, StopReason::Stop);

    let r = decode_response(&fixture("messages-tool-with-thinking", "response.json")).unwrap();
    assert_eq!(r.stop_reason, StopReason::ToolCalls);
    assert!(
        matches!(&r.content[0], Part::Thinking { signature: Some(s), .. } if s.starts_with("EqEE"))
    );
    assert_eq!(
        r.content[2],
        Part::ToolCall {
            id: "toolu_01YGzqpRE16Vricda3Aqcejo".into(),
            name: "get_user_country".into(),
            arguments: "{}".into(),
        }
    );

    let r = decode_response(&fixture("messages-tools-parallel", "response.json")).unwrap();
    let calls = r
        .content
        .iter()
        .filter(|p| matches!(p, Part::ToolCall { .. }))
        .count();
    assert_eq!(calls, 4);
}

#[test]
fn fixture_errors_decode() {
    let e = decode_error(400, &fixture("error-400-invalid-request", "response.json"));
    assert_eq!(e.kind, "invalid_request_error");
    assert!(e.message.contains("xhigh"), "{e:?}");
    let e = decode_error(404, &fixture("error-404-model-not-found", "response.json"));
    assert_eq!(e.kind, "not_found_error");
    assert_eq!(e.message, "model: claude-sonet-4-5");
    // The stub has no body at all.
    let status = recorded_status("error-500-empty-body-stub");
    let e = decode_error(status, b"");
    assert_eq!(e.status, Some(500));
    assert_eq!(e.kind, "api_error");
    assert!(e.message.contains("empty body"), "{e:?}");
}

#[test]
fn fixture_streams_decode() {
    let all = fixtures("response.sse");
    assert!(all.len() >= 9, "{}", all.len());
    for (name, body) in all {
        let events = decode_stream(&body, &[]);
        match events.first() {
            Some(StreamEvent::Start { id, model, .. }) => {
                assert!(id.starts_with("msg_"), "{name}");
                assert!(model.starts_with("claude-"), "{name}");
            }
            e => panic!("{name}: {e:?}"),
        }
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, StreamEvent::Start { .. }))
                .count(),
            1,
            "{name}"
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, StreamEvent::Finish { .. })),
            "{name}"
        );
        assert!(
            matches!(events.last(), Some(StreamEvent::Usage { usage }) if usage.output_tokens > 0),
            "{name}"
        );
        let r = collect(&events);
        assert!(!r.content.is_empty(), "{name}");
        for p in &r.content {
            if let Part::ToolCall { arguments, .. } = p {
                let v: Value = serde_json::from_str(arguments)
                    .unwrap_or_else(|e| panic!("{name}: {arguments}: {e}"));
                assert!(v.is_object(), "{name}");
            }
        }
    }
}

// 2. Chunking does not matter.

#[test]
fn fixture_streams_decode_the_same_in_any_chunking() {
    let mut rng = fastrand::Rng::with_seed(20_240_611);
    for (name, bytes) in fixtures("response.sse") {
        let whole = decode_stream(&bytes, &[]);
        let ones = vec![1; bytes.len()];
        assert_eq!(decode_stream(&bytes, &ones), whole, "{name} byte by byte");
        for round in 0..50 {
            let mut pieces = vec![];
            let mut total = 0;
            while total < bytes.len() {
                let n = rng.usize(1..=(bytes.len() / 4).max(2));
                pieces.push(n);
                total += n;
            }
            assert_eq!(
                decode_stream(&bytes, &pieces),
                whole,
                "{name} random split {round}: {pieces:?}"
            );
        }
    }
}

// 3. Round trips.

#[test]
fn fixture_requests_round_trip() {
    for (name, body) in fixtures("request.json") {
        let Ok(req) = decode_request(&body) else {
            continue; // the document case, checked above
        };
        let encoded = encode_request(&req).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = decode_request(&encoded).unwrap_or_else(|e| panic!("{name}: {e}"));
        // What the trip is documented to change: a default max_tokens, and
        // a JSON response format carried as a system instruction.
        let mut expected = req.clone();
        expected.max_tokens.get_or_insert(DEFAULT_MAX_TOKENS);
        if let Some(f) = expected.response_format.take() {
            expected.system.extend(json_instruction(&f));
        }
        assert_eq!(again, expected, "{name}");
    }
}

#[test]
fn fixture_responses_round_trip() {
    for (name, body) in fixtures("response.json") {
        let Ok(resp) = decode_response(&body) else {
            continue; // errors and count_tokens
        };
        let again = decode_response(&encode_response(&resp)).unwrap();
        assert_eq!(again, resp, "{name}");
    }
}

#[test]
fn fixture_streams_round_trip_through_the_encoder() {
    for (name, bytes) in fixtures("response.sse") {
        let events = decode_stream(&bytes, &[]);
        let encoded = encode_stream(&events);
        sse_events(&encoded);
        assert_eq!(decode_stream(&encoded, &[]), events, "{name}");
    }
}

// 4. Collected streams.

#[test]
fn stream_tools_collects_both_calls() {
    let events = decode_stream(&fixture("messages-stream-tools", "response.sse"), &[]);
    let r = collect(&events);
    assert_eq!(r.id, "msg_01V2noLbAb2NgKnjaNw6Cn3w");
    assert_eq!(r.model, "claude-haiku-4-5-20251001");
    assert_eq!(
        r.content,
        vec![
            Part::ToolCall {
                id: "toolu_01LtHJmixrs9NcWQkK8hu8hj".into(),
                name: "pelican_name_generator".into(),
                arguments: "{}".into(),
            },
            Part::ToolCall {
                id: "toolu_01N8a4jWyf116qKTMqKKmjyt".into(),
                name: "pelican_name_generator".into(),
                arguments: "{}".into(),
            },
        ]
    );
    assert_eq!(r.stop_reason, StopReason::ToolCalls);
    assert_eq!(r.usage.input_tokens, 542);
    assert_eq!(r.usage.output_tokens, 62);
    let starts: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCallStart { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(starts, [0, 1]);
}

#[test]
fn stream_tool_search_counts_tool_calls_not_blocks() {
    let events = decode_stream(&fixture("messages-stream-tool-search", "response.sse"), &[]);
    let r = collect(&events);
    // The server tool (block 1) and its result (block 2) are skipped; the
    // client tool at block 4 is tool call 0.
    assert!(events.contains(&StreamEvent::ToolCallStart {
        index: 0,
        id: "toolu_01EFn5wTNBYA8Reni8rbmnHT".into(),
        name: "get_exchange_rate".into(),
    }));
    assert_eq!(
        r.content.last(),
        Some(&Part::ToolCall {
            id: "toolu_01EFn5wTNBYA8Reni8rbmnHT".into(),
            name: "get_exchange_rate".into(),
            arguments: r#"{"from_currency": "USD", "to_currency": "EUR"}"#.into(),
        })
    );
    assert_eq!(r.usage.input_tokens, 1591);
}

#[test]
fn stream_thinking_collects_text_and_signature() {
    let events = decode_stream(&fixture("messages-stream-thinking", "response.sse"), &[]);
    let r = collect(&events);
    let thinking = "This is a straightforward question about pedestrian safety. I should provide clear, helpful advice about how to safely cross a street. This is basic safety information that could help prevent accidents.";
    let signature = "EvMCCkYICxgCKkCHP2cSuEdcJK/0rFwqES/ecn+VurRpNTwI4XNyM0vnNfGsc9OmE8YYHauwBZ/uaRpmlEn2I4/kszHlcpptO82JEgyRMSbPkJYaegxYF3AaDHZbSm9EzZ6CM+YtliIw3iNVP/ilYrfoneo8S2+ad/5xSC62nKbk6joLtKmqXgXwYFJRpjIUjM2V7EGReOPRKtoBKfNHVmdNf7SeMhHalX/ObSeJ1G/NjDyGQAsDjyHGd7uY1r5gAIn3Cpdv5r+gHYJmWT+w2uiKZsBDRoSf4O3Km0l752EhPD4InEhqpCKyqhbUZ3dt5+JVKQHk2iyTBhQMB/XBYgZTstIpRqQRXU5ypcrydgnqj3mD1G9C7YC0ZTCNvFluAx0OL8q+cQwufgfqKquLEf2+XMYzhx9jYkVFEpnf/s1nx6gNBATKfF3Dmrs2r4tWu2QJB+FjlRuDp/8dxUxgJbmyhGxb7XsYeb1vgb7wwzDvP/UhjfQYAQ==";
    assert_eq!(r.content.len(), 2, "{:?}", r.content);
    assert_eq!(
        r.content[0],
        Part::Thinking {
            text: thinking.into(),
            signature: Some(signature.into()),
        }
    );
    match &r.content[1] {
        Part::Text { text } => {
            assert!(text.starts_with("Here are the basic steps for safely crossing the street:\n\n**At intersections with traffic lights:**"));
            assert!(text.ends_with("Always prioritize safety over speed when crossing streets."));
        }
        p => panic!("{p:?}"),
    }
    assert_eq!(r.stop_reason, StopReason::Stop);
    assert_eq!(r.usage.input_tokens, 43);
    assert_eq!(r.usage.output_tokens, 282);
}

#[test]
fn stream_redacted_thinking_and_stop_sequence() {
    let r = collect(&decode_stream(
        &fixture("messages-stream-redacted-thinking", "response.sse"),
        &[],
    ));
    assert!(matches!(&r.content[0], Part::RedactedThinking { data } if data.starts_with("EqkE")));
    assert!(matches!(&r.content[1], Part::RedactedThinking { data } if data.starts_with("EtgB")));
    assert!(matches!(&r.content[2], Part::Text { .. }));
    let r = collect(&decode_stream(
        &fixture("messages-stream-prefill-stop-sequence", "response.sse"),
        &[],
    ));
    assert_eq!(r.stop_reason, StopReason::Stop);
    assert_eq!(r.usage.output_tokens, 28);
}

#[test]
fn stream_error_event_becomes_an_error() {
    let sse = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\nevent: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}   }\n\n";
    let events = decode_stream(sse, &[]);
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Error {
            error: StreamError {
                status: Some(529),
                kind: "overloaded_error".into(),
                message: "Overloaded".into(),
            }
        })
    );
}

#[test]
fn stream_invalid_json_is_an_error() {
    let mut d = StreamDecoder::new();
    let mut out = vec![];
    let e = d
        .push(b"event: message_start\ndata: {not json\n\n", &mut out)
        .unwrap_err();
    assert_eq!(e.path, "stream");
}

// 5. The encoder.

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn encoder_text_then_parallel_tools_with_usage_after_finish() {
    let usage = TokenUsage {
        input_tokens: 20,
        output_tokens: 9,
        cached_tokens: 5,
        ..Default::default()
    };
    let events = vec![
        StreamEvent::Start {
            id: "chatcmpl-abc".into(),
            model: "gpt-4o".into(),
            created: 0,
            usage: TokenUsage::default(),
        },
        StreamEvent::TextDelta { text: "Hel".into() },
        StreamEvent::TextDelta { text: "lo".into() },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_a".into(),
            name: "get_weather".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"city\":".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "\"Paris\"}".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_b".into(),
            name: "get_time".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 1,
            arguments: "{}".into(),
        },
        StreamEvent::Finish {
            reason: StopReason::ToolCalls,
        },
        StreamEvent::Usage { usage },
    ];

    // message_delta waits for the usage that follows Finish.
    let mut enc = StreamEncoder::new();
    let mut bytes = vec![];
    for e in &events[..9] {
        enc.encode(e, &mut bytes);
    }
    let before_usage = sse_events(&bytes);
    assert_eq!(
        before_usage.last().map(|(n, _)| n.as_str()),
        Some("content_block_stop")
    );
    enc.encode(&events[9], &mut bytes);
    let after_finish = bytes.len();
    enc.finish(&mut bytes);
    assert_eq!(
        bytes.len(),
        after_finish,
        "finish() adds nothing after message_stop"
    );

    let out = sse_events(&bytes);
    assert_eq!(
        names(&out),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    let indexes: Vec<Option<u64>> = out.iter().map(|(_, v)| v["index"].as_u64()).collect();
    assert_eq!(
        indexes,
        [
            None,
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(1),
            Some(1),
            Some(1),
            Some(1),
            Some(2),
            Some(2),
            Some(2),
            None,
            None
        ]
    );
    let start = &out[0].1["message"];
    assert_eq!(start["id"], "chatcmpl-abc");
    assert_eq!(start["model"], "gpt-4o");
    assert_eq!(start["role"], "assistant");
    assert_eq!(
        out[1].1["content_block"],
        json!({"type": "text", "text": ""})
    );
    assert_eq!(
        out[2].1["delta"],
        json!({"type": "text_delta", "text": "Hel"})
    );
    assert_eq!(
        out[5].1["content_block"],
        json!({"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}})
    );
    assert_eq!(
        out[7].1["delta"],
        json!({"type": "input_json_delta", "partial_json": "\"Paris\"}"})
    );
    assert_eq!(out[9].1["content_block"]["id"], "call_b");
    assert_eq!(
        out[12].1,
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use", "stop_sequence": null},
            "usage": {"input_tokens": 15, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 5, "output_tokens": 9},
        })
    );

    // Our own decoder reads it back to the same events.
    assert_eq!(decode_stream(&bytes, &[]), events);
    assert_eq!(
        collect(&decode_stream(&bytes, &[])),
        collect(&events),
        "collected"
    );
}

#[test]
fn encoder_thinking_gets_a_signature_before_stop() {
    let events = vec![
        StreamEvent::Start {
            id: "msg_x".into(),
            model: "m".into(),
            created: 0,
            usage: TokenUsage::default(),
        },
        StreamEvent::ThinkingDelta { text: "Hmm".into() },
        StreamEvent::ThinkingSignature {
            signature: "sig".into(),
        },
        // A second, unsigned thought (e.g. from a provider without
        // signatures) still gets a (empty) signature_delta.
        StreamEvent::ThinkingDelta {
            text: "More".into(),
        },
        StreamEvent::RedactedThinking { data: "xyz".into() },
        StreamEvent::TextDelta { text: "Hi".into() },
        StreamEvent::Usage {
            usage: TokenUsage {
                input_tokens: 3,
                output_tokens: 4,
                ..Default::default()
            },
        },
        StreamEvent::Finish {
            reason: StopReason::Stop,
        },
    ];
    let bytes = encode_stream(&events);
    let out = sse_events(&bytes);
    let summary: Vec<String> = out
        .iter()
        .map(|(n, v)| {
            let what = v["content_block"]["type"]
                .as_str()
                .or(v["delta"]["type"].as_str())
                .or(v["delta"]["stop_reason"].as_str())
                .unwrap_or("");
            format!("{n}:{}:{what}", v["index"])
        })
        .collect();
    assert_eq!(
        summary,
        [
            "message_start:null:",
            "content_block_start:0:thinking",
            "content_block_delta:0:thinking_delta",
            "content_block_delta:0:signature_delta",
            "content_block_stop:0:",
            "content_block_start:1:thinking",
            "content_block_delta:1:thinking_delta",
            "content_block_delta:1:signature_delta",
            "content_block_stop:1:",
            "content_block_start:2:redacted_thinking",
            "content_block_stop:2:",
            "content_block_start:3:text",
            "content_block_delta:3:text_delta",
            "content_block_stop:3:",
            "message_delta:null:end_turn",
            "message_stop:null:",
        ]
    );
    assert_eq!(out[7].1["delta"]["signature"], "");
    assert_eq!(out[14].1["usage"]["output_tokens"], 4);
    let r = collect(&decode_stream(&bytes, &[]));
    assert_eq!(
        r.content,
        vec![
            Part::Thinking {
                text: "Hmm".into(),
                signature: Some("sig".into())
            },
            Part::Thinking {
                text: "More".into(),
                signature: None
            },
            Part::RedactedThinking { data: "xyz".into() },
            Part::Text { text: "Hi".into() },
        ]
    );
}

#[test]
fn encoder_error_closes_the_block_and_ends() {
    let mut enc = StreamEncoder::new();
    let mut bytes = vec![];
    enc.encode(&StreamEvent::TextDelta { text: "par".into() }, &mut bytes);
    enc.encode(
        &StreamEvent::Error {
            error: StreamError {
                status: Some(429),
                kind: "rate_limit_exceeded".into(),
                message: "slow down".into(),
            },
        },
        &mut bytes,
    );
    enc.encode(
        &StreamEvent::TextDelta {
            text: "tial".into(),
        },
        &mut bytes,
    );
    enc.finish(&mut bytes);
    let out = sse_events(&bytes);
    assert_eq!(
        names(&out),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "error"
        ]
    );
    assert_eq!(
        out[4].1,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})
    );
    // A message id was made up since no Start came.
    let id = out[0].1["message"]["id"].as_str().unwrap();
    assert!(id.starts_with("msg_") && id.len() > 12, "{id}");
}

#[test]
fn encoder_generates_ids_and_finishes_what_is_open() {
    let mut enc = StreamEncoder::new();
    let mut bytes = vec![];
    enc.encode(
        &StreamEvent::Start {
            id: String::new(),
            model: "gemini-2.5-pro".into(),
            created: 1_700_000_000,
            usage: TokenUsage {
                input_tokens: 12,
                ..Default::default()
            },
        },
        &mut bytes,
    );
    enc.encode(
        &StreamEvent::ToolCallStart {
            index: 0,
            id: String::new(),
            name: "f".into(),
        },
        &mut bytes,
    );
    enc.encode(
        &StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"a\":1}".into(),
        },
        &mut bytes,
    );
    // A delta for a call that never started is dropped.
    enc.encode(
        &StreamEvent::ToolCallDelta {
            index: 7,
            arguments: "{}".into(),
        },
        &mut bytes,
    );
    enc.finish(&mut bytes);
    let out = sse_events(&bytes);
    assert_eq!(
        names(&out),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(
        out[0].1["message"]["id"]
            .as_str()
            .unwrap()
            .starts_with("msg_")
    );
    assert_eq!(out[0].1["message"]["usage"]["input_tokens"], 12);
    assert!(
        out[1].1["content_block"]["id"]
            .as_str()
            .unwrap()
            .starts_with("toolu_")
    );
    assert_eq!(out[4].1["delta"]["stop_reason"], "end_turn");
    assert_eq!(out[4].1["usage"]["input_tokens"], 12);

    // finish() on a fresh encoder still writes a well-formed message.
    let out = sse_events(&encode_stream(&[]));
    assert_eq!(
        names(&out),
        ["message_start", "message_delta", "message_stop"]
    );
}

// Hand-written request and response cases.

fn user(text: &str) -> Message {
    Message {
        role: Role::User,
        content: vec![Part::Text { text: text.into() }],
    }
}

fn body(req: &ChatRequest) -> Value {
    serde_json::from_slice(&encode_request(req).unwrap()).unwrap()
}

#[test]
fn user_message_with_results_and_text_splits_and_merges_back() {
    // Written as text: `json!` would sort the keys of `input`.
    let wire = r#"{
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "call it", "signature": "s1"},
                {"type": "tool_use", "id": "t1", "name": "w", "input": {"b": 1, "a": [1, 2]}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": [
                    {"type": "text", "text": "sunny"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
                ], "is_error": true},
                {"type": "text", "text": "and tomorrow?"}
            ]}
        ]
    }"#;
    let req = decode_request(wire.as_bytes()).unwrap();
    assert_eq!(req.messages.len(), 4);
    assert_eq!(req.messages[0], user("weather?"));
    assert_eq!(
        req.messages[1].content[1],
        Part::ToolCall {
            id: "t1".into(),
            name: "w".into(),
            arguments: r#"{"b":1,"a":[1,2]}"#.into(),
        }
    );
    assert_eq!(req.messages[2].role, Role::Tool);
    assert_eq!(
        req.messages[2].content,
        vec![Part::ToolResult {
            tool_call_id: "t1".into(),
            name: Some("w".into()),
            content: vec![
                Part::Text {
                    text: "sunny".into()
                },
                Part::Image {
                    source: ImageSource::Base64 {
                        media_type: "image/png".into(),
                        data: "AAA".into()
                    }
                }
            ],
            is_error: true,
        }]
    );
    assert_eq!(req.messages[3], user("and tomorrow?"));

    let out = body(&req);
    let msgs = out["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 3);
    assert_eq!(msgs[2]["role"], "user");
    assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
    assert_eq!(msgs[2]["content"][0]["is_error"], true);
    assert_eq!(
        msgs[2]["content"][1],
        json!({"type": "text", "text": "and tomorrow?"})
    );
    assert_eq!(msgs[1]["content"][1]["input"], json!({"b": 1, "a": [1, 2]}));
    assert_eq!(out["max_tokens"], 100);
    assert_eq!(decode_request(&encode_request(&req).unwrap()).unwrap(), req);
}

#[test]
fn encode_merges_roles_and_puts_results_first() {
    let req = ChatRequest {
        model: "claude".into(),
        messages: vec![
            user("a"),
            user("b"),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking {
                        text: "unsigned".into(),
                        signature: None,
                    },
                    Part::ToolCall {
                        id: "c1".into(),
                        name: "f".into(),
                        arguments: String::new(),
                    },
                ],
            },
            user("before the result"),
            Message {
                role: Role::Tool,
                content: vec![Part::ToolResult {
                    tool_call_id: "c1".into(),
                    name: Some("f".into()),
                    content: vec![Part::Text { text: "42".into() }],
                    is_error: false,
                }],
            },
        ],
        ..Default::default()
    };
    let out = body(&req);
    assert_eq!(
        out["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "42"},
                {"type": "text", "text": "before the result"}
            ]}
        ])
    );
    assert_eq!(out["max_tokens"], DEFAULT_MAX_TOKENS);
}

#[test]
fn invalid_tool_arguments_name_their_path() {
    for bad in ["{\"a\":", "[1,2]"] {
        let req = ChatRequest {
            model: "claude".into(),
            messages: vec![
                user("hi"),
                Message {
                    role: Role::Assistant,
                    content: vec![
                        Part::Text { text: "ok".into() },
                        Part::ToolCall {
                            id: "c".into(),
                            name: "f".into(),
                            arguments: bad.into(),
                        },
                    ],
                },
            ],
            ..Default::default()
        };
        let e = encode_request(&req).unwrap_err();
        assert_eq!(e.path, "messages[1].content[1].arguments", "{bad}");
    }
}

#[test]
fn encode_maps_options() {
    let req = ChatRequest {
        model: "claude".into(),
        system: vec!["Be brief.".into(), "Be kind.".into()],
        messages: vec![user("hi")],
        max_tokens: Some(1000),
        temperature: Some(0.2),
        top_p: Some(0.9),
        top_k: Some(5),
        stop: vec!["END".into()],
        stream: true,
        tools: vec![Tool {
            name: "f".into(),
            description: Some("does f".into()),
            parameters: json!({"type": "object", "properties": {"x": {"type": "string"}}}),
        }],
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(false),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "thing".into(),
            schema: json!({"type": "object"}),
            strict: Some(true),
        }),
        presence_penalty: Some(1.0),
        frequency_penalty: Some(1.0),
        seed: Some(3),
        user: Some("u-1".into()),
        reasoning: None,
    };
    let out = body(&req);
    assert_eq!(
        out,
        json!({
            "model": "claude",
            "max_tokens": 1000,
            "system": [
                {"type": "text", "text": "Be brief."},
                {"type": "text", "text": "Be kind."},
                {"type": "text", "text": json_instruction(req.response_format.as_ref().unwrap()).unwrap()},
            ],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "temperature": 0.2,
            "top_p": 0.9,
            "top_k": 5,
            "stop_sequences": ["END"],
            "stream": true,
            "tools": [{"name": "f", "description": "does f", "input_schema": {"type": "object", "properties": {"x": {"type": "string"}}}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "metadata": {"user_id": "u-1"},
        })
    );
    let instruction = out["system"][2]["text"].as_str().unwrap();
    assert!(instruction.contains("JSON") && instruction.contains("\"thing\""));
    let back = decode_request(&encode_request(&req).unwrap()).unwrap();
    assert_eq!(back.tool_choice, Some(ToolChoice::Required));
    assert_eq!(back.parallel_tool_calls, Some(false));
    assert_eq!(back.user.as_deref(), Some("u-1"));

    // JSON object mode alone becomes the only system prompt.
    let req2 = ChatRequest {
        model: "claude".into(),
        messages: vec![user("hi")],
        response_format: Some(ResponseFormat::JsonObject),
        parallel_tool_calls: Some(false),
        tools: req.tools.clone(),
        ..Default::default()
    };
    let out = body(&req2);
    assert!(out["system"].as_str().unwrap().contains("JSON object"));
    assert_eq!(
        out["tool_choice"],
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
}

#[test]
fn encode_reasoning_as_a_thinking_budget() {
    let mut req = ChatRequest {
        model: "claude".into(),
        messages: vec![user("hi")],
        temperature: Some(0.3),
        top_k: Some(4),
        reasoning: Some(Reasoning {
            effort: Some("medium".into()),
            budget_tokens: None,
        }),
        ..Default::default()
    };
    // An effort becomes a budget; max_tokens (unset) makes room for it;
    // sampling knobs Anthropic rejects with thinking are dropped.
    let out = body(&req);
    assert_eq!(
        out["thinking"],
        json!({"type": "enabled", "budget_tokens": 8192})
    );
    assert_eq!(out["max_tokens"], 8192 + DEFAULT_MAX_TOKENS);
    assert!(out.get("temperature").is_none() && out.get("top_k").is_none());
    // An explicit max_tokens lowers the budget instead.
    req.max_tokens = Some(3000);
    let out = body(&req);
    assert_eq!(out["thinking"]["budget_tokens"], 2999);
    assert_eq!(out["max_tokens"], 3000);
    // Too little room: no thinking, sampling kept.
    req.max_tokens = Some(1000);
    let out = body(&req);
    assert!(out.get("thinking").is_none());
    assert_eq!(out["temperature"], 0.3);
    // Adaptive thinking reads as an effort.
    let wire = json!({"model": "claude-opus-4-6", "max_tokens": 10, "messages": [],
        "thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}});
    let req = decode_request(wire.to_string().as_bytes()).unwrap();
    assert_eq!(
        req.reasoning,
        Some(Reasoning {
            effort: Some("low".into()),
            budget_tokens: None
        })
    );
}

#[test]
fn forced_tool_choice_leaves_thinking_off() {
    let mut req = ChatRequest {
        model: "claude".into(),
        messages: vec![user("weather?")],
        temperature: Some(0.3),
        tools: vec![Tool {
            name: "f".into(),
            description: None,
            parameters: json!({"type": "object"}),
        }],
        tool_choice: Some(ToolChoice::Tool("f".into())),
        reasoning: Some(Reasoning {
            effort: None,
            budget_tokens: Some(2048),
        }),
        ..Default::default()
    };
    // The client's forced tool wins: no thinking, sampling kept, and
    // max_tokens not raised for a budget that is not sent.
    let out = body(&req);
    assert!(out.get("thinking").is_none(), "{out}");
    assert_eq!(out["tool_choice"]["type"], "tool");
    assert_eq!(out["temperature"], 0.3);
    assert_eq!(out["max_tokens"], DEFAULT_MAX_TOKENS);
    req.tool_choice = Some(ToolChoice::Required);
    let out = body(&req);
    assert!(out.get("thinking").is_none(), "{out}");
    assert_eq!(out["tool_choice"]["type"], "any");
    // `auto` and `none` go with thinking.
    for choice in [ToolChoice::Auto, ToolChoice::None] {
        req.tool_choice = Some(choice);
        let out = body(&req);
        assert_eq!(out["thinking"]["budget_tokens"], 2048, "{out}");
        assert!(out.get("temperature").is_none());
    }
    // Without tools the choice is dropped, and forces nothing.
    req.tools.clear();
    req.tool_choice = Some(ToolChoice::Required);
    let out = body(&req);
    assert!(out.get("tool_choice").is_none());
    assert_eq!(out["thinking"]["budget_tokens"], 2048);
}

#[test]
fn thinking_in_a_tool_loop_needs_a_leading_signed_thinking_block() {
    let call = Part::ToolCall {
        id: "t1".into(),
        name: "f".into(),
        arguments: "{}".into(),
    };
    let result = Message {
        role: Role::Tool,
        content: vec![Part::ToolResult {
            tool_call_id: "t1".into(),
            name: Some("f".into()),
            content: vec![Part::Text { text: "ok".into() }],
            is_error: false,
        }],
    };
    let thinking_on = |turn: Vec<Part>, tail: Vec<Message>| {
        let mut messages = vec![
            user("q"),
            Message {
                role: Role::Assistant,
                content: turn,
            },
        ];
        messages.extend(tail);
        let req = ChatRequest {
            model: "claude".into(),
            messages,
            tools: vec![Tool {
                name: "f".into(),
                description: None,
                parameters: json!({"type": "object"}),
            }],
            reasoning: Some(Reasoning {
                effort: Some("low".into()),
                budget_tokens: None,
            }),
            ..Default::default()
        };
        body(&req).get("thinking").is_some()
    };
    let signed = Part::Thinking {
        text: "hmm".into(),
        signature: Some("sig".into()),
    };
    let unsigned = Part::Thinking {
        text: "hmm".into(),
        signature: None,
    };
    let redacted = Part::RedactedThinking {
        data: "AAAA".into(),
    };
    let text = Part::Text {
        text: "let me see".into(),
    };
    let results = || vec![result.clone()];
    // No thinking block first (unsigned thinking is not sent): off.
    assert!(!thinking_on(vec![call.clone()], results()));
    assert!(!thinking_on(vec![text.clone(), call.clone()], results()));
    assert!(!thinking_on(vec![unsigned, call.clone()], results()));
    assert!(!thinking_on(
        vec![call.clone()],
        vec![result.clone(), user("and?")]
    ));
    // Signed or redacted thinking first: on.
    assert!(thinking_on(vec![signed, call.clone()], results()));
    assert!(thinking_on(vec![redacted, call.clone()], results()));
    // Not inside a tool loop: on, whatever earlier turns hold.
    assert!(thinking_on(vec![text], vec![user("and?")]));
    assert!(thinking_on(
        vec![call],
        vec![
            result.clone(),
            Message {
                role: Role::Assistant,
                content: vec![Part::Text {
                    text: "done".into()
                }],
            },
            user("thanks"),
        ]
    ));
}

#[test]
fn unsupported_blocks_are_errors_with_paths() {
    let wire = json!({"model": "claude", "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}
    ]});
    let e = decode_request(wire.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.path, "messages[0].content[0].source");
    let wire = json!({"model": "claude", "max_tokens": 10, "messages": [
        {"role": "robot", "content": "x"}
    ]});
    let e = decode_request(wire.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.path, "messages[0].role");
    // (`system` is a role: Claude Code's mid-conversation system messages,
    // see `tests/mid_system.rs`.)
    // Server-tool blocks in assistant history are skipped.
    let wire = json!({"model": "claude", "max_tokens": 10, "messages": [
        {"role": "user", "content": "search"},
        {"role": "assistant", "content": [
            {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {"q": 1}},
            {"type": "web_search_tool_result", "tool_use_id": "s", "content": {"type": "web_search_tool_result_error", "error_code": "x"}},
            {"type": "text", "text": "found"}
        ]}
    ]});
    let req = decode_request(wire.to_string().as_bytes()).unwrap();
    assert_eq!(
        req.messages[1].content,
        vec![Part::Text {
            text: "found".into()
        }]
    );
}

#[test]
fn response_encoding() {
    let resp = ChatResponse {
        id: "chatcmpl-9".into(),
        model: "gpt-4o".into(),
        created: 1,
        content: vec![
            Part::Thinking {
                text: "t".into(),
                signature: None,
            },
            Part::Text { text: "a".into() },
            Part::ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: "{\"x\": 1}".into(),
            },
            Part::ToolCall {
                id: "d".into(),
                name: "g".into(),
                arguments: "not json".into(),
            },
        ],
        stop_reason: StopReason::Length,
        usage: TokenUsage {
            input_tokens: 10,
            output_tokens: 2,
            cached_tokens: 4,
            cache_creation_tokens: 1,
            reasoning_tokens: 1,
        },
    };
    let v: Value = serde_json::from_slice(&encode_response(&resp)).unwrap();
    assert_eq!(
        v,
        json!({
            "id": "chatcmpl-9",
            "type": "message",
            "role": "assistant",
            "model": "gpt-4o",
            "content": [
                {"type": "thinking", "thinking": "t", "signature": ""},
                {"type": "text", "text": "a"},
                {"type": "tool_use", "id": "c", "name": "f", "input": {"x": 1}},
                {"type": "tool_use", "id": "d", "name": "g", "input": {}},
            ],
            "stop_reason": "max_tokens",
            "stop_sequence": null,
            "usage": {"input_tokens": 5, "cache_creation_input_tokens": 1, "cache_read_input_tokens": 4, "output_tokens": 2},
        })
    );
    for (reason, wire) in [
        (StopReason::Stop, "end_turn"),
        (StopReason::ToolCalls, "tool_use"),
        (StopReason::ContentFilter, "refusal"),
        (StopReason::Other, "end_turn"),
    ] {
        assert_eq!(stop_reason_to(reason), wire);
    }
    for (wire, reason) in [
        ("end_turn", StopReason::Stop),
        ("stop_sequence", StopReason::Stop),
        ("max_tokens", StopReason::Length),
        ("tool_use", StopReason::ToolCalls),
        ("refusal", StopReason::ContentFilter),
        ("pause_turn", StopReason::Other),
    ] {
        assert_eq!(stop_reason_from(wire), reason);
    }
}

#[test]
fn error_bodies() {
    let e = StreamError {
        status: Some(429),
        kind: "rate_limit_error".into(),
        message: "slow".into(),
    };
    let v: Value = serde_json::from_slice(&encode_error(429, &e)).unwrap();
    assert_eq!(
        v,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}})
    );
    // A foreign kind is replaced by the status's Anthropic type.
    let e = StreamError {
        status: Some(404),
        kind: "model_not_found".into(),
        message: "no".into(),
    };
    let v: Value = serde_json::from_slice(&encode_error(404, &e)).unwrap();
    assert_eq!(v["error"]["type"], "not_found_error");
    // Round trip through decode.
    let back = decode_error(529, &encode_error(529, &decode_error(529, b"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}")));
    assert_eq!(back.kind, "overloaded_error");
    assert_eq!(back.message, "Overloaded");
    // Other shapes and plain text.
    assert_eq!(
        decode_error(502, b"<html>Bad Gateway</html>").message,
        "<html>Bad Gateway</html>"
    );
    assert_eq!(decode_error(400, b"{\"message\":\"bad\"}").message, "bad");
    assert_eq!(
        decode_error(
            400,
            b"{\"error\":{\"message\":\"m\",\"type\":\"invalid_request_error\"}}"
        )
        .kind,
        "invalid_request_error"
    );
    // An error body handed to decode_response is an error, not a message.
    let e = decode_response(&fixture("error-404-model-not-found", "response.json")).unwrap_err();
    assert!(e.message.contains("not_found_error"), "{e}");
}
