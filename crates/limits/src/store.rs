//! The store's contract: the atomic primitives the limiter needs.
//!
//! The store knows nothing of windows: the limiter tells it which bucket to
//! charge, which buckets still count, and when the charged bucket stops
//! counting. A Redis store does the same in one Lua script per call (see
//! `docs/limits.md`).

use crate::window::Slot;

/// One counter to check and charge: `amount` into bucket `bucket` of
/// (`key`, `slot`), if the buckets `>= oldest` plus `amount` stay within
/// `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check<'a> {
    pub key: &'a str,
    pub slot: Slot,
    /// The bucket to charge (the one `now` falls in).
    pub bucket: u64,
    /// Buckets older than this no longer count and may be dropped.
    pub oldest: u64,
    pub limit: u64,
    pub amount: u64,
    /// When `bucket` stops counting: after this instant, if nothing newer
    /// was charged, the counter is empty and may be forgotten.
    pub expires_ms: u64,
}

/// A correction of an earlier charge, in the bucket it was charged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjust<'a> {
    pub key: &'a str,
    pub slot: Slot,
    pub bucket: u64,
    /// Buckets older than this no longer count; a correction to one of them
    /// is dropped (it can no longer affect any decision).
    pub oldest: u64,
    /// Added to the bucket; the result never goes below zero.
    pub delta: i64,
    pub expires_ms: u64,
}

/// What one counter held, as a `Check` saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    /// Sum of the counted buckets before this charge.
    pub used: u64,
    /// Newest non-empty bucket after the call (None: the counter is empty).
    pub newest: Option<u64>,
    /// Only when the call was refused: the counted non-empty buckets,
    /// oldest first, `(bucket, amount)`, to tell when capacity frees up.
    pub buckets: Vec<(u64, u64)>,
}

/// A store could not answer (Redis down, timed out, refused the script).
/// The limiter passes it on; the gateway decides by `redis.onError`
/// whether to fall back to local counting or to refuse the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// What went wrong, for the operator's log line (never a credential).
    pub message: String,
    /// The store gave up waiting (as opposed to refusing or failing fast).
    pub timeout: bool,
}

impl StoreError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            timeout: false,
        }
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            timeout: true,
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {}

/// Where limits are counted.
///
/// Every method is atomic with respect to the others for the keys it
/// touches. Implementations: [`crate::MemoryStore`] (one process, futures
/// that are ready at once, never an error); a Redis store (several
/// instances, `switchyard-store`).
pub trait LimitStore: Send + Sync {
    /// Check every counter, then charge all of them or none.
    ///
    /// Atomically: for each check, drop buckets older than `oldest`, sum the
    /// rest into `used`; if `used + amount <= limit` holds for every check,
    /// add each `amount` to its `bucket` and return true; else change
    /// nothing and return false. `usage` is cleared and receives one entry
    /// per check, in order (with `buckets` filled only when refused).
    /// The checks name distinct (key, slot) pairs.
    fn check_and_charge(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Apply corrections (settlement). Atomic per counter; no check: real
    /// usage is recorded even where it exceeds the limit.
    fn adjust(
        &self,
        adjustments: &[Adjust<'_>],
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forget counters whose every bucket has left its window by `now_ms`.
    /// Returns how many keys were removed. (A store whose keys expire by
    /// themselves, as Redis's do, returns 0.)
    fn sweep(&self, now_ms: u64) -> usize;

    /// Keys currently held locally (for tests and metrics).
    fn keys(&self) -> usize;
}

impl<T: LimitStore + ?Sized> LimitStore for std::sync::Arc<T> {
    fn check_and_charge(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).check_and_charge(checks, now_ms, usage)
    }
    fn adjust(
        &self,
        adjustments: &[Adjust<'_>],
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).adjust(adjustments, now_ms)
    }
    fn sweep(&self, now_ms: u64) -> usize {
        (**self).sweep(now_ms)
    }
    fn keys(&self) -> usize {
        (**self).keys()
    }
}
