//! # Switchyard provider emulator
//!
//! A small, fast HTTP server used as the upstream in tests, demos and
//! benchmarks. It speaks the OpenAI wire format plus three native provider
//! formats (Anthropic Messages, Gemini / Vertex `generateContent`, Bedrock
//! Converse), each implemented here independently of the gateway's own
//! translators. It is a raw hyper 1 server (HTTP/1.1 with keep-alive and
//! HTTP/2 prior knowledge), one task per connection.
//!
//! ## Wire format (OpenAI)
//!
//! Endpoints are matched by path **suffix**, so any base path works
//! (`/v1/chat/completions`, `/compatible-mode/v1/chat/completions`,
//! `/api/paas/v4/chat/completions`, `/openai/deployments/{d}/chat/completions`, ...):
//!
//! | Suffix              | Method | Response                                            |
//! |---------------------|--------|-----------------------------------------------------|
//! | `/chat/completions` | POST   | `chat.completion` or SSE `chat.completion.chunk`s    |
//! | `/completions`      | POST   | `text_completion` (legacy), streamed or not         |
//! | `/embeddings`       | POST   | `list` of `embedding` (8 deterministic floats each) |
//! | `/models`           | GET    | `list` of `model` (`gpt-4o-mini`, ..., `qwen-plus`, `qwen-flash`, `mock-small`, `mock-large`) |
//! | `/responses`        | POST   | OpenAI Responses `response` or its SSE event stream (see `responses.rs`) |
//!
//! Images, audio (transcriptions, translations, speech), moderations,
//! rerank, files and batches (in memory) are answered too; see the `media`
//! module's table.
//!
//! Azure paths (`.../deployments/{deployment}/...`) require the `api-version`
//! query parameter (400 otherwise) and use the deployment name as the model
//! when the body has none. Unknown paths give 404, a wrong method 405. Invalid
//! JSON or a missing `model` give 400. All errors are OpenAI-shaped JSON
//! (`{"error":{"message","type","param","code"}}`, `application/json`).
//!
//! Chat follows the same tool rules as the native formats (see **Answers**
//! below): when `tools` are declared and the last message is the user's
//! (trailing `system` / `developer` messages do not count), the
//! answer is `Calling <name>.` plus one `tool_calls` entry (`call_…`,
//! `arguments` a JSON string; streamed as a chunk with id and name, then 2-3
//! argument fragments) and `finish_reason: "tool_calls"`; when the
//! conversation ends with `tool` messages it is `Tool said: <first 40 chars
//! of the first of them>`.
//! Every non-control response carries an `x-request-id` header, is delayed by
//! [`MockConfig::latency`], and non-streamed bodies have a `content-length`.
//!
//! ## Native provider formats
//!
//! These routes are checked before the OpenAI ones (any prefix before them
//! works, and the query string is ignored unless stated):
//!
//! | Route                                                       | Format |
//! |-------------------------------------------------------------|--------|
//! | `POST .../v1/messages` (suffix)                             | Anthropic Messages |
//! | `POST .../v1/messages/count_tokens` (suffix)                | Anthropic token counting: `{"input_tokens": N}`, N as the message's input usage (no `max_tokens` needed) |
//! | `POST .../models/{model}:generateContent`                   | Gemini, non-streamed |
//! | `POST .../models/{model}:streamGenerateContent?alt=sse`     | Gemini, SSE |
//! | `POST .../models/{model}:streamGenerateContent`             | Gemini, streamed JSON array |
//! | `POST .../model/{modelId}/converse`                         | Bedrock Converse |
//! | `POST .../model/{modelId}/converse-stream`                  | Bedrock ConverseStream (AWS event stream) |
//!
//! Gemini paths work for AI Studio (`/v1beta/models/...`), Vertex
//! (`/v1/projects/P/locations/L/publishers/google/models/...`) and Vertex
//! express (`/v1/publishers/google/models/...`). The Gemini model and the
//! Bedrock `modelId` come from the URL (percent-decoded: `...-v1%3A0` is
//! `...-v1:0`) and are what gets recorded; for Anthropic the model and
//! `stream` come from the body. Other methods on these routes give 405 with
//! `allow: POST`.
//!
//! **Requests.** Anthropic: `model`, `max_tokens` (400 when missing),
//! `system` (string or blocks), `messages` (string or block contents: `text`,
//! `tool_result` with string or block content, others ignored), `tools`,
//! `stream`; an `anthropic-version` header is required (400
//! `anthropic-version: header is required`, checked before the credential).
//! Gemini: `contents` (required, non-empty; a content without `role` is the
//! user's), `systemInstruction`, `tools[].functionDeclarations` (`parameters`
//! or `parametersJsonSchema`), `generationConfig.maxOutputTokens`;
//! snake_case spellings are accepted too. Bedrock: `messages` (required;
//! blocks `text`, `toolResult` with `text`/`json` content), `system[].text`,
//! `inferenceConfig.maxTokens`, `toolConfig.tools[].toolSpec`
//! (`name`, `inputSchema.json`). Unknown fields are ignored everywhere.
//!
//! **Answers** (same rules in every format, OpenAI chat included):
//! - the last user message holds a tool result (`tool_result`,
//!   `functionResponse`, `toolResult`): text `Tool said: <first 40 chars of
//!   the result>`, end of turn. A JSON result is its string, the string of a
//!   single-field object (`{"result":"x"}` is `x`), else compact JSON;
//! - else, when tools are declared and the last message is the user's (an
//!   Anthropic `system` message, as Claude Code puts after the user's turn
//!   with the `mid-conversation-system` beta, is system text, not a turn): text
//!   `Calling <first tool>.` plus a call of the first tool (Anthropic: the
//!   first without `defer_loading: true`), whose input is
//!   `{}` or, when its schema has `required` properties, one sample value per
//!   property by type (string `"sf"`, number/integer `1`, boolean `true`,
//!   array `[]`, object `{}`, the first `enum` value if any; types matched
//!   case-insensitively); stop reason `tool_use` (Gemini: `STOP`);
//! - else the usual echo answer, truncated to `max_tokens` /
//!   `maxOutputTokens` / `maxTokens` words (`max_tokens`, Gemini
//!   `MAX_TOKENS`).
//!
//! Usage: input tokens as for chat completions (system included), output
//! tokens = words of the text + about (tool name + input JSON)/4.
//!
//! **Anthropic responses.** `{"id":"msg_…","type":"message","role":"assistant",
//! "model","content":[{"type":"text"},{"type":"tool_use","id":"toolu_…","name","input"}],
//! "stop_reason","stop_sequence":null,"usage":{"input_tokens","output_tokens",
//! "cache_read_input_tokens":0,"cache_creation_input_tokens":0}}` with a
//! `request-id` header. Streams (`text/event-stream; charset=utf-8`, `event:`
//! and `data:` lines): `message_start` (usage with `output_tokens: 1`),
//! `content_block_start` (text), `ping` (sent as `{"type": "ping"}` like
//! Anthropic), up to [`MockConfig::stream_chunks`] non-empty `text_delta`s,
//! `content_block_stop`; for a call `content_block_start` (`tool_use`, input
//! `{}`), 2-3 `input_json_delta` fragments (one empty `partial_json` for a
//! tool without arguments, as Anthropic does), `content_block_stop`; then
//! `message_delta` (stop reason, usage) and `message_stop`.
//!
//! **Gemini responses.** `{"candidates":[{"content":{"role":"model","parts":
//! [{"text"},{"functionCall":{"name","args"}}]},"finishReason","index":0}],
//! "usageMetadata":{"promptTokenCount","candidatesTokenCount","totalTokenCount"},
//! "modelVersion","responseId"}` (`application/json; charset=UTF-8`). Streams
//! send one full response per text piece with cumulative usage; the finish
//! reason is on the last one, and a call comes in a last chunk of its own.
//! With `alt=sse` each is `data: {...}\r\n\r\n` (no `event:`, no `[DONE]`);
//! without, the body is a JSON array `[{...},\r\n{...}]` sent element by
//! element.
//!
//! **Bedrock responses.** `{"output":{"message":{"role":"assistant","content":
//! [{"text"},{"toolUse":{"toolUseId":"tooluse_…","name","input"}}]}},"stopReason",
//! "usage":{"inputTokens","outputTokens","totalTokens"},"metrics":{"latencyMs"}}`
//! with an `x-amzn-requestid` header; `latencyMs` is the time spent answering
//! (at least 1). Streams are `application/vnd.amazon.eventstream`: binary
//! frames (total length u32 BE, headers length u32 BE, CRC32 of those 8
//! bytes, string headers `:event-type`, `:content-type: application/json`,
//! `:message-type: event`, the JSON payload, CRC32 of the whole frame; CRC-32
//! IEEE). Events: `messageStart`, `contentBlockDelta` (`contentBlockIndex` 0,
//! `delta.text`) per piece, `contentBlockStop`; for a call
//! `contentBlockStart` (index 1, `start.toolUse`), 2-3 `contentBlockDelta`
//! with `delta.toolUse.input` JSON fragments, `contentBlockStop`; then
//! `messageStop` (`stopReason`) and `metadata` (usage, metrics). Like
//! Bedrock, every payload has a `"p"` padding field of varying length.
//!
//! **Errors** (by [`Behaviour`] and for bad requests):
//!
//! | Case               | Anthropic                                          | Gemini                                              | Bedrock (`x-amzn-errortype`, `{"message"}`) |
//! |--------------------|----------------------------------------------------|-----------------------------------------------------|----------------------------------------------|
//! | `Unauthorized`     | 401 `authentication_error`                         | 401 `UNAUTHENTICATED`                               | 403 `UnrecognizedClientException` (no credential: 403 `MissingAuthenticationTokenException`) |
//! | `RateLimited`      | 429 `rate_limit_error`, `retry-after: 1`           | 429 `RESOURCE_EXHAUSTED`, `RetryInfo` detail `1s`   | 429 `ThrottlingException` |
//! | `Unavailable`      | **529** `overloaded_error` (as Anthropic does)     | 503 `UNAVAILABLE`                                   | 503 `ServiceUnavailableException` |
//! | bad JSON / field   | 400 `invalid_request_error`                        | 400 `INVALID_ARGUMENT`                              | 400 `ValidationException` |
//! | SigV4 headers      |                                                    |                                                     | 400 `IncompleteSignatureException` |
//!
//! Shapes: Anthropic `{"type":"error","error":{"type","message"}}`; Gemini
//! `{"error":{"code","message","status"}}`. Real AI Studio answers a bad key
//! with 400 `API_KEY_INVALID`; the emulator uses 401 for every dialect but
//! Bedrock. `cut-` streams stop after Anthropic `message_start` … first
//! `content_block_delta` (4 events), after the first Gemini chunk, or after
//! Bedrock `messageStart` + the first delta; non-streamed answers are cut in
//! half as for OpenAI. `slow-`, `hang-`, latency, recording and overrides work
//! as everywhere.
//!
//! **No usage** (`nousage-`, [`Behaviour::NoUsage`]): the answer is the one
//! `Ok` gives (same content, tool calls, stop reasons, id shapes, headers),
//! minus every token count, as from OpenAI-compatible servers that ignore
//! `stream_options.include_usage`:
//!
//! | Format | Left out |
//! |--------|----------|
//! | OpenAI chat / completions | `usage` in the response; in streams the usage chunk, even with `include_usage: true` (no chunk has `usage`) |
//! | OpenAI embeddings | `usage` |
//! | Anthropic | `usage` in the message; in streams `usage` in `message_start`'s message and in `message_delta` |
//! | Gemini / Vertex | `usageMetadata`, in every chunk of a stream too |
//! | Bedrock | `usage` in the response (`metrics` stays); in streams the whole `metadata` event (the stream ends with `messageStop`) |
//!
//! ## Behaviour by credential
//!
//! The token is taken from `Authorization: Bearer X` (or a raw
//! `Authorization: X`), else `api-key`, else `x-api-key`, else
//! `x-goog-api-key`; on Gemini routes only, else the `key` query parameter
//! (recorded with `auth_header` `?key`). No credential is the token `""`.
//!
//! An AWS SigV4 header (`Authorization: AWS4-HMAC-SHA256
//! Credential=<AKID>/<date>/<region>/<service>/aws4_request, ...`) gives the
//! access key id as the token, so `bad-AKIA…` or `limited-AKIA…` select
//! behaviours. On Bedrock routes a SigV4 request must also carry
//! `x-amz-date` and `x-amz-content-sha256` (400 otherwise); **the signature is
//! not verified**. Bedrock API keys (`Authorization: Bearer ...`) work too.
//!
//! Resolution order: an override set with [`Emulator::set_behaviour`] (or
//! `PUT /_mock/tokens/{token}`) wins; else, when
//! [`MockConfig::accept_tokens`] is set and does not contain the token, 401;
//! else by prefix:
//!
//! | Token prefix           | Behaviour ([`Behaviour`])                                                    |
//! |------------------------|-------------------------------------------------------------------------------|
//! | `bad-`                 | 401 `invalid_api_key` (`Unauthorized`; native formats: see above)             |
//! | `limited-`             | 429 `rate_limit_exceeded` with `retry-after: 1` (`RateLimited`)               |
//! | `down-`                | 503 `server_error` (`Unavailable`; Anthropic: 529 `overloaded_error`)         |
//! | `slow-<ms>-...`        | waits `<ms>` milliseconds, then succeeds (`Slow`)                             |
//! | `slow-...` (no number) | waits 2000 ms, then succeeds (`Slow`)                                         |
//! | `hang-`                | never answers; the connection stays open until the client leaves (`Hang`)     |
//! | `cut-`                 | streaming: headers + first 2 SSE events (native formats: see above), then the connection is dropped; non-streaming: headers with the full `content-length` + half of the body, then dropped (`Cut`) |
//! | `nousage-`             | success, but no token usage in any format: no usage chunk, no `usage` / `usageMetadata`, no Bedrock `metadata` event (`NoUsage`, see above) |
//! | anything else          | success (`Ok`)                                                                |
//!
//! Error messages never echo a full token (`bad-…abcd` at most).
//!
//! ## Control API (never recorded, not delayed)
//!
//! | Request                          | Effect                                               |
//! |----------------------------------|------------------------------------------------------|
//! | `GET /_mock/health`              | 200 `ok`                                             |
//! | `GET /_mock/requests`            | JSON array of [`RecordedRequest`]                    |
//! | `DELETE /_mock/requests`         | clears the recorded requests                         |
//! | `PUT /_mock/tokens/{token}`      | body is a serialized [`Behaviour`] (`"Hang"`, `"NoUsage"`, `{"Slow":{"secs":1,"nanos":0}}`) |
//! | `DELETE /_mock/tokens/{token}`   | removes the override                                 |

mod anthropic;
mod bedrock;
mod body;
mod eventstream;
mod files;
mod gemini;
mod media;
mod native;
mod record;
mod responses;
mod server;
mod wire;

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use record::Record;

/// How many recorded requests are kept (oldest are dropped first).
pub const MAX_RECORDED: usize = 100_000;

/// Configuration of an [`Emulator`].
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// Added before the first byte of every non-control response.
    pub latency: Duration,
    /// When set, only these tokens are accepted (others get 401).
    pub accept_tokens: Option<Vec<String>>,
    /// Number of content chunks in a streamed answer (default 8).
    pub stream_chunks: usize,
    /// Delay between two streamed events (default 0).
    pub chunk_delay: Duration,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            accept_tokens: None,
            stream_chunks: 8,
            chunk_delay: Duration::ZERO,
        }
    }
}

/// What the emulator does for a credential.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub enum Behaviour {
    /// Success.
    Ok,
    /// 401 `invalid_api_key` (each native format uses its own error; Bedrock 403).
    Unauthorized,
    /// 429 `rate_limit_exceeded` with `retry-after: 1` (native formats: their own 429).
    RateLimited,
    /// 503 `server_error` (Anthropic: 529 `overloaded_error`).
    Unavailable,
    /// Wait, then succeed.
    Slow(Duration),
    /// Never answer.
    Hang,
    /// Send part of the response, then drop the connection.
    Cut,
    /// Success exactly as [`Behaviour::Ok`], but without any token usage:
    /// no `usage` / `usageMetadata` field, no usage chunk in OpenAI streams
    /// (even with `stream_options.include_usage`), no Bedrock `metadata`
    /// event. Simulates OpenAI-compatible servers that ignore
    /// `include_usage`.
    NoUsage,
}

/// One request seen by the emulator (control requests excluded).
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub host: Option<String>,
    /// The raw token found (see the crate docs for the header order); for an
    /// AWS SigV4 `Authorization` header, the access key id.
    pub credential: Option<String>,
    /// Name of the header the credential came from:
    /// `authorization`, `api-key`, `x-api-key` or `x-goog-api-key`; `?key`
    /// when it came from the `key` query parameter (Gemini routes only).
    pub auth_header: Option<String>,
    /// The model in the body, or in the URL for Azure deployments, Gemini
    /// (`models/{model}:...`) and Bedrock (`model/{modelId}/...`, decoded).
    pub model: Option<String>,
    /// A streamed answer was asked for (`stream: true`, or the Gemini
    /// `:streamGenerateContent` / Bedrock `converse-stream` URL).
    pub stream: bool,
    pub headers: Vec<(String, String)>,
}

pub(crate) struct Inner {
    pub(crate) cfg: MockConfig,
    accept: Option<HashSet<String>>,
    records: Mutex<VecDeque<Record>>,
    overrides: RwLock<HashMap<String, Behaviour>>,
    has_overrides: AtomicBool,
    pub(crate) models_body: bytes::Bytes,
    /// Uploaded files and batches (see `media`).
    pub(crate) store: Mutex<files::Store>,
}

/// The provider emulator. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Emulator {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    pub fn new(cfg: MockConfig) -> Self {
        let accept = cfg
            .accept_tokens
            .as_ref()
            .map(|v| v.iter().cloned().collect::<HashSet<_>>());
        Self {
            inner: Arc::new(Inner {
                cfg,
                accept,
                records: Mutex::new(VecDeque::new()),
                overrides: RwLock::new(HashMap::new()),
                has_overrides: AtomicBool::new(false),
                models_body: wire::models_body(),
                store: Mutex::new(files::Store::default()),
            }),
        }
    }

    /// Bind and serve in a spawned tokio task; returns handle with the bound address.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningEmulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let emulator = self.clone();
        let handle = tokio::spawn(async move {
            if let Err(e) = self.serve(listener).await {
                tracing::error!(error = %e, "emulator stopped");
            }
        });
        Ok(RunningEmulator {
            addr,
            emulator,
            handle,
        })
    }

    /// Serve on an already-bound listener until the future is dropped.
    ///
    /// Dropping the future also closes every connection it accepted.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        server::serve(self.inner, listener).await
    }

    /// Every request seen, oldest first (bounded to the last [`MAX_RECORDED`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let records = self
            .inner
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        records.iter().map(Record::to_recorded).collect()
    }

    pub fn clear_requests(&self) {
        self.inner
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Override what a token does (`None` = back to the prefix rules).
    pub fn set_behaviour(&self, token: &str, b: Option<Behaviour>) {
        let mut map = self
            .inner
            .overrides
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        match b {
            Some(b) => {
                map.insert(token.to_owned(), b);
            }
            None => {
                map.remove(token);
            }
        }
        self.inner
            .has_overrides
            .store(!map.is_empty(), Ordering::Release);
    }
}

impl Inner {
    pub(crate) fn record(&self, rec: Record) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= MAX_RECORDED {
            records.pop_front();
        }
        records.push_back(rec);
    }

    /// Resolves what to do for `token` (override, accept list, prefix rules).
    pub(crate) fn behaviour(&self, token: &str) -> Behaviour {
        if self.has_overrides.load(Ordering::Acquire) {
            let map = self
                .overrides
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(b) = map.get(token) {
                return b.clone();
            }
        }
        if let Some(accept) = &self.accept {
            if !accept.contains(token) {
                return Behaviour::Unauthorized;
            }
        }
        behaviour_by_prefix(token)
    }
}

/// The prefix rules (see the crate docs).
fn behaviour_by_prefix(token: &str) -> Behaviour {
    if token.starts_with("bad-") {
        Behaviour::Unauthorized
    } else if token.starts_with("limited-") {
        Behaviour::RateLimited
    } else if token.starts_with("down-") {
        Behaviour::Unavailable
    } else if let Some(rest) = token.strip_prefix("slow-") {
        let digits = rest.split('-').next().unwrap_or("");
        let ms = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            digits.parse::<u64>().unwrap_or(2000)
        } else {
            2000
        };
        Behaviour::Slow(Duration::from_millis(ms))
    } else if token.starts_with("hang-") {
        Behaviour::Hang
    } else if token.starts_with("cut-") {
        Behaviour::Cut
    } else if token.starts_with("nousage-") {
        Behaviour::NoUsage
    } else {
        Behaviour::Ok
    }
}

/// A running emulator; the server task is aborted (and its connections
/// closed) when this is dropped.
#[derive(Debug)]
pub struct RunningEmulator {
    pub addr: SocketAddr,
    pub emulator: Emulator,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

/// Masks a token for error messages: `bad-…abcd` (never the full token).
pub(crate) fn mask_token(token: &str) -> String {
    let n = token.chars().count();
    let mut out = String::with_capacity(16);
    if n >= 12 {
        out.extend(token.chars().take(4));
        out.push('…');
        out.extend(token.chars().skip(n - 4));
    } else if n > 4 {
        out.extend(token.chars().take(4));
        out.push('…');
    } else {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(behaviour_by_prefix("sk-1"), Behaviour::Ok);
        assert_eq!(behaviour_by_prefix("bad-1"), Behaviour::Unauthorized);
        assert_eq!(behaviour_by_prefix("limited-1"), Behaviour::RateLimited);
        assert_eq!(behaviour_by_prefix("down-1"), Behaviour::Unavailable);
        assert_eq!(behaviour_by_prefix("hang-1"), Behaviour::Hang);
        assert_eq!(behaviour_by_prefix("cut-1"), Behaviour::Cut);
        assert_eq!(behaviour_by_prefix("nousage-1"), Behaviour::NoUsage);
        assert_eq!(behaviour_by_prefix("nousage"), Behaviour::Ok);
        assert_eq!(
            behaviour_by_prefix("slow-300-key"),
            Behaviour::Slow(Duration::from_millis(300))
        );
        assert_eq!(
            behaviour_by_prefix("slow-42"),
            Behaviour::Slow(Duration::from_millis(42))
        );
        assert_eq!(
            behaviour_by_prefix("slow-x"),
            Behaviour::Slow(Duration::from_millis(2000))
        );
        assert_eq!(
            behaviour_by_prefix("slow-"),
            Behaviour::Slow(Duration::from_millis(2000))
        );
    }

    #[test]
    fn masking() {
        assert_eq!(mask_token("bad-0123456789abcd"), "bad-…abcd");
        assert_eq!(mask_token("bad-x"), "bad-…");
        assert_eq!(mask_token("abc"), "…");
        assert_eq!(mask_token(""), "…");
        assert_eq!(mask_token("ééééééééééééé"), "éééé…éééé");
    }

    #[test]
    fn overrides_and_accept_list() {
        let emu = Emulator::new(MockConfig {
            accept_tokens: Some(vec!["good".into(), "bad-but-listed".into()]),
            ..MockConfig::default()
        });
        assert_eq!(emu.inner.behaviour("good"), Behaviour::Ok);
        assert_eq!(emu.inner.behaviour("other"), Behaviour::Unauthorized);
        assert_eq!(emu.inner.behaviour(""), Behaviour::Unauthorized);
        assert_eq!(
            emu.inner.behaviour("bad-but-listed"),
            Behaviour::Unauthorized
        );
        emu.set_behaviour("other", Some(Behaviour::Hang));
        assert_eq!(emu.inner.behaviour("other"), Behaviour::Hang);
        emu.set_behaviour("other", None);
        assert_eq!(emu.inner.behaviour("other"), Behaviour::Unauthorized);
    }
}
