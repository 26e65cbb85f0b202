//! Spend budgets: a cap in dollars per period, per consumer.
//!
//! A budget is one counter per period, in micro-dollars, in the same store
//! as the rate limits ([`Slot::SPEND`]). Periods are counted from the
//! timeline's origin (Unix time for the gateway): period `p` covers
//! `[p·len, (p+1)·len)`, so every instance agrees on when one rolls over.
//! A request is admitted while the period's spend is below the cap; its
//! cost is added when it ends, so the request that crosses the cap
//! completes and the next one is refused until the period rolls over.

use std::time::Duration;

use tokio::time::Instant;

use crate::limiter::Limiter;
use crate::store::{Adjust, Check, LimitStore, StoreError};
use crate::window::Slot;

/// `usd` per `period`, in micro-dollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub micro_usd: u64,
    pub period: Duration,
}

impl Budget {
    /// `usd` dollars per `period` (rounded to the micro-dollar; a period
    /// under a millisecond counts as one).
    pub fn new(usd: f64, period: Duration) -> Self {
        Budget {
            micro_usd: to_micro_usd(usd),
            period,
        }
    }

    fn period_ms(&self) -> u64 {
        u64::try_from(self.period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Dollars to micro-dollars, rounded; negative or not a number is 0.
pub fn to_micro_usd(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e6).round() as u64
    } else {
        0
    }
}

/// Where a budget stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetState {
    /// Below the cap: admitted.
    Within { spent_micro_usd: u64 },
    /// At or past the cap until the period rolls over in `renews_in`.
    Spent {
        spent_micro_usd: u64,
        renews_in: Duration,
    },
}

impl<S: LimitStore> Limiter<S> {
    /// Whether `key`'s spend in the current period is below `budget`.
    /// Charges nothing.
    pub async fn budget_state(
        &self,
        key: &str,
        budget: &Budget,
        now: Instant,
    ) -> Result<BudgetState, StoreError> {
        let now_ms = self.ms(now);
        let len = budget.period_ms();
        let period = now_ms / len;
        let check = Check {
            key,
            slot: Slot::SPEND,
            bucket: period,
            oldest: period,
            // `used + 0 <= cap - 1`, i.e. `used < cap`.
            limit: budget.micro_usd.saturating_sub(1),
            amount: 0,
            expires_ms: period.saturating_add(1).saturating_mul(len),
        };
        let mut usage = Vec::with_capacity(1);
        let within = budget.micro_usd > 0
            && self
                .store()
                .check_and_charge(&[check], now_ms, &mut usage)
                .await?;
        let spent = usage.first().map_or(0, |u| u.used);
        Ok(if within {
            BudgetState::Within {
                spent_micro_usd: spent,
            }
        } else {
            BudgetState::Spent {
                spent_micro_usd: spent,
                renews_in: Duration::from_millis(check.expires_ms.saturating_sub(now_ms)),
            }
        })
    }

    /// Add `micro_usd` to `key`'s spend in the period of `now`.
    pub async fn spend(
        &self,
        key: &str,
        budget: &Budget,
        micro_usd: u64,
        now: Instant,
    ) -> Result<(), StoreError> {
        if micro_usd == 0 {
            return Ok(());
        }
        let now_ms = self.ms(now);
        let len = budget.period_ms();
        let period = now_ms / len;
        let adjust = Adjust {
            key,
            slot: Slot::SPEND,
            bucket: period,
            oldest: period,
            delta: i64::try_from(micro_usd).unwrap_or(i64::MAX),
            expires_ms: period.saturating_add(1).saturating_mul(len),
        };
        self.store().adjust(&[adjust], now_ms).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    fn now<F: Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the memory store never waits"),
        }
    }

    #[test]
    fn the_request_that_crosses_completes_then_refused_until_the_period_rolls_over() {
        let t0 = Instant::now();
        // The timeline starts 10 s into an hour-long period.
        let l = Limiter::with_epoch(MemoryStore::new(), t0, 10_000);
        let b = Budget::new(1.0, Duration::from_secs(3600));
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        assert_eq!(
            now(l.budget_state("budget:a", &b, t0)),
            Ok(BudgetState::Within { spent_micro_usd: 0 })
        );
        now(l.spend("budget:a", &b, 600_000, at(1))).unwrap();
        assert_eq!(
            now(l.budget_state("budget:a", &b, at(2))),
            Ok(BudgetState::Within {
                spent_micro_usd: 600_000
            })
        );
        // Two requests admitted at 0.6 $ both complete: 1.2 $ spent.
        now(l.spend("budget:a", &b, 600_000, at(3))).unwrap();
        let state = now(l.budget_state("budget:a", &b, at(4))).unwrap();
        assert_eq!(
            state,
            BudgetState::Spent {
                spent_micro_usd: 1_200_000,
                renews_in: Duration::from_millis(3_600_000 - 10_004)
            }
        );
        // Another consumer's budget is its own.
        assert!(matches!(
            now(l.budget_state("budget:b", &b, at(4))),
            Ok(BudgetState::Within { .. })
        ));
        // The next period starts empty.
        assert_eq!(
            now(l.budget_state("budget:a", &b, at(3_600_000 - 10_000))),
            Ok(BudgetState::Within { spent_micro_usd: 0 })
        );
    }

    #[test]
    fn exactly_at_the_cap_is_spent_and_a_zero_budget_admits_nothing() {
        let t0 = Instant::now();
        let l = Limiter::new(MemoryStore::new(), t0);
        let b = Budget::new(0.5, Duration::from_secs(60));
        now(l.spend("k", &b, 500_000, t0)).unwrap();
        assert!(matches!(
            now(l.budget_state("k", &b, t0)),
            Ok(BudgetState::Spent { .. })
        ));
        let zero = Budget::new(0.0, Duration::from_secs(60));
        assert!(matches!(
            now(l.budget_state("z", &zero, t0)),
            Ok(BudgetState::Spent { .. })
        ));
        assert_eq!(to_micro_usd(0.0000015), 2);
        assert_eq!(to_micro_usd(f64::NAN), 0);
        assert_eq!(to_micro_usd(-3.0), 0);
    }
}
