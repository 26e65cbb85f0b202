//! Health of one credential of one provider endpoint.
//!
//! State is kept per (provider id, token), never per provider type, so two
//! endpoints of the same type never share or confuse their tokens; the
//! store keys records by a hash of the token ([`crate::CredentialKey`]), never the
//! token itself, so neither its `Debug` nor a shared store holds one. Live
//! requests update it with atomics only: the success path is one relaxed
//! load, and a failure is one `fetch_add`; exactly one failure (the one that
//! reaches `failureThreshold`) takes the credential out, by compare-and-swap.
//! The mutex-guarded detail (last error, since when) is touched only on
//! failures and transitions.
//!
//! With shared health (Redis), another instance's transitions arrive as
//! [`CredentialHealth::mark_out_remote`] and
//! [`CredentialHealth::mark_in_remote`]; see [`crate::share`].
//!
//! Time is `tokio::time::Instant`, so tests drive it with
//! `tokio::time::pause()`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::StatusSet;
pub use crate::recovery::{run_recovery, run_recovery_observed};

/// How a credential that left rotation comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Every `interval`, a minimal chat completion with `model`, bounded by
    /// `timeout`; `successThreshold` successes in a row bring it back.
    Check {
        interval: Duration,
        timeout: Duration,
        model: String,
    },
    /// Back in rotation once `cooldown` has passed, no checks.
    Cooldown(Duration),
}

/// `failover:` of one provider.
#[derive(Clone, Debug)]
pub struct HealthPolicy {
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub failover_on: StatusSet,
    pub recovery: Recovery,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    WentOut,
    CameBack,
}

#[derive(Debug, Default)]
struct Detail {
    out_since: Option<SystemTime>,
    last_error: Option<String>,
}

/// A point-in-time view for the health endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSnapshot {
    pub healthy: bool,
    pub out_since: Option<SystemTime>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Until the next health check (or the end of the cooldown).
    pub next_check_in: Option<Duration>,
    /// Times this credential left rotation, and came back (by health
    /// checks or at the end of a cooldown), since the record was made.
    pub went_out: u64,
    pub came_back: u64,
}

/// `lastError` of a credential another instance took out of rotation.
pub const REMOTE_OUT: &str = "taken out of rotation by another instance";

#[derive(Debug)]
pub struct CredentialHealth {
    epoch: Instant,
    out: AtomicBool,
    failures: AtomicU32,
    check_successes: AtomicU32,
    /// Nanoseconds after `epoch` of the next check / end of cooldown.
    retry_at: AtomicU64,
    went_out: AtomicU64,
    came_back: AtomicU64,
    /// The newest recovery loop's number ([`CredentialHealth::new_checker`]).
    checker: AtomicU64,
    detail: Mutex<Detail>,
}

impl CredentialHealth {
    pub fn new(epoch: Instant) -> Self {
        CredentialHealth {
            epoch,
            out: AtomicBool::new(false),
            failures: AtomicU32::new(0),
            check_successes: AtomicU32::new(0),
            retry_at: AtomicU64::new(0),
            went_out: AtomicU64::new(0),
            came_back: AtomicU64::new(0),
            checker: AtomicU64::new(0),
            detail: Mutex::new(Detail::default()),
        }
    }

    fn detail(&self) -> std::sync::MutexGuard<'_, Detail> {
        self.detail.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_retry_at(&self, at: Instant) {
        let ns = at.saturating_duration_since(self.epoch).as_nanos();
        self.retry_at
            .store(u64::try_from(ns).unwrap_or(u64::MAX), Ordering::Release);
    }

    fn retry_at(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.retry_at.load(Ordering::Acquire))
    }

    /// A number for a new recovery loop; older loops of this credential
    /// see [`CredentialHealth::is_current_checker`] turn false and stop, so
    /// a credential that leaves rotation again before its old loop woke up
    /// is never checked twice by one instance.
    pub fn new_checker(&self) -> u64 {
        self.checker.fetch_add(1, Ordering::AcqRel).wrapping_add(1)
    }

    pub fn is_current_checker(&self, n: u64) -> bool {
        self.checker.load(Ordering::Acquire) == n
    }

    pub fn is_out(&self) -> bool {
        self.out.load(Ordering::Acquire)
    }

    /// Whether a request may use this credential now. Under `cooldown`, an
    /// expired cooldown puts the credential back here.
    pub fn is_available(&self, policy: &HealthPolicy, now: Instant) -> bool {
        if !self.is_out() {
            return true;
        }
        if let Recovery::Cooldown(_) = policy.recovery
            && now >= self.retry_at()
        {
            return self.come_back();
        }
        false
    }

    fn come_back(&self) -> bool {
        self.bring_back();
        true
    }

    /// Back in rotation; whether this call brought it back.
    fn bring_back(&self) -> bool {
        if self
            .out
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.failures.store(0, Ordering::Release);
        self.check_successes.store(0, Ordering::Release);
        self.came_back.fetch_add(1, Ordering::Relaxed);
        self.detail().out_since = None;
        true
    }

    /// Out of rotation because another instance took it out (shared
    /// health), without counting a local failure. `remaining`: until the
    /// shared deadline (the end of the cooldown under `cooldown`; under
    /// health checks, the first check is one interval away as after a
    /// local failure). Returns whether this call took it out.
    pub fn mark_out_remote(
        &self,
        policy: &HealthPolicy,
        remaining: Duration,
        now: Instant,
    ) -> bool {
        if self
            .out
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.check_successes.store(0, Ordering::Release);
        self.went_out.fetch_add(1, Ordering::Relaxed);
        self.set_retry_at(
            now + match &policy.recovery {
                Recovery::Check { interval, .. } => *interval,
                Recovery::Cooldown(_) => remaining,
            },
        );
        let mut d = self.detail();
        d.out_since = Some(SystemTime::now());
        d.last_error = Some(REMOTE_OUT.to_string());
        true
    }

    /// Back in rotation because another instance brought it back (its
    /// health checks passed, or the shared cooldown ended). Returns whether
    /// this call brought it back.
    pub fn mark_in_remote(&self) -> bool {
        self.bring_back()
    }

    /// A 2xx from a live request.
    pub fn record_success(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
    }

    /// A failure from a live request (a status in `failoverOnStatus`, a
    /// connect error or a timeout). Returns `WentOut` for the one failure
    /// that takes the credential out of rotation.
    pub fn record_failure(
        &self,
        policy: &HealthPolicy,
        reason: &str,
        now: Instant,
    ) -> Option<Transition> {
        self.detail().last_error = Some(reason.to_string());
        let n = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if n < policy.failure_threshold.max(1) {
            return None;
        }
        if self
            .out
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return None;
        }
        self.check_successes.store(0, Ordering::Release);
        self.went_out.fetch_add(1, Ordering::Relaxed);
        self.set_retry_at(
            now + match &policy.recovery {
                Recovery::Check { interval, .. } => *interval,
                Recovery::Cooldown(d) => *d,
            },
        );
        self.detail().out_since = Some(SystemTime::now());
        Some(Transition::WentOut)
    }

    /// The result of one active health check.
    pub fn record_check(
        &self,
        result: Result<(), String>,
        policy: &HealthPolicy,
    ) -> Option<Transition> {
        match result {
            Ok(()) => {
                let n = self
                    .check_successes
                    .fetch_add(1, Ordering::AcqRel)
                    .saturating_add(1);
                if n >= policy.success_threshold.max(1) && self.is_out() {
                    self.come_back();
                    return Some(Transition::CameBack);
                }
                None
            }
            Err(e) => {
                self.check_successes.store(0, Ordering::Release);
                self.detail().last_error = Some(e);
                None
            }
        }
    }

    /// Time until this credential may be usable again, if it is out.
    pub fn retry_in(&self, now: Instant) -> Option<Duration> {
        self.is_out()
            .then(|| self.retry_at().saturating_duration_since(now))
    }

    pub fn snapshot(&self, now: Instant) -> HealthSnapshot {
        let d = self.detail();
        HealthSnapshot {
            healthy: !self.is_out(),
            out_since: d.out_since,
            consecutive_failures: self.failures.load(Ordering::Acquire),
            last_error: d.last_error.clone(),
            next_check_in: self.retry_in(now),
            went_out: self.went_out.load(Ordering::Relaxed),
            came_back: self.came_back.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;

    pub(crate) fn policy(recovery: Recovery) -> HealthPolicy {
        HealthPolicy {
            failure_threshold: 3,
            success_threshold: 2,
            failover_on: StatusSet::parse(&["4.*", "5.*"]).unwrap(),
            recovery,
        }
    }

    pub(crate) fn check(interval_ms: u64) -> Recovery {
        Recovery::Check {
            interval: Duration::from_millis(interval_ms),
            timeout: Duration::from_millis(100),
            model: "m".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn threshold_and_success_reset() {
        let p = policy(check(1000));
        let h = CredentialHealth::new(Instant::now());
        let now = Instant::now();
        assert_eq!(h.record_failure(&p, "503", now), None);
        assert_eq!(h.record_failure(&p, "503", now), None);
        h.record_success();
        assert_eq!(
            h.record_failure(&p, "503", now),
            None,
            "a success resets the run"
        );
        assert_eq!(h.record_failure(&p, "503", now), None);
        assert_eq!(h.record_failure(&p, "503", now), Some(Transition::WentOut));
        assert_eq!(
            h.record_failure(&p, "503", now),
            None,
            "only one transition"
        );
        assert!(!h.is_available(&p, now));
        assert_eq!(h.retry_in(now), Some(Duration::from_secs(1)));
        let s = h.snapshot(now);
        assert!(!s.healthy && s.out_since.is_some() && s.last_error.as_deref() == Some("503"));
    }

    #[tokio::test(start_paused = true)]
    async fn cooldown_expires_into_rotation() {
        let p = policy(Recovery::Cooldown(Duration::from_secs(30)));
        let h = CredentialHealth::new(Instant::now());
        for _ in 0..3 {
            h.record_failure(&p, "429", Instant::now());
        }
        assert!(!h.is_available(&p, Instant::now()));
        tokio::time::advance(Duration::from_secs(29)).await;
        assert!(!h.is_available(&p, Instant::now()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(h.is_available(&p, Instant::now()));
        assert!(h.snapshot(Instant::now()).healthy);
    }

    #[tokio::test(start_paused = true)]
    async fn remote_marks_change_state_once_without_counting_failures() {
        let cool = policy(Recovery::Cooldown(Duration::from_secs(30)));
        let h = CredentialHealth::new(Instant::now());
        let now = Instant::now();
        assert!(h.mark_out_remote(&cool, Duration::from_secs(10), now));
        assert!(
            !h.mark_out_remote(&cool, Duration::from_secs(10), now),
            "once"
        );
        let s = h.snapshot(now);
        assert!(!s.healthy);
        assert_eq!(s.consecutive_failures, 0, "no local failure counted");
        assert_eq!(s.last_error.as_deref(), Some(REMOTE_OUT));
        assert_eq!((s.went_out, s.came_back), (1, 0));
        // Under cooldown, the shared deadline is the end of the cooldown.
        assert_eq!(h.retry_in(now), Some(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert!(h.is_available(&cool, Instant::now()));

        let p = policy(check(1000));
        assert!(h.mark_out_remote(&p, Duration::from_secs(3600), Instant::now()));
        assert_eq!(h.retry_in(Instant::now()), Some(Duration::from_secs(1)));
        assert!(!h.is_available(&p, Instant::now()));
        assert!(h.mark_in_remote());
        assert!(!h.mark_in_remote(), "once");
        assert!(h.is_available(&p, Instant::now()));
        let s = h.snapshot(Instant::now());
        assert_eq!((s.went_out, s.came_back), (2, 2));
        // A local failure after a remote return counts from zero.
        assert_eq!(h.record_failure(&p, "503", Instant::now()), None);
        assert_eq!(h.snapshot(Instant::now()).consecutive_failures, 1);

        let first = h.new_checker();
        assert!(h.is_current_checker(first));
        let second = h.new_checker();
        assert!(!h.is_current_checker(first) && h.is_current_checker(second));
    }

    #[tokio::test]
    async fn concurrent_failures_lose_no_count_and_transition_once() {
        let p = Arc::new(HealthPolicy {
            failure_threshold: 500,
            ..policy(check(1000))
        });
        let h = Arc::new(CredentialHealth::new(Instant::now()));
        let outs = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (h, p, outs) = (h.clone(), p.clone(), outs.clone());
            tasks.push(std::thread::spawn(move || {
                for _ in 0..125 {
                    if h.record_failure(&p, "e", Instant::now()).is_some() {
                        outs.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for t in tasks {
            t.join().unwrap();
        }
        assert_eq!(h.snapshot(Instant::now()).consecutive_failures, 1000);
        assert_eq!(outs.load(Ordering::SeqCst), 1);
    }
}
