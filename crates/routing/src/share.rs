//! Credential health shared between gateway instances.
//!
//! Each instance keeps its own [`CredentialHealth`] records (the request
//! path reads only those, with atomics), and a [`HealthShare`] carries
//! transitions between instances:
//! - a local failure that takes a credential out is published
//!   ([`HealthShare::went_out`]), with the time until which it stays out;
//! - a health check that brings it back is published
//!   ([`HealthShare::came_back`]);
//! - before each health check, the instance asks for the credential's
//!   probe lease ([`HealthShare::try_lease`]): one instance at a time
//!   probes it;
//! - the shared view of what is out ([`RemoteOut`]) is applied to the
//!   local records by [`apply_remote`].
//!
//! Publishing never waits: the request path hands the transition over and
//! moves on. [`LocalOnly`] shares nothing: a single instance behaves as if
//! there were no sharing at all.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::health::{CredentialHealth, HealthPolicy, Recovery};
use crate::health_store::CredentialKey;

/// How long a credential under health checks stays out in the shared view
/// without news: the instance probing it renews this at every check, so it
/// only runs out when no instance is left to probe (then the credential
/// comes back, and live traffic decides again).
pub const CHECK_OUT_TTL: Duration = Duration::from_secs(3600);

/// A boxed future, for the object-safe [`HealthShare::try_lease`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where credential transitions are shared with other instances.
pub trait HealthShare: Send + Sync + std::fmt::Debug {
    /// `key` left rotation here; it stays out everywhere until
    /// `until_unix_ms` unless it comes back earlier. Never waits.
    fn went_out(&self, key: &CredentialKey, until_unix_ms: u64);

    /// `key` came back here (its health checks passed). Never waits.
    fn came_back(&self, key: &CredentialKey);

    /// Whether this instance may probe `key` now: takes or renews the
    /// probe lease for `ttl`, and pushes the shared deadline of `key` to
    /// `renew_until_unix_ms`. When the shared store cannot answer, `true`
    /// (health is local then).
    fn try_lease(
        &self,
        key: &CredentialKey,
        ttl: Duration,
        renew_until_unix_ms: u64,
    ) -> BoxFuture<'_, bool>;

    /// The shared view of what is out, updated as it changes; `None` when
    /// nothing is shared.
    fn remote(&self) -> Option<watch::Receiver<Arc<RemoteOut>>>;

    /// Operations on the shared store that failed (or timed out) so far.
    fn errors(&self) -> u64 {
        0
    }
}

/// One instance, nothing shared: health is exactly the local records.
#[derive(Debug, Default)]
pub struct LocalOnly;

impl HealthShare for LocalOnly {
    fn went_out(&self, _key: &CredentialKey, _until_unix_ms: u64) {}

    fn came_back(&self, _key: &CredentialKey) {}

    fn try_lease(&self, _key: &CredentialKey, _ttl: Duration, _until: u64) -> BoxFuture<'_, bool> {
        Box::pin(std::future::ready(true))
    }

    fn remote(&self) -> Option<watch::Receiver<Arc<RemoteOut>>> {
        None
    }
}

/// What the shared store says is out of rotation: each credential and the
/// unix time (ms) until which it is out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteOut {
    pub out: HashMap<CredentialKey, u64>,
}

/// The shared deadline of a credential that leaves rotation at
/// `now_unix_ms` under `policy`: the end of the cooldown, or
/// [`CHECK_OUT_TTL`] under health checks.
pub fn out_until(policy: &HealthPolicy, now_unix_ms: u64) -> u64 {
    let d = match &policy.recovery {
        Recovery::Cooldown(d) => *d,
        Recovery::Check { .. } => CHECK_OUT_TTL,
    };
    now_unix_ms.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The probe lease of a credential under health checks: long enough that
/// the instance holding it renews it at its next check (one interval
/// later, plus the check itself), so the lease moves only when that
/// instance stops probing.
pub fn lease_ttl(interval: Duration, timeout: Duration) -> Duration {
    interval.saturating_mul(2).saturating_add(timeout)
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What the shared view did to one local record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoteChange {
    /// Another instance took it out of rotation.
    WentOut,
    /// Another instance brought it back (or the shared deadline passed).
    CameBack,
}

/// Apply the shared view to one local record: out when the view has it out
/// (and it is in here); back when it just left the view (it was in
/// `prev`, it is not in `cur`) and it is out here. A credential that went
/// out here and is not yet in the view is left alone: only a departure
/// from the view brings a credential back, never an absence.
pub fn apply_remote(
    health: &CredentialHealth,
    policy: &HealthPolicy,
    key: &CredentialKey,
    prev: &RemoteOut,
    cur: &RemoteOut,
    now_unix_ms: u64,
    now: Instant,
) -> Option<RemoteChange> {
    match cur.out.get(key) {
        Some(&until) if until > now_unix_ms => {
            let remaining = Duration::from_millis(until - now_unix_ms);
            health
                .mark_out_remote(policy, remaining, now)
                .then_some(RemoteChange::WentOut)
        }
        _ if prev.out.contains_key(key) => {
            health.mark_in_remote().then_some(RemoteChange::CameBack)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatusSet;
    use crate::health_store::credential_key;

    fn policy(recovery: Recovery) -> HealthPolicy {
        HealthPolicy {
            failure_threshold: 1,
            success_threshold: 1,
            failover_on: StatusSet::parse(&["5.*"]).unwrap(),
            recovery,
        }
    }

    fn view(entries: &[(&CredentialKey, u64)]) -> RemoteOut {
        RemoteOut {
            out: entries.iter().map(|(k, u)| ((*k).clone(), *u)).collect(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_view_takes_out_and_brings_back() {
        let p = policy(Recovery::Check {
            interval: Duration::from_millis(500),
            timeout: Duration::from_millis(100),
            model: "m".into(),
        });
        let k = credential_key("p", "sk-1");
        let other = credential_key("p", "sk-2");
        let h = CredentialHealth::new(Instant::now());
        let empty = RemoteOut::default();
        let t = 1_000_000;
        let out = view(&[(&k, t + 3_600_000)]);
        let now = Instant::now();

        assert_eq!(apply_remote(&h, &p, &k, &empty, &empty, t, now), None);
        assert_eq!(
            apply_remote(&h, &p, &k, &empty, &out, t, now),
            Some(RemoteChange::WentOut)
        );
        assert!(h.is_out());
        assert_eq!(apply_remote(&h, &p, &k, &out, &out, t, now), None, "once");
        // Another credential's entry does nothing to this one.
        let h2 = CredentialHealth::new(now);
        assert_eq!(apply_remote(&h2, &p, &other, &empty, &out, t, now), None);
        assert!(!h2.is_out());
        // It leaves the view: back.
        assert_eq!(
            apply_remote(&h, &p, &k, &out, &empty, t, now),
            Some(RemoteChange::CameBack)
        );
        assert!(!h.is_out());
        assert_eq!(apply_remote(&h, &p, &k, &out, &empty, t, now), None, "once");
    }

    /// A credential that went out here before its publication reached the
    /// store is not brought back by the view not having it yet.
    #[tokio::test(start_paused = true)]
    async fn absence_from_the_view_brings_nothing_back() {
        let p = policy(Recovery::Cooldown(Duration::from_secs(30)));
        let k = credential_key("p", "sk-1");
        let h = CredentialHealth::new(Instant::now());
        assert!(h.record_failure(&p, "503", Instant::now()).is_some());
        let empty = RemoteOut::default();
        assert_eq!(
            apply_remote(&h, &p, &k, &empty, &empty, 5, Instant::now()),
            None
        );
        assert!(h.is_out());
    }

    /// Under cooldown, the shared deadline is the end of the cooldown; an
    /// entry already past it is ignored.
    #[tokio::test(start_paused = true)]
    async fn cooldown_ends_at_the_shared_deadline() {
        let p = policy(Recovery::Cooldown(Duration::from_secs(30)));
        let k = credential_key("p", "sk-1");
        let h = CredentialHealth::new(Instant::now());
        let t = 50_000;
        let empty = RemoteOut::default();
        let stale = view(&[(&k, t)]);
        assert_eq!(
            apply_remote(&h, &p, &k, &empty, &stale, t, Instant::now()),
            None
        );
        let out = view(&[(&k, out_until(&p, t - 10_000))]);
        assert_eq!(
            apply_remote(&h, &p, &k, &empty, &out, t, Instant::now()),
            Some(RemoteChange::WentOut)
        );
        tokio::time::advance(Duration::from_millis(19_999)).await;
        assert!(!h.is_available(&p, Instant::now()));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(h.is_available(&p, Instant::now()));
    }

    #[test]
    fn deadlines_and_leases() {
        let cool = policy(Recovery::Cooldown(Duration::from_secs(30)));
        assert_eq!(out_until(&cool, 1_000), 31_000);
        let check = policy(Recovery::Check {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
            model: "m".into(),
        });
        assert_eq!(out_until(&check, 1_000), 3_601_000);
        assert_eq!(
            lease_ttl(Duration::from_secs(5), Duration::from_secs(1)),
            Duration::from_secs(11)
        );
        assert!(unix_ms() > 1_600_000_000_000);
    }

    #[tokio::test]
    async fn local_only_shares_nothing_and_always_leases() {
        let s = LocalOnly;
        let k = credential_key("p", "sk-1");
        s.went_out(&k, 1);
        s.came_back(&k);
        assert!(s.try_lease(&k, Duration::from_secs(1), 2).await);
        assert!(s.remote().is_none());
        assert_eq!(s.errors(), 0);
    }
}
