//! A batching OTLP/HTTP JSON span exporter that does no I/O itself: bytes
//! leave through a [`Transport`] the gateway provides.
//!
//! Request tasks hand finished spans to an [`ExporterHandle`], which only
//! reserves room in a bounded queue and `try_send`s; it never waits and never
//! logs per call. One background task batches the spans and POSTs them, one
//! batch at a time:
//!
//! - a batch is sent as soon as `max_batch` spans are waiting, or when
//!   `flush_interval` has passed since the oldest waiting span arrived;
//! - when the queue holds `queue` spans, further spans are dropped and
//!   counted ([`ExporterHandle::dropped_spans`]);
//! - a POST that fails (transport error, no answer within `timeout`, or a
//!   non-2xx status) is retried once after [`RETRY_DELAY`] when OTLP calls the
//!   failure retryable (transport error, timeout, 429, 502, 503, 504);
//!   otherwise, or if the retry fails too, the batch is dropped, counted,
//!   and logged once with `tracing::warn!`. There is no retry queue, so a
//!   collector outage costs spans, never memory.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::otlp::encode_traces;
use crate::span::Span;

/// Delay before the single retry of a retryable failed POST.
pub const RETRY_DELAY: Duration = Duration::from_millis(500);

/// Sends one OTLP request. The gateway implements it with its own HTTP
/// client.
///
/// The implementation must send `body` as the entire body of a `POST` to
/// `uri` with `Content-Type: application/json` (the body is OTLP/HTTP JSON)
/// plus whatever headers the collector needs (e.g. authorization), and
/// resolve to the response status code, or to an error message for a
/// failure before a status arrived. The error message is logged, so it must
/// not contain header values. The exporter applies its own timeout
/// ([`ExporterConfig::timeout`]) around the returned future.
pub trait Transport: Send + Sync {
    fn post(
        &self,
        uri: Uri,
        body: Bytes,
    ) -> Pin<Box<dyn Future<Output = Result<u16, String>> + Send + '_>>;
}

/// Exporter settings. [`ExporterConfig::new`] fills in the defaults.
#[derive(Clone, Debug)]
pub struct ExporterConfig {
    /// Full URL of the collector's traces endpoint, e.g.
    /// `http://otel-collector:4318/v1/traces`.
    pub endpoint: Uri,
    /// `service.name` of the exported resource.
    pub service_name: String,
    /// Most spans in one request (default 512); a full batch is sent at
    /// once.
    pub max_batch: usize,
    /// Longest a span waits for its batch to fill (default 1 s).
    pub flush_interval: Duration,
    /// Most spans waiting to be batched (default 8192); beyond it spans are
    /// dropped and counted.
    pub queue: usize,
    /// Longest one POST may take before it counts as failed (default 10 s,
    /// OpenTelemetry's `OTEL_EXPORTER_OTLP_TIMEOUT` default).
    pub timeout: Duration,
}

impl ExporterConfig {
    pub fn new(endpoint: Uri, service_name: impl Into<String>) -> Self {
        ExporterConfig {
            endpoint,
            service_name: service_name.into(),
            max_batch: 512,
            flush_interval: Duration::from_secs(1),
            queue: 8192,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Starts the background export task.
pub struct Exporter;

impl Exporter {
    /// Spawns the export task on the current tokio runtime (so it must be
    /// called from within one) and returns the handle request tasks use.
    /// The task ends after [`ExporterHandle::shutdown`], or once every
    /// handle is dropped, exporting what is still queued either way.
    pub fn spawn(cfg: ExporterConfig, transport: Arc<dyn Transport>) -> ExporterHandle {
        let queue = cfg.queue.max(1);
        let (tx, rx) = mpsc::channel(queue);
        let shared = Arc::new(Shared {
            capacity: queue,
            queued: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            exported: AtomicU64::new(0),
            failed_exports: AtomicU64::new(0),
        });
        let worker = Worker {
            endpoint_for_logs: redacted(&cfg.endpoint),
            max_batch: cfg.max_batch.max(1),
            cfg,
            transport,
            shared: Arc::clone(&shared),
            rx,
        };
        tokio::spawn(worker.run());
        ExporterHandle { tx, shared }
    }
}

/// The producer side of the exporter; cheap to clone.
#[derive(Clone)]
pub struct ExporterHandle {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
}

struct Shared {
    capacity: usize,
    /// Spans handed to the channel and not yet taken by the worker.
    queued: AtomicUsize,
    dropped: AtomicU64,
    exported: AtomicU64,
    failed_exports: AtomicU64,
}

enum Msg {
    Spans(Vec<Span>),
    Flush(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

impl ExporterHandle {
    /// Queues finished spans for export. Never blocks and allocates nothing
    /// beyond `spans`; when the queue is full (or the exporter was shut
    /// down) the spans are dropped and counted.
    pub fn export(&self, spans: Vec<Span>) {
        let n = spans.len();
        if n == 0 {
            return;
        }
        let capacity = self.shared.capacity;
        let reserved = self
            .shared
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                queued.checked_add(n).filter(|&total| total <= capacity)
            })
            .is_ok();
        if !reserved {
            self.count_dropped(n, "the export queue is full");
            return;
        }
        if self.tx.try_send(Msg::Spans(spans)).is_err() {
            self.shared.queued.fetch_sub(n, Ordering::AcqRel);
            self.count_dropped(n, "the exporter is shut down");
        }
    }

    fn count_dropped(&self, n: usize, why: &str) {
        let before = self.shared.dropped.fetch_add(n as u64, Ordering::Relaxed);
        if before == 0 {
            tracing::warn!(
                spans = n,
                "dropping spans because {why}; further drops are counted, not logged"
            );
        }
    }

    /// Spans dropped so far: queue overflow, export after shutdown, and
    /// failed exports.
    pub fn dropped_spans(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Spans the collector accepted (2xx) so far.
    pub fn exported_spans(&self) -> u64 {
        self.shared.exported.load(Ordering::Relaxed)
    }

    /// POSTs (after their retry) that failed so far; their spans are in
    /// [`Self::dropped_spans`].
    pub fn failed_exports(&self) -> u64 {
        self.shared.failed_exports.load(Ordering::Relaxed)
    }

    /// Returns once every span queued before the call has been posted
    /// (or its POST failed). Returns at once after shutdown.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Exports everything queued, then stops the background task; later
    /// [`Self::export`] calls drop and count their spans. Returns once the
    /// final POSTs have completed (or failed).
    pub async fn shutdown(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Shutdown(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

impl fmt::Debug for ExporterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterHandle")
            .field("queued", &self.shared.queued.load(Ordering::Relaxed))
            .field("exported", &self.exported_spans())
            .field("dropped", &self.dropped_spans())
            .finish_non_exhaustive()
    }
}

struct Worker {
    cfg: ExporterConfig,
    /// `scheme://host:port/path` of the endpoint: no userinfo, no query.
    endpoint_for_logs: String,
    max_batch: usize,
    transport: Arc<dyn Transport>,
    shared: Arc<Shared>,
    rx: mpsc::Receiver<Msg>,
}

struct Failure {
    retryable: bool,
    message: String,
}

impl Worker {
    async fn run(mut self) {
        let mut pending: Vec<Span> = Vec::new();
        // When the oldest waiting span has waited `flush_interval`.
        let mut deadline: Option<Instant> = None;
        loop {
            let msg = match deadline {
                Some(at) => tokio::select! {
                    biased;
                    () = tokio::time::sleep_until(at) => {
                        self.send_all(&mut pending).await;
                        deadline = None;
                        continue;
                    }
                    msg = self.rx.recv() => msg,
                },
                None => self.rx.recv().await,
            };
            match msg {
                Some(Msg::Spans(spans)) => {
                    if pending.is_empty() {
                        deadline = Some(Instant::now() + self.cfg.flush_interval);
                    }
                    self.take(&mut pending, spans);
                    // The remainder keeps the deadline of the oldest span:
                    // it is sent no later than the interval allows.
                    while pending.len() >= self.max_batch {
                        self.send_batch(&mut pending).await;
                    }
                    if pending.is_empty() {
                        deadline = None;
                    }
                }
                Some(Msg::Flush(ack)) => {
                    self.send_all(&mut pending).await;
                    deadline = None;
                    let _ = ack.send(());
                }
                Some(Msg::Shutdown(ack)) => {
                    // Refuse new messages, then export what was queued.
                    self.rx.close();
                    let mut acks = vec![ack];
                    while let Some(msg) = self.rx.recv().await {
                        match msg {
                            Msg::Spans(spans) => self.take(&mut pending, spans),
                            Msg::Flush(ack) | Msg::Shutdown(ack) => acks.push(ack),
                        }
                    }
                    self.send_all(&mut pending).await;
                    for ack in acks {
                        let _ = ack.send(());
                    }
                    return;
                }
                None => {
                    self.send_all(&mut pending).await;
                    return;
                }
            }
        }
    }

    fn take(&self, pending: &mut Vec<Span>, spans: Vec<Span>) {
        self.shared.queued.fetch_sub(spans.len(), Ordering::AcqRel);
        if pending.is_empty() {
            *pending = spans;
        } else {
            pending.extend(spans);
        }
    }

    async fn send_all(&self, pending: &mut Vec<Span>) {
        while !pending.is_empty() {
            self.send_batch(pending).await;
        }
    }

    /// Posts the oldest `max_batch` (or fewer) pending spans.
    async fn send_batch(&self, pending: &mut Vec<Span>) {
        let n = pending.len().min(self.max_batch);
        if n == 0 {
            return;
        }
        let body = Bytes::from(encode_traces(&self.cfg.service_name, &pending[..n]));
        pending.drain(..n);

        let mut outcome = self.post_once(body.clone()).await;
        if matches!(&outcome, Err(failure) if failure.retryable) {
            tokio::time::sleep(RETRY_DELAY).await;
            outcome = self.post_once(body).await;
        }
        match outcome {
            Ok(()) => {
                self.shared.exported.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(failure) => {
                self.shared.failed_exports.fetch_add(1, Ordering::Relaxed);
                self.shared.dropped.fetch_add(n as u64, Ordering::Relaxed);
                tracing::warn!(
                    endpoint = %self.endpoint_for_logs,
                    spans = n,
                    error = %failure.message,
                    "OTLP trace export failed; the batch is dropped (check the collector endpoint and that it accepts OTLP/HTTP JSON)"
                );
            }
        }
    }

    async fn post_once(&self, body: Bytes) -> Result<(), Failure> {
        let post = self.transport.post(self.cfg.endpoint.clone(), body);
        match tokio::time::timeout(self.cfg.timeout, post).await {
            Ok(Ok(status)) if (200..300).contains(&status) => Ok(()),
            Ok(Ok(status)) => Err(Failure {
                retryable: matches!(status, 429 | 502 | 503 | 504),
                message: format!("collector answered HTTP {status}"),
            }),
            Ok(Err(message)) => Err(Failure {
                retryable: true,
                message,
            }),
            Err(_elapsed) => Err(Failure {
                retryable: true,
                message: format!("no response within {:?}", self.cfg.timeout),
            }),
        }
    }
}

/// The endpoint without userinfo or query, which may carry credentials.
fn redacted(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let host = uri.host().unwrap_or("");
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}{}", uri.path()),
        None => format!("{scheme}://{host}{}", uri.path()),
    }
}

#[cfg(test)]
mod tests;
