//! Converse responses and errors to and from canonical.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::request::{WireMessage, block_from_wire, image_json};
use crate::canonical::{ChatResponse, ConvertError, Part, StopReason, StreamError, TokenUsage};
use crate::dialect::stream_error;

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    #[serde(default)]
    pub cache_write_input_tokens: u64,
}

impl WireUsage {
    /// Converse counts cached input apart from `inputTokens`; canonical
    /// input includes it.
    pub(crate) fn canonical(&self) -> TokenUsage {
        TokenUsage {
            input_tokens: self.input_tokens
                + self.cache_read_input_tokens
                + self.cache_write_input_tokens,
            output_tokens: self.output_tokens,
            cached_tokens: self.cache_read_input_tokens,
            cache_creation_tokens: self.cache_write_input_tokens,
            reasoning_tokens: 0,
        }
    }
}

pub(crate) fn usage_json(u: &TokenUsage) -> Value {
    let fresh = u
        .input_tokens
        .saturating_sub(u.cached_tokens)
        .saturating_sub(u.cache_creation_tokens);
    let mut m = Map::new();
    m.insert("inputTokens".into(), fresh.into());
    m.insert("outputTokens".into(), u.output_tokens.into());
    m.insert(
        "totalTokens".into(),
        (u.input_tokens + u.output_tokens).into(),
    );
    if u.cached_tokens > 0 {
        m.insert("cacheReadInputTokens".into(), u.cached_tokens.into());
    }
    if u.cache_creation_tokens > 0 {
        m.insert(
            "cacheWriteInputTokens".into(),
            u.cache_creation_tokens.into(),
        );
    }
    Value::Object(m)
}

pub(crate) fn stop_reason_from(s: &str) -> StopReason {
    match s {
        "end_turn" | "stop_sequence" => StopReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => StopReason::Length,
        "tool_use" => StopReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => StopReason::ContentFilter,
        _ => StopReason::Other,
    }
}

pub(crate) fn stop_reason_to(r: StopReason) -> &'static str {
    match r {
        StopReason::Stop | StopReason::Other => "end_turn",
        StopReason::Length => "max_tokens",
        StopReason::ToolCalls => "tool_use",
        StopReason::ContentFilter => "content_filtered",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireResponse {
    #[serde(default)]
    output: Option<WireOutput>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireOutput {
    #[serde(default)]
    message: Option<WireMessage>,
}

/// A Converse response to canonical. Converse answers carry no id, model or
/// timestamp: those are left empty / 0 for the gateway to fill.
pub fn decode_response(body: &[u8]) -> Result<ChatResponse, ConvertError> {
    let w: WireResponse = serde_json::from_slice(body)
        .map_err(|e| ConvertError::new("", format!("invalid Converse response body: {e}")))?;
    let mut content = Vec::new();
    if let Some(m) = w.output.and_then(|o| o.message) {
        for (i, b) in m.content.into_iter().enumerate() {
            if let Some(p) = block_from_wire(b, &format!("output.message.content[{i}]"))? {
                content.push(p);
            }
        }
    }
    Ok(ChatResponse {
        id: String::new(),
        model: String::new(),
        created: 0,
        content,
        stop_reason: w
            .stop_reason
            .as_deref()
            .map_or(StopReason::Stop, stop_reason_from),
        usage: w.usage.unwrap_or_default().canonical(),
    })
}

/// Canonical response as a Converse response body (for tests and the
/// emulator). Parts with no place in an assistant message (tool results)
/// are dropped, as are images that cannot be expressed; tool-call
/// arguments that are not valid JSON become `{}`. `metrics.latencyMs` is 0.
pub fn encode_response(resp: &ChatResponse) -> Vec<u8> {
    let mut content = Vec::new();
    for p in &resp.content {
        let b = match p {
            Part::Text { text } => json!({"text": text}),
            Part::Image { source } => match image_json(source, "") {
                Ok(v) => v,
                Err(_) => continue,
            },
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                let input = serde_json::from_str::<Value>(arguments)
                    .unwrap_or_else(|_| Value::Object(Map::new()));
                json!({"toolUse": {"toolUseId": id, "name": name, "input": input}})
            }
            Part::Thinking { text, signature } => {
                let mut rt = Map::new();
                rt.insert("text".into(), text.clone().into());
                if let Some(s) = signature {
                    rt.insert("signature".into(), s.clone().into());
                }
                json!({"reasoningContent": {"reasoningText": rt}})
            }
            Part::RedactedThinking { data } => {
                json!({"reasoningContent": {"redactedContent": data}})
            }
            Part::ToolResult { .. } => continue,
        };
        content.push(b);
    }
    let body = json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason_to(resp.stop_reason),
        "usage": usage_json(&resp.usage),
        "metrics": {"latencyMs": 0},
    });
    // Serialising a Value cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The HTTP status AWS documents for a Bedrock runtime exception, from its
/// name in any of the spellings AWS uses: `ThrottlingException` (body
/// `__type`, `x-amzn-ErrorType`), `throttlingException` (the event-stream
/// `:exception-type` header), with a `namespace#` prefix or a `:uri`
/// suffix.
pub fn exception_status(error_type: &str) -> Option<u16> {
    let name = exception_name(error_type);
    let status = match name.to_ascii_lowercase().as_str() {
        "validationexception"
        | "servicequotaexceededexception"
        | "serializationexception"
        | "invalidparametervalueexception" => 400,
        "accessdeniedexception"
        | "unrecognizedclientexception"
        | "invalidsignatureexception"
        | "incompletesignatureexception"
        | "missingauthenticationtokenexception"
        | "expiredtokenexception" => 403,
        "resourcenotfoundexception" => 404,
        "modeltimeoutexception" => 408,
        "conflictexception" => 409,
        "modelerrorexception" | "modelstreamerrorexception" => 424,
        "throttlingexception" | "modelnotreadyexception" | "toomanyrequestsexception" => 429,
        "internalserverexception" | "internalfailure" => 500,
        "serviceunavailableexception" => 503,
        _ => return None,
    };
    Some(status)
}

/// `com.amazon.coral.service#ExpiredTokenException` or
/// `ValidationException:http://internal.amazon.com/...` -> the bare name.
fn exception_name(t: &str) -> &str {
    let t = t.rsplit('#').next().unwrap_or(t);
    t.split(':').next().unwrap_or(t).trim()
}

/// A canonical error from an exception name, a status and a message.
pub(crate) fn exception_error(
    error_type: Option<&str>,
    status: Option<u16>,
    message: String,
) -> StreamError {
    let typed = error_type.and_then(exception_status);
    let status = status.filter(|s| *s >= 400).or(typed);
    let mut e = stream_error(status, message);
    // Signature and credential failures come back as 403, but they are
    // authentication problems, not permissions.
    if let Some(t) = error_type {
        let name = exception_name(t).to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "unrecognizedclientexception"
                | "invalidsignatureexception"
                | "incompletesignatureexception"
                | "missingauthenticationtokenexception"
                | "expiredtokenexception"
        ) {
            e.kind = "authentication_error".to_string();
        }
    }
    e
}

/// A Bedrock error body (`{"message": "..."}`, sometimes `"Message"`, with
/// an optional `__type` naming the exception in `x-amzn-ErrorType` style)
/// to canonical. Non-JSON bodies are taken as the message text.
pub fn decode_error(status: u16, body: &[u8]) -> StreamError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let message = text("message")
        .or_else(|| text("Message"))
        .or_else(|| {
            let raw = String::from_utf8_lossy(body).trim().to_string();
            (!raw.is_empty() && !v.is_object()).then_some(raw)
        })
        .unwrap_or_else(|| format!("Bedrock returned HTTP {status}"));
    let error_type = text("__type")
        .or_else(|| text("type"))
        .or_else(|| text("code"));
    exception_error(error_type.as_deref(), Some(status), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_cache_as_input() {
        let u = WireUsage {
            input_tokens: 2,
            output_tokens: 5,
            cache_read_input_tokens: 1322,
            cache_write_input_tokens: 10,
        }
        .canonical();
        assert_eq!(u.input_tokens, 1334);
        assert_eq!(u.cached_tokens, 1322);
        assert_eq!(u.cache_creation_tokens, 10);
        assert_eq!(
            usage_json(&u),
            json!({"inputTokens": 2, "outputTokens": 5, "totalTokens": 1339,
                   "cacheReadInputTokens": 1322, "cacheWriteInputTokens": 10})
        );
    }

    #[test]
    fn stop_reasons() {
        for (w, c) in [
            ("end_turn", StopReason::Stop),
            ("stop_sequence", StopReason::Stop),
            ("max_tokens", StopReason::Length),
            ("tool_use", StopReason::ToolCalls),
            ("guardrail_intervened", StopReason::ContentFilter),
            ("content_filtered", StopReason::ContentFilter),
            ("something_new", StopReason::Other),
        ] {
            assert_eq!(stop_reason_from(w), c, "{w}");
        }
    }

    #[test]
    fn errors() {
        let e = decode_error(
            400,
            br#"{"message": "The provided model identifier is invalid."}"#,
        );
        assert_eq!(e.status, Some(400));
        assert_eq!(e.kind, "invalid_request_error");
        assert_eq!(e.message, "The provided model identifier is invalid.");

        let e = decode_error(429, br#"{"Message":"Too many requests, please wait."}"#);
        assert_eq!((e.status, e.kind.as_str()), (Some(429), "rate_limit_error"));
        assert_eq!(e.message, "Too many requests, please wait.");

        let e = decode_error(
            403,
            br#"{"message":"The security token included in the request is expired","__type":"com.amazon.coral.service#ExpiredTokenException"}"#,
        );
        assert_eq!(
            (e.status, e.kind.as_str()),
            (Some(403), "authentication_error")
        );

        let e = decode_error(503, b"upstream connect error");
        assert_eq!(e.status, Some(503));
        assert_eq!(e.message, "upstream connect error");

        let e = decode_error(500, b"");
        assert_eq!(e.message, "Bedrock returned HTTP 500");
        assert_eq!(e.kind, "api_error");

        assert_eq!(
            exception_status(
                "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
            ),
            Some(400)
        );
        assert_eq!(exception_status("throttlingException"), Some(429));
        assert_eq!(exception_status("modelStreamErrorException"), Some(424));
        assert_eq!(exception_status("nope"), None);
    }
}
