//! The in-memory store: sharded by key, one short lock per touched shard.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::{Adjust, Check, LimitStore, StoreError, Usage};
use crate::window::Slot;

const SHARDS: usize = 64;
/// A shard forgets its idle keys after this many calls, or after as many
/// calls as the last sweep kept keys if more: amortised O(1) per call, and a
/// shard holds at most its live keys plus one interval of new ones.
const SWEEP_EVERY: usize = 256;

/// Limits counted in this process. Keys are spread over 64 shards by hash;
/// a call locks only the shards of its keys (in ascending order, so two
/// calls never deadlock), never one lock for every request. Idle keys are
/// forgotten by [`LimitStore::sweep`] and, every few hundred calls on a
/// shard, by that shard itself.
pub struct MemoryStore {
    shards: Box<[Mutex<Shard>]>,
    hasher: RandomState,
}

#[derive(Default)]
struct Shard {
    keys: HashMap<String, Counters>,
    calls: usize,
    /// Calls until the next sweep: as many as the keys the last one kept.
    next_sweep: usize,
}

#[derive(Default)]
struct Counters {
    rings: [Ring; Slot::COUNT],
}

/// Non-empty buckets of one counter, oldest first.
#[derive(Default)]
struct Ring {
    buckets: VecDeque<(u64, u64)>,
    expires_ms: u64,
}

impl Ring {
    fn prune(&mut self, oldest: u64) {
        while self.buckets.front().is_some_and(|&(b, _)| b < oldest) {
            self.buckets.pop_front();
        }
    }

    fn sum(&self) -> u64 {
        self.buckets
            .iter()
            .fold(0u64, |acc, &(_, n)| acc.saturating_add(n))
    }

    fn newest(&self) -> Option<u64> {
        self.buckets.back().map(|&(b, _)| b)
    }

    fn position(&self, bucket: u64) -> Result<usize, usize> {
        // Almost always the last bucket or a new one after it.
        match self.buckets.back() {
            Some(&(b, _)) if b == bucket => Ok(self.buckets.len() - 1),
            Some(&(b, _)) if b < bucket => Err(self.buckets.len()),
            None => Err(0),
            Some(_) => self.buckets.binary_search_by_key(&bucket, |&(b, _)| b),
        }
    }

    fn add(&mut self, bucket: u64, amount: u64, expires_ms: u64) {
        if amount == 0 {
            return;
        }
        match self.position(bucket) {
            Ok(i) => {
                if let Some(slot) = self.buckets.get_mut(i) {
                    slot.1 = slot.1.saturating_add(amount);
                }
            }
            Err(i) => self.buckets.insert(i, (bucket, amount)),
        }
        self.expires_ms = self.expires_ms.max(expires_ms);
    }

    fn adjust(&mut self, bucket: u64, delta: i64, expires_ms: u64) {
        match self.position(bucket) {
            Ok(i) => {
                if let Some(slot) = self.buckets.get_mut(i) {
                    slot.1 = slot.1.saturating_add_signed(delta);
                    if slot.1 == 0 {
                        self.buckets.remove(i);
                    }
                }
            }
            Err(_) if delta > 0 => self.add(bucket, delta.unsigned_abs(), expires_ms),
            Err(_) => {}
        }
    }

    fn is_idle(&self, now_ms: u64) -> bool {
        self.buckets.is_empty() || self.expires_ms <= now_ms
    }
}

impl Counters {
    fn is_idle(&self, now_ms: u64) -> bool {
        self.rings.iter().all(|r| r.is_idle(now_ms))
    }
}

impl Shard {
    fn tick(&mut self, now_ms: u64) {
        self.calls += 1;
        if self.calls >= self.next_sweep.max(SWEEP_EVERY) {
            self.sweep(now_ms);
            self.calls = 0;
            self.next_sweep = SWEEP_EVERY.max(self.keys.len());
        }
    }

    fn sweep(&mut self, now_ms: u64) -> usize {
        let before = self.keys.len();
        self.keys.retain(|_, c| !c.is_idle(now_ms));
        before - self.keys.len()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard_of(&self, key: &str) -> usize {
        // The modulo keeps the index in range whatever the hash.
        (self.hasher.hash_one(key) % SHARDS as u64) as usize
    }

    fn lock(&self, i: usize) -> Option<MutexGuard<'_, Shard>> {
        self.shards
            .get(i)
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Locks the distinct shards of `keys` in ascending order.
    fn lock_all<'s>(&'s self, shard_ids: &mut Vec<usize>) -> Vec<MutexGuard<'s, Shard>> {
        shard_ids.sort_unstable();
        shard_ids.dedup();
        shard_ids.iter().filter_map(|&i| self.lock(i)).collect()
    }
}

/// Shard `id` among `guards`, which [`MemoryStore::lock_all`] locked in
/// the order of `order`.
fn locked<'g>(
    order: &[usize],
    guards: &'g mut [MutexGuard<'_, Shard>],
    id: usize,
) -> Option<&'g mut Shard> {
    let g = order.binary_search(&id).ok()?;
    guards.get_mut(g).map(|guard| &mut **guard)
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("shards", &self.shards.len())
            .field("keys", &self.keys())
            .finish()
    }
}

impl LimitStore for MemoryStore {
    fn check_and_charge(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        std::future::ready(Ok(self.check_and_charge_now(checks, now_ms, usage)))
    }

    fn adjust(
        &self,
        adjustments: &[Adjust<'_>],
        now_ms: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.adjust_now(adjustments, now_ms);
        std::future::ready(Ok(()))
    }

    fn sweep(&self, now_ms: u64) -> usize {
        (0..self.shards.len())
            .filter_map(|i| self.lock(i))
            .map(|mut s| s.sweep(now_ms))
            .sum()
    }

    fn keys(&self) -> usize {
        (0..self.shards.len())
            .filter_map(|i| self.lock(i))
            .map(|s| s.keys.len())
            .sum()
    }
}

impl MemoryStore {
    /// [`LimitStore::check_and_charge`], done before returning.
    pub fn check_and_charge_now(
        &self,
        checks: &[Check<'_>],
        now_ms: u64,
        usage: &mut Vec<Usage>,
    ) -> bool {
        usage.clear();
        let ids: Vec<usize> = checks.iter().map(|c| self.shard_of(c.key)).collect();
        let mut order = ids.clone();
        let mut guards = self.lock_all(&mut order);
        let mut admitted = true;
        for (check, &id) in checks.iter().zip(&ids) {
            let Some(shard) = locked(&order, &mut guards, id) else {
                continue;
            };
            let ring = shard
                .keys
                .get_mut(check.key)
                .map(|c| &mut c.rings[check.slot.index()]);
            let (used, newest) = match ring {
                Some(ring) => {
                    ring.prune(check.oldest);
                    (ring.sum(), ring.newest())
                }
                None => (0, None),
            };
            admitted &= used.saturating_add(check.amount) <= check.limit;
            usage.push(Usage {
                used,
                newest,
                buckets: Vec::new(),
            });
        }
        for (i, (check, &id)) in checks.iter().zip(&ids).enumerate() {
            let Some(shard) = locked(&order, &mut guards, id) else {
                continue;
            };
            if admitted {
                if check.amount > 0 {
                    let counters = match shard.keys.get_mut(check.key) {
                        Some(c) => c,
                        None => shard.keys.entry(check.key.to_owned()).or_default(),
                    };
                    let ring = &mut counters.rings[check.slot.index()];
                    ring.add(check.bucket, check.amount, check.expires_ms);
                    if let Some(u) = usage.get_mut(i) {
                        u.newest = ring.newest();
                    }
                }
            } else if let (Some(c), Some(u)) = (shard.keys.get(check.key), usage.get_mut(i)) {
                u.buckets = c.rings[check.slot.index()]
                    .buckets
                    .iter()
                    .copied()
                    .collect();
            }
        }
        for shard in &mut guards {
            shard.tick(now_ms);
        }
        admitted
    }

    /// [`LimitStore::adjust`], done before returning.
    pub fn adjust_now(&self, adjustments: &[Adjust<'_>], now_ms: u64) {
        for a in adjustments {
            let Some(mut shard) = self.lock(self.shard_of(a.key)) else {
                continue;
            };
            if a.bucket >= a.oldest {
                let counters = match shard.keys.get_mut(a.key) {
                    Some(c) => Some(c),
                    None if a.delta > 0 => Some(shard.keys.entry(a.key.to_owned()).or_default()),
                    None => None,
                };
                if let Some(counters) = counters {
                    let ring = &mut counters.rings[a.slot.index()];
                    ring.prune(a.oldest);
                    ring.adjust(a.bucket, a.delta, a.expires_ms);
                }
            }
            shard.tick(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::window::{Kind, Per};

    const RPS: Slot = Slot {
        kind: Kind::Requests,
        per: Per::Second,
    };

    fn check(key: &str, limit: u64, amount: u64) -> Check<'_> {
        Check {
            key,
            slot: RPS,
            bucket: 0,
            oldest: 0,
            limit,
            amount,
            expires_ms: 1_100,
        }
    }

    #[test]
    fn a_refused_call_charges_nothing() {
        let store = MemoryStore::new();
        let mut usage = Vec::new();
        assert!(store.check_and_charge_now(&[check("b", 1, 1)], 0, &mut usage));
        let both = [check("a", 5, 1), check("b", 1, 1)];
        assert!(!store.check_and_charge_now(&both, 0, &mut usage));
        assert_eq!(usage[0].used, 0);
        assert_eq!(usage[1].used, 1);
        assert_eq!(usage[1].buckets, vec![(0, 1)], "refusals report buckets");
        assert!(usage[0].buckets.is_empty());
        assert_eq!(store.keys(), 1, "key a was not even created");
        assert!(store.check_and_charge_now(&[check("a", 1, 1)], 0, &mut usage));
        assert_eq!(usage[0].newest, Some(0));
    }

    #[test]
    fn corrections_never_go_below_zero_and_skip_expired_buckets() {
        let store = MemoryStore::new();
        let mut usage = Vec::new();
        assert!(store.check_and_charge_now(&[check("a", 10, 4)], 0, &mut usage));
        let adjust = |delta, oldest| Adjust {
            key: "a",
            slot: RPS,
            bucket: 0,
            oldest,
            delta,
            expires_ms: 1_100,
        };
        store.adjust_now(&[adjust(-100, 0)], 0);
        assert!(store.check_and_charge_now(&[check("a", 10, 10)], 0, &mut usage));
        assert_eq!(usage[0].used, 0);
        store.adjust_now(&[adjust(50, 1)], 200); // bucket 0 no longer counts
        assert!(store.check_and_charge_now(&[check("a", 20, 10)], 0, &mut usage));
        assert_eq!(usage[0].used, 10);
    }

    #[test]
    fn calls_over_many_keys_in_any_order_do_not_deadlock() {
        let store = Arc::new(MemoryStore::new());
        let keys: Vec<String> = (0..32).map(|i| format!("k{i}")).collect();
        let keys = Arc::new(keys);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (store, keys) = (Arc::clone(&store), Arc::clone(&keys));
                std::thread::spawn(move || {
                    let mut usage = Vec::new();
                    let mut admitted = 0;
                    for i in 0..2_000usize {
                        let a = &keys[(i + t) % keys.len()];
                        let b = &keys[(i * 7 + 3 * t) % keys.len()];
                        if a == b {
                            continue;
                        }
                        let checks = [check(a, u64::MAX, 1), check(b, u64::MAX, 1)];
                        admitted += usize::from(store.check_and_charge_now(&checks, 0, &mut usage));
                    }
                    admitted
                })
            })
            .collect();
        let admitted: usize = threads
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("thread panicked")))
            .sum();
        assert!(admitted > 0);
    }
}
