//! Each provider's own model list, fetched from its `/models` in the
//! background and kept for `server.modelsRefreshInterval`.
//!
//! A service of [`Shared`](crate::runtime::Shared): the lists survive a
//! reload, keyed by provider id and the URL they came from (a reload that
//! moves a provider fetches again). Nothing is fetched until a caller lists
//! models: a gateway nobody asks never calls a provider's `/models`. The
//! first listing after start waits for the first answers at most
//! [`FIRST_WAIT`]; later ones never wait: a list older than the interval
//! is served as it is while a new one is fetched. A failed fetch keeps the
//! last good list and is tried again after [`RETRY_FAILED`].
//!
//! These calls are not live traffic: they use a credential that is in
//! rotation but never record success or failure against its health, and
//! they are not counted in metrics or the access log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderValue, Method};
use http_body_util::{BodyExt, Full, Limited};
use switchyard_protocol::models::{Listed, parse_model_list};
use switchyard_providers::Api;
use tokio::sync::watch;
use tokio::time::{Instant, timeout, timeout_at};

use crate::runtime::HttpClient;
use crate::upstream::Upstream;

/// The longest the first listing waits for providers' first answers.
pub const FIRST_WAIT: Duration = Duration::from_secs(2);
/// A fetch that failed is tried again after this long.
pub const RETRY_FAILED: Duration = Duration::from_secs(30);
/// One fetch's time limit (also bounded by the provider's `timeout`).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest `/models` answer read.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// Most models kept per provider (OpenRouter lists a few hundred).
const MAX_MODELS: usize = 2000;

#[derive(Clone)]
pub struct ModelDirectory {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpClient,
    /// Unix seconds when the gateway started: the `created` of models
    /// whose provider gave none.
    started: u64,
    entries: Mutex<HashMap<Arc<str>, Entry>>,
}

struct Entry {
    /// The URL the list comes from.
    source: String,
    models: Arc<[Listed]>,
    /// When the last good list arrived.
    fetched: Option<Instant>,
    /// When the last fetch ended, good or not.
    tried: Option<Instant>,
    /// Flips to `true` when the fetch in flight ends; `None`: none is.
    in_flight: Option<watch::Receiver<bool>>,
    /// Until when listings wait for the first fetch.
    first_wait: Option<Instant>,
}

impl Entry {
    fn new(source: String) -> Entry {
        Entry {
            source,
            models: Arc::from(Vec::new()),
            fetched: None,
            tried: None,
            in_flight: None,
            first_wait: None,
        }
    }
}

impl ModelDirectory {
    pub fn new(client: HttpClient) -> Self {
        ModelDirectory {
            inner: Arc::new(Inner {
                client,
                started: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                entries: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Unix seconds when the gateway started.
    pub fn started(&self) -> u64 {
        self.inner.started
    }

    /// The model lists of `ups` (by provider id), for providers with a
    /// `/models` API: cached ones as they are, stale or missing ones
    /// fetched in the background. Waits (up to [`FIRST_WAIT`]) only for
    /// providers never fetched before.
    pub async fn lists(
        &self,
        ups: &[Arc<Upstream>],
        refresh: Duration,
    ) -> HashMap<Arc<str>, Arc<[Listed]>> {
        let now = Instant::now();
        let mut cold = Vec::new();
        for up in ups {
            if let Some(wait) = self.refresh_if_stale(up, refresh, now) {
                cold.push(wait);
            }
        }
        // The fetches run on their own tasks: waiting in turn is waiting
        // for all at once.
        for (mut rx, until) in cold {
            let _ = timeout_at(until, rx.wait_for(|done| *done)).await;
        }
        let entries = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ups.iter()
            .filter_map(|up| {
                entries
                    .get(&up.id)
                    .map(|e| (up.id.clone(), e.models.clone()))
            })
            .collect()
    }

    /// Start a fetch for `up` if its list is missing or old and none is
    /// in flight; what to wait on, and until when, while the first fetch
    /// has not ended.
    fn refresh_if_stale(
        &self,
        up: &Arc<Upstream>,
        refresh: Duration,
        now: Instant,
    ) -> Option<(watch::Receiver<bool>, Instant)> {
        let Ok(uri) = up.endpoint.uri(Api::Models, "") else {
            return None;
        };
        let source = uri.to_string();
        let mut entries = self
            .inner
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entry = entries
            .entry(up.id.clone())
            .or_insert_with(|| Entry::new(source.clone()));
        if entry.source != source {
            // The provider moved (a reload): what it listed no longer holds.
            *entry = Entry::new(source.clone());
        }
        let waiting = |e: &Entry| {
            let until = e.first_wait.filter(|_| e.tried.is_none())?;
            Some((e.in_flight.clone()?, until))
        };
        if entry.in_flight.is_some() {
            return waiting(entry);
        }
        let fresh = entry.fetched.is_some_and(|t| now < t + refresh);
        let failed_lately = entry.fetched < entry.tried
            && entry
                .tried
                .is_some_and(|t| now < t + RETRY_FAILED.min(refresh));
        if fresh || failed_lately {
            return None;
        }
        let (tx, rx) = watch::channel(false);
        entry.in_flight = Some(rx);
        if entry.tried.is_none() {
            entry.first_wait = Some(now + FIRST_WAIT);
        }
        let wait = waiting(entry);
        drop(entries);
        let inner = self.inner.clone();
        let up = up.clone();
        tokio::spawn(async move {
            let result = fetch(&inner.client, &up, uri).await;
            let mut entries = inner.entries.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = entries.get_mut(&up.id).filter(|e| e.source == source) {
                let now = Instant::now();
                e.in_flight = None;
                e.tried = Some(now);
                match result {
                    Ok(models) => {
                        tracing::debug!(provider = %up.id, models = models.len(), "provider model list fetched");
                        e.models = Arc::from(models);
                        e.fetched = Some(now);
                    }
                    Err(why) => {
                        tracing::info!(provider = %up.id, error = %why, "provider model list not fetched; GET /v1/models lists its configured models only");
                    }
                }
            }
            drop(entries);
            let _ = tx.send(true);
        });
        wait
    }
}

/// `GET` the provider's `/models` with a credential in rotation.
async fn fetch(client: &HttpClient, up: &Upstream, uri: http::Uri) -> Result<Vec<Listed>, String> {
    let idx = (0..up.pool.len())
        .find(|&i| up.pool.health(i).is_none_or(|h| !h.is_out()))
        .ok_or("every credential is out of rotation")?;
    let mut req = up.prepared_request(client, idx, uri, Bytes::new()).await?;
    *req.method_mut() = Method::GET;
    let h = req.headers_mut();
    h.remove(CONTENT_TYPE);
    h.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let limit = FETCH_TIMEOUT.min(up.timeout);
    let resp = timeout(limit, client.request(req.map(Full::new)))
        .await
        .map_err(|_| format!("no answer within {}s", limit.as_secs()))?
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = timeout(limit, Limited::new(resp.into_body(), MAX_BODY).collect())
        .await
        .map_err(|_| format!("the answer did not arrive within {}s", limit.as_secs()))?
        .map_err(|e| e.to_string())?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("`/models` answered HTTP {}", status.as_u16()));
    }
    parse_model_list(&body, MAX_MODELS)
}
