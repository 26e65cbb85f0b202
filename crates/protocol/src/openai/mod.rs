//! The OpenAI Chat Completions dialect.
//!
//! OpenAI-to-OpenAI traffic never comes here: it is passed through with at
//! most a byte splice (`crate::request`). These conversions serve the other
//! pairs: an OpenAI client in front of Claude, Gemini or Bedrock, and
//! Claude/Gemini clients in front of OpenAI-style providers.
//!
//! | canonical | OpenAI | notes |
//! |---|---|---|
//! | `system` | `system` and `developer` messages | encoded as one `system` message each |
//! | `Role::System` message | `system` message where it stands | encode only (decode reads every `system`/`developer` message into `system`) |
//! | `Image` | `image_url` parts (URL or `data:` URL) | |
//! | `ToolCall` | assistant `tool_calls[]` | arguments kept as JSON text |
//! | `ToolResult` | `tool` messages | image parts in results are dropped (text only) |
//! | `Thinking` | `reasoning_content` (DeepSeek, Qwen, OpenRouter style) | decoded from responses and streams; not sent back in requests |
//! | `RedactedThinking` | — | dropped |
//! | `reasoning` | `reasoning_effort` | a budget becomes the nearest effort |
//! | `top_k` | — | dropped |
//! | `max_tokens` | `max_tokens` (`max_completion_tokens` read too) | written as `max_completion_tokens` for OpenAI reasoning models (o1, o3, o4, gpt-5), which refuse `max_tokens` |
//! | `response_format` | `response_format` | |
//! | `StreamError` | `{"error": {"message", "type", "param", "code"}}`, also as a stream `data:` event | decode: the kind comes from the HTTP status ([`status_kind`](crate::dialect::status_kind)) for 401, 403, 404, 413, 429 and 5xx (529 included), since OpenAI's `type` does not say it (a bad key is a 401 `invalid_request_error`, a rate limit `requests`/`tokens`); for other statuses a non-empty `type` is kept. Encode, bodies and stream events alike: `rate_limit_error` -> `rate_limit_exceeded`, `overloaded_error` / `api_error` -> `server_error`, other kinds as they are; `code` is the HTTP status (the error's own in a stream) |

mod request;
mod response;
mod stream;

pub use request::{decode_request, encode_request};
pub use response::{decode_error, decode_response, encode_error, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};

use crate::canonical::StopReason;

/// `null` where a list is expected (Mistral sends `"tool_calls": null`).
pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

pub(crate) fn stop_reason_from(s: &str) -> StopReason {
    match s {
        "stop" => StopReason::Stop,
        "length" => StopReason::Length,
        "tool_calls" | "function_call" => StopReason::ToolCalls,
        "content_filter" => StopReason::ContentFilter,
        _ => StopReason::Other,
    }
}

pub(crate) fn stop_reason_to(r: StopReason) -> &'static str {
    match r {
        StopReason::Stop | StopReason::Other => "stop",
        StopReason::Length => "length",
        StopReason::ToolCalls => "tool_calls",
        StopReason::ContentFilter => "content_filter",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat_fixtures(file: &str) -> Vec<(String, Vec<u8>)> {
        let root = format!("{}/../../../shared/fixtures", env!("CARGO_MANIFEST_DIR"));
        let mut out = vec![];
        for dialect in [
            "openai",
            "azure-openai",
            "groq",
            "mistral",
            "openrouter",
            "deepseek",
            "ollama",
        ] {
            let Ok(cases) = std::fs::read_dir(format!("{root}/{dialect}")) else {
                continue;
            };
            for case in cases.flatten() {
                let name = case.file_name().to_string_lossy().to_string();
                if !name.starts_with("chat") {
                    continue;
                }
                if let Ok(b) = std::fs::read(case.path().join(file)) {
                    out.push((format!("{dialect}/{name}"), b));
                }
            }
        }
        assert!(out.len() >= 5, "fixtures found: {}", out.len());
        out
    }

    #[test]
    fn fixture_requests_decode_and_round_trip() {
        for (name, body) in chat_fixtures("request.json") {
            if name.contains("audio") {
                // Audio input has no equivalent elsewhere: a clear error.
                let e = decode_request(&body).unwrap_err().to_string();
                assert!(e.contains("cannot be translated"), "{name}: {e}");
                continue;
            }
            let req = decode_request(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
            let again = decode_request(&encode_request(&req).unwrap()).unwrap();
            // Thinking is not sent back to OpenAI-style providers.
            let mut expected = req.clone();
            for m in &mut expected.messages {
                m.content
                    .retain(|p| !matches!(p, crate::canonical::Part::Thinking { .. }));
            }
            assert_eq!(again, expected, "{name}");
        }
    }

    #[test]
    fn error_kind_comes_from_the_status_where_it_says_it_all() {
        let body = |t: &str| {
            format!(r#"{{"error":{{"message":"m","type":"{t}","param":null,"code":null}}}}"#)
        };
        for (status, t, kind) in [
            (401, "invalid_request_error", "authentication_error"),
            (403, "invalid_request_error", "permission_error"),
            (404, "invalid_request_error", "invalid_request_error"),
            (413, "invalid_request_error", "invalid_request_error"),
            (429, "requests", "rate_limit_error"),
            (429, "insufficient_quota", "rate_limit_error"),
            (500, "server_error", "api_error"),
            (503, "server_error", "api_error"),
            (529, "server_error", "overloaded_error"),
            // Other statuses keep an informative type.
            (400, "invalid_request_error", "invalid_request_error"),
            (422, "unprocessable_entity", "unprocessable_entity"),
            (409, "", "api_error"),
        ] {
            let e = decode_error(status, body(t).as_bytes());
            assert_eq!(e.kind, kind, "{status} {t}");
            assert_eq!(e.status, Some(status));
            assert_eq!(e.message, "m");
        }
        // No type at all: the status's kind.
        assert_eq!(
            decode_error(400, br#"{"error":{"message":"m"}}"#).kind,
            "invalid_request_error"
        );
    }

    #[test]
    fn error_bodies_and_stream_error_events_have_the_same_type() {
        use crate::canonical::StreamEvent;
        use crate::dialect::{StreamEncode, stream_error};
        for status in [400, 401, 403, 404, 429, 500, 503, 529] {
            let err = stream_error(Some(status), "m");
            let body: serde_json::Value =
                serde_json::from_slice(&encode_error(status, &err)).unwrap();
            let mut enc = StreamEncoder::new(true);
            let mut out = vec![];
            enc.encode(&StreamEvent::Error { error: err.clone() }, &mut out);
            let text = String::from_utf8(out).unwrap();
            let event: serde_json::Value =
                serde_json::from_str(text.strip_prefix("data: ").unwrap().trim_end()).unwrap();
            assert_eq!(event["error"]["type"], body["error"]["type"], "{status}");
            assert_eq!(event["error"]["message"], "m");
        }
        let body: serde_json::Value =
            serde_json::from_slice(&encode_error(429, &stream_error(Some(429), "m"))).unwrap();
        assert_eq!(body["error"]["type"], "rate_limit_exceeded");
        let body: serde_json::Value =
            serde_json::from_slice(&encode_error(529, &stream_error(Some(529), "m"))).unwrap();
        assert_eq!(body["error"]["type"], "server_error");
    }

    #[test]
    fn fixture_responses_decode_and_round_trip() {
        for (name, body) in chat_fixtures("response.json") {
            let resp = decode_response(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
            let again = decode_response(&encode_response(&resp)).unwrap();
            assert_eq!(again, resp, "{name}");
        }
    }
}
