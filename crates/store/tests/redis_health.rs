//! Shared credential health against a real `redis-server`: two instances
//! with their own connections, as two gateways would be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use switchyard_config::{OnStoreError, RedisConfig};
use switchyard_routing::{HealthShare, RemoteOut, credential_key};
use switchyard_store::health::POLL_INTERVAL;
use switchyard_store::testing::RedisServer;
use switchyard_store::{RedisConn, RedisHealth};
use tokio::time::Instant;

/// One instance: its own connection (as its own gateway would have), every
/// call bounded by 200 ms.
fn instance(server: &RedisServer, prefix: &str) -> RedisHealth {
    let conn = RedisConn::new(&RedisConfig {
        url: server.url(),
        on_error: OnStoreError::Allow,
        timeout: Duration::from_millis(200),
        key_prefix: prefix.to_owned(),
    })
    .unwrap();
    RedisHealth::new(conn)
}

/// Wait (at most `limit`) until `h`'s view satisfies `cond`; how long it took.
async fn until_view(
    h: &RedisHealth,
    limit: Duration,
    cond: impl Fn(&RemoteOut) -> bool,
) -> Duration {
    let start = Instant::now();
    let mut rx = h.remote().unwrap();
    loop {
        if cond(&rx.borrow_and_update()) {
            return start.elapsed();
        }
        let left = limit.saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "view not reached within {limit:?}: {:?}",
            h.view()
        );
        let _ = tokio::time::timeout(left, rx.changed()).await;
    }
}

fn raw(server: &RedisServer) -> redis::Connection {
    redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_lease_back_and_restart_of_every_instance() {
    let server = RedisServer::start();
    let a = instance(&server, "t1");
    let b = instance(&server, "t1");
    let key = credential_key("oai", "sk-SECRET-token-0001");
    let other = credential_key("oai", "sk-SECRET-token-0002");
    let now = switchyard_routing::share::unix_ms();

    // A takes the token out; B sees it within one second.
    a.went_out(&key, now + 60_000);
    let took = until_view(&b, Duration::from_secs(1), |v| {
        v.out.get(&key) == Some(&(now + 60_000))
    })
    .await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(!b.view().out.contains_key(&other));

    // Stored by hash only; the key has a TTL.
    let mut c = raw(&server);
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg("t1:health:out")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .unwrap();
    assert_eq!(members, [key.member()]);
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    for k in &keys {
        assert!(!k.contains("SECRET"), "{k}");
    }
    let ttl: i64 = redis::cmd("PTTL")
        .arg("t1:health:out")
        .query(&mut c)
        .unwrap();
    assert!(ttl > 60_000 && ttl <= 120_000, "{ttl}");

    // One prober at a time: the lease is A's until it lapses; A renews it.
    let lease = Duration::from_millis(600);
    assert!(a.try_lease(&key, lease, now + 90_000).await);
    assert!(!b.try_lease(&key, lease, now + 90_000).await);
    assert!(a.try_lease(&key, lease, now + 90_000).await, "renewed");
    assert!(!b.try_lease(&key, lease, now + 90_000).await);
    // The holder's lease pushed the deadline back.
    until_view(&b, Duration::from_secs(1), |v| {
        v.out.get(&key) == Some(&(now + 90_000))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        b.try_lease(&key, lease, now + 90_000).await,
        "lapsed, B takes it"
    );
    assert!(!a.try_lease(&key, lease, now + 90_000).await);

    // Every instance goes away and new ones start: the state is still there.
    drop(a);
    drop(b);
    let a = instance(&server, "t1");
    let b = instance(&server, "t1");
    until_view(&a, Duration::from_secs(1), |v| v.out.contains_key(&key)).await;
    // Another prefix is another deployment.
    let elsewhere = instance(&server, "t2");
    tokio::time::sleep(POLL_INTERVAL * 2).await;
    assert!(elsewhere.view().out.is_empty());

    // B's check brings it back: A sees it within one second, and the
    // lease is free for whoever probes it next time.
    let before = Instant::now();
    b.came_back(&key);
    until_view(&a, Duration::from_secs(1), |v| !v.out.contains_key(&key)).await;
    assert!(before.elapsed() < Duration::from_secs(1));
    assert!(a.try_lease(&key, lease, now + 90_000).await);
    // A renewal never re-adds what came back.
    tokio::time::sleep(POLL_INTERVAL * 2).await;
    assert!(b.view().out.is_empty(), "{:?}", b.view());

    // Expired deadlines are pruned.
    // (A deadline 1.5 s ahead: B's poll, every 250 ms, must see it before
    // it lapses even on a loaded machine; 300 ms made this test flaky.)
    a.went_out(&other, switchyard_routing::share::unix_ms() + 1_500);
    until_view(&b, Duration::from_secs(1), |v| v.out.contains_key(&other)).await;
    until_view(&b, Duration::from_secs(3), |v| v.out.is_empty()).await;
    let n: u64 = redis::cmd("ZCARD")
        .arg("t1:health:out")
        .query(&mut c)
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(a.errors() + b.errors(), 0);
    assert!(!format!("{a:?}").contains("SECRET"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_counts_errors_and_resumes_by_itself() {
    let mut server = RedisServer::start();
    let a = instance(&server, "t");
    let b = instance(&server, "t");
    let key = credential_key("oai", "sk-token-down-0001");
    let now = switchyard_routing::share::unix_ms();
    a.went_out(&key, now + 600_000);
    until_view(&b, Duration::from_secs(1), |v| v.out.contains_key(&key)).await;
    until_view(&a, Duration::from_secs(1), |v| v.out.contains_key(&key)).await;

    server.stop();
    // Nothing waits on Redis: handing over transitions returns at once.
    let t = Instant::now();
    for _ in 0..100 {
        a.came_back(&key);
    }
    assert!(t.elapsed() < Duration::from_millis(50));
    // A lease cannot be asked for: probe here (local health).
    let t = Instant::now();
    assert!(b.try_lease(&key, Duration::from_secs(1), now).await);
    assert!(t.elapsed() < Duration::from_secs(2));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        a.errors() > 0 && b.errors() > 0,
        "{} {}",
        a.errors(),
        b.errors()
    );
    // Both keep what they last read (their own records are local now).
    assert!(a.view().out.contains_key(&key));
    assert!(b.view().out.contains_key(&key));

    // Redis is back (empty: no persistence); both reconnect by themselves,
    // and A's transition written while it was down reaches B. A new
    // transition after that reaches B too.
    server.restart();
    let other = credential_key("oai", "sk-token-down-0002");
    until_view(&b, Duration::from_secs(10), |v| !v.out.contains_key(&key)).await;
    a.went_out(&other, switchyard_routing::share::unix_ms() + 60_000);
    let took = until_view(&b, Duration::from_secs(5), |v| v.out.contains_key(&other)).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
    let errors = (a.errors(), b.errors());
    tokio::time::sleep(POLL_INTERVAL * 3).await;
    assert_eq!((a.errors(), b.errors()), errors, "no errors once back");
}
