//! Gemini wire types shared by requests, responses and streams: contents,
//! parts, responses and usage, with the usage and finish-reason mappings.
//! The part-level conversions (signatures, function calls and results,
//! images), errors, JSON schemas and timestamps that all of them use live in
//! the submodules.
//!
//! Field names are camelCase as Google documents them; the snake_case
//! spellings that Google's proto-JSON parser also accepts (and that some
//! Python clients send, e.g. `parameters_json_schema`) are read as aliases.

mod decode;
mod encode;
mod errors;
mod schema;
mod time;

pub(crate) use decode::{PartDecoder, args_text, generated_call_id};
pub(crate) use encode::{Strictness, args_value, encode_parts};
pub(crate) use errors::{code_for_kind, error_from_value, error_json};
pub(crate) use schema::{from_gemini_schema, to_gemini_schema};
pub(crate) use time::{format_rfc3339, parse_rfc3339};

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::canonical::{StopReason, TokenUsage};

/// `null` where a list is expected.
pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WContent {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub parts: Vec<WPart>,
}

/// One `Part`. Gemini's part is a union (`text`, `inlineData`, ...) plus the
/// `thought` flag and `thoughtSignature`, which may sit on any kind.
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WPart {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub thought: Option<bool>,
    #[serde(default, alias = "thought_signature")]
    pub thought_signature: Option<String>,
    #[serde(default, alias = "inline_data")]
    pub inline_data: Option<WBlob>,
    #[serde(default, alias = "file_data")]
    pub file_data: Option<WFileData>,
    #[serde(default, alias = "function_call")]
    pub function_call: Option<WFunctionCall>,
    #[serde(default, alias = "function_response")]
    pub function_response: Option<WFunctionResponse>,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WBlob {
    #[serde(default, alias = "mime_type")]
    pub mime_type: String,
    #[serde(default)]
    pub data: String,
}

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WFileData {
    #[serde(default, alias = "file_uri")]
    pub file_uri: String,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WFunctionCall {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub args: Option<Value>,
}

#[derive(Deserialize, Debug)]
pub(crate) struct WFunctionResponse {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub response: Option<Value>,
}

/// A `GenerateContentResponse` (also one stream chunk).
#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WResponse {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub candidates: Vec<WCandidate>,
    #[serde(default, alias = "usage_metadata")]
    pub usage_metadata: Option<WUsage>,
    #[serde(default, alias = "model_version")]
    pub model_version: Option<String>,
    #[serde(default, alias = "response_id")]
    pub response_id: Option<String>,
    /// Vertex only (RFC 3339).
    #[serde(default, alias = "create_time")]
    pub create_time: Option<String>,
    #[serde(default, alias = "prompt_feedback")]
    pub prompt_feedback: Option<WPromptFeedback>,
    /// An error object inside a 200 stream.
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WCandidate {
    #[serde(default)]
    pub content: Option<WContent>,
    #[serde(default, alias = "finish_reason")]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WPromptFeedback {
    #[serde(default, alias = "block_reason")]
    pub block_reason: Option<String>,
}

#[derive(Deserialize, Default, Debug, Clone, Copy)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WUsage {
    #[serde(default, alias = "prompt_token_count")]
    pub prompt_token_count: u64,
    #[serde(default, alias = "candidates_token_count")]
    pub candidates_token_count: u64,
    #[serde(default, alias = "cached_content_token_count")]
    pub cached_content_token_count: u64,
    #[serde(default, alias = "thoughts_token_count")]
    pub thoughts_token_count: u64,
    #[serde(default, alias = "tool_use_prompt_token_count")]
    pub tool_use_prompt_token_count: u64,
}

impl WUsage {
    /// Prompt (cached included) plus tool-use prompt tokens are input;
    /// candidates plus thoughts are output.
    pub(crate) fn canonical(&self) -> TokenUsage {
        TokenUsage {
            input_tokens: self
                .prompt_token_count
                .saturating_add(self.tool_use_prompt_token_count),
            output_tokens: self
                .candidates_token_count
                .saturating_add(self.thoughts_token_count),
            cached_tokens: self.cached_content_token_count,
            cache_creation_tokens: 0,
            reasoning_tokens: self.thoughts_token_count,
        }
    }
}

/// Canonical usage as `usageMetadata`.
pub(crate) fn usage_json(u: &TokenUsage) -> Value {
    let mut m = Map::new();
    m.insert("promptTokenCount".into(), u.input_tokens.into());
    m.insert(
        "candidatesTokenCount".into(),
        u.output_tokens.saturating_sub(u.reasoning_tokens).into(),
    );
    if u.reasoning_tokens > 0 {
        m.insert("thoughtsTokenCount".into(), u.reasoning_tokens.into());
    }
    if u.cached_tokens > 0 {
        m.insert("cachedContentTokenCount".into(), u.cached_tokens.into());
    }
    m.insert(
        "totalTokenCount".into(),
        u.input_tokens.saturating_add(u.output_tokens).into(),
    );
    Value::Object(m)
}

pub(crate) fn stop_reason_from(s: &str) -> StopReason {
    match s {
        "STOP" => StopReason::Stop,
        "MAX_TOKENS" => StopReason::Length,
        "SAFETY"
        | "RECITATION"
        | "PROHIBITED_CONTENT"
        | "BLOCKLIST"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "MODEL_ARMOR" => StopReason::ContentFilter,
        _ => StopReason::Other,
    }
}

pub(crate) fn stop_reason_to(r: StopReason) -> &'static str {
    match r {
        StopReason::Stop | StopReason::ToolCalls => "STOP",
        StopReason::Length => "MAX_TOKENS",
        StopReason::ContentFilter => "SAFETY",
        StopReason::Other => "OTHER",
    }
}
