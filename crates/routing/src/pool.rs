//! A provider's credential pool: which token the next attempt uses.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::health::{CredentialHealth, HealthPolicy};

/// `tokenSelection`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    #[default]
    Random,
    RoundRobin,
}

/// Credentials already tried by one request; never allocates for pools of
/// up to 64 tokens.
#[derive(Clone, Debug, Default)]
pub struct Tried {
    bits: u64,
    extra: Vec<usize>,
}

impl Tried {
    pub fn insert(&mut self, i: usize) {
        if i < 64 {
            self.bits |= 1 << i;
        } else if !self.extra.contains(&i) {
            self.extra.push(i);
        }
    }

    pub fn contains(&self, i: usize) -> bool {
        if i < 64 {
            self.bits & (1 << i) != 0
        } else {
            self.extra.contains(&i)
        }
    }

    pub fn len(&self) -> usize {
        self.bits.count_ones() as usize + self.extra.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug)]
pub struct Pool {
    health: Vec<Arc<CredentialHealth>>,
    /// `None` when failover is off: every credential is always eligible.
    policy: Option<HealthPolicy>,
    selection: Selection,
    next: AtomicUsize,
}

impl Pool {
    pub fn new(
        health: Vec<Arc<CredentialHealth>>,
        policy: Option<HealthPolicy>,
        selection: Selection,
    ) -> Pool {
        Pool {
            health,
            policy,
            selection,
            next: AtomicUsize::new(0),
        }
    }

    pub fn len(&self) -> usize {
        self.health.len()
    }

    pub fn is_empty(&self) -> bool {
        self.health.is_empty()
    }

    pub fn policy(&self) -> Option<&HealthPolicy> {
        self.policy.as_ref()
    }

    pub fn health(&self, i: usize) -> Option<&Arc<CredentialHealth>> {
        self.health.get(i)
    }

    fn eligible(&self, i: usize, tried: &Tried, now: Instant) -> bool {
        !tried.contains(i)
            && match &self.policy {
                None => true,
                Some(p) => self.health[i].is_available(p, now),
            }
    }

    /// A credential not yet tried and in rotation, or `None` when there is
    /// none left (the caller stops retrying at once).
    pub fn pick(&self, tried: &Tried, now: Instant) -> Option<usize> {
        let n = self.health.len();
        let count = (0..n).filter(|i| self.eligible(*i, tried, now)).count();
        if count == 0 {
            return None;
        }
        let k = match self.selection {
            Selection::Random => fastrand::usize(..count),
            Selection::RoundRobin => self.next.fetch_add(1, Ordering::Relaxed) % count,
        };
        (0..n).filter(|i| self.eligible(*i, tried, now)).nth(k)
    }

    /// How many credentials are out of rotation.
    pub fn out_count(&self, now: Instant) -> usize {
        match &self.policy {
            None => 0,
            Some(p) => self
                .health
                .iter()
                .filter(|h| !h.is_available(p, now))
                .count(),
        }
    }

    /// The earliest time a credential that is out may be usable again.
    pub fn earliest_retry(&self, now: Instant) -> Option<Duration> {
        self.health.iter().filter_map(|h| h.retry_in(now)).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatusSet;
    use crate::health::Recovery;

    fn pool(n: usize, selection: Selection) -> Pool {
        let epoch = Instant::now();
        let policy = HealthPolicy {
            failure_threshold: 1,
            success_threshold: 1,
            failover_on: StatusSet::parse(&["5xx"]).unwrap(),
            recovery: Recovery::Cooldown(Duration::from_secs(10)),
        };
        Pool::new(
            (0..n)
                .map(|_| Arc::new(CredentialHealth::new(epoch)))
                .collect(),
            Some(policy),
            selection,
        )
    }

    #[test]
    fn never_repeats_and_stops_when_exhausted() {
        let p = pool(3, Selection::Random);
        for _ in 0..100 {
            let mut tried = Tried::default();
            let mut seen = vec![];
            while let Some(i) = p.pick(&tried, Instant::now()) {
                assert!(!seen.contains(&i));
                seen.push(i);
                tried.insert(i);
            }
            assert_eq!(seen.len(), 3);
        }
    }

    #[test]
    fn skips_credentials_out_of_rotation() {
        let p = pool(3, Selection::RoundRobin);
        let now = Instant::now();
        let pol = p.policy().unwrap().clone();
        p.health(1).unwrap().record_failure(&pol, "503", now);
        let picks: Vec<_> = (0..6)
            .map(|_| p.pick(&Tried::default(), now).unwrap())
            .collect();
        assert_eq!(picks, [0, 2, 0, 2, 0, 2]);
        assert_eq!(p.out_count(now), 1);
        assert_eq!(p.earliest_retry(now).map(|d| d.as_secs()), Some(10));
        for i in [0, 2] {
            p.health(i).unwrap().record_failure(&pol, "503", now);
        }
        assert_eq!(
            p.pick(&Tried::default(), now),
            None,
            "never an unhealthy credential"
        );
    }

    #[test]
    fn tried_beyond_64() {
        let mut t = Tried::default();
        for i in [0, 63, 64, 200, 200] {
            t.insert(i);
        }
        assert!(t.contains(63) && t.contains(64) && t.contains(200) && !t.contains(1));
        assert_eq!(t.len(), 4);
    }
}
