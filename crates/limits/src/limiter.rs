//! Reserve before the call, settle after it.

use std::time::Duration;

use tokio::time::Instant;

use crate::format::format_reset;
use crate::store::{Adjust, Check, LimitStore, StoreError, Usage};
use crate::window::{Kind, Limit, Per, Slot};

/// The limits counted under one key, e.g. `consumer:team-a` or
/// `rule:per-user:alice`.
#[derive(Debug, Clone, Copy)]
pub struct Rule<'a> {
    pub key: &'a str,
    pub limits: &'a [Limit],
}

/// What a request asks for: usually one request and its token estimate
/// (prompt estimate plus `max_tokens`, or the rule's output reserve).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    pub requests: u64,
    pub tokens: u64,
}

impl Demand {
    /// One request reserving `tokens`.
    pub const fn request(tokens: u64) -> Self {
        Self {
            requests: 1,
            tokens,
        }
    }

    const fn of(self, kind: Kind) -> u64 {
        match kind {
            Kind::Requests => self.requests,
            Kind::Tokens => self.tokens,
            Kind::Spend => 0,
        }
    }
}

/// OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}` for one
/// kind, taken from the tightest rule of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u64,
    pub remaining: u64,
    /// Until the window is back to full if nothing more is charged.
    pub reset: Duration,
}

/// OpenAI's header names: `[limit, remaining, reset]` for requests, then
/// for tokens.
pub const HEADER_NAMES: [[&str; 3]; 2] = [
    [
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
    ],
    [
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ],
];

/// The figures for both kinds; `None` where no rule of that kind applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateHeaders {
    pub requests: Option<RateInfo>,
    pub tokens: Option<RateInfo>,
}

impl RateHeaders {
    /// OpenAI's header names and values, requests first, each kind only
    /// where a rule of that kind applies: `x-ratelimit-limit-requests: 600`,
    /// `x-ratelimit-remaining-requests: 599`, `x-ratelimit-reset-requests:
    /// 1m0s`, then the same for `-tokens`.
    pub fn openai_headers(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(6);
        for (info, [limit, remaining, reset]) in
            [self.requests, self.tokens].iter().zip(HEADER_NAMES)
        {
            if let Some(info) = info {
                out.push((limit, info.limit.to_string()));
                out.push((remaining, info.remaining.to_string()));
                out.push((reset, format_reset(info.reset)));
            }
        }
        out
    }

    fn offer(&mut self, kind: Kind, info: RateInfo) {
        let slot = match kind {
            Kind::Requests => &mut self.requests,
            Kind::Tokens | Kind::Spend => &mut self.tokens,
        };
        let tighter = match slot {
            None => true,
            Some(cur) => (info.remaining, info.limit) < (cur.remaining, cur.limit),
        };
        if tighter {
            *slot = Some(info);
        }
    }
}

/// Why a reservation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not now: capacity frees up after `retry_after`.
    Exceeded,
    /// The reservation is larger than the whole limit: it can never fit.
    NeverFits,
}

/// A refused reservation. Nothing was charged, in any window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    /// The rule that decided: the one that can never fit, else the one that
    /// frees up last.
    pub key: String,
    pub limit: Limit,
    /// When every refusing window has room for this demand, if nothing else
    /// is charged meanwhile. `None` for [`Reason::NeverFits`].
    pub retry_after: Option<Duration>,
    pub headers: RateHeaders,
}

impl Rejection {
    /// `retry_after` in whole seconds, rounded up (for `Retry-After`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
    }
}

/// Why [`Limiter::reserve`] did not admit a demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveError {
    /// A limit refused it; nothing was charged.
    Rejected(Box<Rejection>),
    /// The store could not answer; nothing is known to be charged.
    Store(StoreError),
}

impl From<StoreError> for ReserveError {
    fn from(e: StoreError) -> Self {
        ReserveError::Store(e)
    }
}

/// An admitted demand. Settle it with the real usage when the answer ends;
/// dropped unsettled (client gone, task cancelled), it keeps its whole
/// reserve: nothing is refunded, because nothing needs to happen.
///
/// Not `Clone`: one reservation is settled at most once.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "settle the reservation with the real usage (dropping it keeps the full reserve)"]
pub struct Reservation {
    tokens: u64,
    charged: Vec<Charged>,
    headers: RateHeaders,
}

/// A token counter this reservation charged, and in which bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Charged {
    key: String,
    per: Per,
    bucket: u64,
}

impl Reservation {
    /// Tokens reserved.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }
    /// Whether settling can change anything: some token counter was
    /// charged. (Request counts are never settled.)
    pub fn settles(&self) -> bool {
        !self.charged.is_empty()
    }

    /// The figures for the admitted response's headers.
    pub fn headers(&self) -> RateHeaders {
        self.headers
    }
}

/// Sliding-window limits over a [`LimitStore`].
///
/// Time is given explicitly (`now`) and measured in milliseconds since
/// `origin`; every instance sharing a store must share the timeline (a Redis
/// store uses Unix time, see `docs/limits.md`).
#[derive(Debug)]
pub struct Limiter<S> {
    store: S,
    origin: Instant,
    origin_ms: u64,
}

struct Entry<'a> {
    key: &'a str,
    limit: Limit,
}

impl<S: LimitStore> Limiter<S> {
    /// A limiter whose timeline starts at `origin` (0 ms): enough for a
    /// store only this process uses.
    pub fn new(store: S, origin: Instant) -> Self {
        Self::with_epoch(store, origin, 0)
    }

    /// A limiter whose timeline reads `origin_ms` at `origin`: a store shared
    /// by several instances needs one timeline, e.g. Unix milliseconds
    /// (`origin_ms` = `SystemTime::now()` since the epoch, taken with
    /// `origin` = `Instant::now()`).
    pub fn with_epoch(store: S, origin: Instant, origin_ms: u64) -> Self {
        Self {
            store,
            origin,
            origin_ms,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub(crate) fn ms(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin).as_millis();
        u64::try_from(elapsed)
            .unwrap_or(u64::MAX)
            .saturating_add(self.origin_ms)
    }

    /// Admits `demand` only if it fits what remains in every window of every
    /// rule; then charges all of them, else none. (The rejection is boxed:
    /// it is the rare path and the larger value.)
    pub async fn reserve(
        &self,
        rules: &[Rule<'_>],
        demand: Demand,
        now: Instant,
    ) -> Result<Reservation, ReserveError> {
        let now_ms = self.ms(now);
        // One counter per (key, kind, window): the smallest limit wins.
        let mut entries: Vec<Entry<'_>> = Vec::new();
        for rule in rules {
            for &limit in rule.limits {
                let same = entries.iter_mut().find(|e| {
                    e.key == rule.key && e.limit.kind == limit.kind && e.limit.per == limit.per
                });
                match same {
                    Some(e) => e.limit.amount = e.limit.amount.min(limit.amount),
                    None => entries.push(Entry {
                        key: rule.key,
                        limit,
                    }),
                }
            }
        }
        if entries.is_empty() {
            return Ok(Reservation {
                tokens: demand.tokens,
                charged: Vec::new(),
                headers: RateHeaders::default(),
            });
        }
        let checks: Vec<Check<'_>> = entries
            .iter()
            .map(|e| {
                let per = e.limit.per;
                let bucket = per.bucket_at(now_ms);
                Check {
                    key: e.key,
                    slot: Slot {
                        kind: e.limit.kind,
                        per,
                    },
                    bucket,
                    oldest: per.oldest_counted(now_ms),
                    limit: e.limit.amount,
                    amount: demand.of(e.limit.kind),
                    expires_ms: per.leaves_at(bucket),
                }
            })
            .collect();
        let mut usage = Vec::with_capacity(checks.len());
        let admitted = self
            .store
            .check_and_charge(&checks, now_ms, &mut usage)
            .await?;

        let mut headers = RateHeaders::default();
        for ((e, c), u) in entries.iter().zip(&checks).zip(&usage) {
            let after = if admitted {
                u.used.saturating_add(c.amount)
            } else {
                u.used
            };
            let reset = match u.newest {
                Some(b) if after > 0 => ms_until(e.limit.per.leaves_at(b), now_ms),
                _ => Duration::ZERO,
            };
            headers.offer(
                e.limit.kind,
                RateInfo {
                    limit: e.limit.amount,
                    remaining: e.limit.amount.saturating_sub(after),
                    reset,
                },
            );
        }

        if admitted {
            let charged = entries
                .iter()
                .zip(&checks)
                // Even a zero reserve: its settle records the real usage.
                .filter(|(e, _)| e.limit.kind == Kind::Tokens)
                .map(|(e, c)| Charged {
                    key: e.key.to_owned(),
                    per: e.limit.per,
                    bucket: c.bucket,
                })
                .collect();
            return Ok(Reservation {
                tokens: demand.tokens,
                charged,
                headers,
            });
        }

        // Refused: name the rule that decides and when to come back.
        let mut worst: Option<(Reason, Duration, &Entry<'_>)> = None;
        for ((e, c), u) in entries.iter().zip(&checks).zip(&usage) {
            if u.used.saturating_add(c.amount) <= c.limit {
                continue;
            }
            let (reason, wait) = if c.amount > c.limit {
                (Reason::NeverFits, Duration::MAX)
            } else {
                (Reason::Exceeded, retry_after(e.limit.per, c, u, now_ms))
            };
            let worse = match &worst {
                None => true,
                Some((r, w, _)) => (reason == Reason::NeverFits && *r != reason) || wait > *w,
            };
            if worse {
                worst = Some((reason, wait, e));
            }
        }
        let (reason, wait, entry) = match worst {
            Some(w) => w,
            // The store refused, yet every counter fits as it reported them
            // (it changed between its check and our reading): come back soon.
            None => (
                Reason::Exceeded,
                Duration::from_millis(entries[0].limit.per.bucket_ms()),
                &entries[0],
            ),
        };
        Err(ReserveError::Rejected(Box::new(Rejection {
            reason,
            key: entry.key.to_owned(),
            limit: entry.limit,
            retry_after: (reason == Reason::Exceeded).then_some(wait),
            headers,
        })))
    }

    /// Replaces the reservation's tokens by the real usage, in the buckets
    /// where they were reserved (a settle never moves usage later in time).
    /// Usage above the reserve is recorded too, even past the limit.
    pub async fn settle(
        &self,
        reservation: Reservation,
        actual_tokens: u64,
        now: Instant,
    ) -> Result<(), StoreError> {
        if reservation.charged.is_empty() || actual_tokens == reservation.tokens {
            return Ok(());
        }
        let now_ms = self.ms(now);
        let delta = i128::from(actual_tokens) - i128::from(reservation.tokens);
        let delta = i64::try_from(delta).unwrap_or(if delta < 0 { i64::MIN } else { i64::MAX });
        let adjustments: Vec<Adjust<'_>> = reservation
            .charged
            .iter()
            .map(|c| Adjust {
                key: &c.key,
                slot: Slot {
                    kind: Kind::Tokens,
                    per: c.per,
                },
                bucket: c.bucket,
                oldest: c.per.oldest_counted(now_ms),
                delta,
                expires_ms: c.per.leaves_at(c.bucket),
            })
            .collect();
        self.store.adjust(&adjustments, now_ms).await
    }

    /// Forgets keys whose windows are empty at `now`; returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        self.store.sweep(self.ms(now))
    }
}

fn ms_until(at_ms: u64, now_ms: u64) -> Duration {
    Duration::from_millis(at_ms.saturating_sub(now_ms))
}

/// When enough of the oldest buckets have left the window for `c` to fit.
fn retry_after(per: Per, c: &Check<'_>, u: &Usage, now_ms: u64) -> Duration {
    let need = u.used.saturating_add(c.amount).saturating_sub(c.limit);
    let mut freed = 0u64;
    for &(b, n) in &u.buckets {
        freed = freed.saturating_add(n);
        if freed >= need {
            return ms_until(per.leaves_at(b), now_ms).max(Duration::from_millis(1));
        }
    }
    // The buckets changed since `used` was read: a whole window is safe.
    ms_until(per.leaves_at(per.bucket_at(now_ms)), now_ms)
}

#[cfg(test)]
#[path = "limiter_tests.rs"]
mod tests;
