//! Wire-level building blocks shared by the gateway and its tools.
//!
//! Everything here is pure: no I/O, no clocks, no global state. That keeps
//! the parsers and rewriters unit-testable and fuzzable.
//!
//! - [`sse`]: an incremental Server-Sent Events parser that reassembles events
//!   split across network reads.
//! - [`request`]: a borrowed view of an OpenAI-style request body (model,
//!   stream flags) and byte-splicing rewrites that never re-serialise parts
//!   they do not change.
//! - [`error`]: the OpenAI error body every gateway-made error uses.
//! - [`usage`]: token usage carried by responses and stream chunks.
//! - [`models`]: model lists in OpenAI's and Anthropic's shapes, and a
//!   provider's own `/models` answer.
//! - [`multipart`]: one field of a `multipart/form-data` upload, read in
//!   place (the model of an audio or image upload).

pub mod anthropic;
pub mod bedrock;
pub mod canonical;
pub mod dialect;
pub mod error;
pub mod gemini;
mod json_scan;
pub mod models;
pub mod multipart;
pub mod openai;
pub mod request;
pub mod responses;
pub mod sse;
pub mod usage;

pub use error::{ErrorBody, ErrorKind};
pub use request::{RequestError, RequestView, Rewrite};
pub use sse::{SseEvent, SseParser};
pub use usage::Usage;
