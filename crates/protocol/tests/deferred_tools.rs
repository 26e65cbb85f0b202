//! Deferred tools (Anthropic tool search, `defer_loading: true`) in a
//! translated request: no other provider can search for them, so they are
//! offered directly, except the `DeferredToolPlaceholder` Claude Code 2.1
//! always declares ("never call this tool"). Sent as an ordinary function to a
//! chat provider, the placeholder was the first tool a model saw, and calling
//! it got "No such tool available" back from Claude Code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_protocol::{anthropic, openai};

/// What Claude Code 2.1.332 sends with `--tools Bash`.
fn claude_code_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": "claude-opus-5-5",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "List the files."}],
        "tools": [
            {"name": "DeferredToolPlaceholder",
             "description": "Reserved placeholder that keeps deferred tool loading active; never call this tool.",
             "input_schema": {"type": "object", "properties": {}}, "defer_loading": true},
            {"name": "Bash", "description": "Runs a command.",
             "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
            {"name": "mcp__db__query", "description": "Runs a query.",
             "input_schema": {"type": "object", "properties": {}}, "defer_loading": true}
        ]
    }))
    .unwrap()
}

#[test]
fn the_placeholder_is_left_out_other_deferred_tools_are_offered() {
    let req = anthropic::decode_request(&claude_code_body()).unwrap();
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Bash", "mcp__db__query"]);
    let chat: Value = serde_json::from_slice(&openai::encode_request(&req).unwrap()).unwrap();
    let names: Vec<&str> = chat["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bash", "mcp__db__query"]);
}

#[test]
fn a_tool_of_that_name_that_is_not_deferred_is_kept() {
    let body = br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],
        "tools":[{"name":"DeferredToolPlaceholder","input_schema":{"type":"object"}}]}"#;
    let req = anthropic::decode_request(body).unwrap();
    assert_eq!(req.tools.len(), 1);
}
