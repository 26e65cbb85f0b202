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
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            let mut flushes = Vec::new();
            // Everything already queued, then one write.
            while let Some(msg) = next {
                match msg {
                    Msg::Record(mut rec) => {
                        let acc = account::account(&mut rec);
                        if let Some(m) = &self.metrics {
                            m.request(&rec, &acc, &mut self.labels);
                        }
                        if let Some(out) = self.log.as_mut()
                            && let Err(e) = access_log::write_line(out, &rec, &acc, self.body_limit)
                            && !log_failed
                        {
                            log_failed = true;
                            tracing::warn!(error = %e, "cannot write the access log");
                        }
                        if let Some(t) = &self.tracer {
                            trace::export(t, &rec, &acc);
                        }
                    }
                    Msg::Flush(done) => flushes.push(done),
                }
                next = rx.try_recv().ok();
            }
            if let Some(out) = self.log.as_mut() {
                let _ = out.flush();
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
        }
    }
}
