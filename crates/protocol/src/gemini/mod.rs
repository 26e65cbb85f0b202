//! The Google Gemini dialect: `generateContent` and
//! `streamGenerateContent?alt=sse`, on the Gemini API and on Vertex AI
//! (same bodies; only URLs and auth differ, which is not this module's
//! business). The model and the streaming flag live in the URL, so
//! [`decode_request`] takes them as arguments and [`encode_request`] leaves
//! them out of the body.
//!
//! | canonical | Gemini | notes |
//! |---|---|---|
//! | `system` | `systemInstruction.parts[].text` | one part per entry; non-text parts dropped |
//! | `Role::System` message | — | `contents` has no system role: folded into `systemInstruction`, after the other entries |
//! | `User` / `Assistant` messages | `contents[]` with role `user` / `model` | consecutive same-role contents are merged (both ways); a missing role reads as `user` |
//! | `Tool` messages | `user` contents with `functionResponse` parts | decoding splits a `user` turn into runs of tool results (`Tool`) and the rest (`User`) |
//! | `Text` | `{text}` | empty non-thought text parts are skipped when decoding |
//! | `Image` `Base64` | `inlineData {mimeType, data}` | any MIME type (PDF, audio...) is read as an image |
//! | `Image` `Url` | `fileData {fileUri, mimeType}` | `mimeType` is lost when decoding, guessed from the URL when encoding (YouTube -> `video/mp4`); `data:` URLs become `inlineData` |
//! | `ToolCall` | `functionCall {id?, name, args}` | `args` object <-> JSON text (decoding re-serialises it compactly); a missing id is made up as `call_<h>_<n>`: n counts calls in the request, response or stream from 0, and h is 12 hex digits of a hash (FNV-1a, finalised) of the answer's `responseId`, or, without one (and in requests, whose history has none), of the call's name, argument text and n; so ids differ from one answer to the next (Anthropic refuses repeated `tool_use` ids; clients pair results by id) and the same body always gives the same ids; arguments that are not a JSON object are a `ConvertError` in requests and `{}` in responses/streams |
//! | `ToolResult` | `functionResponse {id?, name, response}` | `name` from the result, else from the earlier `ToolCall` with the same id, else `ConvertError`; content text becomes `{"content": text}`, or the object itself when the text is a JSON object, or `{"error": ...}` when `is_error`; decoding unwraps single-key `content`/`output`/`error` objects; images in a result follow it as `inlineData`/`fileData` parts; an id-less response is paired with the oldest unanswered call of that name (taking its made-up id), else gets a made-up id of its own |
//! | `Thinking` | `{text, thought: true}` | |
//! | `Thinking.signature` | `thoughtSignature` on a part | a signature on a non-thought part (or an empty thought part) closes the unsigned `Thinking` right before it, else becomes `Thinking{text: "", signature}` before the part; encoding puts a signed `Thinking`'s signature on the text or function-call part that directly follows it (Gemini 3 requires it on the `functionCall`), else on the thought part |
//! | `RedactedThinking` | — | dropped |
//! | `tools` | `tools[].functionDeclarations[]` | `parametersJsonSchema` read as is; `parameters` (OpenAPI subset) read with `type` lower-cased; encoded as `parameters` with keys Gemini rejects removed (`$schema`, `additionalProperties`, `strict`, `$id`, `examples`, `not`, ...), `type` upper-cased, `["T","null"]` -> `T` + `nullable`, `oneOf` -> `anyOf`, `const` -> `enum`, `allOf` merged, local `$ref` expanded; non-function tools (`googleSearch`, `codeExecution`, `urlContext`) are dropped |
//! | `tool_choice` | `toolConfig.functionCallingConfig` | `Auto` = `AUTO` (`VALIDATED` reads as `Auto`), `None` = `NONE`, `Required` = `ANY`, `Tool(n)` = `ANY` + `allowedFunctionNames: [n]`; an `allowedFunctionNames` list of several names is dropped (reads as `Required`) |
//! | `max_tokens`, `temperature`, `top_p`, `top_k`, `stop`, `seed`, `presence_penalty`, `frequency_penalty` | `generationConfig.maxOutputTokens`, `temperature`, `topP`, `topK`, `stopSequences`, `seed`, `presencePenalty`, `frequencyPenalty` | a seed outside 32 bits is a `ConvertError` |
//! | `response_format` | `generationConfig.responseMimeType` + `responseSchema` | `Text` = `text/plain`, `JsonObject` = `application/json`, `JsonSchema` = `application/json` + `responseSchema` (sanitised like tool parameters; `responseJsonSchema` is read too; name is `"response"` when decoding; `name` and `strict` are not sent) |
//! | `reasoning` | `generationConfig.thinkingConfig` | `thinkingBudget` <-> `budget_tokens` (-1 = dynamic = no budget); `thinkingLevel` <-> `effort`; an effort is sent as `thinkingLevel` to `gemini-3*` models when `low`/`high`, otherwise as a budget via `Reasoning::budget()`; effort `none` = budget 0; `includeThoughts: true` is always sent unless the budget is 0, and `includeThoughts: true` alone reads as `Reasoning::default()` |
//! | `parallel_tool_calls`, `user` | — | dropped |
//! | — | `safetySettings`, `cachedContent`, `labels`, `candidateCount`, `responseModalities`, `logprobs`, `speechConfig`, `mediaResolution` | dropped |
//! | `ChatResponse.id` / `model` / `created` | `responseId` / `modelVersion` / Vertex `createTime` | missing -> `""` / `""` / `0` |
//! | `stop_reason` | `candidates[0].finishReason` | `STOP` -> `Stop` (`ToolCalls` when the answer has a function call), `MAX_TOKENS` -> `Length`, `SAFETY`, `RECITATION`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`, `IMAGE_*`, `MODEL_ARMOR` and a blocked prompt (`promptFeedback.blockReason`) -> `ContentFilter`, others -> `Other`; back: `Stop`/`ToolCalls` -> `STOP`, `Length` -> `MAX_TOKENS`, `ContentFilter` -> `SAFETY`, `Other` -> `OTHER` |
//! | `usage` | `usageMetadata` | input = `promptTokenCount` (cached included) + `toolUsePromptTokenCount`; output = `candidatesTokenCount` + `thoughtsTokenCount`; cached = `cachedContentTokenCount`; reasoning = `thoughtsTokenCount`; `cache_creation_tokens` is not sent |
//! | — | other candidates, `groundingMetadata`, `citationMetadata`, `logprobsResult`, `safetyRatings`, `executableCode`, `codeExecutionResult` | dropped |
//! | errors | `{"error": {"code", "message", "status"}}` | the kind comes from `status` (`RESOURCE_EXHAUSTED` -> `rate_limit_error`, `UNAVAILABLE` -> `overloaded_error`, ...) or the HTTP status; `details` (e.g. `RetryInfo`) are dropped |
//!
//! Streams: every SSE event is a whole `GenerateContentResponse` with the
//! new parts and cumulative usage. The decoder emits `Start` on the first
//! chunk, one delta event per part (a function call as `ToolCallStart` plus
//! one `ToolCallDelta` with all its arguments), `Finish` on the first
//! `finishReason`, `Usage` whenever the usage changes (and once at the end
//! if it never did), and `Error` for an `{"error": ...}` chunk. Images in
//! streamed answers have no canonical event and are dropped. The encoder
//! writes `data: {...}\r\n\r\n` chunks as Gemini does, without a terminator.

mod request;
mod response;
mod stream;
mod wire;

pub use request::{decode_request, encode_request};
pub use response::{decode_error, decode_response, encode_error, encode_response};
pub use stream::{StreamDecoder, StreamEncoder};
pub(crate) use wire::format_rfc3339;

#[cfg(test)]
mod tests;
