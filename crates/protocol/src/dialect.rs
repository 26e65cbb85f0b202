//! The contract every dialect module implements (`openai`, `anthropic`,
//! `gemini`, `bedrock`): pure conversions between its wire format and the
//! [`canonical`](crate::canonical) model, plus stateful stream codecs.
//!
//! Direction names are from the gateway's point of view:
//! - *request*: `decode_request` reads what a client sent (ingress);
//!   `encode_request` writes what a provider receives (egress).
//! - *response*: `decode_response` reads what a provider answered;
//!   `encode_response` writes what the client receives.
//! - *stream*: a [`StreamDecode`] turns provider stream bytes (SSE, or AWS
//!   event-stream frames for Bedrock) into canonical events, reassembling
//!   events split across reads; a [`StreamEncode`] turns canonical events into
//!   the client's stream bytes, keeping whatever state that dialect needs
//!   (open content blocks, tool-call indexes, message id and model).

use crate::canonical::{ConvertError, StreamError, StreamEvent};

/// Provider stream bytes to canonical events.
pub trait StreamDecode: Send {
    /// Feed one network read; complete events are appended to `out`.
    fn push(&mut self, chunk: &[u8], out: &mut Vec<StreamEvent>) -> Result<(), ConvertError>;
    /// The upstream ended; flush whatever is complete.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ConvertError>;
}

/// Canonical events to client stream bytes.
pub trait StreamEncode: Send {
    fn encode(&mut self, ev: &StreamEvent, out: &mut Vec<u8>);
    /// The stream is over (normally or not): close open blocks and write the
    /// dialect's terminator (`data: [DONE]`, `message_stop`, ...).
    fn finish(&mut self, out: &mut Vec<u8>);
}

/// An error body a provider sent (non-2xx), in canonical form, so it can be
/// re-expressed in the client's dialect.
pub fn status_kind(status: u16) -> &'static str {
    match status {
        400 | 404 | 413 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// A canonical error from a status and message.
pub fn stream_error(status: Option<u16>, message: impl Into<String>) -> StreamError {
    StreamError {
        status,
        kind: status_kind(status.unwrap_or(500)).to_string(),
        message: message.into(),
    }
}

/// Claude's smallest thinking budget (Anthropic API and Bedrock alike).
pub(crate) const MIN_CLAUDE_THINKING_BUDGET: u32 = 1024;

/// Claude's thinking rules, shared by the Anthropic and Bedrock encoders:
/// a budget of 0 means no thinking; a budget is at least 1024 and below
/// `max_tokens`. When the client set no `max_tokens`, it is raised above the
/// budget (`budget + default_max`); when the client did set it, the budget is
/// lowered to fit, or thinking is left off if less than 1024 would remain.
/// `default_max: None` leaves an unset `max_tokens` unset (Bedrock, whose
/// default is the model's own). Returns `(max_tokens, budget)`.
pub(crate) fn claude_thinking(
    max_tokens: Option<u32>,
    budget: Option<u32>,
    default_max: Option<u32>,
) -> (Option<u32>, Option<u32>) {
    let Some(b) = budget
        .filter(|b| *b > 0)
        .map(|b| b.max(MIN_CLAUDE_THINKING_BUDGET))
    else {
        return (max_tokens, None);
    };
    match max_tokens {
        None => (default_max.map(|d| b.saturating_add(d)), Some(b)),
        Some(m) if b < m => (Some(m), Some(b)),
        Some(m) => {
            let lowered = m.saturating_sub(1);
            (
                Some(m),
                (lowered >= MIN_CLAUDE_THINKING_BUDGET).then_some(lowered),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::claude_thinking;

    #[test]
    fn claude_thinking_rules() {
        let d = Some(4096);
        assert_eq!(claude_thinking(None, Some(0), d), (None, None));
        assert_eq!(claude_thinking(Some(100), None, d), (Some(100), None));
        assert_eq!(
            claude_thinking(None, Some(500), d),
            (Some(1024 + 4096), Some(1024))
        );
        assert_eq!(claude_thinking(None, Some(500), None), (None, Some(1024)));
        assert_eq!(
            claude_thinking(Some(8000), Some(2048), d),
            (Some(8000), Some(2048))
        );
        assert_eq!(
            claude_thinking(Some(3000), Some(4000), d),
            (Some(3000), Some(2999))
        );
        assert_eq!(
            claude_thinking(Some(1000), Some(4000), d),
            (Some(1000), None)
        );
    }
}
