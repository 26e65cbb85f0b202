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

/// Where limits are counted.
///
/// Every method is atomic with respect to the others for the keys it
/// touches. Implementations: [`crate::MemoryStore`] (one process); a Redis
/// store (several instances) later.
pub trait LimitStore: Send + Sync {
    /// Check every counter, then charge all of them or none.
    ///
    /// Atomically: for each check, drop buckets older than `oldest`, sum the
    /// rest into `used`; if `used + amount <= limit` holds for every check,
    /// add each `amount` to its `bucket` and return true; else change
    /// nothing and return false. `usage` is cleared and receives one entry
    /// per check, in order (with `buckets` filled only when refused).
    /// The checks name distinct (key, slot) pairs.
    fn check_and_charge(&self, checks: &[Check<'_>], now_ms: u64, usage: &mut Vec<Usage>) -> bool;

    /// Apply corrections (settlement). Atomic per counter; no check: real
    /// usage is recorded even where it exceeds the limit.
    fn adjust(&self, adjustments: &[Adjust<'_>], now_ms: u64);

    /// Forget counters whose every bucket has left its window by `now_ms`.
    /// Returns how many keys were removed.
    fn sweep(&self, now_ms: u64) -> usize;

    /// Keys currently held (for tests and metrics).
    fn keys(&self) -> usize;
}

impl<T: LimitStore + ?Sized> LimitStore for std::sync::Arc<T> {
    fn check_and_charge(&self, checks: &[Check<'_>], now_ms: u64, usage: &mut Vec<Usage>) -> bool {
        (**self).check_and_charge(checks, now_ms, usage)
    }
    fn adjust(&self, adjustments: &[Adjust<'_>], now_ms: u64) {
        (**self).adjust(adjustments, now_ms)
    }
    fn sweep(&self, now_ms: u64) -> usize {
        (**self).sweep(now_ms)
    }
    fn keys(&self) -> usize {
        (**self).keys()
    }
}
