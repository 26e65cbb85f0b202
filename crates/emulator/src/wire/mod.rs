//! OpenAI wire format: borrowed request parsing and hand-written JSON output.
//!
//! The parts: `credential` (the caller's token in the headers), `url` (URL
//! escapes), `request` (the borrowed body types and token estimates),
//! `answer` (the scripted answer and its tool rules), `ids` (ids and time),
//! `json` (the JSON writer and error body) and `response` (completion,
//! stream, embedding and model list bodies).

mod answer;
mod credential;
mod ids;
mod json;
mod request;
mod response;
mod url;

pub(crate) use answer::{Answer, ToolCall, chat_reply};
pub(crate) use credential::{find_credential, is_sigv4};
pub(crate) use ids::{next_id, unix_now};
pub(crate) use json::{Out, error_body};
pub(crate) use request::{ApiRequest, Content, Text, chat_prompt_tokens, list_echo, list_tokens};
pub(crate) use response::{
    Meta, Sse, chat_completion, chat_stream, embeddings, models_body, text_completion, text_stream,
};
pub(crate) use url::percent_decode;
