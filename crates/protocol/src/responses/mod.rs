//! The OpenAI Responses dialect (`POST /v1/responses`), as a client
//! dialect: requests decoded to canonical, answers and streams encoded from
//! canonical, so that any provider can serve a Responses client. Providers
//! that have the Responses API themselves get the client's body as it is
//! (the gateway's native path); the decoders of answers and streams here
//! serve that path's accounting.
//!
//! | canonical | Responses | notes |
//! |---|---|---|
//! | `system` | `instructions`, then `system` and `developer` message items | `instructions` first; not carried to a later turn by `previous_response_id` |
//! | `User` message | `message` items with role `user` (or a string `input`) | `input_text`, `input_image` (`image_url`; a `file_id` cannot be translated), `input_file` / `input_audio` cannot be translated |
//! | `Assistant` message | `message` items with role `assistant` (`output_text`, `refusal`), `function_call`, `custom_tool_call` | consecutive items form one turn |
//! | `ToolCall` | `function_call` (`call_id`, `name`, `arguments`; `namespace`) | a namespaced function is `{namespace}__{name}` upstream and mapped back |
//! | `ToolCall` of a custom tool | `custom_tool_call` (`input`) | upstream a function with one string parameter `input` |
//! | `ToolResult` | `function_call_output`, `custom_tool_call_output` | output string or `input_text` / `input_image` parts |
//! | `Thinking` | `reasoning` output item (`summary_text`) | reasoning items in `input` are dropped (no provider signature to send back) |
//! | `tools` | `function`, `custom`, `namespace` (flattened) | built-in tools (`web_search`, `file_search`, `computer_use_preview`, `code_interpreter`, `image_generation`, `local_shell`, `mcp`, ...) are dropped and reported ([`Decoded::dropped_tools`]) |
//! | `tool_choice` | `auto` / `none` / `required`, `{type: function, name}`, `{type: custom, name}`, `allowed_tools` (its mode) | a built-in tool's choice is dropped |
//! | `response_format` | `text.format` (`json_schema` flat: `name`, `schema`, `strict`; `json_object`) | |
//! | `reasoning` | `reasoning.effort` (`none`: off) | `summary` echoed only |
//! | `max_tokens` | `max_output_tokens` | |
//! | `user` | `user`, else `safety_identifier` | |
//! | — | `metadata`, `store`, `include`, `prompt_cache_key`, `truncation`, `service_tier` | echoed in the answer where it has the field, not sent upstream |
//! | — | `background: true`, `conversation` | cannot be translated: an error naming the field |
//! | `StopReason::Length` | `status: incomplete`, `incomplete_details.reason: max_output_tokens` | `ContentFilter`: reason `content_filter` |
//! | `TokenUsage` | `usage` (`input_tokens`, `input_tokens_details.cached_tokens` / `cache_write_tokens`, `output_tokens`, `output_tokens_details.reasoning_tokens`, `total_tokens`) | |
//! | `StreamError` | `error` event, then `response.failed` (`response.error.code`) | before `response.created`: the `error` event only |
//!
//! Ids: the gateway names the response (`resp_…`); item ids are derived
//! from it and the item's output index (`msg_`, `fc_`, `ctc_`, `rs_` +
//! the response id's suffix + 4 hex digits), so a stream, its final
//! `response.completed` object and a stored copy agree.

mod request;
mod response;
mod stream;
mod stream_decode;
#[cfg(test)]
mod tests;

pub use request::{Decoded, decode_input, decode_request};
pub use response::{decode_response, encode_response, output_items, response_object, usage_json};
pub use stream::StreamEncoder;
pub use stream_decode::StreamDecoder;

use serde_json::{Value, json};

use crate::canonical::StopReason;

/// What an answer echoes of its request, and how tool names map back.
#[derive(Clone, Debug, PartialEq)]
pub struct Echo {
    /// `resp_…`; when empty the answer's own id is used (prefixed).
    pub id: String,
    /// Unix seconds; 0: the answer's own.
    pub created_at: u64,
    pub model: String,
    pub instructions: Option<String>,
    pub max_output_tokens: Option<u32>,
    /// An object (`{}` when the client sent none).
    pub metadata: Value,
    pub parallel_tool_calls: bool,
    pub previous_response_id: Option<String>,
    /// `{effort, summary}` as sent, or null.
    pub reasoning: Value,
    pub store: bool,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// `{format: ...}`.
    pub text: Value,
    pub tool_choice: Value,
    /// The tools sent upstream, as the client wrote them.
    pub tools: Value,
    pub prompt_cache_key: Option<String>,
    pub user: Option<String>,
    pub names: ToolNames,
}

impl Default for Echo {
    fn default() -> Self {
        Echo {
            id: String::new(),
            created_at: 0,
            model: String::new(),
            instructions: None,
            max_output_tokens: None,
            metadata: json!({}),
            parallel_tool_calls: true,
            previous_response_id: None,
            reasoning: Value::Null,
            store: true,
            temperature: None,
            top_p: None,
            text: json!({"format": {"type": "text"}}),
            tool_choice: json!("auto"),
            tools: json!([]),
            prompt_cache_key: None,
            user: None,
            names: ToolNames::default(),
        }
    }
}

/// Tool names flattened for providers: namespaced functions and custom
/// (free-form) tools.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolNames {
    /// (flattened name, namespace, name).
    pub namespaced: Vec<(String, String, String)>,
    /// Flattened names of custom tools.
    pub custom: Vec<String>,
}

impl ToolNames {
    /// The name a provider sees for `name` in `namespace`.
    pub fn flatten(namespace: &str, name: &str) -> String {
        format!("{namespace}__{name}")
    }

    /// `(namespace, name)` of a flattened name, if it is one.
    pub fn split(&self, flat: &str) -> Option<(&str, &str)> {
        self.namespaced
            .iter()
            .find(|(f, _, _)| f == flat)
            .map(|(_, ns, n)| (ns.as_str(), n.as_str()))
    }

    pub fn is_custom(&self, flat: &str) -> bool {
        self.custom.iter().any(|c| c == flat)
    }
}

/// The id of output item `index` of response `response_id`.
pub fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    let base = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{base}{index:04x}")
}

/// A response id for an answer whose id is not one (`chatcmpl-…`, `msg_…`).
pub fn response_id_from(id: &str) -> String {
    if id.starts_with("resp_") {
        id.to_string()
    } else {
        let clean: String = id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(48)
            .collect();
        format!("resp_{clean}")
    }
}

/// `status` and `incomplete_details.reason` for a stop reason.
pub(crate) fn status_of(reason: StopReason) -> (&'static str, Option<&'static str>) {
    match reason {
        StopReason::Length => ("incomplete", Some("max_output_tokens")),
        StopReason::ContentFilter => ("incomplete", Some("content_filter")),
        StopReason::Stop | StopReason::ToolCalls | StopReason::Other => ("completed", None),
    }
}

/// `response.error.code` (and the `error` event's `code`) for a canonical
/// error kind: one of the codes OpenAI documents for responses.
pub(crate) fn error_code(kind: &str) -> &'static str {
    match kind {
        "rate_limit_error" => "rate_limit_exceeded",
        "invalid_request_error" => "invalid_prompt",
        _ => "server_error",
    }
}
