use serde_json::{Value, json};

use super::*;
use crate::canonical::{
    ChatResponse, Part, ResponseFormat, Role, StopReason, StreamCollector, StreamEvent, TokenUsage,
    ToolChoice,
};
use crate::dialect::{StreamDecode, StreamEncode, stream_error};

/// What Codex CLI sends (shape of a real request, trimmed).
fn codex_request() -> Value {
    json!({
        "model": "gpt-5-codex",
        "instructions": "You are Codex.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sandbox: read-only"}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list files"}]},
            {"type": "reasoning", "summary": [], "encrypted_content": "gAAA"},
            {"type": "function_call", "call_id": "call_1", "name": "shell", "arguments": "{\"command\":[\"ls\"]}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\nb.txt"},
            {"type": "function_call", "call_id": "call_2", "namespace": "mcp", "name": "fetch", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "ok"}]}
        ],
        "tools": [
            {"type": "function", "name": "shell", "description": "Run a command",
             "parameters": {"type": "object", "properties": {"command": {"type": "array"}}}, "strict": false},
            {"type": "namespace", "name": "mcp", "description": "MCP tools",
             "tools": [{"type": "function", "name": "fetch", "parameters": {"type": "object", "properties": {}}}]},
            {"type": "custom", "name": "apply_patch", "description": "Patch files"},
            {"type": "web_search"},
            {"type": "web_search"},
            {"type": "local_shell"}
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "abc",
        "client_metadata": {"x": "y"},
        "text": {"format": {"type": "json_schema", "name": "out", "schema": {"type": "object"}, "strict": true}}
    })
}

#[test]
fn codex_request_decodes() {
    let d = decode_request(codex_request().to_string().as_bytes()).unwrap();
    let r = &d.request;
    assert_eq!(r.model, "gpt-5-codex");
    assert!(r.stream);
    assert_eq!(r.system, vec!["You are Codex.", "sandbox: read-only"]);
    assert!(d.has_instructions);
    assert_eq!(d.dropped_tools, vec!["web_search", "local_shell"]);
    let names: Vec<_> = r.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["shell", "mcp__fetch", "apply_patch"]);
    assert_eq!(r.tools[2].parameters["required"], json!(["input"]));
    assert_eq!(d.echo.names.split("mcp__fetch"), Some(("mcp", "fetch")));
    assert!(d.echo.names.is_custom("apply_patch"));
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(r.parallel_tool_calls, Some(false));
    assert_eq!(
        r.reasoning.as_ref().unwrap().effort.as_deref(),
        Some("medium")
    );
    assert!(matches!(
        r.response_format,
        Some(ResponseFormat::JsonSchema {
            strict: Some(true),
            ..
        })
    ));
    let roles: Vec<Role> = r.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        vec![
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Assistant,
            Role::Tool
        ]
    );
    match &r.messages[1].content[0] {
        Part::ToolCall { id, name, .. } => {
            assert_eq!((id.as_str(), name.as_str()), ("call_1", "shell"))
        }
        p => panic!("{p:?}"),
    }
    match &r.messages[3].content[0] {
        Part::ToolCall { name, .. } => assert_eq!(name, "mcp__fetch"),
        p => panic!("{p:?}"),
    }
    match &r.messages[4].content[0] {
        Part::ToolResult {
            tool_call_id,
            name,
            content,
            ..
        } => {
            assert_eq!(tool_call_id, "call_2");
            assert_eq!(name.as_deref(), Some("mcp__fetch"));
            assert_eq!(content, &vec![Part::Text { text: "ok".into() }]);
        }
        p => panic!("{p:?}"),
    }
    // Echoed: the kept tools and the client's settings.
    assert_eq!(d.echo.tools.as_array().unwrap().len(), 3);
    assert!(!d.echo.store);
    assert_eq!(d.echo.prompt_cache_key.as_deref(), Some("abc"));
}

#[test]
fn string_input_and_errors() {
    let d = decode_request(br#"{"model":"m","input":"hi","max_output_tokens":9}"#).unwrap();
    assert_eq!(
        d.request.messages[0].content,
        vec![Part::Text { text: "hi".into() }]
    );
    assert_eq!(d.request.max_tokens, Some(9));
    for (body, field) in [
        (
            r#"{"model":"m","input":[{"role":"robot","content":"x"}]}"#,
            "input[0].role",
        ),
        (
            r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}"#,
            "input[0].content[0]",
        ),
        (
            r#"{"model":"m","input":"x","background":true}"#,
            "background",
        ),
        (
            r#"{"model":"m","input":"x","conversation":"conv_1"}"#,
            "conversation",
        ),
        (
            r#"{"model":"m","input":[{"type":"mystery"}]}"#,
            "input[0].type",
        ),
    ] {
        let e = decode_request(body.as_bytes()).unwrap_err();
        assert_eq!(e.path, field, "{body}: {e}");
    }
}

fn echo() -> Echo {
    let d = decode_request(codex_request().to_string().as_bytes()).unwrap();
    Echo {
        id: "resp_0123".into(),
        created_at: 1_700_000_000,
        ..d.echo
    }
}

#[test]
fn answer_encodes_with_items_and_usage() {
    let resp = ChatResponse {
        id: "chatcmpl-1".into(),
        model: "served".into(),
        created: 5,
        content: vec![
            Part::Thinking {
                text: "hmm".into(),
                signature: None,
            },
            Part::Text {
                text: "Calling.".into(),
            },
            Part::ToolCall {
                id: "call_9".into(),
                name: "mcp__fetch".into(),
                arguments: "{\"u\":1}".into(),
            },
            Part::ToolCall {
                id: "call_8".into(),
                name: "apply_patch".into(),
                arguments: "{\"input\":\"*** Begin\"}".into(),
            },
        ],
        stop_reason: StopReason::ToolCalls,
        usage: TokenUsage {
            input_tokens: 10,
            output_tokens: 4,
            cached_tokens: 2,
            cache_creation_tokens: 0,
            reasoning_tokens: 1,
        },
    };
    let v: Value = serde_json::from_slice(&encode_response(&resp, &echo())).unwrap();
    assert_eq!(v["id"], "resp_0123");
    assert_eq!(v["object"], "response");
    assert_eq!(v["status"], "completed");
    assert_eq!(v["model"], "served");
    assert_eq!(v["created_at"], 1_700_000_000);
    let out = v["output"].as_array().unwrap();
    assert_eq!(out[0]["type"], "reasoning");
    assert_eq!(out[0]["id"], "rs_01230000");
    assert_eq!(out[1]["type"], "message");
    assert_eq!(out[1]["id"], "msg_01230001");
    assert_eq!(out[1]["content"][0]["text"], "Calling.");
    assert_eq!(out[2]["type"], "function_call");
    assert_eq!(out[2]["id"], "fc_01230002");
    assert_eq!(
        (out[2]["namespace"].as_str(), out[2]["name"].as_str()),
        (Some("mcp"), Some("fetch"))
    );
    assert_eq!(out[2]["call_id"], "call_9");
    assert_eq!(out[3]["type"], "custom_tool_call");
    assert_eq!(out[3]["input"], "*** Begin");
    assert_eq!(v["usage"]["input_tokens"], 10);
    assert_eq!(v["usage"]["total_tokens"], 14);
    assert_eq!(v["usage"]["input_tokens_details"]["cached_tokens"], 2);
    assert_eq!(v["usage"]["output_tokens_details"]["reasoning_tokens"], 1);
    // Decoded back: the same parts, the calls as the provider named them.
    let back = decode_response(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(back.content[1..], resp.content[1..]);
    assert_eq!(back.stop_reason, StopReason::ToolCalls);
    assert_eq!(back.usage, resp.usage);
}

#[test]
fn max_tokens_is_incomplete() {
    let resp = ChatResponse {
        id: String::new(),
        model: String::new(),
        created: 0,
        content: vec![Part::Text { text: "cut".into() }],
        stop_reason: StopReason::Length,
        usage: TokenUsage::default(),
    };
    let v: Value = serde_json::from_slice(&encode_response(&resp, &Echo::default())).unwrap();
    assert_eq!(v["status"], "incomplete");
    assert_eq!(v["incomplete_details"]["reason"], "max_output_tokens");
    assert_eq!(v["output"][0]["status"], "incomplete");
    assert_eq!(
        decode_response(&serde_json::to_vec(&v).unwrap())
            .unwrap()
            .stop_reason,
        StopReason::Length
    );
}

pub(super) fn script() -> Vec<StreamEvent> {
    vec![
        StreamEvent::Start {
            id: "up-1".into(),
            model: "served".into(),
            created: 7,
            usage: TokenUsage::default(),
        },
        StreamEvent::ThinkingDelta {
            text: "think".into(),
        },
        StreamEvent::TextDelta { text: "Hel".into() },
        StreamEvent::TextDelta { text: "lo".into() },
        StreamEvent::ToolCallStart {
            index: 0,
            id: "call_a".into(),
            name: "shell".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "{\"command\":".into(),
        },
        StreamEvent::ToolCallStart {
            index: 1,
            id: "call_b".into(),
            name: "mcp__fetch".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 0,
            arguments: "[]}".into(),
        },
        StreamEvent::ToolCallStart {
            index: 2,
            id: "call_c".into(),
            name: "apply_patch".into(),
        },
        StreamEvent::ToolCallDelta {
            index: 2,
            arguments: "{\"input\":\"p\"}".into(),
        },
        StreamEvent::Finish {
            reason: StopReason::ToolCalls,
        },
        StreamEvent::Usage {
            usage: TokenUsage {
                input_tokens: 3,
                output_tokens: 9,
                ..Default::default()
            },
        },
    ]
}

fn encode_all(events: &[StreamEvent], echo: Echo) -> (Vec<u8>, StreamEncoder) {
    let mut enc = StreamEncoder::new(echo);
    let mut out = vec![];
    for e in events {
        enc.encode(e, &mut out);
    }
    enc.finish(&mut out);
    (out, enc)
}

/// (event line, data) of every event.
fn events_of(bytes: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut lines = e.lines();
            let ev = lines
                .next()
                .unwrap()
                .strip_prefix("event: ")
                .unwrap()
                .to_string();
            let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
            (ev, serde_json::from_str(data).unwrap())
        })
        .collect()
}

/// The lifecycle rules every stream must keep.
pub(super) fn check_lifecycle(events: &[(String, Value)]) {
    use std::collections::HashMap;
    let mut open: HashMap<u64, String> = HashMap::new();
    let mut closed: Vec<u64> = vec![];
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str(), "event line and type agree");
        assert_eq!(data["sequence_number"], i as u64, "sequence numbers from 0");
        let ty = name.as_str();
        match i {
            0 => assert_eq!(ty, "response.created"),
            1 => assert_eq!(ty, "response.in_progress"),
            _ => {}
        }
        if let Some(idx) = data.get("output_index").and_then(Value::as_u64) {
            if ty == "response.output_item.added" {
                assert!(
                    !open.contains_key(&idx) && !closed.contains(&idx),
                    "{ty} twice"
                );
                assert!(data["item"]["id"].as_str().is_some());
                open.insert(idx, data["item"]["id"].as_str().unwrap().into());
            } else {
                let id = open
                    .get(&idx)
                    .unwrap_or_else(|| panic!("{ty} on item {idx} not open"));
                if let Some(item_id) = data.get("item_id") {
                    assert_eq!(item_id, id.as_str());
                }
                if ty == "response.output_item.done" {
                    assert_eq!(data["item"]["id"], id.as_str());
                    open.remove(&idx);
                    closed.push(idx);
                }
            }
        }
    }
    assert!(open.is_empty(), "items left open: {open:?}");
    let last = &events.last().unwrap().0;
    assert!(
        [
            "response.completed",
            "response.incomplete",
            "response.failed"
        ]
        .contains(&last.as_str()),
        "{last}"
    );
}

#[test]
fn stream_lifecycle_is_complete_and_ordered() {
    let (bytes, enc) = encode_all(&script(), echo());
    let events = events_of(&bytes);
    check_lifecycle(&events);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.custom_tool_call_input.delta",
            "response.custom_tool_call_input.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["id"], "resp_0123");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["usage"]["output_tokens"], 9);
    assert_eq!(done["output"].as_array().unwrap().len(), 5);
    assert_eq!(done["output"][2]["arguments"], "{\"command\":[]}");
    assert_eq!(done["output"][3]["arguments"], "{}");
    assert_eq!(done["output"][4]["input"], "p");
    assert_eq!(enc.final_response(), Some(done));
    // The same items as the answer encoded whole.
    let mut c = StreamCollector::default();
    script().iter().for_each(|e| c.push(e));
    let whole: Value = serde_json::from_slice(&encode_response(&c.finish(), &echo())).unwrap();
    assert_eq!(whole["output"], done["output"]);
}

#[test]
fn stream_decodes_back_in_any_chunking() {
    let (bytes, _) = encode_all(&script(), Echo::default());
    let decode = |pieces: usize| {
        let mut d = StreamDecoder::new();
        let mut out = vec![];
        for chunk in bytes.chunks(pieces) {
            d.push(chunk, &mut out).unwrap();
        }
        d.finish(&mut out).unwrap();
        out
    };
    let whole = decode(bytes.len());
    assert_eq!(decode(1), whole);
    assert_eq!(decode(7), whole);
    let (mut a, mut b) = (StreamCollector::default(), StreamCollector::default());
    script().iter().for_each(|e| a.push(e));
    whole.iter().for_each(|e| b.push(e));
    let (a, b) = (a.finish(), b.finish());
    assert_eq!(b.id, "resp_up1");
    assert_eq!(b.usage, a.usage);
    assert_eq!(b.stop_reason, StopReason::ToolCalls);
    let calls = |r: &ChatResponse| -> Vec<String> {
        r.content
            .iter()
            .filter_map(|p| match p {
                Part::ToolCall { arguments, .. } => Some(arguments.clone()),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        calls(&b),
        vec![
            "{\"command\":[]}".to_string(),
            "{}".into(),
            "{\"input\":\"p\"}".into()
        ]
    );
}

#[test]
fn errors_fail_the_response() {
    let (bytes, enc) = encode_all(
        &[
            StreamEvent::Start {
                id: "x".into(),
                model: "m".into(),
                created: 1,
                usage: TokenUsage::default(),
            },
            StreamEvent::TextDelta { text: "par".into() },
            StreamEvent::Error {
                error: stream_error(Some(429), "slow down"),
            },
        ],
        Echo::default(),
    );
    let events = events_of(&bytes);
    check_lifecycle(&events);
    let n = events.len();
    assert_eq!(events[n - 2].0, "error");
    assert_eq!(events[n - 2].1["code"], "rate_limit_exceeded");
    assert_eq!(events[n - 1].1["response"]["status"], "failed");
    assert_eq!(events[n - 1].1["response"]["error"]["message"], "slow down");
    assert!(enc.final_response().is_some());
    // Before anything began: the error event alone.
    let (bytes, _) = encode_all(
        &[StreamEvent::Error {
            error: stream_error(Some(500), "down"),
        }],
        Echo::default(),
    );
    let events = events_of(&bytes);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, "error");
    assert_eq!(events[0].1["sequence_number"], 0);
}

#[test]
fn empty_stream_still_completes() {
    let (bytes, _) = encode_all(
        &[],
        Echo {
            model: "m".into(),
            ..Echo::default()
        },
    );
    let events = events_of(&bytes);
    check_lifecycle(&events);
    assert_eq!(events.len(), 3);
}
