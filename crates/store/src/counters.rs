//! The limit store the gateway uses: one type whatever the configuration,
//! so the limiter is not generic over it at every call site.

use switchyard_config::RedisConfig;
use switchyard_limits::{Adjust, Check, LimitStore, Limiter, MemoryStore, StoreError, Usage};
use tokio::time::Instant;

use crate::fallback::Fallback;
use crate::redis::{RedisConn, RedisLimits};

/// Where the gateway's limits and budgets are counted.
#[derive(Debug)]
pub enum Counters {
    /// This process only.
    Memory(MemoryStore),
    /// Redis, shared by every instance, with `redis.onError` deciding what
    /// happens when it cannot answer.
    Redis(Fallback),
}

impl Default for Counters {
    fn default() -> Self {
        Counters::Memory(MemoryStore::new())
    }
}

impl Counters {
    /// In memory without `redis:`; in Redis with it. Never waits for Redis
    /// (it connects in the background); fails only on a URL Redis cannot
    /// use. The error's text holds no password.
    pub fn from_config(redis: Option<&RedisConfig>) -> Result<Self, StoreError> {
        match redis {
            None => Ok(Counters::default()),
            Some(config) => Ok(Self::redis(RedisConn::new(config)?, config)),
        }
    }

    /// In Redis over an existing connection (shared with other stores).
    pub fn redis(conn: RedisConn, config: &RedisConfig) -> Self {
        Counters::Redis(Fallback::new(RedisLimits::new(conn), config.on_error))
    }

    /// The Redis connection, to share with other stores (credential health).
    pub fn redis_conn(&self) -> Option<&RedisConn> {
        match self {
            Counters::Memory(_) => None,
            Counters::Redis(f) => Some(f.redis().conn()),
        }
    }

    /// A limiter over these counters on the Unix-millisecond timeline, which
    /// every instance sharing a Redis must use (bucket numbers then agree).
    pub fn into_limiter(self) -> Limiter<Self> {
        let origin = Instant::now();
        Limiter::with_epoch(self, origin, unix_ms_now())
    }
}

/// Milliseconds since the Unix epoch (0 for a clock set before it): the
/// clock shared health uses too.
pub use switchyard_routing::share::unix_ms as unix_ms_now;

impl LimitStore for Counters {
    async fn check_and_charge(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> Result<bool, StoreError> {
        match self {
            Counters::Memory(m) => m.check_and_charge(checks, now_ms, usage).await,
            Counters::Redis(r) => r.check_and_charge(checks, now_ms, usage).await,
        }
    }

    async fn adjust(&self, adjustments: &[Adjust<'_>], now_ms: u64) -> Result<(), StoreError> {
        match self {
            Counters::Memory(m) => m.adjust(adjustments, now_ms).await,
            Counters::Redis(r) => r.adjust(adjustments, now_ms).await,
        }
    }

    fn sweep(&self, now_ms: u64) -> usize {
        match self {
            Counters::Memory(m) => m.sweep(now_ms),
            Counters::Redis(r) => r.sweep(now_ms),
        }
    }

    fn keys(&self) -> usize {
        match self {
            Counters::Memory(m) => m.keys(),
            Counters::Redis(r) => r.keys(),
        }
    }
}

#[cfg(test)]
mod tests {
    use switchyard_limits::{Demand, Limit, Per, ReserveError, Rule};

    use super::*;

    fn send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn the_limiter_over_counters_is_send_and_counts_in_memory_by_default() {
        let Ok(counters) = Counters::from_config(None) else {
            panic!("memory needs no configuration");
        };
        let limiter = counters.into_limiter();
        let limits = [Limit::requests(Per::Minute, 1)];
        let rules = [Rule {
            key: "k",
            limits: &limits,
        }];
        // The gateway spawns request handlers: these futures must be Send.
        let first = limiter.reserve(&rules, Demand::request(0), Instant::now());
        send(&first);
        assert!(first.await.is_ok());
        let second = limiter.reserve(&rules, Demand::request(0), Instant::now());
        assert!(matches!(second.await, Err(ReserveError::Rejected(_))));
        assert!(limiter.store().redis_conn().is_none());
    }
}
