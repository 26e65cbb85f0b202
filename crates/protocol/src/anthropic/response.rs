//! Anthropic message responses and errors to and from canonical.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::{
    OutBlock, OutInput, OutUsage, WireBlock, WireUsage, arguments_text, kind_for_status, tool_input,
};
use super::{stop_reason_from, stop_reason_to};
use crate::canonical::{ChatResponse, ConvertError, Part, StopReason, StreamError};
use crate::dialect::status_kind;

#[derive(Deserialize)]
struct WireResponse {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    /// Required: a body without it is not a message (e.g. a count_tokens
    /// answer, or an error).
    content: Option<Vec<WireBlock>>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

/// Content blocks of model output to canonical parts; server-tool and
/// unknown blocks are skipped.
pub(super) fn output_part(b: WireBlock) -> Option<Part> {
    match b.kind.as_str() {
        "text" => b
            .text
            .filter(|t| !t.is_empty())
            .map(|text| Part::Text { text }),
        "thinking" => Some(Part::Thinking {
            text: b.thinking.unwrap_or_default(),
            signature: b.signature.filter(|s| !s.is_empty()),
        }),
        "redacted_thinking" => Some(Part::RedactedThinking {
            data: b.data.unwrap_or_default(),
        }),
        "tool_use" => Some(Part::ToolCall {
            arguments: arguments_text(b.input.as_deref()),
            id: b.id.unwrap_or_default(),
            name: b.name.unwrap_or_default(),
        }),
        // Server-tool blocks (`server_tool_use`, `*_tool_result`) and
        // anything newer.
        _ => None,
    }
}

/// An Anthropic message (non-streamed answer) to canonical.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ConvertError> {
    let w: WireResponse = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid response body: {e}")))?;
    if w.kind.as_deref() == Some("error") || w.error.is_some() {
        let e = decode_error(500, body);
        return Err(ConvertError::new(
            "",
            format!(
                "the provider answered with an error: {} ({})",
                e.message, e.kind
            ),
        ));
    }
    let Some(blocks) = w.content else {
        return Err(ConvertError::new(
            "content",
            "not an Anthropic message: no `content`",
        ));
    };
    Ok(ChatResponse {
        id: w.id,
        model: w.model,
        created: 0,
        content: blocks.into_iter().filter_map(output_part).collect(),
        stop_reason: w
            .stop_reason
            .as_deref()
            .map_or(StopReason::Stop, stop_reason_from),
        usage: w.usage.map(|u| u.canonical()).unwrap_or_default(),
    })
}

/// Canonical parts to content blocks of model output. Images and tool
/// results have no place in an answer and are skipped; arguments that are
/// not a JSON object become `{}`.
pub(super) fn output_blocks(parts: &[Part]) -> Vec<OutBlock<'_>> {
    let mut out = Vec::new();
    for p in parts {
        match p {
            Part::Text { text } if !text.is_empty() => out.push(OutBlock::Text { text }),
            Part::Thinking { text, signature } => out.push(OutBlock::Thinking {
                thinking: text,
                signature: signature.as_deref().unwrap_or(""),
            }),
            Part::RedactedThinking { data } => out.push(OutBlock::RedactedThinking { data }),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => out.push(OutBlock::ToolUse {
                id,
                name,
                input: tool_input(arguments)
                    .unwrap_or_else(|_| OutInput::Empty(serde_json::Map::new())),
            }),
            Part::Text { .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    out
}

#[derive(Serialize)]
struct OutResponse<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<OutBlock<'a>>,
    stop_reason: &'static str,
    stop_sequence: Option<&'a str>,
    usage: OutUsage,
}

/// Canonical to an Anthropic message for a Claude client.
pub fn encode_response(resp: &ChatResponse) -> Vec<u8> {
    let body = OutResponse {
        id: &resp.id,
        kind: "message",
        role: "assistant",
        model: &resp.model,
        content: output_blocks(&resp.content),
        stop_reason: stop_reason_to(resp.stop_reason),
        stop_sequence: None,
        usage: OutUsage::from(&resp.usage),
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The longest foreign (non-JSON) error text kept as a message.
const MAX_FOREIGN_MESSAGE: usize = 2000;

/// An error body (Anthropic's, another shape, or empty) to canonical.
pub fn decode_error(status: u16, body: &[u8]) -> StreamError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let inner = v.get("error");
    let (kind, message) = match inner {
        Some(Value::Object(e)) => (
            e.get("type").and_then(Value::as_str),
            e.get("message").and_then(Value::as_str),
        ),
        Some(Value::String(m)) => (None, Some(m.as_str())),
        _ => (None, v.get("message").and_then(Value::as_str)),
    };
    let message = match message {
        Some(m) => m.to_string(),
        None => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                format!("the provider answered HTTP {status} with an empty body")
            } else {
                text.chars().take(MAX_FOREIGN_MESSAGE).collect()
            }
        }
    };
    StreamError {
        status: Some(status),
        kind: kind.map_or_else(|| status_kind(status).to_string(), str::to_string),
        message,
    }
}

#[derive(Serialize)]
pub(super) struct OutError<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: OutErrorBody<'a>,
}

#[derive(Serialize)]
struct OutErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    message: &'a str,
}

/// Anthropic's error types; anything else is replaced by the status's.
const ANTHROPIC_KINDS: [&str; 10] = [
    "invalid_request_error",
    "authentication_error",
    "billing_error",
    "permission_error",
    "not_found_error",
    "request_too_large",
    "rate_limit_error",
    "api_error",
    "timeout_error",
    "overloaded_error",
];

pub(super) fn error_body(status: u16, err: &StreamError) -> OutError<'_> {
    let kind = if ANTHROPIC_KINDS.contains(&err.kind.as_str()) {
        err.kind.as_str()
    } else {
        kind_for_status(status)
    };
    OutError {
        kind: "error",
        error: OutErrorBody {
            kind,
            message: &err.message,
        },
    }
}

/// Canonical to `{"type":"error","error":{"type","message"}}`.
pub fn encode_error(status: u16, err: &StreamError) -> Vec<u8> {
    serde_json::to_vec(&error_body(status, err)).unwrap_or_default()
}
