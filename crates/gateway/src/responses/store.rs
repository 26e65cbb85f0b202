//! Where the gateway keeps the Responses answers it made through a bridged
//! provider, for `previous_response_id`, `GET` and `DELETE
//! /v1/responses/{id}`. Behind a trait so that a shared store (Redis) can
//! stand in for the in-memory one; the memory store is bounded in count
//! and each entry lives for a TTL.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use switchyard_protocol::canonical::Message;
use tokio::time::Instant;

/// One stored answer and the conversation that led to it.
#[derive(Debug)]
pub struct StoredResponse {
    pub id: String,
    /// The consumer that made it (`None`: anonymous); only it reads it.
    pub consumer: Option<Arc<str>>,
    /// The `response` object as the client received it.
    pub body: Bytes,
    /// System and developer text of the conversation (not `instructions`,
    /// which a later turn does not inherit).
    pub system: Vec<String>,
    /// Every input turn so far (earlier turns included), canonical; the
    /// answer's own output is in `body`.
    pub input: Vec<Message>,
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait ResponseStore: Send + Sync {
    /// Keep `r` (replacing an entry with its id). Never waits: a shared
    /// store writes on its own task.
    fn put(&self, r: StoredResponse);
    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Arc<StoredResponse>>>;
    /// Whether there was such an entry.
    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool>;
}

/// Default bound and lifetime of the in-memory store.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// The in-memory store: at most `max` entries (the oldest go first), each
/// for `ttl`.
pub struct MemoryStore {
    max: usize,
    ttl: Duration,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    by_id: HashMap<String, (Instant, Arc<StoredResponse>)>,
    /// Insertion order, for eviction (may name ids since deleted).
    order: VecDeque<(Instant, String)>,
}

impl MemoryStore {
    pub fn new(max: usize, ttl: Duration) -> Self {
        MemoryStore {
            max: max.max(1),
            ttl,
            inner: Mutex::new(Entries::default()),
        }
    }

    pub fn len(&self) -> usize {
        self.lock().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_now(&self, id: &str, now: Instant) -> Option<Arc<StoredResponse>> {
        let e = self.lock();
        let (at, r) = e.by_id.get(id)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| r.clone())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(DEFAULT_MAX_ENTRIES, DEFAULT_TTL)
    }
}

impl ResponseStore for MemoryStore {
    fn put(&self, r: StoredResponse) {
        let now = Instant::now();
        let mut e = self.lock();
        // Expired entries first, then the oldest beyond the bound.
        while let Some((at, id)) = e.order.front() {
            let expired = now.saturating_duration_since(*at) >= self.ttl;
            if !expired && e.by_id.len() < self.max {
                break;
            }
            let (at, id) = (*at, id.clone());
            e.order.pop_front();
            if e.by_id.get(&id).is_some_and(|(t, _)| *t == at) {
                e.by_id.remove(&id);
            }
        }
        e.order.push_back((now, r.id.clone()));
        e.by_id.insert(r.id.clone(), (now, Arc::new(r)));
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Arc<StoredResponse>>> {
        let r = self.get_now(id, Instant::now());
        Box::pin(std::future::ready(r))
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        let now = Instant::now();
        let found = self.get_now(id, now).is_some();
        self.lock().by_id.remove(id);
        Box::pin(std::future::ready(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> StoredResponse {
        StoredResponse {
            id: id.into(),
            consumer: None,
            body: Bytes::from_static(b"{}"),
            system: vec![],
            input: vec![],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn bounded_and_expiring() {
        let s = MemoryStore::new(2, Duration::from_secs(10));
        s.put(entry("a"));
        s.put(entry("b"));
        s.put(entry("c"));
        assert_eq!(s.len(), 2);
        assert!(s.get("a").await.is_none(), "the oldest went first");
        assert!(s.get("c").await.is_some());
        tokio::time::advance(Duration::from_secs(11)).await;
        assert!(s.get("c").await.is_none(), "expired");
        s.put(entry("d"));
        assert_eq!(s.len(), 1, "expired entries are dropped on the next put");
        assert!(s.delete("d").await);
        assert!(!s.delete("d").await);
    }

    #[tokio::test(start_paused = true)]
    async fn replacing_keeps_the_newest() {
        let s = MemoryStore::new(2, Duration::from_secs(10));
        s.put(entry("a"));
        s.put(entry("a"));
        s.put(entry("b"));
        assert!(s.get("a").await.is_some());
        assert!(s.get("b").await.is_some());
    }
}

/// Responses kept in Redis (`redis:` configured), so that every instance
/// sharing it can continue a conversation: `<prefix>:responses:<id>`, one
/// JSON value each, expiring after the TTL. Redis is the truth (a response
/// deleted through one instance is gone for all); this instance keeps its
/// own copies in memory too (bounded as [`MemoryStore`]) for while its write
/// is still on the way and while Redis does not answer. Writes never hold
/// up a response.
pub struct RedisStore {
    local: MemoryStore,
    blobs: switchyard_store::RedisBlobs,
    ttl: Duration,
    /// Ids whose write to Redis has not finished.
    pending: Arc<Mutex<std::collections::HashSet<String>>>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Wire {
    consumer: Option<String>,
    body: String,
    system: Vec<String>,
    input: Vec<Message>,
}

impl RedisStore {
    pub fn new(conn: switchyard_store::RedisConn) -> Self {
        RedisStore {
            local: MemoryStore::default(),
            blobs: switchyard_store::RedisBlobs::new(conn, "responses"),
            ttl: DEFAULT_TTL,
            pending: Arc::default(),
        }
    }
}

impl ResponseStore for RedisStore {
    fn put(&self, r: StoredResponse) {
        let wire = Wire {
            consumer: r.consumer.as_deref().map(str::to_string),
            body: String::from_utf8_lossy(&r.body).into_owned(),
            system: r.system.clone(),
            input: r.input.clone(),
        };
        if let Ok(value) = serde_json::to_vec(&wire) {
            let (blobs, id, ttl) = (self.blobs.clone(), r.id.clone(), self.ttl);
            let pending = self.pending.clone();
            pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id.clone());
            tokio::spawn(async move {
                if let Err(e) = blobs.put(&id, value, ttl).await {
                    tracing::debug!(error = %e, "a Responses answer was not shared through Redis");
                }
                pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id);
            });
        }
        self.local.put(r);
    }

    fn get<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Arc<StoredResponse>>> {
        Box::pin(async move {
            let local = self.local.get_now(id, Instant::now());
            let raw = match self.blobs.get(id).await {
                Ok(Some(raw)) => raw,
                // Not there: deleted or expired, unless still being written.
                Ok(None) => {
                    let pending = self
                        .pending
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .contains(id);
                    return local.filter(|_| pending);
                }
                Err(_) => return local,
            };
            let w: Wire = serde_json::from_slice(&raw).ok()?;
            Some(Arc::new(StoredResponse {
                id: id.to_string(),
                consumer: w.consumer.map(Arc::from),
                body: Bytes::from(w.body),
                system: w.system,
                input: w.input,
            }))
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let local = self.local.get_now(id, Instant::now()).is_some();
            self.local.lock().by_id.remove(id);
            let shared = self.blobs.delete(id).await.unwrap_or(false);
            local || shared
        })
    }
}
