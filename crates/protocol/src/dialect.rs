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
