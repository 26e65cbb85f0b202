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
//! Time is `tokio::time::Instant`, so tests drive it with
//! `tokio::time::pause()`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::StatusSet;

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
            detail: Mutex::new(Detail::default()),
        }
    }

    fn detail(&self) -> std::sync::MutexGuard<'_, Detail> {
        self.detail.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set_retry_at(&self, at: Instant) {
        let ns = at.saturating_duration_since(self.epoch).as_nanos();
        self.retry_at
            .store(u64::try_from(ns).unwrap_or(u64::MAX), Ordering::Release);
    }

    fn retry_at(&self) -> Instant {
        self.epoch + Duration::from_nanos(self.retry_at.load(Ordering::Acquire))
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
        if self
            .out
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.failures.store(0, Ordering::Release);
            self.check_successes.store(0, Ordering::Release);
            self.came_back.fetch_add(1, Ordering::Relaxed);
            self.detail().out_since = None;
        }
        true
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

/// Drive one out-of-rotation credential back: every `interval`, run
/// `probe` (bounded by `timeout`) until `successThreshold` checks in a row
/// pass. Stops early when `alive` says the credential was removed (a config
/// change) or something else brought it back.
pub async fn run_recovery<P, Fut>(
    health: Arc<CredentialHealth>,
    policy: HealthPolicy,
    probe: P,
    alive: impl Fn() -> bool,
) where
    P: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    run_recovery_observed(health, policy, || async {}, probe, alive, |_, _| {}).await;
}

/// [`run_recovery`] with a check slot, telling `observe` each check's
/// result (timeouts included) and whether it brought the credential back.
///
/// Before each check, `slot` is awaited for a guard (a semaphore permit
/// bounding the checks in flight) that is held while the check runs. The
/// wait for the slot is not part of the check: `timeout` bounds `probe`
/// alone, so a check queued behind others is not failed for their
/// slowness. Once the slot is held, `alive` and the credential's state are
/// looked at again, since either may have changed while waiting.
pub async fn run_recovery_observed<S, SFut, G, P, Fut>(
    health: Arc<CredentialHealth>,
    policy: HealthPolicy,
    mut slot: S,
    mut probe: P,
    alive: impl Fn() -> bool,
    mut observe: impl FnMut(&Result<(), String>, bool),
) where
    S: FnMut() -> SFut,
    SFut: Future<Output = G>,
    P: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let Recovery::Check {
        interval, timeout, ..
    } = policy.recovery
    else {
        return;
    };
    loop {
        let next = Instant::now() + interval;
        health.set_retry_at(next);
        tokio::time::sleep_until(next).await;
        if !alive() || !health.is_out() {
            return;
        }
        let guard = slot().await;
        if !alive() || !health.is_out() {
            return;
        }
        let result = match tokio::time::timeout(timeout, probe()).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "health check timed out after {}ms",
                timeout.as_millis()
            )),
        };
        drop(guard);
        let seen = result.clone();
        let back = health.record_check(result, &policy) == Some(Transition::CameBack);
        observe(&seen, back);
        if back {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(recovery: Recovery) -> HealthPolicy {
        HealthPolicy {
            failure_threshold: 3,
            success_threshold: 2,
            failover_on: StatusSet::parse(&["4.*", "5.*"]).unwrap(),
            recovery,
        }
    }

    fn check(interval_ms: u64) -> Recovery {
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
    async fn recovery_checks_every_interval_until_threshold() {
        let p = policy(check(5000));
        let h = Arc::new(CredentialHealth::new(Instant::now()));
        for _ in 0..3 {
            h.record_failure(&p, "401", Instant::now());
        }
        let start = Instant::now();
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        // The first check fails, then the credential is good again.
        let probe = move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err("still 401".to_string())
                } else {
                    Ok(())
                }
            }
        };
        run_recovery(h.clone(), p.clone(), probe, || true).await;
        assert!(!h.is_out());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "one failed check, then two good ones"
        );
        assert_eq!(
            Instant::now() - start,
            Duration::from_secs(15),
            "checks run every interval"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn recovery_stops_when_credential_removed_and_times_out_probes() {
        let p = policy(check(1000));
        let h = Arc::new(CredentialHealth::new(Instant::now()));
        for _ in 0..3 {
            h.record_failure(&p, "x", Instant::now());
        }
        let alive = Arc::new(AtomicBool::new(true));
        let a = alive.clone();
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let probe = move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            if n == 1 {
                a.store(false, Ordering::SeqCst);
            }
            // Never answers: the check's own timeout ends it.
            std::future::pending::<Result<(), String>>()
        };
        let al = alive.clone();
        run_recovery(h.clone(), p, probe, move || al.load(Ordering::SeqCst)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(h.is_out());
        assert!(
            h.snapshot(Instant::now())
                .last_error
                .unwrap()
                .contains("timed out")
        );
    }

    /// The wait for a check slot is not part of the check: a check that
    /// waits for its slot far longer than `timeout` still passes when the
    /// upstream answers quickly once it runs.
    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_slot_does_not_count_against_the_timeout() {
        let p = policy(check(1000));
        let h = Arc::new(CredentialHealth::new(Instant::now()));
        for _ in 0..3 {
            h.record_failure(&p, "503", Instant::now());
        }
        let start = Instant::now();
        // The only slot is busy for 3 s (other checks), 30 times the
        // check timeout (100 ms).
        let slots = Arc::new(tokio::sync::Semaphore::new(1));
        let busy = slots.clone().try_acquire_owned().unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            drop(busy);
        });
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let probe = move || {
            c.fetch_add(1, Ordering::SeqCst);
            // The upstream answers in 10 ms once the check runs.
            async {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(())
            }
        };
        let mut seen = Vec::new();
        run_recovery_observed(
            h.clone(),
            p,
            || slots.clone().acquire_owned(),
            probe,
            || true,
            |r, _| seen.push(r.clone()),
        )
        .await;
        assert_eq!(seen, [Ok(()), Ok(())], "no check timed out");
        assert!(!h.is_out());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(
            h.snapshot(Instant::now()).last_error.as_deref(),
            Some("503")
        );
        // First check: due at 1 s, its slot at 3 s, passed at 3.01 s; the
        // second one interval later, with a free slot.
        assert_eq!(Instant::now() - start, Duration::from_millis(4020));
    }

    /// A credential brought back (or removed) while its check waited for a
    /// slot is not checked.
    #[tokio::test(start_paused = true)]
    async fn no_check_once_back_while_waiting_for_a_slot() {
        let p = policy(check(1000));
        let h = Arc::new(CredentialHealth::new(Instant::now()));
        for _ in 0..3 {
            h.record_failure(&p, "503", Instant::now());
        }
        let h2 = h.clone();
        let slot = move || {
            let h = h2.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                // Another instance brought it back meanwhile.
                h.come_back();
            }
        };
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let probe = move || {
            c.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        };
        let run = run_recovery_observed(h.clone(), p, slot, probe, || true, |_, _| {});
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("the recovery loop ends once the credential is back");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(!h.is_out());
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
