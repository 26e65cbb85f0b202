//! Anthropic Messages request bodies to and from canonical: `decode` reads a
//! client's body, `encode` writes one for Anthropic.

mod decode;
mod encode;

pub use decode::decode_request;
pub use encode::encode_request;
// The tests build the instruction they expect to see in `system`.
#[cfg(test)]
pub(super) use encode::json_instruction;
