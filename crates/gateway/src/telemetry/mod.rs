//! Telemetry: what each request did, accounted once, when it ends.
//!
//! The request path fills a [`RequestRecord`] (attempts, served model,
//! times) and the stream relays fill its [`Tap`] (first token, usage). When
//! the response body ends or is dropped, [`ObservedBody`] hands the record
//! to the telemetry worker thread through a bounded queue, and the request
//! is done with it. The worker does the rest off the request path: token
//! estimates, Prometheus metrics, the JSON access log, OpenTelemetry spans.
//! See `docs/observability.md`.

mod access_log;
mod account;
mod labels;
pub mod metrics;
mod observed;
mod record;
mod tap;
pub mod trace;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use switchyard_config::Config;

pub use account::Accounted;
pub use metrics::Metrics;
pub use observed::ObservedBody;
pub use record::{AttemptRecord, FailureKind, RequestRecord, TraceState};
pub use tap::Tap;
pub use trace::Tracer;

use crate::runtime::BuildError;

/// Records waiting for the worker; when it falls this far behind, new ones
/// are dropped and counted (`switchyard_telemetry_dropped_total`).
pub const QUEUE: usize = 65_536;

/// Largest non-streamed answer kept to read its usage.
const USAGE_CAPTURE: usize = 4 * 1024 * 1024;

pub(crate) enum Msg {
    Record(Box<RequestRecord>),
    /// Answered once every message sent before it is accounted.
    Flush(std::sync::mpsc::SyncSender<()>),
}

pub struct Telemetry {
    sender: Option<SyncSender<Msg>>,
    pub metrics: Option<Arc<Metrics>>,
    pub tracer: Option<Tracer>,
    /// `log.bodies`: bytes of each body logged.
    body_limit: Option<usize>,
    dropped: Arc<AtomicU64>,
}

impl Telemetry {
    /// Start the worker for `cfg`'s metrics, access log and tracing.
    /// `known_models`: model names the config itself uses, always kept as
    /// `model` label values.
    pub fn start(
        cfg: &Config,
        known_models: Vec<String>,
        client: crate::runtime::HttpClient,
    ) -> Result<Telemetry, BuildError> {
        let metrics = cfg.metrics.enabled.then(|| Arc::new(Metrics::new()));
        let log = access_log::open(&cfg.log.access)?;
        let tracer = match &cfg.otel {
            Some(o) => Some(Tracer::start(o, client)?),
            None => None,
        };
        let dropped = Arc::new(AtomicU64::new(0));
        let body_limit = (log.is_some() && cfg.log.bodies).then_some(cfg.log.body_limit);
        let sender = if metrics.is_some() || log.is_some() || tracer.is_some() {
            let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
            let w = worker::Worker {
                metrics: metrics.clone(),
                log,
                tracer: tracer.as_ref().map(Tracer::exporter),
                labels: labels::ModelLabels::new(known_models, cfg.metrics.max_models),
                body_limit,
            };
            std::thread::Builder::new()
                .name("switchyard-telemetry".into())
                .spawn(move || w.run(rx))
                .map_err(|e| BuildError(format!("cannot start the telemetry thread: {e}")))?;
            Some(tx)
        } else {
            None
        };
        Ok(Telemetry {
            sender,
            metrics,
            tracer,
            body_limit,
            dropped,
        })
    }

    /// Whether requests need a record at all.
    pub fn enabled(&self) -> bool {
        self.sender.is_some()
    }

    fn capture_limit(&self, rec: &RequestRecord) -> usize {
        let logged = self.body_limit.unwrap_or(0);
        let ok = (200..300).contains(&rec.status);
        if rec.stream || !ok || self.sender.is_none() {
            logged
        } else {
            logged.max(USAGE_CAPTURE)
        }
    }

    /// Hand a finished record to the worker; never blocks.
    pub fn submit(&self, rec: Box<RequestRecord>) {
        let Some(tx) = &self.sender else { return };
        match tx.try_send(Msg::Record(rec)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        "telemetry is behind: request records are being dropped (see switchyard_telemetry_dropped_total)"
                    );
                }
            }
        }
    }

    /// Records dropped because the worker was behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Wait (up to `limit`) until every record submitted so far is
    /// accounted: a scrape after a request sees that request.
    pub async fn flush(&self, limit: Duration) {
        let Some(tx) = &self.sender else { return };
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        if tx.try_send(Msg::Flush(done_tx)).is_err() {
            return;
        }
        let wait = tokio::task::spawn_blocking(move || done_rx.recv_timeout(limit));
        let _ = wait.await;
    }
}
