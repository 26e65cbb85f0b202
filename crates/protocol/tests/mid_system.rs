//! System messages in the middle of an Anthropic `messages` list (Claude
//! Code 2.1 with the `mid-conversation-system-2026-04-07` beta): decoded
//! where they stand, kept there for OpenAI chat completions, folded into
//! the system instructions for Anthropic, Gemini and Bedrock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use switchyard_protocol::canonical::{Part, Role};
use switchyard_protocol::{anthropic, bedrock, gemini, openai};

/// What Claude Code sends: a system prompt, the user's turn, then a system
/// message after it.
fn claude_code_body() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 512,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "List the files."}]},
            {"role": "system", "content": [
                {"type": "text", "text": "The working directory is /src.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Be brief."}
            ]}
        ]
    }))
    .unwrap()
}

fn parse(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap()
}

#[test]
fn decoded_where_it_stands() {
    let req = anthropic::decode_request(&claude_code_body()).unwrap();
    assert_eq!(req.system, ["You are Claude Code."]);
    assert_eq!(req.messages.len(), 2);
    assert_eq!(req.messages[0].role, Role::User);
    assert_eq!(req.messages[1].role, Role::System);
    assert_eq!(
        req.messages[1].content,
        [
            Part::Text {
                text: "The working directory is /src.".into()
            },
            Part::Text {
                text: "Be brief.".into()
            }
        ]
    );
    // A string content too.
    let req = anthropic::decode_request(
        br#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"system","content":"later"}]}"#,
    )
    .unwrap();
    assert_eq!(req.messages[1].role, Role::System);
}

#[test]
fn only_text_in_a_system_message_and_other_roles_still_refused() {
    let e = anthropic::decode_request(
        br#"{"model":"m","max_tokens":5,"messages":[{"role":"system","content":[{"type":"image","source":{"type":"url","url":"http://x/a.png"}}]}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("messages[0].content[0]"), "{e}");
    assert!(e.to_string().contains("text only"), "{e}");
    let e = anthropic::decode_request(
        br#"{"model":"m","max_tokens":5,"messages":[{"role":"robot","content":"x"}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("unknown role `robot`"), "{e}");
}

#[test]
fn openai_keeps_it_as_a_system_message_where_it_stands() {
    let req = anthropic::decode_request(&claude_code_body()).unwrap();
    let out = parse(&openai::encode_request(&req).unwrap());
    let msgs = out["messages"].as_array().unwrap();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "system"]);
    assert_eq!(msgs[0]["content"], "You are Claude Code.");
    let late = msgs[2]["content"].as_str().unwrap();
    assert!(late.contains("The working directory is /src."), "{late}");
    assert!(late.contains("Be brief."), "{late}");
}

#[test]
fn anthropic_folds_it_into_the_system_prompt() {
    let req = anthropic::decode_request(&claude_code_body()).unwrap();
    let out = parse(&anthropic::encode_request(&req).unwrap());
    let system: Vec<&str> = out["system"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        system,
        [
            "You are Claude Code.",
            "The working directory is /src.\n\nBe brief."
        ]
    );
    let msgs = out["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{out}");
    assert_eq!(msgs[0]["role"], "user");
    // And it reads back as a valid Anthropic request.
    anthropic::decode_request(&serde_json::to_vec(&out).unwrap()).unwrap();
}

#[test]
fn gemini_folds_it_into_the_system_instruction() {
    let req = anthropic::decode_request(&claude_code_body()).unwrap();
    let out = parse(&gemini::encode_request(&req).unwrap());
    let parts: Vec<&str> = out["systemInstruction"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        [
            "You are Claude Code.",
            "The working directory is /src.\n\nBe brief."
        ]
    );
    let contents = out["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 1, "{out}");
    assert_eq!(contents[0]["role"], "user");
}

#[test]
fn bedrock_folds_it_into_the_system_blocks() {
    // Between two turns: Converse's strict alternation survives.
    let body = serde_json::to_vec(&json!({
        "model": "m", "max_tokens": 50,
        "messages": [
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "two"},
            {"role": "system", "content": "mind the tests"},
            {"role": "user", "content": "three"}
        ]
    }))
    .unwrap();
    let req = anthropic::decode_request(&body).unwrap();
    let out = parse(&bedrock::encode_request(&req).unwrap());
    let system: Vec<&str> = out["system"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"].as_str().unwrap())
        .collect();
    assert_eq!(system, ["mind the tests"]);
    let roles: Vec<&str> = out["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user"]);
}
