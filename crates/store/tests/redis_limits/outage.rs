//! Two instances share counts; Redis goes away and comes back.

use switchyard_limits::{LimitStore, StoreError};

use super::*;

const RPM3: [Limit; 1] = [Limit::requests(Per::Minute, 3)];

fn counters(url: &str, on_error: OnStoreError, timeout_ms: u64) -> Limiter<Counters> {
    match Counters::from_config(Some(&config(url, on_error, timeout_ms))) {
        Ok(c) => c.into_limiter(),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn two_instances_with_their_own_connections_share_counts() {
    let server = RedisServer::start();
    let (t0, origin_ms) = epoch();
    let prefix = config(&server.url(), OnStoreError::Deny, 2_000);
    let instance = || match RedisConn::new(&prefix) {
        Ok(conn) => Limiter::with_epoch(RedisLimits::new(conn), t0, origin_ms),
        Err(e) => panic!("{e}"),
    };
    let (a, b) = (instance(), instance());
    let r = rule("consumer:team-a", &RPS5);
    for i in 0..3 {
        assert!(a.reserve(&r, Demand::request(0), at(t0, i)).await.is_ok());
    }
    let mut admitted = 0;
    for i in 0..5 {
        admitted += usize::from(
            b.reserve(&r, Demand::request(0), at(t0, 10 + i))
                .await
                .is_ok(),
        );
    }
    assert_eq!(admitted, 2, "b sees a's three");
    let refused = rejected(a.reserve(&r, Demand::request(0), at(t0, 50)).await);
    assert_eq!(refused.headers.requests.map(|i| i.remaining), Some(0));
    // Both answer the same retry_after (bucket 0 leaves at 1.1 s).
    assert_eq!(refused.retry_after, Some(Duration::from_millis(1_050)));
}

/// Polls `f` every 20 ms until it returns true; false after `within`.
async fn eventually<F: AsyncFnMut() -> bool>(within: Duration, mut f: F) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_allow_counts_locally_deny_refuses_and_both_come_back() {
    let mut server = RedisServer::start();
    let url = server.url();
    let allow = counters(&url, OnStoreError::Allow, 200);
    let deny = counters(&url, OnStoreError::Deny, 200);
    let r = rule("consumer:a", &RPM3);
    assert!(
        allow
            .reserve(&r, Demand::request(0), Instant::now())
            .await
            .is_ok()
    );
    assert!(
        deny.reserve(&r, Demand::request(0), Instant::now())
            .await
            .is_ok()
    );
    assert_eq!(allow.store().keys(), 0, "counted in Redis, not locally");

    server.stop();
    // Deny: the store error, within about the timeout, every time.
    for _ in 0..10 {
        let started = Instant::now();
        match deny.reserve(&r, Demand::request(0), Instant::now()).await {
            Err(ReserveError::Store(StoreError { message, .. })) => {
                assert!(message.contains("redis"), "{message}");
            }
            other => panic!("expected a store error, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
    }
    // Allow: counted here, with the limit enforced locally.
    let b = rule("consumer:b", &RPM3);
    let mut admitted = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        if let Ok(res) = allow.reserve(&b, Demand::request(0), Instant::now()).await {
            admitted.push(res);
        }
        assert!(started.elapsed() < Duration::from_millis(600));
    }
    assert_eq!(admitted.len(), 3, "the local store enforces the limit");
    assert_eq!(allow.store().keys(), 1);
    // A settle Redis cannot take is applied locally, never an error.
    let tokens = [Limit::tokens(Per::Minute, 100)];
    let Ok(res) = allow
        .reserve(
            &rule("consumer:c", &tokens),
            Demand::request(50),
            Instant::now(),
        )
        .await
    else {
        panic!("admitted locally");
    };
    assert_eq!(allow.settle(res, 80, Instant::now()).await, Ok(()));

    server.restart();
    let back = Instant::now();
    let deny_back = eventually(Duration::from_secs(5), async || {
        let fresh = rule("consumer:d", &RPM3);
        deny.reserve(&fresh, Demand::request(0), Instant::now())
            .await
            .is_ok()
    })
    .await;
    assert!(deny_back, "deny serves from Redis again within 5 s");
    let allow_back = eventually(Duration::from_secs(5), async || {
        // Counted in Redis (and not locally) once it answers: the local
        // store gains no key for a fresh rule.
        let before = allow.store().keys();
        let key = format!("consumer:e{}", fastrand::u32(..));
        let fresh = rule(&key, &RPM3);
        let ok = allow
            .reserve(&fresh, Demand::request(0), Instant::now())
            .await
            .is_ok();
        ok && allow.store().keys() == before
    })
    .await;
    assert!(allow_back, "allow serves from Redis again within 5 s");
    assert!(
        back.elapsed() < Duration::from_secs(5),
        "{:?}",
        back.elapsed()
    );
}

fn set_password(port: u16, password: &str) {
    use std::io::{Read, Write};
    let mut s = match std::net::TcpStream::connect(("127.0.0.1", port)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let cmd = format!("CONFIG SET requirepass {password}\r\n");
    let mut ok = [0u8; 5];
    let done = s
        .write_all(cmd.as_bytes())
        .and_then(|()| s.read_exact(&mut ok));
    assert!(done.is_ok() && &ok == b"+OK\r\n", "{done:?} {ok:?}");
}

#[tokio::test]
async fn errors_and_debug_never_show_the_password() {
    let server = RedisServer::start();
    // This server has no password: AUTH fails.
    let url = format!("redis://:hunter2@127.0.0.1:{}/0", server.port());
    let counters = match Counters::from_config(Some(&config(&url, OnStoreError::Deny, 500))) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let shown = format!("{counters:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("***"),
        "{shown}"
    );
    let l = counters.into_limiter();
    for _ in 0..3 {
        match l
            .reserve(&rule("k", &RPM3), Demand::request(0), Instant::now())
            .await
        {
            Err(ReserveError::Store(e)) => {
                let all = format!("{e} {e:?}");
                assert!(!all.contains("hunter2"), "{all}");
            }
            other => panic!("expected a store error, got {other:?}"),
        }
    }
    // The server now wants that password: the store recovers by itself
    // (a fresh connection replaces the one stuck on the failed handshake).
    set_password(server.port(), "hunter2");
    let fixed = eventually(Duration::from_secs(5), async || {
        let r = rule("k", &RPM3);
        l.reserve(&r, Demand::request(0), Instant::now())
            .await
            .is_ok()
    })
    .await;
    assert!(fixed, "served again within 5 s of the password being right");
    // A URL Redis cannot use fails at once, without the password either.
    let bad = config("redis://:hunter2@[::1", OnStoreError::Deny, 100);
    match Counters::from_config(Some(&bad)) {
        Err(e) => assert!(!e.message.contains("hunter2"), "{e}"),
        Ok(_) => panic!("a bad URL is refused"),
    }
}
