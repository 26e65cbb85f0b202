//! Counting in Redis with a local fallback: what `redis.onError` decides.

use switchyard_config::OnStoreError;
use switchyard_limits::{Adjust, Check, LimitStore, MemoryStore, StoreError, Usage};

use crate::redis::RedisLimits;

/// Limits counted in Redis; when Redis cannot answer (down, timed out,
/// refused the script), `on_error` decides:
/// - [`OnStoreError::Allow`]: count in this instance's memory instead, call
///   by call, until Redis answers again (each instance then enforces the
///   limits on its own, so N instances may admit up to N times a limit
///   during the outage). Settling never fails: a correction Redis cannot
///   take is applied locally.
/// - [`OnStoreError::Deny`]: pass the [`StoreError`] on; the gateway answers
///   503 `limiter_unavailable`.
///
/// While Redis fails, calls fail fast (one probe per 500 ms, see
/// [`crate::redis::RedisConn`]), so the fallback costs no extra latency.
#[derive(Debug)]
pub struct Fallback {
    redis: RedisLimits,
    local: MemoryStore,
    on_error: OnStoreError,
}

impl Fallback {
    pub fn new(redis: RedisLimits, on_error: OnStoreError) -> Self {
        Self {
            redis,
            local: MemoryStore::new(),
            on_error,
        }
    }

    pub fn redis(&self) -> &RedisLimits {
        &self.redis
    }

    /// What is counted here while Redis is away.
    pub fn local(&self) -> &MemoryStore {
        &self.local
    }

    pub fn on_error(&self) -> OnStoreError {
        self.on_error
    }
}

impl LimitStore for Fallback {
    async fn check_and_charge(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> Result<bool, StoreError> {
        match self.redis.check_and_charge(checks, now_ms, usage).await {
            Ok(admitted) => Ok(admitted),
            Err(e) => match self.on_error {
                OnStoreError::Allow => Ok(self.local.check_and_charge_now(checks, now_ms, usage)),
                OnStoreError::Deny => Err(e),
            },
        }
    }

    /// Under `Allow`, a correction Redis cannot take is applied locally:
    /// the reservation may have been made there, and a settle must not
    /// fail the request. A correction to a reservation made locally that
    /// reaches Redis once it is back adds only real usage (a refund of a
    /// bucket Redis never saw changes nothing).
    async fn adjust(&self, adjustments: &[Adjust<'_>], now_ms: u64) -> Result<(), StoreError> {
        match self.redis.adjust(adjustments, now_ms).await {
            Ok(()) => Ok(()),
            Err(e) => match self.on_error {
                OnStoreError::Allow => {
                    self.local.adjust_now(adjustments, now_ms);
                    Ok(())
                }
                OnStoreError::Deny => Err(e),
            },
        }
    }

    fn sweep(&self, now_ms: u64) -> usize {
        self.local.sweep(now_ms)
    }

    fn keys(&self) -> usize {
        self.local.keys()
    }
}
