//! Credential health, retries and fallback, against the emulator's
//! credential-driven faults. Each test names the reference gateway defect it
//! rules out (docs: ../shared/docs/reference-system.md).
//!
//! Timing of health checks is proven with virtual time in
//! `switchyard-routing` (health::tests); here, over real sockets, intervals
//! are short and every wait is bounded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use switchyard_emulator::{Behaviour, MockConfig, RecordedRequest};
use tokio::io::AsyncWriteExt;

const HC_MODEL: &str = "health-check-model";

fn live(reqs: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    reqs.iter()
        .filter(|r| r.model.as_deref() != Some(HC_MODEL))
        .collect()
}

fn checks(reqs: &[RecordedRequest]) -> Vec<&RecordedRequest> {
    reqs.iter()
        .filter(|r| r.model.as_deref() == Some(HC_MODEL))
        .collect()
}

/// Defect 1: health checks sent with another endpoint's key.
#[tokio::test]
async fn azure_health_checks_use_their_own_host_and_token() {
    let east = emulator(MockConfig {
        accept_tokens: Some(vec!["east-good-000001".into(), "down-east-000001".into()]),
        ..Default::default()
    })
    .await;
    let west = emulator(MockConfig {
        accept_tokens: Some(vec!["west-good-000001".into(), "down-west-000001".into()]),
        ..Default::default()
    })
    .await;
    let failover = format!(
        "failover: {{ enabled: true, failureThreshold: 1, healthCheckModel: {HC_MODEL}, healthCheckInterval: 30ms }}"
    );
    let retry = "retryOnFailure: { enabled: true, maxRetries: 1 }";
    let gw = gateway(&format!(
        r#"
providers:
  - id: azure-east
    type: azure
    apiTokens: ["east-good-000001", "down-east-000001"]
    azureServiceUrl: "http://{}/openai/deployments/east-dep/chat/completions?api-version=2024-10-21"
    {failover}
    {retry}
  - id: azure-west
    type: azure
    apiTokens: ["west-good-000001", "down-west-000001"]
    azureServiceUrl: "http://{}/openai/deployments/west-dep/chat/completions?api-version=2024-10-21"
    {failover}
    {retry}
routes:
  - {{ name: east, models: ["east-*"], provider: azure-east }}
  - {{ name: west, models: ["west-*"], provider: azure-west }}
"#,
        east.addr, west.addr
    ))
    .await;
    for _ in 0..10 {
        assert_eq!(
            post(gw.addr, "/v1/chat/completions", chat("east-m"))
                .await
                .status,
            200
        );
        assert_eq!(
            post(gw.addr, "/v1/chat/completions", chat("west-m"))
                .await
                .status,
            200
        );
    }
    // Let several rounds of health checks run.
    assert!(
        eventually(Duration::from_secs(10), || async {
            checks(&east.emulator.requests()).len() >= 3
                && checks(&west.emulator.requests()).len() >= 3
        })
        .await,
        "health checks run for the failing token of each endpoint"
    );
    for (emu, own_bad, own) in [
        (&east, "down-east-000001", "east"),
        (&west, "down-west-000001", "west"),
    ] {
        let reqs = emu.emulator.requests();
        for r in &reqs {
            let c = r.credential.as_deref().unwrap_or("");
            assert!(
                c.contains(own),
                "{own} endpoint got a foreign or empty credential {c:?}"
            );
            assert_eq!(r.auth_header.as_deref(), Some("api-key"));
            assert!(
                r.path.starts_with(&format!(
                    "/openai/deployments/{own}-dep/chat/completions?api-version="
                )),
                "{}",
                r.path
            );
        }
        for c in checks(&reqs) {
            assert_eq!(
                c.credential.as_deref(),
                Some(own_bad),
                "only the failing token is checked"
            );
        }
    }
}

/// Defect 3 and 4: the bad token leaves rotation after one failure and
/// comes back through health checks once it works again.
#[tokio::test]
async fn bad_token_tried_once_then_checked_back_into_rotation() {
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "sk-good-000000001\", \"bad-revoked-00001",
        &format!(
            "    failover: {{ enabled: true, failureThreshold: 1, successThreshold: 2, healthCheckModel: {HC_MODEL}, healthCheckInterval: 100ms }}\n    retryOnFailure: {{ enabled: true, maxRetries: 1 }}"
        ),
    )
    .await;
    for i in 0..200 {
        let r = post(gw.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    let reqs = emu.emulator.requests();
    let bad_live = live(&reqs)
        .iter()
        .filter(|r| r.credential.as_deref() == Some("bad-revoked-00001"))
        .count();
    assert!(
        bad_live <= 1,
        "the bad token was tried {bad_live} times by live traffic"
    );
    let states = gw.states("p").await;
    assert_eq!(states[1]["state"], "out");
    assert_eq!(states[1]["credential"], "bad-…0001");
    assert!(
        states[1]["lastError"].as_str().unwrap().contains("401"),
        "{}",
        states[1]
    );

    // The key is fixed upstream: checks bring it back within
    // interval x successThreshold plus one interval (300 ms), plus slack.
    emu.emulator
        .set_behaviour("bad-revoked-00001", Some(Behaviour::Ok));
    let flipped = tokio::time::Instant::now();
    assert!(
        eventually(Duration::from_secs(2), || async {
            gw.states("p").await[1]["state"] == "healthy"
        })
        .await,
        "back in rotation"
    );
    let took = flipped.elapsed();
    // 300 ms by the rule; the slack absorbs scheduling on a loaded CI box.
    assert!(took <= Duration::from_millis(600), "took {took:?}");
    emu.emulator.clear_requests();
    for _ in 0..40 {
        post(gw.addr, "/v1/chat/completions", chat("gpt-4o-mini")).await;
    }
    let used: HashSet<_> = emu
        .emulator
        .requests()
        .iter()
        .filter_map(|r| r.credential.clone())
        .collect();
    assert!(
        used.contains("bad-revoked-00001"),
        "the recovered token serves traffic again"
    );
}

/// Defect 3: retries never repeat a token and stop when none is left.
#[tokio::test]
async fn retries_never_repeat_a_token_and_stop() {
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "bad-one-00000001\", \"down-two-0000001\", \"sk-good-00000001",
        "    retryOnFailure: { enabled: true, maxRetries: 5 }",
    )
    .await;
    for _ in 0..30 {
        emu.emulator.clear_requests();
        let r = post(gw.addr, "/v1/chat/completions", chat("m")).await;
        assert_eq!(r.status, 200);
        let creds: Vec<_> = emu
            .emulator
            .requests()
            .into_iter()
            .map(|r| r.credential.unwrap())
            .collect();
        let distinct: HashSet<_> = creds.iter().collect();
        assert_eq!(
            distinct.len(),
            creds.len(),
            "a token was repeated: {creds:?}"
        );
        assert!(creds.len() <= 3);
    }

    // All three bad: exactly three attempts, then the upstream's error.
    let gw = simple_gateway(
        emu.addr,
        "bad-one-00000001\", \"down-two-0000001\", \"limited-0000001",
        "    retryOnFailure: { enabled: true, maxRetries: 10 }",
    )
    .await;
    emu.emulator.clear_requests();
    let r = post(gw.addr, "/v1/chat/completions", chat("m")).await;
    assert!([401, 429, 503].contains(&r.status.as_u16()), "{}", r.status);
    assert!(
        r.json()["error"]["message"].is_string(),
        "the upstream error body is relayed"
    );
    let creds: HashSet<_> = emu
        .emulator
        .requests()
        .into_iter()
        .map(|r| r.credential.unwrap())
        .collect();
    assert_eq!(creds.len(), 3);
    assert_eq!(
        emu.emulator.requests().len(),
        3,
        "stops after every token was tried once"
    );
}

/// Defect 2: never an empty credential; a clear 503 with Retry-After.
#[tokio::test]
async fn all_tokens_down_is_503_with_retry_after() {
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "bad-one-00000001\", \"bad-two-00000001",
        "    failover: { enabled: true, failureThreshold: 1, cooldown: 30s }\n    retryOnFailure: { enabled: true, maxRetries: 1 }",
    )
    .await;
    let first = post(gw.addr, "/v1/chat/completions", chat("m")).await;
    assert_eq!(first.status, 401, "the last upstream error is relayed");
    for _ in 0..5 {
        let r = post(gw.addr, "/v1/chat/completions", chat("m")).await;
        assert_eq!(r.status, 503);
        let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((29..=30).contains(&secs), "retry-after {secs}");
        let e = &r.json()["error"];
        assert_eq!(e["code"], "no_healthy_credential");
        let m = e["message"].as_str().unwrap();
        assert!(m.contains("provider `p`") && m.contains("2 of 2"), "{m}");
    }
    let reqs = emu.emulator.requests();
    assert_eq!(reqs.len(), 2, "no upstream request once every token is out");
    assert!(reqs.iter().all(|r| {
        r.credential
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty())
    }));
}

fn fallback_config(p1: &str, p2: &str, p3: &str, p1_extra: &str) -> String {
    format!(
        r#"
providers:
  - {{ id: qwen, type: qwen, {p1}{p1_extra} }}
  - {{ id: deepseek, type: deepseek, {p2} }}
  - {{ id: openai, type: openai, {p3} }}
routes:
  - name: qwen
    models: ["qwen-*"]
    provider: qwen
    fallback:
      onStatus: ["4xx", "5xx"]
      targets:
        - {{ provider: deepseek, model: deepseek-chat }}
        - {{ provider: openai, model: gpt-4o-mini }}
"#
    )
}

fn at(addr: SocketAddr, token: &str) -> String {
    format!("baseUrl: \"http://{addr}\", apiTokens: [\"{token}\"]")
}

/// Defect 7: fallback goes any number of hops, and also on connect errors
/// and timeouts.
#[tokio::test]
async fn fallback_chain_reaches_the_third_provider() {
    let emu = default_emulator().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let cases = [
        ("status", at(emu.addr, "limited-q-000001"), ""),
        ("connect refused", at(dead, "sk-q-0000000001"), ""),
        (
            "timeout",
            at(emu.addr, "hang-q-00000001"),
            ", firstByteTimeout: 150ms",
        ),
    ];
    for (what, p1, extra) in cases {
        emu.emulator.clear_requests();
        let gw = gateway(&fallback_config(
            &p1,
            &at(emu.addr, "down-d-00000001"),
            &at(emu.addr, "sk-o-0000000001"),
            extra,
        ))
        .await;
        let r = post(gw.addr, "/v1/chat/completions", chat("qwen-max")).await;
        assert_eq!(r.status, 200, "{what}: {}", r.text());
        assert_eq!(r.header("x-switchyard-provider"), Some("openai"), "{what}");
        assert_eq!(r.header("x-switchyard-model"), Some("gpt-4o-mini"));
        assert_eq!(
            r.header("x-switchyard-fallback-from"),
            Some("qwen/qwen-max")
        );
        assert_eq!(
            r.json()["model"],
            "gpt-4o-mini",
            "the body names the model that served"
        );
        let models: Vec<_> = emu
            .emulator
            .requests()
            .into_iter()
            .filter_map(|r| r.model)
            .collect();
        assert_eq!(models.last().map(String::as_str), Some("gpt-4o-mini"));
        assert!(
            models.contains(&"deepseek-chat".to_string()),
            "{what}: the second hop was tried: {models:?}"
        );
    }
}

/// A target whose tokens are all down is skipped without a network attempt;
/// a large body is replayed intact.
#[tokio::test]
async fn down_target_is_skipped_and_large_body_replayed() {
    let emu = default_emulator().await;
    let cfg = fallback_config(
        &at(emu.addr, "down-q-00000001"),
        &format!(
            "{}, failover: {{ enabled: true, failureThreshold: 1, cooldown: 60s }}",
            at(emu.addr, "bad-d-000000001")
        ),
        &at(emu.addr, "sk-o-0000000001"),
        "",
    );
    let gw = gateway(&cfg).await;
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("qwen-a"))
            .await
            .status,
        200
    );
    emu.emulator.clear_requests();
    let big = "x".repeat(3 * 1024 * 1024);
    let body =
        serde_json::json!({"model": "qwen-a", "messages": [{"role": "user", "content": big}]});
    let r = post(gw.addr, "/v1/chat/completions", body).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-switchyard-provider"), Some("openai"));
    let creds: Vec<_> = emu
        .emulator
        .requests()
        .into_iter()
        .filter_map(|r| r.credential)
        .collect();
    assert_eq!(
        creds,
        ["down-q-00000001", "sk-o-0000000001"],
        "deepseek (all down) got no request"
    );
    let usage = &r.json()["usage"]["prompt_tokens"];
    assert!(
        usage.as_u64().unwrap() > 700_000,
        "the 3 MiB body reached the last hop whole: {usage}"
    );
}

/// Defect 6: an embeddings request is retried as embeddings.
#[tokio::test]
async fn embeddings_are_retried_as_embeddings() {
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "down-e-00000001\", \"sk-e-0000000001",
        "    tokenSelection: round-robin\n    retryOnFailure: { enabled: true }",
    )
    .await;
    let r = post(
        gw.addr,
        "/v1/embeddings",
        serde_json::json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 2);
    let reqs = emu.emulator.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter().all(|r| r.path == "/v1/embeddings"),
        "{:?}",
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn streams_retry_only_before_the_first_byte() {
    let emu = default_emulator().await;
    // Fails before any byte: retried with the next token.
    let gw = simple_gateway(
        emu.addr,
        "down-s-00000001\", \"sk-s-0000000001",
        "    tokenSelection: round-robin\n    retryOnFailure: { enabled: true }",
    )
    .await;
    let r = post(gw.addr, "/v1/chat/completions", chat_stream("m")).await;
    assert_eq!(r.status, 200);
    assert_eq!(sse_data(&r.body).last().map(String::as_str), Some("[DONE]"));
    assert_eq!(emu.emulator.requests().len(), 2);
    assert!(emu.emulator.requests().iter().all(|r| r.stream));

    // Fails mid-stream: not replayed; the client gets an error event.
    emu.emulator.clear_requests();
    let gw = simple_gateway(
        emu.addr,
        "cut-s-000000001\", \"sk-s-0000000001",
        "    tokenSelection: round-robin\n    retryOnFailure: { enabled: true }",
    )
    .await;
    let r = post(gw.addr, "/v1/chat/completions", chat_stream("m")).await;
    assert_eq!(r.status, 200);
    let data = sse_data(&r.body);
    let last: serde_json::Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_interrupted");
    assert_eq!(
        emu.emulator.requests().len(),
        1,
        "a started stream is never replayed"
    );
}

/// Defect 4: "4.*" never matches 504; 201 and 204 count as success.
#[tokio::test]
async fn status_patterns_are_anchored_and_any_2xx_is_success() {
    let statuses = Arc::new(std::sync::Mutex::new(vec![
        504u16, 504, 504, 500, 201, 500, 204, 500,
    ]));
    let served = Arc::new(AtomicUsize::new(0));
    let (st, sv) = (statuses.clone(), served.clone());
    let up = raw_upstream(move |mut s| {
        let (st, sv) = (st.clone(), sv.clone());
        async move {
            loop {
                let _ = read_request(&mut s).await;
                let code = {
                    let mut v = st.lock().unwrap();
                    if v.is_empty() { 200 } else { v.remove(0) }
                };
                sv.fetch_add(1, Ordering::SeqCst);
                let body = if code == 204 { String::new() } else { "{\"ok\":true}".to_string() };
                let resp = format!("HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                if s.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    })
    .await;
    let gw = simple_gateway(up, "sk-p-0000000001", "    failover: { enabled: true, failureThreshold: 2, failoverOnStatus: [\"4.*\", \"500\"], cooldown: 60s }").await;
    // Three 504s: not in failoverOnStatus ("4.*" is anchored), not counted.
    for _ in 0..3 {
        assert_eq!(
            post(gw.addr, "/v1/chat/completions", chat("m"))
                .await
                .status,
            504
        );
    }
    assert_eq!(gw.states("p").await[0]["consecutiveFailures"], 0);
    // 500, 201, 500, 204, 500: each 2xx resets the run, so two failures
    // in a row never happen and the token stays in rotation.
    for expect in [500, 201, 500, 204, 500] {
        assert_eq!(
            post(gw.addr, "/v1/chat/completions", chat("m"))
                .await
                .status,
            expect
        );
    }
    let s = &gw.states("p").await[0];
    assert_eq!(s["state"], "healthy", "{s}");
    assert_eq!(s["consecutiveFailures"], 1);
    assert_eq!(served.load(Ordering::SeqCst), 8);
}

/// Defect 3 and 11: many concurrent requests with a failing token: no
/// panic, every count consistent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_with_a_failing_token() {
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "down-c-00000001\", \"sk-c-0000000001",
        "    failover: { enabled: true, failureThreshold: 1000000, cooldown: 60s }\n    retryOnFailure: { enabled: true }",
    )
    .await;
    let addr = gw.addr;
    let limit = Arc::new(tokio::sync::Semaphore::new(250));
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let limit = limit.clone();
        tasks.push(tokio::spawn(async move {
            let _p = limit.acquire().await.unwrap();
            post(addr, "/v1/chat/completions", chat("m"))
                .await
                .status
                .as_u16()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1000, "every request served by the good token");
    let reqs = emu.emulator.requests();
    let bad = reqs
        .iter()
        .filter(|r| r.credential.as_deref() == Some("down-c-00000001"))
        .count();
    let good = reqs.len() - bad;
    assert_eq!(good, 1000);
    let states = gw.states("p").await;
    assert_eq!(
        states[0]["consecutiveFailures"], bad as u64,
        "no failure lost"
    );
    assert!(
        bad > 300 && bad < 700,
        "random selection spreads first attempts: {bad}"
    );
}

#[tokio::test]
async fn status_lists_every_credential_masked() {
    let emu = default_emulator().await;
    let gw = simple_gateway(
        emu.addr,
        "sk-secret-value-AAAA\", \"sk-secret-value-BBBB",
        "",
    )
    .await;
    let text = send(gw.admin, "GET", "/status", "", &[]).await.text();
    assert!(!text.contains("secret"), "{text}");
    let states = gw.states("p").await;
    assert_eq!(states[0]["credential"], "sk-…AAAA");
    assert_eq!(states[1]["state"], "healthy");
    assert_eq!(send(gw.admin, "GET", "/health", "", &[]).await.status, 200);
}
