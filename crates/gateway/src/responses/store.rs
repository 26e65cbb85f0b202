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
