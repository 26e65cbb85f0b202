//! Anthropic Messages SSE streams to and from canonical events.

mod decode;
mod encode;

pub use decode::StreamDecoder;
pub use encode::StreamEncoder;
