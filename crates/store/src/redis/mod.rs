//! The connection to Redis every shared store uses: one multiplexed
//! connection per process, connected lazily and re-established by itself,
//! every call bounded by `redis.timeout`.
//!
//! - [`RedisConn::new`] never waits for Redis: the gateway starts while
//!   Redis is down. The connection is made on first use (and at once in the
//!   background when built inside a Tokio runtime).
//! - [`RedisConn::call`] bounds a command by the configured timeout and
//!   turns every failure into a [`StoreError`] whose text never holds the
//!   URL's password. It counts `switchyard_store_errors_total{store="redis",
//!   op}` and logs one warning per 10 s while Redis fails, one info line
//!   when it answers again.
//! - After a connection-level failure (refused, dropped, three timeouts in
//!   a row) calls fail at once, without waiting, except one probe every
//!   [`PROBE_EVERY`]; the probe finds Redis back well within 5 s.
//! - The limit store ([`RedisLimits`]) and shared credential health
//!   ([`crate::RedisHealth`], op `health`) run their commands through the
//!   same handle: one connection, one outage state, one error count and
//!   one log per process.

mod limits;
mod status;

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};
use switchyard_config::{RedisConfig, mask_url_password};
use switchyard_limits::StoreError;

pub use limits::RedisLimits;
use status::Health;

/// While Redis fails at the connection level, one call in this interval
/// tries it; the others fail at once.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);

/// The connection manager re-establishes a connection after I/O errors,
/// but keeps a failed handshake (wrong password, `LOADING` on `SELECT`)
/// for good: when calls have failed other than by timing out for this
/// long, the manager is replaced by a fresh one (at most once per this
/// interval).
const REBUILD_AFTER: Duration = Duration::from_secs(2);

/// Longest wait between two reconnection attempts of the connection
/// manager (attempts back off from 50 ms).
const MAX_RECONNECT_DELAY: Duration = Duration::from_millis(1_000);

/// One handle to one Redis, shared by every store that keeps state there.
/// Cloning is cheap (an `Arc`). `Debug` shows the URL with its password
/// masked.
#[derive(Clone)]
pub struct RedisConn {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    /// Built on first use (the connection manager needs a Tokio runtime);
    /// rebuilt when failures outlast [`REBUILD_AFTER`].
    manager: Mutex<Option<ConnectionManager>>,
    /// When the manager was last rebuilt (ms since `health`'s epoch).
    rebuilt_ms: AtomicU64,
    prefix: String,
    timeout: Duration,
    /// The URL with its password masked, for messages.
    shown_url: String,
    /// The password, to scrub from any message that might repeat it.
    secret: Option<String>,
    health: Health,
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConn")
            .field("url", &self.inner.shown_url)
            .field("prefix", &self.inner.prefix)
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisConn {
    /// A handle for `config`. Fails only on a URL Redis cannot parse; never
    /// waits for Redis. Inside a Tokio runtime it starts connecting in the
    /// background.
    pub fn new(config: &RedisConfig) -> Result<Self, StoreError> {
        let shown_url = mask_url_password(config.url.trim());
        let secret = password_of(config.url.trim());
        let scrub = |text: String| scrub(text, secret.as_deref());
        let client = Client::open(config.url.trim()).map_err(|e| {
            StoreError::new(scrub(format!(
                "redis.url `{shown_url}` is not usable: {}",
                describe(&e)
            )))
        })?;
        let conn = Self {
            inner: Arc::new(Inner {
                client,
                manager: Mutex::new(None),
                rebuilt_ms: AtomicU64::new(0),
                prefix: config.key_prefix.clone(),
                timeout: config.timeout,
                shown_url,
                secret,
                health: Health::new(),
            }),
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let warm = conn.clone();
            // Connect now rather than on the first request; the outcome
            // counts like any call's.
            rt.spawn(async move {
                let _ = warm
                    .call("connect", |mut m| async move {
                        redis::cmd("PING").query_async::<()>(&mut m).await
                    })
                    .await;
            });
        }
        Ok(conn)
    }

    /// Failed calls so far by operation (`check`, `adjust`, `health`,
    /// `connect`): what `switchyard_store_errors_total{store="redis",op}`
    /// shows.
    pub fn errors(&self) -> Vec<(&'static str, u64)> {
        self.inner.health.errors()
    }

    /// Lists `op` in [`RedisConn::errors`] from now on, at 0 until a call
    /// of it fails (other operations appear with their first failure).
    pub(crate) fn list_op(&self, op: &'static str) {
        self.inner.health.list(op);
    }

    /// The prefix of every key Switchyard writes (`redis.keyPrefix`).
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// How long one call may take (`redis.timeout`).
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The URL with its password masked.
    pub fn shown_url(&self) -> &str {
        &self.inner.shown_url
    }

    /// The shared connection manager (a cheap clone), made on first use and
    /// replaced by [`RedisConn::maybe_rebuild`]: every command goes through
    /// [`RedisConn::call`]. Fails outside a Tokio runtime.
    fn manager(&self) -> Result<ConnectionManager, StoreError> {
        let mut slot = self
            .inner
            .manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(StoreError::new(
                "redis: the connection needs a Tokio runtime",
            ));
        }
        let config = ConnectionManagerConfig::new()
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(MAX_RECONNECT_DELAY)
            .set_exponent_base(2.0)
            // Few retries per reconnection: when they run out, the next
            // call starts a new round, so a long outage never leaves the
            // manager asleep in a long backoff.
            .set_number_of_retries(3)
            .set_connection_timeout(Some(self.inner.timeout.max(Duration::from_secs(1))))
            .set_response_timeout(Some(self.inner.timeout));
        // Lazy: returns at once, connects on first use.
        let made = ConnectionManager::new_lazy_with_config(self.inner.client.clone(), config)
            .map_err(|e| self.error("connect", &e))?;
        *slot = Some(made.clone());
        Ok(made)
    }

    /// Drops the manager after failures that outlast [`REBUILD_AFTER`] (the
    /// next call makes a new one), at most once per that interval.
    fn maybe_rebuild(&self) {
        let health = &self.inner.health;
        if health.failing_for() < REBUILD_AFTER {
            return;
        }
        let now = health.now_ms();
        let last = self.inner.rebuilt_ms.load(Ordering::Acquire);
        let every = u64::try_from(REBUILD_AFTER.as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(last) < every
            || self
                .inner
                .rebuilt_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return;
        }
        let old = self
            .inner
            .manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(old);
        tracing::debug!(store = "redis", url = %self.inner.shown_url, "redis: opening a new connection");
    }

    /// Runs `op` on the shared connection, bounded by `redis.timeout`.
    /// `name` labels the error metric (`op="check"`, `"adjust"`, ...).
    pub async fn call<T, F, Fut>(&self, name: &'static str, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let health = &self.inner.health;
        if !health.may_try() {
            let e = StoreError::new(format!(
                "redis {name}: {} is unavailable (retrying in the background)",
                self.inner.shown_url
            ));
            health.failed(name, &e, false, &self.inner.shown_url);
            return Err(e);
        }
        let manager = match self.manager() {
            Ok(m) => m,
            Err(e) => {
                health.failed(name, &e, false, &self.inner.shown_url);
                return Err(e);
            }
        };
        let (e, connection_level) =
            match tokio::time::timeout(self.inner.timeout, op(manager)).await {
                Ok(Ok(v)) => {
                    health.succeeded(&self.inner.shown_url);
                    return Ok(v);
                }
                Ok(Err(e)) => (self.error(name, &e), is_connection_error(&e)),
                Err(_) => (
                    StoreError::timeout(format!(
                        "redis {name}: no answer from {} within {:?}",
                        self.inner.shown_url, self.inner.timeout
                    )),
                    false,
                ),
            };
        health.failed(name, &e, connection_level, &self.inner.shown_url);
        if !e.timeout {
            self.maybe_rebuild();
        }
        Err(e)
    }

    fn error(&self, name: &str, e: &RedisError) -> StoreError {
        let text = scrub(
            format!("redis {name} ({}): {}", self.inner.shown_url, describe(e)),
            self.inner.secret.as_deref(),
        );
        if e.is_timeout() {
            StoreError::timeout(text)
        } else {
            StoreError::new(text)
        }
    }
}

/// A failure of the connection itself, not of one command: worth failing
/// fast until a probe succeeds.
fn is_connection_error(e: &RedisError) -> bool {
    e.is_connection_refusal() || e.is_connection_dropped() || (e.is_io_error() && !e.is_timeout())
}

fn describe(e: &RedisError) -> String {
    // RedisError's Display names the kind and the server's message; it
    // carries no URL, but the caller scrubs the password anyway.
    e.to_string()
}

/// The password in `redis://user:password@host`, percent-decoded too, so
/// neither spelling reaches a message.
fn password_of(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let (auth, _) = rest.rsplit_once('@')?;
    let password = match auth.split_once(':') {
        Some((_, p)) => p,
        None => auth,
    };
    (!password.is_empty()).then(|| password.to_owned())
}

fn scrub(text: String, secret: Option<&str>) -> String {
    let Some(secret) = secret else {
        return text;
    };
    let mut out = text.replace(secret, "***");
    let decoded = percent_decode(secret);
    if !decoded.is_empty() && decoded != secret {
        out = out.replace(&decoded, "***");
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes.get(i), hex) {
            (Some(b'%'), Some(b)) => {
                out.push(b);
                i += 3;
            }
            (Some(&b), _) => {
                out.push(b);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_scrubbed_in_both_spellings() {
        let url = "redis://user:p%40ss@127.0.0.1:1/0";
        let secret = password_of(url);
        assert_eq!(secret.as_deref(), Some("p%40ss"));
        let text = scrub("a p%40ss b p@ss c".into(), secret.as_deref());
        assert_eq!(text, "a *** b *** c");
        assert_eq!(password_of("redis://127.0.0.1:1"), None);
        assert_eq!(password_of("redis://:pw@h").as_deref(), Some("pw"));
    }
}
