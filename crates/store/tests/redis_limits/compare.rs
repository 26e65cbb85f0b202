//! The same scripted sequences on the memory store and on Redis give the
//! same answers: decisions, `Usage` (used, newest, buckets oldest first),
//! retry_after and headers.

use switchyard_limits::{Adjust, Check, Kind, LimitStore, MemoryStore, Slot};

use super::*;

/// Limits over several keys, kinds and windows, some overlapping.
const USER: [Limit; 3] = [
    Limit::requests(Per::Second, 4),
    Limit::tokens(Per::Minute, 3_000),
    Limit::requests(Per::Minute, 40),
];
const TEAM: [Limit; 3] = [
    Limit::requests(Per::Second, 6),
    Limit::tokens(Per::Minute, 5_000),
    Limit::tokens(Per::Hour, 40_000),
];
const WEIRD: [Limit; 2] = [
    Limit::tokens(Per::Second, 900),
    Limit::requests(Per::Day, 500),
];

#[tokio::test]
async fn the_limiter_decides_as_over_the_memory_store() {
    let server = RedisServer::start();
    let (t0, origin_ms) = epoch();
    let redis = Limiter::with_epoch(store(&server), t0, origin_ms);
    let memory = Limiter::with_epoch(MemoryStore::new(), t0, origin_ms);
    let mut rng = fastrand::Rng::with_seed(7);
    let users = ["user:alice", "user:bob{1}"];
    let mut pending = Vec::new();
    let mut now_ms = 0u64;
    let (mut admitted, mut refused) = (0, 0);
    for step in 0..400 {
        // Mostly bursts inside a bucket, sometimes a jump across windows.
        // Virtual time runs far ahead of real time, so no TTL in Redis
        // expires a key the timeline still counts.
        now_ms += match rng.u8(..10) {
            0..=5 => rng.u64(0..40),
            6..=8 => rng.u64(40..700),
            _ => rng.u64(700..70_000),
        };
        let t = at(t0, now_ms);
        match rng.u8(..10) {
            0..=6 => {
                let user = users[rng.usize(..users.len())];
                let rules = [
                    Rule {
                        key: user,
                        limits: &USER,
                    },
                    Rule {
                        key: "team:a",
                        limits: &TEAM,
                    },
                    Rule {
                        key: "hdr:x}\n{",
                        limits: &WEIRD,
                    },
                ];
                let n = 1 + rng.usize(..3);
                let demand = Demand::request(rng.u64(0..800));
                let a = memory.reserve(&rules[..n], demand, t).await;
                let b = redis.reserve(&rules[..n], demand, t).await;
                assert_eq!(a, b, "step {step} at {now_ms} ms");
                match (a, b) {
                    (Ok(a), Ok(b)) => {
                        admitted += 1;
                        pending.push((a, b));
                    }
                    _ => refused += 1,
                }
            }
            _ if !pending.is_empty() => {
                let (a, b) = pending.swap_remove(rng.usize(..pending.len()));
                if rng.bool() {
                    let actual = rng.u64(0..1_500);
                    let sa = memory.settle(a, actual, t).await;
                    let sb = redis.settle(b, actual, t).await;
                    assert_eq!(sa, sb, "settle at step {step}");
                    assert_eq!(sb, Ok(()));
                } // else: dropped unsettled, keeps its reserve
            }
            _ => {}
        }
    }
    assert!(
        admitted > 50 && refused > 50,
        "{admitted} admitted, {refused} refused"
    );
}

fn slot(kind: Kind, per: Per) -> Slot {
    Slot { kind, per }
}

#[tokio::test]
async fn the_store_reports_the_same_usage() {
    let server = RedisServer::start();
    let redis = store(&server);
    let memory = MemoryStore::new();
    let mut rng = fastrand::Rng::with_seed(11);
    let keys = ["a", "b}", "c"];
    let slots = [
        slot(Kind::Requests, Per::Second),
        slot(Kind::Tokens, Per::Second),
        slot(Kind::Tokens, Per::Minute),
    ];
    // Bucket numbers move from 1000 on; the TTLs are relative to now_ms.
    let mut now_ms = 100_000u64;
    let (mut ua, mut ub) = (Vec::new(), Vec::new());
    let mut refusals = 0;
    for step in 0..500 {
        now_ms += rng.u64(0..150);
        let per = Per::Second;
        let bucket = per.bucket_at(now_ms);
        let mut checks = Vec::new();
        for key in keys {
            for s in slots {
                if rng.u8(..3) == 0 {
                    // A lagging caller sometimes charges an older bucket.
                    let b = bucket.saturating_sub(rng.u64(0..3));
                    checks.push(Check {
                        key,
                        slot: s,
                        bucket: b,
                        oldest: per.oldest_counted(now_ms),
                        limit: rng.u64(5..40),
                        amount: rng.u64(0..8),
                        expires_ms: per.leaves_at(b),
                    });
                }
            }
        }
        if rng.u8(..4) == 0 {
            let adjust: Vec<Adjust<'_>> = checks
                .iter()
                .map(|c| Adjust {
                    key: c.key,
                    slot: c.slot,
                    bucket: c.bucket,
                    oldest: c.oldest,
                    delta: rng.i64(-10..10),
                    expires_ms: c.expires_ms,
                })
                .collect();
            let (a, b) = (
                memory.adjust(&adjust, now_ms).await,
                redis.adjust(&adjust, now_ms).await,
            );
            assert_eq!(a, b, "adjust at step {step}");
            assert_eq!(b, Ok(()));
            continue;
        }
        let a = memory.check_and_charge(&checks, now_ms, &mut ua).await;
        let b = redis.check_and_charge(&checks, now_ms, &mut ub).await;
        assert_eq!(a, b, "step {step}: {checks:?}");
        assert_eq!(ua, ub, "step {step}: {checks:?}");
        refusals += usize::from(a == Ok(false));
    }
    assert!(refusals > 20, "{refusals} refusals");
}
