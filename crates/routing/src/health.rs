//! Health of one credential of one provider endpoint.
//!
//! State is kept per (provider id, token), never per provider type, so two
//! endpoints of the same type never share or confuse their tokens; the
//! store keys records by a hash of the token ([`CredentialKey`]), never the
//! token itself, so neither its `Debug` nor a shared store holds one. Live
//! requests update it with atomics only: the success path is one relaxed
//! load, and a failure is one `fetch_add`; exactly one failure (the one that
//! reaches `failureThreshold`) takes the credential out, by compare-and-swap.
//! The mutex-guarded detail (last error, since when) is touched only on
//! failures and transitions.
//!
//! Time is `tokio::time::Instant`, so tests drive it with
//! `tokio::time::pause()`.

use std::collections::HashMap;
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

/// Which record of a [`HealthStore`] a credential has: its provider id and
/// the first 128 bits of the SHA-256 of its token. Two different tokens do
/// not share a record in practice, and the token cannot be read back, so
/// keys may be printed, logged or kept in a shared store.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CredentialKey {
    provider: Box<str>,
    token_hash: [u8; 16],
}

/// The key of the record of `token` of `provider` (what a reload keeps).
pub fn credential_key(provider: &str, token: &str) -> CredentialKey {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut token_hash = [0u8; 16];
    for (out, b) in token_hash.iter_mut().zip(digest.as_ref()) {
        *out = *b;
    }
    CredentialKey {
        provider: provider.into(),
        token_hash,
    }
}

impl CredentialKey {
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The token's hash, hex (32 digits).
    pub fn token_hash(&self) -> String {
        self.token_hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// `provider#` and the first 8 hex digits of the token's hash.
impl std::fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#", self.provider)?;
        for b in &self.token_hash[..4] {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Where credential health lives. The in-memory store serves one process;
/// a shared store (Redis) can keep several gateway instances in agreement.
/// Records are keyed by provider id and a hash of the token
/// ([`credential_key`]), so a configuration reload that keeps a credential
/// keeps its state, and no store holds or prints a token.
pub trait HealthStore: Send + Sync + std::fmt::Debug {
    /// The record of `token` of `provider` (made on first use).
    fn credential(&self, provider: &str, token: &str) -> Arc<CredentialHealth>;
    /// Forget records `keep` rejects (credentials removed by a reload):
    /// collect the [`credential_key`]s of the new configuration and keep
    /// those.
    fn retain(&self, keep: &dyn Fn(&CredentialKey) -> bool);
}

#[derive(Debug)]
pub struct MemoryHealthStore {
    epoch: Instant,
    map: Mutex<HashMap<CredentialKey, Arc<CredentialHealth>>>,
}

impl Default for MemoryHealthStore {
    fn default() -> Self {
        MemoryHealthStore {
            epoch: Instant::now(),
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl HealthStore for MemoryHealthStore {
    fn credential(&self, provider: &str, token: &str) -> Arc<CredentialHealth> {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(credential_key(provider, token))
            .or_insert_with(|| Arc::new(CredentialHealth::new(self.epoch)))
            .clone()
    }

    fn retain(&self, keep: &dyn Fn(&CredentialKey) -> bool) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|k, _| keep(k));
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

    #[test]
    fn store_keys_by_provider_and_token() {
        let s = MemoryHealthStore::default();
        let a = s.credential("azure-east", "k1");
        assert!(Arc::ptr_eq(&a, &s.credential("azure-east", "k1")));
        assert!(!Arc::ptr_eq(&a, &s.credential("azure-west", "k1")));
        s.retain(&|k| k.provider() == "azure-west");
        assert!(!Arc::ptr_eq(&a, &s.credential("azure-east", "k1")));
    }

    #[test]
    fn store_keys_by_token_hash_and_prints_no_token() {
        const T1: &str = "sk-SECRETfirst0123456789abcd";
        const T2: &str = "sk-SECRETsecond0123456789wxyz";
        let s = MemoryHealthStore::default();
        let a1 = s.credential("oai", T1);
        let a2 = s.credential("oai", T2);
        let b1 = s.credential("other", T1);
        assert!(Arc::ptr_eq(&a1, &s.credential("oai", T1)), "same record");
        assert!(!Arc::ptr_eq(&a1, &a2), "another token, another record");
        assert!(!Arc::ptr_eq(&a1, &b1), "another provider, another record");

        let k = credential_key("oai", T1);
        assert_eq!(k, credential_key("oai", T1));
        assert_ne!(k, credential_key("oai", T2));
        assert_ne!(k, credential_key("other", T1));
        assert_eq!(k.provider(), "oai");
        // SHA-256 of the token, the first 16 bytes.
        assert_eq!(
            credential_key("p", "abc").token_hash(),
            "ba7816bf8f01cfea414140de5dae2223"
        );

        // A reload that keeps only (oai, T2) forgets the rest.
        let keep = [credential_key("oai", T2)];
        s.retain(&|k| keep.contains(k));
        assert!(Arc::ptr_eq(&a2, &s.credential("oai", T2)), "kept");
        assert!(!Arc::ptr_eq(&a1, &s.credential("oai", T1)), "forgotten");
        assert!(!Arc::ptr_eq(&b1, &s.credential("other", T1)), "forgotten");

        let dyn_store: &dyn HealthStore = &s;
        for text in [
            format!("{s:?}"),
            format!("{s:#?}"),
            format!("{dyn_store:?}"),
        ] {
            assert!(
                !text.contains("SECRET") && !text.contains("0123456789"),
                "{text}"
            );
            assert!(text.contains("oai#") && text.contains("other#"), "{text}");
        }
        assert_eq!(format!("{:?}", credential_key("p", "abc")), "p#ba7816bf");
    }
}
