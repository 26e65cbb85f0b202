//! Converse request bodies to and from canonical: `encode` writes a body for
//! Bedrock, `decode` reads one (tests, round trips, the emulator), and
//! `blocks` holds the content-block wire types and conversions that both,
//! and responses, share.

mod blocks;
mod decode;
mod encode;

pub(super) use blocks::{WireMessage, block_from_wire, image_json};
pub use decode::decode_request;
pub use encode::encode_request;

#[cfg(test)]
mod tests;
