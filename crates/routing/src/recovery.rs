//! The recovery loop: active health checks of a credential out of
//! rotation, every `interval`, until `successThreshold` pass in a row.

use std::future::Future;
use std::sync::Arc;

use tokio::time::Instant;

use crate::health::{CredentialHealth, HealthPolicy, Recovery, Transition};

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
    run_recovery_observed(
        health,
        policy,
        || async {},
        || async { true },
        probe,
        alive,
        |_, _| {},
    )
    .await;
}

/// [`run_recovery`] with a check slot and a lease, telling `observe` each
/// check's result (timeouts included) and whether it brought the
/// credential back.
///
/// Before each check, `slot` is awaited for a guard (a semaphore permit
/// bounding the checks in flight) that is held while the check runs. The
/// wait for the slot is not part of the check: `timeout` bounds `probe`
/// alone, so a check queued behind others is not failed for their
/// slowness. Once the slot is held, `alive` and the credential's state are
/// looked at again, since either may have changed while waiting.
///
/// Then `lease` says whether this instance may check now (shared health:
/// one instance at a time probes a credential); without it the round is
/// skipped, and the credential stays out until the instance holding the
/// lease brings it back for everyone, or the lease comes here.
pub async fn run_recovery_observed<S, SFut, G, L, LFut, P, Fut>(
    health: Arc<CredentialHealth>,
    policy: HealthPolicy,
    mut slot: S,
    mut lease: L,
    mut probe: P,
    alive: impl Fn() -> bool,
    mut observe: impl FnMut(&Result<(), String>, bool),
) where
    S: FnMut() -> SFut,
    SFut: Future<Output = G>,
    L: FnMut() -> LFut,
    LFut: Future<Output = bool>,
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
        if !lease().await {
            continue;
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
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::health::tests::{check, policy};

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
            || async { true },
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
                h.mark_in_remote();
            }
        };
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let probe = move || {
            c.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        };
        let run = run_recovery_observed(
            h.clone(),
            p,
            slot,
            || async { true },
            probe,
            || true,
            |_, _| {},
        );
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("the recovery loop ends once the credential is back");
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert!(!h.is_out());
    }

    /// Without the lease, a round is skipped: no check, nothing observed,
    /// and the loop keeps going until the lease comes here.
    #[tokio::test(start_paused = true)]
    async fn rounds_without_the_lease_are_skipped() {
        let p = policy(check(1000));
        let h = Arc::new(CredentialHealth::new(Instant::now()));
        for _ in 0..3 {
            h.record_failure(&p, "503", Instant::now());
        }
        let start = Instant::now();
        let leases = Arc::new(AtomicU32::new(0));
        let l = leases.clone();
        // Another instance holds the lease for the first three rounds.
        let lease = move || {
            let n = l.fetch_add(1, Ordering::SeqCst);
            async move { n >= 3 }
        };
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let probe = move || {
            c.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        };
        let mut seen = 0;
        run_recovery_observed(
            h.clone(),
            p,
            || async {},
            lease,
            probe,
            || true,
            |_, _| seen += 1,
        )
        .await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "checks only with the lease"
        );
        assert_eq!(seen, 2);
        assert!(!h.is_out());
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
    }
}
