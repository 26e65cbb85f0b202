//! The AWS Bedrock Converse / ConverseStream dialect, provider side only:
//! clients never speak it to the gateway, so `decode_request` and
//! `encode_response` exist for tests, round trips and the emulator.
//!
//! The model id is not in the body: requests go to
//! `POST /model/{modelId}/converse` or `/model/{modelId}/converse-stream`,
//! with the id percent-encoded as one path segment (`:` as `%3A`; SigV4
//! signing then encodes that path once more, see
//! `switchyard_providers::SigV4`). Converse answers have no id, model or
//! timestamp: `decode_response` and the stream `Start` leave them empty / 0
//! for the gateway to fill.
//!
//! | canonical | Converse | notes |
//! |---|---|---|
//! | `system` | `system: [{text}]` | one block per entry; empty entries and `cachePoint` blocks dropped |
//! | `Role::System` message | — | Converse has no system role in `messages`: folded into `system`, after the other entries, so the strict user/assistant alternation holds |
//! | `User` / `Assistant` messages | `messages: [{role: user\|assistant, content}]` | consecutive same-role messages are merged (Converse wants alternation); messages left with no blocks are skipped |
//! | `Tool` messages | `user` messages of `toolResult` blocks | decoding splits a user message into `Tool` (its `toolResult` blocks) and `User` runs, in order |
//! | `Text` | `{text}` | empty text is dropped both ways (Converse rejects blank text) |
//! | `Image` `Base64` | `{image: {format, source: {bytes}}}` | `image/png` <-> `png`, `jpeg` (`image/jpg` accepted), `gif`, `webp`; others are a `ConvertError` |
//! | `Image` `Url` | — | `data:` URLs are inlined; any other URL is a `ConvertError` (Converse only takes bytes or S3 locations, and fetching or S3 access on a client's behalf is not done); decoding an `s3Location` image is a `ConvertError` |
//! | `ToolCall` | `{toolUse: {toolUseId, name, input}}` | `input` is the parsed arguments (`""` -> `{}`; invalid JSON is a `ConvertError`); decoded back as compact JSON text |
//! | `ToolResult` | `{toolResult: {toolUseId, content: [{text}\|{image}], status}}` | `status: "error"` when `is_error`, omitted otherwise (it is Claude/Nova-only); `{json}` result content decodes to its JSON text; `name` is not sent, and on decode is taken from the earlier `toolUse` with the same id |
//! | `Thinking` | `{reasoningContent: {reasoningText: {text, signature}}}` | |
//! | `RedactedThinking` | `{reasoningContent: {redactedContent}}` | base64 passed through as is |
//! | `max_tokens`, `temperature`, `top_p`, `stop` | `inferenceConfig {maxTokens, temperature, topP, stopSequences}` | omitted when all are unset; with thinking on (see `reasoning`), a `temperature` other than 1 and a `top_p` below 0.95 are dropped (Claude refuses them) |
//! | `top_k` | `additionalModelRequestFields.top_k` | Anthropic Claude shape; other model families may reject it; dropped with thinking on (Claude refuses it) |
//! | `reasoning` | `additionalModelRequestFields.thinking {type: enabled, budget_tokens}` | Claude shape; an effort becomes a budget (`Reasoning::budget`); Claude's rules apply: a budget of 0 is off, at least 1024, and below `maxTokens` (lowered to fit, or off if under 1024 would remain); decoded only when `type` is `enabled`. Left off, as the Anthropic encoder does, where Claude refuses it: when `tool_choice` forces a tool (`Required` or `Tool`; the client's explicit choice wins over thinking), and when the conversation ends in a `toolResult` turn whose assistant turn does not start with a signed (or redacted) `reasoningContent` block, as with clients of other dialects, which never have signatures ("a final assistant message must start with a thinking block") |
//! | `tools` | `toolConfig.tools[].toolSpec {name, description, inputSchema: {json}}` | no `toolConfig` at all without tools |
//! | `tool_choice` `Auto` / `Required` / `Tool(n)` | `toolChoice {auto: {}}` / `{any: {}}` / `{tool: {name}}` | `Required` and `Tool(n)` turn thinking off (see `reasoning`) |
//! | `tool_choice` `None` | — | Converse has no "none": `toolChoice` is omitted and the tools kept (needed once the history holds tool blocks); decodes as unset |
//! | `stream` | the `/converse-stream` path | not in the body; decodes as `false` |
//! | `parallel_tool_calls`, `response_format`, `presence_penalty`, `frequency_penalty`, `seed`, `user` | — | dropped |
//! | — | `document`, `video`, `audio`, `cachePoint`, `guardContent`, `citationsContent`, `searchResult` blocks; `guardrailConfig`, `promptVariables`, `requestMetadata`, other additional fields | dropped on decode |
//! | `StopReason::Stop` | `end_turn`, `stop_sequence` | encoded as `end_turn` (as is `Other`) |
//! | `Length` | `max_tokens`, `model_context_window_exceeded` | encoded as `max_tokens` |
//! | `ToolCalls` | `tool_use` | |
//! | `ContentFilter` | `guardrail_intervened`, `content_filtered` | encoded as `content_filtered` |
//! | `Other` | anything else | |
//! | `usage` | `usage {inputTokens, outputTokens, totalTokens, cacheReadInputTokens, cacheWriteInputTokens}` | canonical input = `inputTokens + cacheRead + cacheWrite`; `cached_tokens` = cacheRead, `cache_creation_tokens` = cacheWrite |
//!
//! Streams (`application/vnd.amazon.eventstream`, see [`eventstream`]), by
//! the `:event-type` header:
//!
//! | ConverseStream event | canonical |
//! |---|---|
//! | `messageStart {role}` | `Start` (empty id/model; also emitted before the first content event if `messageStart` is missing) |
//! | `contentBlockStart {start: {toolUse: {toolUseId, name}}}` | `ToolCallStart`, `index` counting tool calls from 0 in order of appearance |
//! | `contentBlockDelta {delta: {text}}` | `TextDelta` (empty text skipped) |
//! | `contentBlockDelta {delta: {toolUse: {input}}}` | `ToolCallDelta` for that block's call |
//! | `contentBlockDelta {delta: {reasoningContent: {text}\|{signature}\|{redactedContent}}}` | `ThinkingDelta` / `ThinkingSignature` / `RedactedThinking` |
//! | `contentBlockStop` | — |
//! | `messageStop {stopReason}` | `Finish` |
//! | `metadata {usage, metrics}` | `Usage` |
//! | `:message-type: exception` (`:exception-type` header, `{message}` payload) | `Error`, status from the exception name (`throttlingException` 429, `validationException` 400, `modelStreamErrorException` 424, `internalServerException` 500, `serviceUnavailableException` 503, ...) |
//! | `:message-type: error` (`:error-code`, `:error-message` headers) | `Error` |
//!
//! Every payload carries a random `p` padding field; it and any other
//! unknown field or event type are ignored. [`StreamEncoder`] writes the
//! same frames (without padding), one content block per text / reasoning
//! run, redacted reasoning and each tool call, each block stopped before the
//! next starts (as ConverseStream does), except that a tool block whose
//! arguments are not yet a complete JSON value when the next call starts
//! stays open until another kind of block or the end (for sources that
//! interleave parallel calls' arguments); it ends with `messageStop` and
//! `metadata`, or with an exception frame for `Error`.

pub mod eventstream;
mod request;
mod response;
mod stream;

pub use request::{decode_request, encode_request};
pub use response::{decode_error, decode_response, encode_response, exception_status};
pub use stream::{StreamDecoder, StreamEncoder};

#[cfg(test)]
mod tests;
