//! The telemetry worker: one thread that accounts every finished request
//! (tokens, metrics, access log, spans), so the request path only hands
//! over a record.

use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::access_log::{self, Sink};
use super::account;
use super::labels::ModelLabels;
use super::metrics::Metrics;
use super::{Msg, trace};

/// Histogram samples are folded at least this often.
const UPKEEP: Duration = Duration::from_secs(1);
/// Access-log lines reach the file within this long when traffic pauses
/// (a full buffer is written at once, and a scrape writes everything).
const LOG_FLUSH: Duration = Duration::from_millis(200);
/// After a batch, the worker rests this long before taking the next, so
/// under load records queue up and are taken many at a time: a request
/// then hands over its record without waking a sleeping thread (a futex
/// wake per request cost more than all the accounting).
const REST: Duration = Duration::from_millis(1);

pub(crate) struct Worker {
    pub metrics: Option<Arc<Metrics>>,
    pub log: Option<Sink>,
    pub tracer: Option<switchyard_otel::ExporterHandle>,
    pub labels: ModelLabels,
    pub body_limit: Option<usize>,
}

impl Worker {
    pub fn run(mut self, rx: Receiver<Msg>) {
        let mut last_upkeep = Instant::now();
        let mut log_failed = false;
        let mut cache = super::metrics::SeriesCache::default();
        let mut unflushed = false;
        let mut line = Vec::with_capacity(2048);
        loop {
            let first = match rx.recv_timeout(LOG_FLUSH) {
                Ok(m) => m,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if unflushed && let Some(out) = self.log.as_mut() {
                        let _ = out.flush();
                    }
                    unflushed = false;
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            };
            let mut next = Some(first);
            let mut flushes = Vec::new();
            // Everything already queued, then one write.
            while let Some(msg) = next {
                match msg {
                    Msg::Record(mut rec) => {
                        let acc = account::account(&mut rec);
                        if let Some(m) = &self.metrics {
                            m.request(&rec, &acc, &mut self.labels, &mut cache);
                        }
                        unflushed = true;
                        if let Some(out) = self.log.as_mut() {
                            line.clear();
                            let written =
                                access_log::write_line(&mut line, &rec, &acc, self.body_limit)
                                    .and_then(|()| out.write_all(&line));
                            if let Err(e) = written
                                && !log_failed
                            {
                                log_failed = true;
                                tracing::warn!(error = %e, "cannot write the access log");
                            }
                        }
                        if let Some(t) = &self.tracer {
                            trace::export(t, &rec, &acc);
                        }
                    }
                    Msg::Flush(done) => flushes.push(done),
                }
                next = rx.try_recv().ok();
            }
            if !flushes.is_empty()
                && let Some(out) = self.log.as_mut()
            {
                let _ = out.flush();
                unflushed = false;
            }
            if let Some(m) = &self.metrics
                && last_upkeep.elapsed() >= UPKEEP
            {
                m.upkeep();
                last_upkeep = Instant::now();
            }
            for done in flushes {
                let _ = done.try_send(());
            }
            std::thread::sleep(REST);
        }
    }
}
