//! # Switchyard provider emulator
//!
//! A small, fast, OpenAI-compatible HTTP server used as the upstream in tests,
//! demos and benchmarks. It is a raw hyper 1 server (HTTP/1.1 with keep-alive
//! and HTTP/2 prior knowledge), one task per connection.
//!
//! ## Wire format
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
//! | `/models`           | GET    | `list` of `model`                                    |
//!
//! Azure paths (`.../deployments/{deployment}/...`) require the `api-version`
//! query parameter (400 otherwise) and use the deployment name as the model
//! when the body has none. Unknown paths give 404, a wrong method 405. Invalid
//! JSON or a missing `model` give 400. All errors are OpenAI-shaped JSON
//! (`{"error":{"message","type","param","code"}}`, `application/json`).
//! Every non-control response carries an `x-request-id` header, is delayed by
//! [`MockConfig::latency`], and non-streamed bodies have a `content-length`.
//!
//! ## Behaviour by credential
//!
//! The token is taken from `Authorization: Bearer X` (or a raw
//! `Authorization: X`), else `api-key`, else `x-api-key`, else
//! `x-goog-api-key`. No credential is the token `""`.
//!
//! Resolution order: an override set with [`Emulator::set_behaviour`] (or
//! `PUT /_mock/tokens/{token}`) wins; else, when
//! [`MockConfig::accept_tokens`] is set and does not contain the token, 401;
//! else by prefix:
//!
//! | Token prefix           | Behaviour ([`Behaviour`])                                                    |
//! |------------------------|-------------------------------------------------------------------------------|
//! | `bad-`                 | 401 `invalid_api_key` (`Unauthorized`)                                        |
//! | `limited-`             | 429 `rate_limit_exceeded` with `retry-after: 1` (`RateLimited`)               |
//! | `down-`                | 503 `server_error` (`Unavailable`)                                            |
//! | `slow-<ms>-...`        | waits `<ms>` milliseconds, then succeeds (`Slow`)                             |
//! | `slow-...` (no number) | waits 2000 ms, then succeeds (`Slow`)                                         |
//! | `hang-`                | never answers; the connection stays open until the client leaves (`Hang`)     |
//! | `cut-`                 | streaming: headers + first 2 SSE events, then the connection is dropped; non-streaming: headers with the full `content-length` + half of the body, then dropped (`Cut`) |
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
//! | `PUT /_mock/tokens/{token}`      | body is a serialized [`Behaviour`] (`"Hang"`, `{"Slow":{"secs":1,"nanos":0}}`) |
//! | `DELETE /_mock/tokens/{token}`   | removes the override                                 |

mod body;
mod record;
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
    /// 401 `invalid_api_key`.
    Unauthorized,
    /// 429 `rate_limit_exceeded` with `retry-after: 1`.
    RateLimited,
    /// 503 `server_error`.
    Unavailable,
    /// Wait, then succeed.
    Slow(Duration),
    /// Never answer.
    Hang,
    /// Send part of the response, then drop the connection.
    Cut,
}

/// One request seen by the emulator (control requests excluded).
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub host: Option<String>,
    /// The raw token found (see the crate docs for the header order).
    pub credential: Option<String>,
    /// Name of the header the credential came from:
    /// `authorization`, `api-key`, `x-api-key` or `x-goog-api-key`.
    pub auth_header: Option<String>,
    pub model: Option<String>,
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
