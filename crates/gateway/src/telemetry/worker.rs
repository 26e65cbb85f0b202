//! A telemetry worker: one of the threads that account finished requests
//! (tokens, metrics, access log, spans), so the request path only hands
//! over a record. Each has its own queue; they share the metrics registry,
//! the `model` label set and the access-log sink.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::access_log::{self, Sink};
use super::account;
use super::labels::ModelLabels;
use super::metrics::Metrics;
use super::{Drops, Msg, Queued, trace};

/// Histogram samples are folded at least this often.
const UPKEEP: Duration = Duration::from_secs(1);
/// Access-log lines reach the log within this long: a worker writes its
/// block when it is full, when it is this old, and for a scrape.
const LOG_FLUSH: Duration = Duration::from_millis(200);
/// After a batch, the worker rests this long before taking the next, so
/// under load records queue up and are taken many at a time: a request
/// then hands over its record without waking a sleeping thread (a futex
/// wake per request cost more than all the accounting).
const REST: Duration = Duration::from_millis(1);
/// Records taken in one batch at most, so the periodic work (upkeep, log
/// blocks, drop reports) still runs when records keep coming.
const BATCH: usize = 4096;
/// Dropped records are reported in the log at most this often.
const DROP_REPORT: Duration = Duration::from_secs(60);

pub(crate) struct Worker {
    pub index: usize,
    pub metrics: Option<Arc<Metrics>>,
    pub log: Option<Arc<Sink>>,
    pub tracer: Option<switchyard_otel::ExporterHandle>,
    pub labels: Arc<ModelLabels>,
    pub body_limit: Option<usize>,
    /// Recent records and minute totals for the admin API.
    pub recent: Option<Arc<super::recent::Recent>>,
    /// Bytes charged for the records in this worker's queue.
    pub queued: Arc<Queued>,
    /// Worker 0 only: the drop counter to report, the number of workers
    /// and the queues' byte budget (for the message).
    pub drops: Option<(Arc<Drops>, usize, usize)>,
}

/// What worker 0 has said about dropped records.
struct DropReport {
    reported: u64,
    last: Option<Instant>,
}

impl Worker {
    pub fn run(self, rx: Receiver<Msg>) {
        let mut last_upkeep = Instant::now();
        let mut cache = super::metrics::SeriesCache::default();
        // Whole lines, written at once (see `Sink`).
        let mut block: Vec<u8> = Vec::with_capacity(access_log::BUFFER + 4096);
        let mut block_since = Instant::now();
        let mut report = DropReport {
            reported: 0,
            last: None,
        };
        loop {
            let first = match rx.recv_timeout(LOG_FLUSH) {
                Ok(m) => Some(m),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut next = first;
            let mut flushes = Vec::new();
            let mut taken = 0usize;
            // Everything already queued (up to BATCH), then the periodic work.
            while let Some(msg) = next {
                match msg {
                    Msg::Record(rec, cost) => {
                        if block.is_empty() && self.log.is_some() {
                            block_since = Instant::now();
                        }
                        self.account(rec, &mut cache, &mut block);
                        self.queued.0.fetch_sub(cost, Ordering::Relaxed);
                    }
                    Msg::Flush(done) => flushes.push(done),
                }
                taken += 1;
                if block.len() >= access_log::BUFFER {
                    self.write_block(&mut block);
                }
                next = if taken < BATCH {
                    rx.try_recv().ok()
                } else {
                    None
                };
            }
            if !block.is_empty() && (!flushes.is_empty() || block_since.elapsed() >= LOG_FLUSH) {
                self.write_block(&mut block);
            }
            if self.index == 0 {
                if let Some(m) = &self.metrics
                    && last_upkeep.elapsed() >= UPKEEP
                {
                    m.upkeep();
                    last_upkeep = Instant::now();
                }
                self.report_drops(&mut report, false);
            }
            for done in flushes {
                let _ = done.try_send(());
            }
            if taken > 0 && taken < BATCH {
                std::thread::sleep(REST);
            }
        }
        self.write_block(&mut block);
        if self.index == 0 {
            self.report_drops(&mut report, true);
        }
    }

    /// Account one record: metrics, its access-log line (into `block`), spans.
    fn account(
        &self,
        mut rec: Box<super::RequestRecord>,
        cache: &mut super::metrics::SeriesCache,
        block: &mut Vec<u8>,
    ) {
        let acc = match rec.accounted.take() {
            Some(acc) => *acc,
            None => account::account(&mut rec),
        };
        if let Some(m) = &self.metrics {
            m.request(&rec, &acc, &self.labels, cache);
        }
        let len = block.len();
        if self.log.is_some() && access_log::write_line(block, &rec, &acc, self.body_limit).is_err()
        {
            // Not a whole line: leave none of it.
            block.truncate(len);
        }
        if let Some(recent) = &self.recent {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if block.len() > len {
                recent.push(&block[len..], &rec, &acc, now);
            } else {
                let mut line = Vec::with_capacity(1024);
                if access_log::write_line(&mut line, &rec, &acc, None).is_err() {
                    line.clear();
                }
                recent.push(&line, &rec, &acc, now);
            }
        }
        if let Some(t) = &self.tracer {
            trace::export(t, &rec, &acc);
        }
    }

    fn write_block(&self, block: &mut Vec<u8>) {
        if let Some(out) = &self.log {
            out.write_block(block);
        }
        block.clear();
        if block.capacity() > 4 * access_log::BUFFER {
            // One huge line (large logged bodies) does not stay allocated.
            block.shrink_to(access_log::BUFFER + 4096);
        }
    }

    /// Say in the log how many records were dropped since the last time,
    /// at most once a [`DROP_REPORT`] (and once more when stopping).
    fn report_drops(&self, r: &mut DropReport, stopping: bool) {
        let Some((drops, workers, budget)) = &self.drops else {
            return;
        };
        let total = drops.total.load(Ordering::Relaxed);
        let Some(n) = r.due(total, Instant::now(), stopping) else {
            return;
        };
        tracing::warn!(
            dropped = n,
            dropped_total = total,
            "telemetry is behind: {n} request records were not accounted since the last message \
             (no metrics, access-log line or span for them): the records waiting for the {workers} \
             telemetry workers already held their budget of {}; see switchyard_telemetry_dropped_total",
            bytes(*budget),
        );
    }
}

impl DropReport {
    /// Records to report now, out of `total` dropped so far: the ones not
    /// reported yet, when the last report is a minute old (or `stopping`).
    fn due(&mut self, total: u64, now: Instant, stopping: bool) -> Option<u64> {
        let recent = self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < DROP_REPORT);
        if total <= self.reported || (recent && !stopping) {
            return None;
        }
        let n = total - self.reported;
        self.reported = total;
        self.last = Some(now);
        Some(n)
    }
}

fn bytes(n: usize) -> String {
    if n >= 1024 * 1024 {
        format!("{} MiB", n / (1024 * 1024))
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_are_reported_at_most_once_a_minute() {
        let t0 = Instant::now();
        let mut r = DropReport {
            reported: 0,
            last: None,
        };
        assert_eq!(r.due(0, t0, false), None);
        // The first drop is reported at once.
        assert_eq!(r.due(3, t0, false), Some(3));
        assert_eq!(r.due(10, t0 + Duration::from_secs(30), false), None);
        assert_eq!(r.due(12, t0 + Duration::from_secs(59), false), None);
        // A minute later: everything since the last message.
        assert_eq!(r.due(12, t0 + Duration::from_secs(60), false), Some(9));
        assert_eq!(r.due(12, t0 + Duration::from_secs(200), false), None);
        assert_eq!(r.due(13, t0 + Duration::from_secs(201), false), Some(1));
        // Stopping: what is left is said at once.
        assert_eq!(r.due(20, t0 + Duration::from_secs(202), true), Some(7));
        assert_eq!(r.due(20, t0 + Duration::from_secs(203), true), None);
    }
}
