//! OpenAI chat responses and errors to and from canonical.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{stop_reason_from, stop_reason_to};
use crate::canonical::{ChatResponse, ConvertError, Part, StopReason, StreamError, TokenUsage};
use crate::dialect::stream_error;

#[derive(Deserialize, Default)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub prompt_tokens_details: Option<Details>,
    #[serde(default)]
    pub completion_tokens_details: Option<Details>,
    /// DeepSeek reports cache hits here.
    #[serde(default)]
    pub prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Details {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

impl WireUsage {
    pub(crate) fn canonical(&self) -> TokenUsage {
        TokenUsage {
            input_tokens: self.prompt_tokens,
            output_tokens: self.completion_tokens,
            cached_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .or(self.prompt_cache_hit_tokens)
                .unwrap_or(0),
            cache_creation_tokens: 0,
            reasoning_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

pub(crate) fn usage_json(u: &TokenUsage) -> Value {
    let mut m = Map::new();
    m.insert("prompt_tokens".into(), u.input_tokens.into());
    m.insert("completion_tokens".into(), u.output_tokens.into());
    m.insert(
        "total_tokens".into(),
        (u.input_tokens + u.output_tokens).into(),
    );
    if u.cached_tokens > 0 {
        m.insert(
            "prompt_tokens_details".into(),
            json!({"cached_tokens": u.cached_tokens}),
        );
    }
    if u.reasoning_tokens > 0 {
        m.insert(
            "completion_tokens_details".into(),
            json!({"reasoning_tokens": u.reasoning_tokens}),
        );
    }
    Value::Object(m)
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    created: u64,
    #[serde(default, deserialize_with = "super::null_as_empty")]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMsg>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMsg {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default, deserialize_with = "super::null_as_empty")]
    tool_calls: Vec<WireCall>,
}

#[derive(Deserialize)]
struct WireCall {
    #[serde(default)]
    id: String,
    function: WireFn,
}

#[derive(Deserialize)]
struct WireFn {
    #[serde(default)]
    name: String,
    #[serde(default)]
    arguments: String,
}

pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ConvertError> {
    let w: WireResponse = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid response body: {e}")))?;
    let choice = w.choices.into_iter().next();
    let mut content = Vec::new();
    let mut stop_reason = StopReason::Stop;
    if let Some(c) = choice {
        if let Some(m) = c.message {
            if let Some(r) = m.reasoning_content.filter(|r| !r.is_empty()) {
                content.push(Part::Thinking {
                    text: r,
                    signature: None,
                });
            }
            if let Some(t) = m.content.filter(|t| !t.is_empty()) {
                content.push(Part::Text { text: t });
            }
            for tc in m.tool_calls {
                content.push(Part::ToolCall {
                    id: tc.id,
                    name: tc.function.name,
                    arguments: if tc.function.arguments.is_empty() {
                        "{}".into()
                    } else {
                        tc.function.arguments
                    },
                });
            }
        }
        if let Some(r) = c.finish_reason {
            stop_reason = stop_reason_from(&r);
        }
    }
    Ok(ChatResponse {
        id: w.id,
        model: w.model,
        created: w.created,
        content,
        stop_reason,
        usage: w.usage.map(|u| u.canonical()).unwrap_or_default(),
    })
}

pub fn encode_response(resp: &ChatResponse) -> Vec<u8> {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for p in &resp.content {
        match p {
            Part::Text { text: t } => text.push_str(t),
            Part::Thinking { text: t, .. } => reasoning.push_str(t),
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                calls.push(json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}));
            }
            _ => {}
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    message.insert(
        "content".into(),
        if text.is_empty() && !calls.is_empty() {
            Value::Null
        } else {
            text.into()
        },
    );
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), reasoning.into());
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    let body = json!({
        "id": resp.id,
        "object": "chat.completion",
        "created": resp.created,
        "model": resp.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": stop_reason_to(resp.stop_reason),
        }],
        "usage": usage_json(&resp.usage),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A provider error body as canonical. The kind comes from the HTTP status
/// wherever that status says it all (401, 403, 404, 413, 429, 5xx): OpenAI's
/// `type` does not follow Anthropic's kinds (a bad key is a 401
/// `invalid_request_error`, a rate limit `requests` or `tokens`). For other
/// statuses (400, 409, 422, ...) a non-empty `type` is kept as the kind.
pub fn decode_error(status: u16, body: &[u8]) -> StreamError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = v.get("error").unwrap_or(&v);
    let message = e
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect());
    let mut err = stream_error(
        Some(status),
        if message.is_empty() {
            format!("HTTP {status}")
        } else {
            message
        },
    );
    let status_decides = matches!(status, 401 | 403 | 404 | 413 | 429 | 500..=599);
    if !status_decides
        && let Some(t) = e
            .get("type")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
    {
        err.kind = t.to_string();
    }
    err
}

/// The OpenAI `type` written for a canonical kind, in error bodies and in
/// stream error events alike.
pub(crate) fn error_type(kind: &str) -> &str {
    match kind {
        "rate_limit_error" => "rate_limit_exceeded",
        "overloaded_error" | "api_error" => "server_error",
        k => k,
    }
}

pub fn encode_error(status: u16, err: &StreamError) -> Vec<u8> {
    let body = json!({"error": {"message": err.message, "type": error_type(&err.kind), "code": err.status.or(Some(status)), "param": null}});
    serde_json::to_vec(&body).unwrap_or_default()
}
