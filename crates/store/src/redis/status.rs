//! Whether Redis answers: fail fast while it does not (one probe per
//! [`PROBE_EVERY`]), count errors, and log the outage once per 10 s.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use switchyard_limits::StoreError;
use tokio::time::Instant;

use super::PROBE_EVERY;

/// At most one warning per this interval while Redis fails.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// Timeouts in a row that count as Redis being unreachable.
const TIMEOUTS_TO_OPEN: u32 = 3;

pub(super) struct Health {
    epoch: Instant,
    /// 0 while Redis answers; else when (ms since `epoch`) the next probe
    /// may go. Until then calls fail at once.
    retry_at: AtomicU64,
    timeouts_in_row: AtomicU32,
    /// Some call failed since the last success.
    failing: AtomicBool,
    log: Mutex<Outage>,
    /// Errors by operation since the start (`switchyard_store_errors_total`,
    /// rendered by the gateway's metrics; rare, so a lock is fine).
    errors: Mutex<Vec<(&'static str, u64)>>,
}

#[derive(Default)]
struct Outage {
    since: Option<Instant>,
    last_warn: Option<Instant>,
    /// Errors not logged since the last warning.
    quiet: u64,
}

impl Health {
    pub(super) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            retry_at: AtomicU64::new(0),
            timeouts_in_row: AtomicU32::new(0),
            failing: AtomicBool::new(false),
            log: Mutex::default(),
            errors: Mutex::default(),
        }
    }

    pub(super) fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn next_probe(&self) -> u64 {
        let wait = u64::try_from(PROBE_EVERY.as_millis()).unwrap_or(u64::MAX);
        // Never 0, which means "answers".
        self.now_ms().saturating_add(wait).max(1)
    }

    /// Whether a call may go to Redis now: always while it answers; while
    /// it does not, only the first caller after each probe interval.
    pub(super) fn may_try(&self) -> bool {
        let at = self.retry_at.load(Ordering::Acquire);
        if at == 0 {
            return true;
        }
        if self.now_ms() < at {
            return false;
        }
        self.retry_at
            .compare_exchange(at, self.next_probe(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Lists `op` in [`Health::errors`] (at 0 until it fails).
    pub(super) fn list(&self, op: &'static str) {
        let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
        if !errors.iter().any(|(o, _)| *o == op) {
            errors.push((op, 0));
        }
    }

    /// Errors so far, by operation.
    pub(super) fn errors(&self) -> Vec<(&'static str, u64)> {
        self.errors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How long calls have been failing (zero while Redis answers).
    pub(super) fn failing_for(&self) -> Duration {
        if !self.failing.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.since.map(|s| s.elapsed()).unwrap_or_default()
    }

    pub(super) fn succeeded(&self, url: &str) {
        if self.timeouts_in_row.load(Ordering::Relaxed) != 0 {
            self.timeouts_in_row.store(0, Ordering::Relaxed);
        }
        if self.retry_at.load(Ordering::Acquire) != 0 {
            self.retry_at.store(0, Ordering::Release);
        }
        if self.failing.swap(false, Ordering::AcqRel) {
            let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
            let down = log.since.map(|s| s.elapsed()).unwrap_or_default();
            tracing::info!(
                store = "redis",
                url,
                down_ms = u64::try_from(down.as_millis()).unwrap_or(u64::MAX),
                "redis answers again; limits are counted and credential health shared in redis"
            );
            *log = Outage::default();
        }
    }

    /// Counts and (rate-limited) logs a failed call. `connection_level`:
    /// the connection itself failed, so calls should fail fast for a while.
    pub(super) fn failed(
        &self,
        op: &'static str,
        e: &StoreError,
        connection_level: bool,
        url: &str,
    ) {
        {
            let mut errors = self.errors.lock().unwrap_or_else(PoisonError::into_inner);
            match errors.iter_mut().find(|(o, _)| *o == op) {
                Some((_, n)) => *n += 1,
                None => errors.push((op, 1)),
            }
        }
        let timeouts = if e.timeout {
            self.timeouts_in_row.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            0
        };
        if connection_level || timeouts >= TIMEOUTS_TO_OPEN {
            // Keep the probe time a racing prober may have set if later.
            let next = self.next_probe();
            self.retry_at.fetch_max(next, Ordering::AcqRel);
        }
        self.failing.store(true, Ordering::Release);
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let since = *log.since.get_or_insert(now);
        let due = log
            .last_warn
            .is_none_or(|last| now.saturating_duration_since(last) >= WARN_EVERY);
        if due {
            tracing::warn!(
                store = "redis",
                url,
                op,
                error = %e,
                failing_ms = u64::try_from(now.saturating_duration_since(since).as_millis())
                    .unwrap_or(u64::MAX),
                errors_not_logged = log.quiet,
                "redis store error; until it answers limits follow redis.onError and credential health is local"
            );
            log.last_warn = Some(now);
            log.quiet = 0;
        } else {
            log.quiet += 1;
        }
    }
}
