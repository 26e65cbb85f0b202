//! The limiter over Redis, against a real `redis-server` (one per test):
//! the same decisions as the memory store, counts shared between
//! instances, and what happens while Redis is away.

use std::sync::Arc;
use std::time::Duration;

use switchyard_config::{OnStoreError, RedisConfig};
use switchyard_limits::{Demand, Limit, Limiter, Per, Reason, ReserveError, Rule};
use switchyard_store::testing::RedisServer;
use switchyard_store::{Counters, RedisConn, RedisLimits, unix_ms_now};
use tokio::time::Instant;

fn config(url: &str, on_error: OnStoreError, timeout_ms: u64) -> RedisConfig {
    RedisConfig {
        url: url.to_owned(),
        on_error,
        timeout: Duration::from_millis(timeout_ms),
        key_prefix: format!("test{}", fastrand::u32(..)),
    }
}

/// A Redis store with a generous timeout: these tests check decisions, and
/// a slow CI machine must not turn one into a store error.
fn store(server: &RedisServer) -> RedisLimits {
    let cfg = config(&server.url(), OnStoreError::Deny, 2_000);
    match RedisConn::new(&cfg) {
        Ok(conn) => RedisLimits::new(conn),
        Err(e) => panic!("{e}"),
    }
}

/// A timeline origin on a day-bucket boundary (so every window's buckets
/// start at 0 ms, as in the memory store's tests), in Unix milliseconds.
fn epoch() -> (Instant, u64) {
    (Instant::now(), unix_ms_now() / 1_440_000 * 1_440_000)
}

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

const RPS5: [Limit; 1] = [Limit::requests(Per::Second, 5)];
const TPM1000: [Limit; 1] = [Limit::tokens(Per::Minute, 1000)];

fn rule<'a>(key: &'a str, limits: &'a [Limit]) -> [Rule<'a>; 1] {
    [Rule { key, limits }]
}

fn rejected<T: std::fmt::Debug>(r: Result<T, ReserveError>) -> Box<switchyard_limits::Rejection> {
    match r {
        Err(ReserveError::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_admits_exactly_the_limit_then_again_after_retry_after() {
    let server = RedisServer::start();
    let (t0, origin_ms) = epoch();
    let limiter = Arc::new(Limiter::with_epoch(store(&server), t0, origin_ms));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let limiter = Arc::clone(&limiter);
        tasks.spawn(async move {
            limiter
                .reserve(&rule("consumer:team-a", &RPS5), Demand::request(0), t0)
                .await
        });
    }
    let results = tasks.join_all().await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 5);
    let retry = results.into_iter().find(|r| r.is_err()).map(rejected);
    let retry = retry.and_then(|r| r.retry_after);
    assert_eq!(retry, Some(Duration::from_millis(1_100)));

    let again = async |t| {
        let mut n = 0;
        for _ in 0..20 {
            let r = rule("consumer:team-a", &RPS5);
            n += usize::from(limiter.reserve(&r, Demand::request(0), t).await.is_ok());
        }
        n
    };
    assert_eq!(again(at(t0, 1_099)).await, 0);
    assert_eq!(again(at(t0, 1_100)).await, 5);
}

#[tokio::test]
async fn settling_below_and_above_the_reserve_moves_the_count() {
    let server = RedisServer::start();
    let (t0, origin_ms) = epoch();
    let l = Limiter::with_epoch(store(&server), t0, origin_ms);
    let r = rule("consumer:a", &TPM1000);
    let Ok(a) = l.reserve(&r, Demand::request(400), at(t0, 10_500)).await else {
        panic!("the first reserve fits");
    };
    assert_eq!(a.headers().tokens.map(|t| t.remaining), Some(600));
    let Ok(b) = l.reserve(&r, Demand::request(400), at(t0, 20_000)).await else {
        panic!("the second reserve fits");
    };
    let c = rejected(l.reserve(&r, Demand::request(400), at(t0, 30_000)).await);
    assert_eq!(c.retry_after, Some(Duration::from_secs(41)));
    // Below: 400 -> 120 frees 280.
    assert_eq!(l.settle(a, 120, at(t0, 35_000)).await, Ok(()));
    let Ok(c) = l.reserve(&r, Demand::request(400), at(t0, 36_000)).await else {
        panic!("fits after the settle");
    };
    assert_eq!(c.headers().tokens.map(|t| t.remaining), Some(80));
    // Above: 400 -> 900 records usage past the limit; nothing more fits.
    assert_eq!(l.settle(b, 900, at(t0, 37_000)).await, Ok(()));
    let full = rejected(l.reserve(&r, Demand::request(1), at(t0, 38_000)).await);
    assert_eq!(full.headers.tokens.map(|t| t.remaining), Some(0));
    // Bucket 20 (now 900) leaves at 81 s; then C's 400 remain.
    let Ok(_) = l.reserve(&r, Demand::request(600), at(t0, 81_000)).await else {
        panic!("fits once bucket 20 left");
    };
    drop(c);
}

#[tokio::test]
async fn a_demand_above_the_limit_never_fits() {
    let server = RedisServer::start();
    let (t0, origin_ms) = epoch();
    let l = Limiter::with_epoch(store(&server), t0, origin_ms);
    let r = rule("consumer:a", &TPM1000);
    let never = rejected(l.reserve(&r, Demand::request(1_200), at(t0, 0)).await);
    assert_eq!(never.reason, Reason::NeverFits);
    assert_eq!(never.retry_after, None);
    // Nothing was charged.
    let Ok(ok) = l.reserve(&r, Demand::request(1_000), at(t0, 0)).await else {
        panic!("the whole limit fits");
    };
    assert_eq!(ok.headers().tokens.map(|t| t.remaining), Some(0));
    // Huge numbers are clamped, never an error.
    let huge = [Limit::tokens(Per::Day, u64::MAX)];
    let k = rule("k", &huge);
    assert!(
        l.reserve(&k, Demand::request(u64::MAX), at(t0, 0))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn keys_with_any_bytes_are_counted_apart() {
    let server = RedisServer::start();
    let (t0, origin_ms) = epoch();
    let l = Limiter::with_epoch(store(&server), t0, origin_ms);
    let keys = [
        "a}b", "a", "a%7Db", "{", "}", "", "x\0y\r\n", "é 🙂", "a}:rps",
    ];
    let one = [Limit::requests(Per::Minute, 1)];
    for key in keys {
        let r = l.reserve(&rule(key, &one), Demand::request(0), t0).await;
        assert!(r.is_ok(), "{key:?}: {r:?}");
    }
    for key in keys {
        let r = l.reserve(&rule(key, &one), Demand::request(0), t0).await;
        assert!(rejected(r).retry_after.is_some(), "{key:?}");
    }
}

#[path = "redis_limits/compare.rs"]
mod compare;
#[path = "redis_limits/outage.rs"]
mod outage;
