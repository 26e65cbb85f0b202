//! Credential health shared through Redis: two gateways in one process,
//! one emulator, one `redis-server`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::*;
use switchyard_emulator::{Behaviour, RecordedRequest};
use switchyard_store::testing::RedisServer;

const HC_MODEL: &str = "health-check-model";
const GOOD: &str = "sk-good-000000001";
const FLAKY: &str = "sk-flaky-00000001";

fn config(upstream: SocketAddr, redis: &str) -> String {
    format!(
        r#"
providers:
  - id: p
    type: openai
    baseUrl: "http://{upstream}"
    apiTokens: ["{GOOD}", "{FLAKY}"]
    failover: {{ enabled: true, failureThreshold: 1, successThreshold: 1, healthCheckModel: {HC_MODEL}, healthCheckInterval: 150ms }}
    retryOnFailure: {{ enabled: true, maxRetries: 1 }}
redis: {{ url: "{redis}", timeout: 200ms, keyPrefix: e2e }}
"#
    )
}

fn live_with(reqs: &[RecordedRequest], token: &str) -> usize {
    reqs.iter()
        .filter(|r| r.model.as_deref() != Some(HC_MODEL) && r.credential.as_deref() == Some(token))
        .count()
}

/// The sum of a counter family's samples in `/metrics`, for lines
/// containing `filter`.
async fn counter(gw: &TestGateway, family: &str, filter: &str) -> f64 {
    let text = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
    text.lines()
        .filter(|l| l.starts_with(family) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn state(gw: &TestGateway) -> serde_json::Value {
    gw.states("p").await[1].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_out_on_one_gateway_is_out_on_the_other_and_comes_back_on_both() {
    let redis = RedisServer::start();
    let emu = default_emulator().await;
    emu.emulator
        .set_behaviour(FLAKY, Some(Behaviour::Unavailable));
    let a = gateway(&config(emu.addr, &redis.url())).await;
    let b = gateway(&config(emu.addr, &redis.url())).await;

    // Traffic on A until it meets the failing token (random selection).
    wait_until(Duration::from_secs(5), "A takes the token out", || async {
        let r = post(a.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        state(&a).await["state"] == "out"
    })
    .await;
    let out_at = tokio::time::Instant::now();

    // Within one second, B has it out too, said to be another instance's
    // doing, and sends it no live traffic.
    wait_until(Duration::from_secs(1), "B takes it out", || async {
        state(&b).await["state"] == "out"
    })
    .await;
    let s = state(&b).await;
    assert!(
        s["lastError"]
            .as_str()
            .unwrap()
            .contains("another instance"),
        "{s}"
    );
    tokio::time::sleep_until(out_at + Duration::from_secs(1)).await;
    emu.emulator.clear_requests();
    for _ in 0..40 {
        let r = post(b.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let reqs = emu.emulator.requests();
    assert_eq!(
        live_with(&reqs, FLAKY),
        0,
        "B sent live traffic to the token"
    );
    assert_eq!(live_with(&reqs, GOOD), 40);

    // One prober: over many check intervals, only one gateway checks it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let checks_a = counter(&a, "switchyard_health_checks_total", "").await;
    let checks_b = counter(&b, "switchyard_health_checks_total", "").await;
    assert!(
        (checks_a == 0.0) != (checks_b == 0.0),
        "exactly one gateway probes: A {checks_a}, B {checks_b}"
    );
    assert!(checks_a + checks_b >= 4.0, "A {checks_a}, B {checks_b}");
    let checks: Vec<_> = emu
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.model.as_deref() == Some(HC_MODEL))
        .collect();
    assert!(
        checks
            .iter()
            .all(|r| r.credential.as_deref() == Some(FLAKY))
    );
    assert!(!checks.is_empty());

    // The token is fixed: the prober's check brings it back, and the other
    // gateway follows within a second.
    emu.emulator.set_behaviour(FLAKY, None);
    wait_until(Duration::from_secs(2), "both bring it back", || async {
        state(&a).await["state"] == "healthy" && state(&b).await["state"] == "healthy"
    })
    .await;
    emu.emulator.clear_requests();
    for _ in 0..40 {
        post(b.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
        post(a.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
    }
    assert!(live_with(&emu.emulator.requests(), FLAKY) > 0);

    for gw in [&a, &b] {
        assert_eq!(
            counter(gw, "switchyard_store_errors_total", "op=\"health\"").await,
            0.0
        );
        let text = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
        assert!(text.contains("switchyard_store_errors_total"), "{text}");
        assert!(!text.contains(FLAKY) && !text.contains(GOOD));
    }
}

/// Redis unreachable: requests keep flowing on local health, failures are
/// counted, nothing waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_flow_with_redis_down() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let emu = default_emulator().await;
    emu.emulator
        .set_behaviour(FLAKY, Some(Behaviour::Unavailable));
    let gw = gateway(&config(emu.addr, &format!("redis://127.0.0.1:{port}/0"))).await;
    let start = tokio::time::Instant::now();
    for _ in 0..30 {
        let r = post(gw.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(state(&gw).await["state"], "out", "local health still works");
    wait_until(Duration::from_secs(3), "errors counted", || async {
        counter(&gw, "switchyard_store_errors_total", "store=\"redis\"").await > 0.0
    })
    .await;
}
