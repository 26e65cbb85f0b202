//! What a limit counts and over which sliding window.

use std::time::Duration;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Admitted requests.
    Requests,
    /// Tokens: reserved before the call, replaced by the real usage after.
    Tokens,
    /// Micro-dollars spent, for budgets ([`Slot::SPEND`]): one counter per
    /// period, never a sliding window, never in a [`Limit`].
    Spend,
}

/// The length of a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Per {
    Second,
    Minute,
    Hour,
    Day,
}

/// One limit: at most `amount` of `kind` over any interval of length `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    pub kind: Kind,
    pub per: Per,
    pub amount: u64,
}

impl Limit {
    pub const fn new(kind: Kind, per: Per, amount: u64) -> Self {
        Self { kind, per, amount }
    }
    pub const fn requests(per: Per, amount: u64) -> Self {
        Self::new(Kind::Requests, per, amount)
    }
    pub const fn tokens(per: Per, amount: u64) -> Self {
        Self::new(Kind::Tokens, per, amount)
    }
}

/// Where a (kind, window) pair is counted inside one key: 8 slots, so a
/// store can hold a key's counters in a fixed array (or 8 Redis fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Slot {
    pub kind: Kind,
    pub per: Per,
}

impl Slot {
    /// Number of distinct slots.
    pub const COUNT: usize = 9;

    /// A budget's spend (its `per` is not used: a budget's period is its
    /// own, carried by the bucket numbers).
    pub const SPEND: Slot = Slot {
        kind: Kind::Spend,
        per: Per::Day,
    };

    /// 0..9, stable: requests first, then tokens, second..day within each;
    /// then spend.
    pub const fn index(self) -> usize {
        match self.kind {
            Kind::Requests => self.per as usize,
            Kind::Tokens => 4 + self.per as usize,
            Kind::Spend => 8,
        }
    }

    /// A short stable name ("rps", "tpm", ..., "usd"), e.g. for a Redis key.
    pub const fn name(self) -> &'static str {
        const NAMES: [&str; Slot::COUNT] = [
            "rps", "rpm", "rph", "rpd", "tps", "tpm", "tph", "tpd", "usd",
        ];
        NAMES[self.index()]
    }
}

impl Per {
    /// The window's length.
    pub const fn window(self) -> Duration {
        Duration::from_millis(self.window_ms())
    }

    /// The window's length in milliseconds.
    pub const fn window_ms(self) -> u64 {
        match self {
            Per::Second => 1_000,
            Per::Minute => 60_000,
            Per::Hour => 3_600_000,
            Per::Day => 86_400_000,
        }
    }

    /// Sub-buckets a window is made of: 10 of 100 ms for a second, 60 for
    /// the others (1 s for a minute, 1 min for an hour, 24 min for a day).
    pub const fn buckets(self) -> u64 {
        match self {
            Per::Second => 10,
            _ => 60,
        }
    }

    /// Width of one sub-bucket in milliseconds.
    pub const fn bucket_ms(self) -> u64 {
        self.window_ms() / self.buckets()
    }

    /// The bucket an instant `now_ms` falls in: `[b * width, (b + 1) * width)`.
    pub const fn bucket_at(self, now_ms: u64) -> u64 {
        now_ms / self.bucket_ms()
    }

    /// The oldest bucket still counted at `now_ms`. A window of `n` buckets
    /// counts `n + 1` of them: the one `now` is in, the `n - 1` before it,
    /// and the one the window's start cuts through, counted in full while any
    /// part of it is inside. So an interval of the window's length never sees
    /// more than the limit (conservative: it can only admit late, never early).
    pub const fn oldest_counted(self, now_ms: u64) -> u64 {
        self.bucket_at(now_ms).saturating_sub(self.buckets())
    }

    /// When bucket `b` stops being counted (ms on the store's timeline).
    pub const fn leaves_at(self, b: u64) -> u64 {
        b.saturating_add(self.buckets() + 1)
            .saturating_mul(self.bucket_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry() {
        assert_eq!(Per::Second.bucket_ms(), 100);
        assert_eq!(Per::Minute.bucket_ms(), 1_000);
        assert_eq!(Per::Hour.bucket_ms(), 60_000);
        assert_eq!(Per::Day.bucket_ms(), 1_440_000);
        // 10/min at 0:59.5 sits in bucket 59, counted through 1:59.999.
        assert_eq!(Per::Minute.bucket_at(59_500), 59);
        assert_eq!(Per::Minute.oldest_counted(119_999), 59);
        assert_eq!(Per::Minute.oldest_counted(120_000), 60);
        assert_eq!(Per::Minute.leaves_at(59), 120_000);
    }

    #[test]
    fn slots_are_distinct() {
        let mut seen = [false; Slot::COUNT];
        for kind in [Kind::Requests, Kind::Tokens] {
            for per in [Per::Second, Per::Minute, Per::Hour, Per::Day] {
                let i = Slot { kind, per }.index();
                assert!(!seen[i]);
                seen[i] = true;
            }
        }
        assert!(!seen[Slot::SPEND.index()]);
        assert_eq!(
            Slot {
                kind: Kind::Tokens,
                per: Per::Minute
            }
            .name(),
            "tpm"
        );
        assert_eq!(Slot::SPEND.name(), "usd");
    }
}
