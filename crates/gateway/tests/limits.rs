//! Rate limits over real sockets: a concurrent burst admits exactly the
//! limit, reservations are settled with the emulator's real usage before
//! the next request, every status with its body and headers in the
//! client's dialect, rules keyed by header, and the rejection metric.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

const KEY_A: &str = "sk-team-a-limits-0000001";
const KEY_B: &str = "sk-team-b-limits-0000002";

async fn setup(
    team_a_limits: &str,
    extra: &str,
) -> (switchyard_emulator::RunningEmulator, TestGateway) {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: p
    type: openai
    baseUrl: "http://{}"
    apiTokens: ["sk-provider"]
    modelMapping: {{ "*": "" }}
consumers:
  - {{ name: team-a, keys: ["{KEY_A}"], limits: {team_a_limits} }}
  - {{ name: team-b, keys: ["{KEY_B}"] }}
{extra}
"#,
        emu.addr,
    ))
    .await;
    (emu, gw)
}

async fn call(
    gw: &TestGateway,
    key: &str,
    body: serde_json::Value,
    extra: &[(&str, &str)],
) -> Reply {
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];
    headers.extend_from_slice(extra);
    send(
        gw.addr,
        "POST",
        "/v1/chat/completions",
        serde_json::to_vec(&body).unwrap(),
        &headers,
    )
    .await
}

async fn futures_join_all<F: std::future::Future<Output = Reply> + Send + 'static>(
    calls: impl Iterator<Item = F>,
) -> Vec<Reply> {
    let handles: Vec<_> = calls.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn count(replies: &[Reply], status: u16) -> usize {
    replies
        .iter()
        .filter(|r| r.status.as_u16() == status)
        .count()
}

#[tokio::test]
async fn a_burst_against_requests_per_second_admits_exactly_the_limit_then_more_after_the_window() {
    let (emu, gw) = setup("{ requestsPerSecond: 5 }", "").await;
    let gw = std::sync::Arc::new(gw);
    let calls = (0..20).map(|_| {
        let gw = gw.clone();
        async move { call(&gw, KEY_A, chat("gpt-4o"), &[]).await }
    });
    let replies = futures_join_all(calls).await;
    assert_eq!(count(&replies, 200), 5, "exactly the limit passes");
    assert_eq!(count(&replies, 429), 15);
    assert_eq!(
        emu.emulator.requests().len(),
        5,
        "refused requests never reach the provider"
    );

    let ok = replies.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(ok.header("x-ratelimit-limit-requests"), Some("5"));
    assert!(ok.header("x-ratelimit-remaining-requests").is_some());
    assert!(ok.header("x-ratelimit-reset-requests").is_some());
    assert_eq!(
        ok.header("x-ratelimit-limit-tokens"),
        None,
        "no token limit applies"
    );

    let refused = replies.iter().find(|r| r.status == 429).unwrap();
    let body = refused.json();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("requestsPerSecond: 5") && msg.contains("Retry after"),
        "{msg}"
    );
    // Capacity returns when the first charges' 100 ms bucket leaves the
    // window: within 1.1 s, rounded up to whole seconds.
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(refused.header("x-ratelimit-limit-requests"), Some("5"));
    assert_eq!(refused.header("x-ratelimit-remaining-requests"), Some("0"));
    let reset = refused.header("x-ratelimit-reset-requests").unwrap();
    assert!(
        reset.ends_with("ms") || reset == "1s" || reset.ends_with('s'),
        "{reset}"
    );

    // Another consumer is not limited by team-a's limits.
    assert_eq!(call(&gw, KEY_B, chat("gpt-4o"), &[]).await.status, 200);

    // After the window (the announced reset), 5 more pass and no more.
    tokio::time::sleep(Duration::from_millis(1_150)).await;
    let calls = (0..8).map(|_| {
        let gw = gw.clone();
        async move { call(&gw, KEY_A, chat("gpt-4o"), &[]).await }
    });
    let replies = futures_join_all(calls).await;
    assert_eq!(count(&replies, 200), 5);
    assert_eq!(count(&replies, 429), 3);

    let m = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
    wait_until(Duration::from_secs(5), "rejections counted", || {
        let gw = gw.clone();
        async move {
            let m = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
            m.contains("switchyard_ratelimit_rejections_total{rule=\"consumer\"} 18")
        }
    })
    .await;
    assert!(!m.contains(KEY_A));
}

/// `x-ratelimit-remaining-tokens` of a request that can never fit: the
/// limit minus what is counted (nothing is charged for it).
async fn tokens_counted(gw: &TestGateway, limit: u64) -> u64 {
    let probe = call(
        gw,
        KEY_A,
        json!({"model": "gpt-4o", "max_tokens": limit, "messages": [{"role": "user", "content": "x"}]}),
        &[],
    )
    .await;
    assert_eq!(probe.status, 429, "{}", probe.text());
    let msg = probe.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("can never be admitted"), "{msg}");
    assert_eq!(probe.header("retry-after"), None, "waiting would not help");
    let remaining: u64 = probe
        .header("x-ratelimit-remaining-tokens")
        .unwrap()
        .parse()
        .unwrap();
    limit - remaining
}

#[tokio::test]
async fn token_reservations_cover_a_burst_and_settle_to_the_real_usage() {
    const LIMIT: u64 = 400;
    // With telemetry off (no metrics, no access log): settling does not
    // depend on it.
    let (_emu, gw) = setup(
        &format!("{{ tokensPerMinute: {LIMIT} }}"),
        "metrics: { enabled: false }",
    )
    .await;
    assert_eq!(send(gw.admin, "GET", "/metrics", "", &[]).await.status, 404);
    let gw = std::sync::Arc::new(gw);
    // Each reserves its prompt estimate + 40; the emulator answers at most
    // 40 words (= tokens), so each reservation covers its real usage.
    let body = json!({"model": "gpt-4o", "max_tokens": 40,
        "messages": [{"role": "user", "content": "Count to three please"}]});
    let calls = (0..20).map(|_| {
        let (gw, body) = (gw.clone(), body.clone());
        async move { call(&gw, KEY_A, body, &[]).await }
    });
    let replies = futures_join_all(calls).await;
    let admitted: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert!(
        (1..20).contains(&admitted.len()),
        "some pass, the rest are refused: {}",
        admitted.len()
    );
    let used: u64 = admitted
        .iter()
        .map(|r| r.json()["usage"]["total_tokens"].as_u64().unwrap())
        .sum();
    assert!(used <= LIMIT, "settled {used} > limit {LIMIT}");
    // Settled before each answer's last byte: what is counted now is
    // exactly the emulator's usage.
    assert_eq!(tokens_counted(&gw, LIMIT).await, used);
    let refused = replies.iter().find(|r| r.status == 429).unwrap();
    assert_eq!(refused.header("x-ratelimit-limit-tokens"), Some("400"));
    assert!(refused.header("retry-after").is_some());
}

#[tokio::test]
async fn a_stream_settles_its_usage_when_it_ends() {
    const LIMIT: u64 = 100_000;
    let (_emu, gw) = setup(
        &format!("{{ tokensPerMinute: {LIMIT}, outputReserve: 1000 }}"),
        "",
    )
    .await;
    let mut body = chat_stream("gpt-4o");
    body["stream_options"] = json!({"include_usage": true});
    let r = call(&gw, KEY_A, body, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-limit-tokens"), Some("100000"));
    // Reserved: the prompt estimate + the output reserve (no max_tokens).
    let remaining: u64 = r
        .header("x-ratelimit-remaining-tokens")
        .unwrap()
        .parse()
        .unwrap();
    assert!(LIMIT - remaining > 1000, "{remaining}");
    let usage = sse_data(&r.body)
        .iter()
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .find_map(|v| v["usage"]["total_tokens"].as_u64())
        .expect("a usage chunk");
    assert_eq!(tokens_counted(&gw, LIMIT).await, usage);
}

#[tokio::test]
async fn rules_by_header_count_each_value_apart_and_name_the_rule() {
    let (_emu, gw) = setup(
        "{ requestsPerDay: 1000 }",
        "rateLimits:\n  - { name: per-user, by: header:x-user-id, requestsPerMinute: 2 }\n",
    )
    .await;
    for _ in 0..2 {
        let r = call(&gw, KEY_B, chat("gpt-4o"), &[("x-user-id", "alice")]).await;
        assert_eq!(r.status, 200);
    }
    let r = call(&gw, KEY_B, chat("gpt-4o"), &[("x-user-id", "alice")]).await;
    assert_eq!(r.status, 429);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(
        msg.contains("rule `per-user`") && msg.contains("requestsPerMinute: 2"),
        "{msg}"
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((55..=61).contains(&retry), "{retry}");
    assert_eq!(
        r.header("x-ratelimit-reset-requests")
            .map(|s| s.ends_with('s')),
        Some(true)
    );
    // Another value, and no value at all, are counted apart / not at all.
    assert_eq!(
        call(&gw, KEY_B, chat("gpt-4o"), &[("x-user-id", "bob")])
            .await
            .status,
        200
    );
    for _ in 0..3 {
        assert_eq!(call(&gw, KEY_B, chat("gpt-4o"), &[]).await.status, 200);
    }
    // Consumer and rule both apply: the tightest rule's figures are sent.
    let r = call(&gw, KEY_A, chat("gpt-4o"), &[("x-user-id", "carol")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("2"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("1"));
    wait_until(
        Duration::from_secs(5),
        "the rule's rejection counted",
        || async {
            let m = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
            m.contains("switchyard_ratelimit_rejections_total{rule=\"per-user\"} 1")
        },
    )
    .await;
    let m = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
    assert!(!m.contains("alice"), "client values never become labels");
}

#[tokio::test]
async fn refusals_speak_the_clients_dialect() {
    let (_emu, gw) = setup("{ requestsPerMinute: 1 }", "").await;
    assert_eq!(call(&gw, KEY_A, chat("gpt-4o"), &[]).await.status, 200);
    let claude = send(
        gw.addr,
        "POST",
        "/v1/messages",
        serde_json::to_vec(&json!({"model": "claude-x", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}]}))
        .unwrap(),
        &[("content-type", "application/json"), ("x-api-key", KEY_A)],
    )
    .await;
    assert_eq!(claude.status, 429);
    let b = claude.json();
    assert_eq!(b["type"], "error", "{b}");
    assert_eq!(b["error"]["type"], "rate_limit_error", "{b}");
    assert!(claude.header("retry-after").is_some());
    let gemini = send(
        gw.addr,
        "POST",
        &format!("/v1beta/models/gemini-x:generateContent?key={KEY_A}"),
        serde_json::to_vec(&json!({"contents": [{"parts": [{"text": "hi"}]}]})).unwrap(),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(gemini.status, 429);
    let b = gemini.json();
    assert_eq!(b["error"]["status"], "RESOURCE_EXHAUSTED", "{b}");
}

#[tokio::test]
async fn a_budget_admits_until_the_priced_spend_crosses_it_then_insufficient_quota() {
    let emu = default_emulator().await;
    // $1000 per million tokens: a tenth of a cent per token.
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: p, type: openai, baseUrl: "http://{}", apiTokens: ["sk-provider"] }}
consumers:
  - {{ name: team-a, keys: ["{KEY_A}"], budget: {{ usd: 0.1, period: 1d }} }}
  - {{ name: team-b, keys: ["{KEY_B}"] }}
prices: {{ "gpt-4o": {{ input: 1000, output: 1000 }} }}
"#,
        emu.addr
    ))
    .await;
    let mut spent = 0.0;
    let mut admitted = 0;
    loop {
        let r = call(&gw, KEY_A, chat("gpt-4o"), &[]).await;
        if r.status == 429 {
            let b = r.json();
            assert_eq!(b["error"]["code"], "insufficient_quota", "{b}");
            let msg = b["error"]["message"].as_str().unwrap();
            assert!(msg.contains("budget of $0.10 per 1d"), "{msg}");
            let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
            assert!((1..=86_400).contains(&retry), "{retry}");
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(spent < 0.1, "admitted only while below the budget: {spent}");
        let tokens = r.json()["usage"]["total_tokens"].as_u64().unwrap();
        spent += tokens as f64 * 0.001;
        admitted += 1;
        assert!(admitted < 50, "the budget never cut off");
    }
    assert!(spent >= 0.1, "refused only once spent: {spent}");
    assert!(admitted >= 2);
    // Stays refused; another consumer is not affected.
    assert_eq!(call(&gw, KEY_A, chat("gpt-4o"), &[]).await.status, 429);
    assert_eq!(call(&gw, KEY_B, chat("gpt-4o"), &[]).await.status, 200);
}
