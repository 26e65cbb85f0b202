//! The limit store the gateway uses: one type whatever the configuration,
//! so the limiter is not generic over it at every call site.

use switchyard_limits::{Adjust, Check, LimitStore, MemoryStore, StoreError, Usage};

/// Where the gateway's limits and budgets are counted.
#[derive(Debug)]
pub enum Counters {
    /// This process only.
    Memory(MemoryStore),
}

impl Default for Counters {
    fn default() -> Self {
        Counters::Memory(MemoryStore::new())
    }
}

impl LimitStore for Counters {
    async fn check_and_charge(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> Result<bool, StoreError> {
        match self {
            Counters::Memory(m) => m.check_and_charge(checks, now_ms, usage).await,
        }
    }

    async fn adjust(&self, adjustments: &[Adjust<'_>], now_ms: u64) -> Result<(), StoreError> {
        match self {
            Counters::Memory(m) => m.adjust(adjustments, now_ms).await,
        }
    }

    fn sweep(&self, now_ms: u64) -> usize {
        match self {
            Counters::Memory(m) => m.sweep(now_ms),
        }
    }

    fn keys(&self) -> usize {
        match self {
            Counters::Memory(m) => m.keys(),
        }
    }
}
