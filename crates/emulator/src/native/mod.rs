//! Native provider dialects (Anthropic Messages, Gemini `generateContent`,
//! Bedrock Converse): routing, the shared request flow (recording, latency,
//! credential behaviours) and the scripted reply (text or tool call).
//!
//! Each dialect module parses its request into a [`Request`] (a dialect-free
//! summary of the conversation) and renders the [`Reply`] in its own wire
//! format.
//!
//! The parts: `route` (which dialect a URL asks for), `flow` (the shared
//! request flow), `response` (response helpers for the dialects), `convo`
//! (the conversation summary and shared parsing helpers) and `reply` (the
//! scripted reply).

mod convo;
mod flow;
mod reply;
mod response;
mod route;

pub(crate) use convo::{Convo, Joiner, Request, StrOrSeq, ToolDecl, Turn, json_text};
pub(crate) use flow::{Ctx, Failure, handle};
pub(crate) use reply::{Call, Reply, Stop, piece_words, plan, split_json, tool_input};
pub(crate) use response::{Frames, full, set_header};
pub(crate) use route::classify;
