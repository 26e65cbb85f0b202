//! Telemetry: what each request did, accounted once, when it ends.
//!
//! The request path fills a [`RequestRecord`] (attempts, served model,
//! times) and the stream relays fill its [`Tap`] (first token, usage). When
//! the response body ends or is dropped, [`ObservedBody`] hands the record
//! to one of the telemetry workers (one thread per two cores, up to
//! [`MAX_WORKERS`], each with its own queue; a request thread always uses
//! the same one), and the request is done with it. The workers do the rest
//! off the request path: token estimates, Prometheus metrics, the JSON
//! access log, OpenTelemetry spans. The queues are bounded by the bytes the
//! waiting records hold ([`QUEUE_BYTES`]), not by their number: below that
//! no record is dropped. See `docs/observability.md`.

mod access_log;
mod account;
mod json_line;
mod labels;
pub mod metrics;
mod observed;
mod peek;
pub mod recent;
mod record;
mod tap;
pub mod trace;
mod worker;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

use switchyard_config::Config;

pub use account::Accounted;
pub use metrics::Metrics;
pub use observed::ObservedBody;
pub use record::{AttemptRecord, FailureKind, REQUEST_KEEP, RequestRecord, TraceState};
pub use tap::Tap;
pub use trace::Tracer;

use crate::runtime::BuildError;

/// Records waiting for the workers may hold this many bytes in all (about:
/// the record, its attempts, and the bodies and text it keeps); past that,
/// new ones are dropped, counted (`switchyard_telemetry_dropped_total`) and
/// logged at most once a minute. Each worker's queue gets an equal share.
pub const QUEUE_BYTES: usize = 64 * 1024 * 1024;

/// Telemetry workers at most (by default one per two cores).
pub const MAX_WORKERS: usize = 8;

/// Largest non-streamed answer kept to read its usage.
const USAGE_CAPTURE: usize = 4 * 1024 * 1024;

pub(crate) enum Msg {
    /// A finished record and what it was charged against the queue.
    Record(Box<RequestRecord>, usize),
    /// Answered once every message sent before it is accounted.
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// How the workers are laid out: their number and the queues' byte budget.
#[derive(Clone, Copy, Debug)]
pub struct Workers {
    pub count: usize,
    /// Bytes the waiting records of all queues may hold.
    pub queue_bytes: usize,
}

impl Default for Workers {
    /// One worker per two cores (at least 1, at most [`MAX_WORKERS`]) and
    /// [`QUEUE_BYTES`]. A worker accounts a record in about 10 µs, so it
    /// keeps up with about 100k requests/s; a core serves about 30k/s, so
    /// two cores leave it a third spare. On 2 cores, one worker: a second
    /// thread there competed with the request path (bench/RESULTS.md).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Workers {
            count: (cores / 2).clamp(1, MAX_WORKERS),
            queue_bytes: QUEUE_BYTES,
        }
    }
}

/// One worker's queue.
struct Shard {
    tx: Sender<Msg>,
    /// Bytes charged for the records in the queue; the worker gives them
    /// back as it accounts them.
    queued: Arc<Queued>,
}

/// On a cache line of its own: request threads of one shard add to it,
/// its worker subtracts, and other shards never touch it.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Queued(pub AtomicUsize);

/// Records dropped (worker 0 reports them in the log, at most once a minute).
#[derive(Default)]
pub(crate) struct Drops {
    pub total: AtomicU64,
}

thread_local! {
    /// The shard this thread submits to (assigned on first use, round
    /// robin), so a request thread always feeds the same queue and threads
    /// spread over the workers without sharing a lock.
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

fn shard_of_this_thread() -> usize {
    SHARD.with(|s| {
        let mut i = s.get();
        if i == usize::MAX {
            i = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
            s.set(i);
        }
        i
    })
}

/// Queued, a record must not keep a large request body alive: its prefix
/// is copied only for `log.bodies`, or for an estimate (an answer served
/// and not accounted, without the prompt's count); else it is let go.
fn bound_for_queue(rec: &mut RequestRecord, log_bodies: bool) {
    if rec.holds_large_body() {
        let estimate = rec.served().is_some()
            && rec.accounted.is_none()
            && account::quick_usage(rec).is_none();
        rec.bound_request_body(log_bodies || estimate);
    }
}

pub struct Telemetry {
    /// One per worker; empty when telemetry is off.
    shards: Box<[Shard]>,
    /// Bytes each shard's waiting records may hold.
    shard_budget: usize,
    pub metrics: Option<Arc<Metrics>>,
    pub tracer: Option<Tracer>,
    /// `log.bodies`: bytes of each body logged.
    body_limit: Option<usize>,
    drops: Arc<Drops>,
    /// The `model` label set shared by the workers.
    labels: Option<Arc<labels::ModelLabels>>,
    /// Recent records and per-minute totals for the admin API (kept when
    /// an admin listener is configured).
    pub recent: Option<Arc<recent::Recent>>,
}

impl Telemetry {
    /// Start the workers for `cfg`'s metrics, access log and tracing.
    /// `known_models`: model names the config itself uses, always kept as
    /// `model` label values.
    pub fn start(
        cfg: &Config,
        known_models: Vec<String>,
        client: crate::runtime::HttpClient,
    ) -> Result<Telemetry, BuildError> {
        let tracer = match &cfg.otel {
            Some(o) => Some(Tracer::start(o, client)?),
            None => None,
        };
        Telemetry::start_with(cfg, known_models, tracer, Workers::default())
    }

    /// [`Telemetry::start`] with a tracer already started and the workers
    /// laid out by `workers`.
    pub fn start_with(
        cfg: &Config,
        known_models: Vec<String>,
        tracer: Option<Tracer>,
        workers: Workers,
    ) -> Result<Telemetry, BuildError> {
        let log = access_log::open(&cfg.log.access)?;
        Telemetry::start_inner(cfg, known_models, tracer, workers, log)
    }

    fn start_inner(
        cfg: &Config,
        known_models: Vec<String>,
        tracer: Option<Tracer>,
        workers: Workers,
        log: Option<access_log::Sink>,
    ) -> Result<Telemetry, BuildError> {
        let metrics = cfg.metrics.enabled.then(|| Arc::new(Metrics::new()));
        let log = log.map(Arc::new);
        let drops = Arc::new(Drops::default());
        let body_limit = (log.is_some() && cfg.log.bodies).then_some(cfg.log.body_limit);
        let count = workers.count.max(1);
        let shard_budget = workers.queue_bytes / count;
        let mut shards = Vec::new();
        let mut label_set = None;
        let recent = cfg
            .admin
            .is_some()
            .then(|| Arc::new(recent::Recent::new(recent::RECENT_REQUESTS)));
        if metrics.is_some() || log.is_some() || tracer.is_some() || recent.is_some() {
            let labels = Arc::new(labels::ModelLabels::new(
                known_models,
                cfg.metrics.max_models,
            ));
            label_set = Some(labels.clone());
            for index in 0..count {
                let (tx, rx) = std::sync::mpsc::channel();
                let queued = Arc::new(Queued::default());
                let w = worker::Worker {
                    index,
                    metrics: metrics.clone(),
                    log: log.clone(),
                    tracer: tracer.as_ref().map(Tracer::exporter),
                    labels: labels.clone(),
                    body_limit,
                    recent: recent.clone(),
                    queued: queued.clone(),
                    drops: (index == 0).then(|| (drops.clone(), count, workers.queue_bytes)),
                };
                std::thread::Builder::new()
                    .name(format!("telemetry-{index}"))
                    .spawn(move || w.run(rx))
                    .map_err(|e| BuildError(format!("cannot start a telemetry thread: {e}")))?;
                shards.push(Shard { tx, queued });
            }
        }
        Ok(Telemetry {
            shards: shards.into_boxed_slice(),
            shard_budget,
            metrics,
            tracer,
            body_limit,
            drops,
            labels: label_set,
            recent,
        })
    }

    /// Model names a reloaded config uses: each keeps its own `model`
    /// label value, like the first config's.
    pub fn add_known_models(&self, models: Vec<String>) {
        if let Some(l) = &self.labels {
            l.add_known(models);
        }
    }

    /// Whether requests need a record at all.
    pub fn enabled(&self) -> bool {
        !self.shards.is_empty()
    }

    /// Telemetry workers running (0 when telemetry is off).
    pub fn workers(&self) -> usize {
        self.shards.len()
    }

    /// Bytes of the answer to keep: what `log.bodies` logs, and for a
    /// non-streamed answer whose usage is needed (telemetry on, or limits
    /// to settle: `settles`), enough to read it.
    fn capture_limit(&self, rec: &RequestRecord, settles: bool) -> usize {
        let logged = self.body_limit.unwrap_or(0);
        let ok = (200..300).contains(&rec.status);
        if rec.stream || !ok || !(self.enabled() || settles) {
            logged
        } else {
            logged.max(USAGE_CAPTURE)
        }
    }

    /// Hand a finished record to this thread's worker; never blocks. The
    /// record is dropped (and counted) only when that worker's queue
    /// already holds its share of [`QUEUE_BYTES`].
    pub fn submit(&self, mut rec: Box<RequestRecord>) {
        let n = self.shards.len();
        if n == 0 {
            return;
        }
        bound_for_queue(&mut rec, self.body_limit.is_some());
        self.submit_to(shard_of_this_thread() % n, rec);
    }

    fn submit_to(&self, i: usize, rec: Box<RequestRecord>) {
        let Some(shard) = self.shards.get(i) else {
            return;
        };
        let cost = rec.approx_bytes();
        let before = shard.queued.0.fetch_add(cost, Ordering::Relaxed);
        // An empty queue takes any record, so every record can be counted.
        if before > 0 && before.saturating_add(cost) > self.shard_budget {
            shard.queued.0.fetch_sub(cost, Ordering::Relaxed);
            self.drops.total.fetch_add(1, Ordering::Relaxed);
            return;
        }
        if shard.tx.send(Msg::Record(rec, cost)).is_err() {
            // The worker is gone (it only stops when this is dropped).
            shard.queued.0.fetch_sub(cost, Ordering::Relaxed);
            self.drops.total.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records dropped because the workers were behind.
    pub fn dropped(&self) -> u64 {
        self.drops.total.load(Ordering::Relaxed)
    }

    /// Wait (up to `limit`) until every record submitted so far is
    /// accounted by every worker: a scrape after a request sees that
    /// request.
    pub async fn flush(&self, limit: Duration) {
        let n = self.shards.len();
        if n == 0 {
            return;
        }
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(n);
        let mut sent = 0;
        for shard in &self.shards {
            if shard.tx.send(Msg::Flush(done_tx.clone())).is_ok() {
                sent += 1;
            }
        }
        drop(done_tx);
        let wait = tokio::task::spawn_blocking(move || {
            let deadline = std::time::Instant::now() + limit;
            for _ in 0..sent {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if done_rx.recv_timeout(left).is_err() {
                    return;
                }
            }
        });
        let _ = wait.await;
    }
}

#[cfg(test)]
mod tests;
