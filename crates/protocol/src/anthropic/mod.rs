//! The Anthropic Messages dialect (`POST /v1/messages`).
//!
//! Serves the cross-dialect pairs: a Claude client (Claude Code, the
//! Anthropic SDKs) in front of OpenAI, Gemini or Bedrock providers, and any
//! client in front of Anthropic. Claude-to-Claude traffic is passed through.
//!
//! | canonical | Anthropic | notes |
//! |---|---|---|
//! | `system` | `system` (string, or array of `text` blocks) | one entry is written as a string, several as text blocks; `cache_control` is dropped |
//! | `Role::System` message | `{"role": "system"}` in `messages` (Claude Code's `mid-conversation-system` beta) | decoded where it stands, text blocks only (others are a [`ConvertError`](crate::canonical::ConvertError)); encode folds it into `system`, after the other entries ([`ChatRequest::fold_system_messages`](crate::canonical::ChatRequest::fold_system_messages)): a translated request carries no beta header, and folding keeps the turns' alternation and an assistant prefill last |
//! | `Text` | `text` blocks, or a string `content` | empty text is skipped both ways (Anthropic rejects empty text blocks); `citations` are dropped |
//! | `Image` | `image` blocks, `source` `base64` {media_type, data} or `url` | a `data:` URL is sent as `base64`; `file` sources are a [`ConvertError`](crate::canonical::ConvertError) |
//! | `ToolCall` | assistant `tool_use` {id, name, input} | arguments are the compact JSON text of `input` (`"{}"` when empty); encoding parses them back into an object and fails on anything else (a response falls back to `{}`) |
//! | `ToolResult` in a `Tool` message | `tool_result` blocks of a *user* message | decode splits a user message into a `Tool` message (results, first) and a `User` message (the rest); encode merges consecutive `Tool`/`User` messages into one user message, results first; `name` is filled from the matching `tool_use` of an earlier assistant message |
//! | `Thinking` | `thinking` {thinking, signature} | unsigned thinking (from other providers) is not sent to Anthropic, which would reject it; an empty signature reads as none |
//! | `RedactedThinking` | `redacted_thinking` {data} | |
//! | consecutive same-role messages | merged | Anthropic requires user/assistant alternation |
//! | `max_tokens` | `max_tokens` | required by Anthropic: [`DEFAULT_MAX_TOKENS`] when unset |
//! | `temperature`, `top_p`, `top_k` | same | with thinking on, a `temperature` other than 1, `top_k`, and a `top_p` below 0.95 are dropped (Anthropic rejects them) |
//! | `stop` | `stop_sequences` | |
//! | `user` | `metadata.user_id` | |
//! | `tools` | `tools` {name, description, input_schema} | built-in/server tools (a `type` and no `input_schema`, e.g. `code_execution_*`, `web_search_*`) are dropped on decode; `cache_control` dropped; deferred tools (`defer_loading: true`, tool search) are offered directly, except Claude Code's placeholder `DeferredToolPlaceholder` (never to be called), which is dropped; a non-object schema is sent as an empty object schema |
//! | `tool_choice` | `tool_choice` `auto` / `any` / `tool`+`name` / `none` | `Required` is `any`; dropped when no tool is left to choose; a forcing choice (`any`, `tool`) turns thinking off (see `reasoning`) |
//! | `parallel_tool_calls: false` | `tool_choice.disable_parallel_tool_use: true` | written with `tool_choice` `auto` when no choice was given |
//! | `reasoning` | `thinking` `{type: enabled, budget_tokens}` | encode uses [`Reasoning::budget`](crate::canonical::Reasoning::budget) (an effort becomes a budget), raised to Anthropic's minimum of 1024; `max_tokens` is raised above the budget when it was unset, and the budget is lowered below an explicit `max_tokens` (thinking is left off if that leaves less than 1024); a budget of 0 means off. Thinking is also left off (and `temperature`/`top_p`/`top_k` then sent as they are) where Anthropic refuses it: when `tool_choice` forces a tool (`Required` or `Tool`; the client's explicit choice wins over thinking), and when the conversation ends in a tool-result turn whose assistant turn does not start with a signed `thinking` (or `redacted_thinking`) block, as with clients of other dialects, which never have signatures ("a final assistant message must start with a thinking block"). Decode: `adaptive` thinking becomes an effort (`output_config.effort`, `max` read as `high`, default `high`) |
//! | `response_format` `JsonObject` / `JsonSchema` | — | Anthropic has no `response_format`: encode appends a system instruction asking for JSON only (for `JsonSchema`, with the schema and its name). Decode reads structured outputs (`output_config.format` / beta `output_format` of type `json_schema`) as `JsonSchema` named `response` |
//! | `response_format` `Text` | — | nothing to send |
//! | `presence_penalty`, `frequency_penalty`, `seed` | — | dropped |
//! | — | `output_config.effort` without adaptive thinking, `service_tier`, `container`, `mcp_servers`, `context_management`, top-level `cache_control` | dropped on decode |
//! | — | `document`, `search_result` and other user content blocks | a [`ConvertError`](crate::canonical::ConvertError): the canonical model cannot carry them and dropping them would change the question |
//! | — | `server_tool_use`, `*_tool_result` (server tools), `mcp_tool_*` and other unknown blocks in assistant content, responses and streams | skipped |
//! | `StopReason::Stop` | `end_turn`, `stop_sequence` | encoded as `end_turn` |
//! | `Length` | `max_tokens`, `model_context_window_exceeded` | encoded as `max_tokens` |
//! | `ToolCalls` | `tool_use` | |
//! | `ContentFilter` | `refusal` | |
//! | `Other` | `pause_turn` and anything else | encoded as `end_turn` |
//! | `TokenUsage` | `usage` | canonical `input_tokens` = `input_tokens` + `cache_read_input_tokens` + `cache_creation_input_tokens`; `cached_tokens` = cache read; `cache_creation_tokens` = cache creation; encoding subtracts them back (saturating); `reasoning_tokens` has no field and is dropped |
//! | response `id`, `model` | `id` (`msg_...`), `model` | kept as they are, whatever their prefix |
//! | response `created` | — | decoded as 0 (the gateway fills it) |
//! | `StreamError` | `{"type":"error","error":{"type","message"}}`, SSE `event: error` | an empty or foreign body keeps its text as the message |
//!
//! Streams: [`StreamDecoder`] reads `message_start`, `content_block_*`,
//! `message_delta` and `message_stop` (ignoring `ping` and unknown events);
//! canonical tool-call indexes count `tool_use` blocks from 0, not the
//! Anthropic block index. [`StreamEncoder`] writes the same events, one
//! content block per run of text, thinking or tool arguments, and holds
//! `message_delta` after a `Finish` until the usage arrives (or the stream
//! ends), so it carries both.

mod request;
mod response;
mod stream;
mod wire;

#[cfg(test)]
mod tests;

pub use request::{decode_request, encode_request};
pub use response::{decode_error, decode_response, encode_error, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};

use crate::canonical::StopReason;

/// `max_tokens` sent when the canonical request has none (Anthropic
/// requires it).
pub const DEFAULT_MAX_TOKENS: u32 = 4096;

pub(crate) fn stop_reason_from(s: &str) -> StopReason {
    match s {
        "end_turn" | "stop_sequence" => StopReason::Stop,
        "max_tokens" | "model_context_window_exceeded" => StopReason::Length,
        "tool_use" => StopReason::ToolCalls,
        "refusal" => StopReason::ContentFilter,
        _ => StopReason::Other,
    }
}

pub(crate) fn stop_reason_to(r: StopReason) -> &'static str {
    match r {
        StopReason::Stop | StopReason::Other => "end_turn",
        StopReason::Length => "max_tokens",
        StopReason::ToolCalls => "tool_use",
        StopReason::ContentFilter => "refusal",
    }
}
