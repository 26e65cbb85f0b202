//! Active health checks in each provider's own dialect: a credential of a
//! Gemini, Vertex (express API key and service account), Bedrock (SigV4
//! and API key) or Claude provider that leaves rotation comes back through
//! health checks once it works again, and the checks reach the emulator at
//! the dialect's own path with the endpoint's own auth.
//!
//! Over real sockets; intervals are short and every wait is bounded.
//! Timing of checks and of check slots is proven with virtual time in
//! `switchyard-routing` (health::tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use switchyard_emulator::{Behaviour, RecordedRequest, RunningEmulator};
use tokio::io::AsyncWriteExt;

const FAILOVER: &str = "failover: { enabled: true, failureThreshold: 1, healthCheckInterval: 100ms, healthCheckTimeout: 2s, healthCheckModel: ";

/// One credential to drive out of rotation and check back.
struct Case<'a> {
    provider: &'a str,
    /// What clients ask for (routed to `provider`).
    live_model: &'a str,
    /// `healthCheckModel`.
    check_model: &'a str,
    /// The credential as the emulator sees it (the access key id for SigV4,
    /// the OAuth access token for a service account).
    token: &'a str,
    /// Path (and query) every check must arrive at.
    check_path: String,
    /// Where the credential must be: `authorization`, `x-goog-api-key`, ...
    auth_header: &'a str,
    /// The status the failing credential gets.
    failing_status: u16,
    /// Headers every check must carry (name, value prefix; `None`: any
    /// value).
    headers: &'a [(&'a str, Option<&'a str>)],
}

fn checks<'r>(reqs: &'r [RecordedRequest], case: &Case<'_>) -> Vec<&'r RecordedRequest> {
    reqs.iter()
        .filter(|r| r.model.as_deref() == Some(case.check_model))
        .collect()
}

fn header<'r>(r: &'r RecordedRequest, name: &str) -> Option<&'r str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn assert_check_shape(r: &RecordedRequest, case: &Case<'_>) {
    let p = case.provider;
    assert_eq!(r.method, "POST", "{p}");
    assert_eq!(r.path, case.check_path, "{p}: the dialect's own path");
    assert_eq!(r.credential.as_deref(), Some(case.token), "{p}: own token");
    assert_eq!(
        r.auth_header.as_deref(),
        Some(case.auth_header),
        "{p}: the endpoint's auth scheme"
    );
    assert!(!r.stream, "{p}: a check is not streamed");
    for (name, value) in case.headers {
        let got = header(r, name);
        match value {
            Some(v) => assert!(
                got.is_some_and(|g| g.starts_with(v)),
                "{p}: header {name}: {got:?}, wanted {v}…"
            ),
            None => assert!(got.is_some(), "{p}: header {name} missing"),
        }
    }
}

/// Drive `case`'s only credential out with a live request, watch checks
/// fail while it is bad, make it good, and see it come back through a
/// check and serve live traffic again.
async fn out_then_checked_back(emu: &RunningEmulator, gw: &TestGateway, case: &Case<'_>) {
    let p = case.provider;
    let r = post(gw.addr, "/v1/chat/completions", chat(case.live_model)).await;
    assert_eq!(r.status, case.failing_status, "{p}: {}", r.text());
    assert_eq!(gw.states(p).await[0]["state"], "out", "{p}");
    let r = post(gw.addr, "/v1/chat/completions", chat(case.live_model)).await;
    assert_eq!(r.status, 503, "{p}: out of rotation: {}", r.text());

    // Checks run (and fail) while the credential is bad.
    assert!(
        eventually(Duration::from_secs(5), || async {
            checks(&emu.emulator.requests(), case).len() >= 2
        })
        .await,
        "{p}: health checks arrive"
    );
    let s = &gw.states(p).await[0];
    assert_eq!(s["state"], "out", "{p}: {s}");
    let err = s["lastError"].as_str().unwrap_or("");
    assert!(
        err.contains(&format!("HTTP {}", case.failing_status)),
        "{p}: the check's answer is the error: {s}"
    );

    // Fixed upstream: a check brings it back.
    emu.emulator.set_behaviour(case.token, Some(Behaviour::Ok));
    assert!(
        eventually(Duration::from_secs(5), || async {
            gw.states(p).await[0]["state"] == "healthy"
        })
        .await,
        "{p}: back in rotation"
    );
    let reqs = emu.emulator.requests();
    let seen = checks(&reqs, case);
    assert!(seen.len() >= 3, "{p}: {} checks", seen.len());
    for r in &seen {
        assert_check_shape(r, case);
    }

    // And it serves live traffic again.
    emu.emulator.clear_requests();
    let r = post(gw.addr, "/v1/chat/completions", chat(case.live_model)).await;
    assert_eq!(r.status, 200, "{p}: {}", r.text());
    assert_eq!(r.header("x-switchyard-provider"), Some(p));
    let live = emu.emulator.requests();
    assert_eq!(live.len(), 1, "{p}");
    assert_eq!(live[0].credential.as_deref(), Some(case.token), "{p}");
    assert_eq!(live[0].model.as_deref(), Some(case.live_model), "{p}");
}

#[tokio::test]
async fn gemini_credential_comes_back_through_generate_content_checks() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: gem
    type: gemini
    baseUrl: "http://{}"
    apiTokens: ["bad-gem-key-0001"]
    {FAILOVER}gemini-hc }}
"#,
        emu.addr
    ))
    .await;
    let case = Case {
        provider: "gem",
        live_model: "gemini-2.5-flash",
        check_model: "gemini-hc",
        token: "bad-gem-key-0001",
        check_path: "/v1beta/models/gemini-hc:generateContent".into(),
        auth_header: "x-goog-api-key",
        failing_status: 401,
        headers: &[("content-type", Some("application/json"))],
    };
    out_then_checked_back(&emu, &gw, &case).await;
}

#[tokio::test]
async fn vertex_express_key_comes_back_through_generate_content_checks() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: vx
    type: vertex
    baseUrl: "http://{}"
    apiTokens: ["bad-vx-key-00001"]
    {FAILOVER}gemini-vx-hc }}
"#,
        emu.addr
    ))
    .await;
    let case = Case {
        provider: "vx",
        live_model: "gemini-2.5-pro",
        check_model: "gemini-vx-hc",
        token: "bad-vx-key-00001",
        check_path: "/v1/publishers/google/models/gemini-vx-hc:generateContent".into(),
        auth_header: "x-goog-api-key",
        failing_status: 401,
        headers: &[],
    };
    out_then_checked_back(&emu, &gw, &case).await;
}

const SA_ACCESS_TOKEN: &str = "bad-ya29-access-token-01";

/// An OAuth token endpoint that gives every exchange the same access token.
async fn token_endpoint() -> SocketAddr {
    raw_upstream(|mut s| async move {
        let _ = read_request(&mut s).await;
        let body = format!(
            r#"{{"access_token":"{SA_ACCESS_TOKEN}","expires_in":3599,"token_type":"Bearer"}}"#
        );
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = s.write_all(resp.as_bytes()).await;
    })
    .await
}

#[tokio::test]
async fn vertex_service_account_comes_back_through_generate_content_checks() {
    let tokens = token_endpoint().await;
    let mut key: serde_json::Value = serde_json::from_str(include_str!(
        "../../providers/tests/data/test-service-account.json"
    ))
    .unwrap();
    key["token_uri"] = format!("http://{tokens}/token").into();
    // One line of JSON in a single-quoted YAML scalar.
    let key = key.to_string().replace('\'', "''");
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: vx-sa
    type: vertex
    baseUrl: "http://{}"
    vertexProjectId: p1
    vertexRegion: us-central1
    vertexAuthKey: '{key}'
    {FAILOVER}gemini-sa-hc }}
"#,
        emu.addr
    ))
    .await;
    let case = Case {
        provider: "vx-sa",
        live_model: "gemini-2.5-pro",
        check_model: "gemini-sa-hc",
        token: SA_ACCESS_TOKEN,
        check_path:
            "/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-sa-hc:generateContent"
                .into(),
        auth_header: "authorization",
        failing_status: 401,
        headers: &[("authorization", Some("Bearer bad-ya29-access-token-01"))],
    };
    out_then_checked_back(&emu, &gw, &case).await;
    let s = gw.status().await.to_string();
    assert!(
        s.contains("switchyard-test@example.iam.gserviceaccount.com"),
        "{s}"
    );
}

#[tokio::test]
async fn bedrock_credentials_come_back_through_converse_checks() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: rock-iam
    type: bedrock
    baseUrl: "http://{addr}"
    awsRegion: us-east-1
    awsAccessKey: bad-AKIAHEALTH0001
    awsSecretKey: not-a-real-secret-0001
    {FAILOVER}"amazon.nova-hc-v1:0" }}
  - id: rock-key
    type: bedrock
    baseUrl: "http://{addr}"
    awsRegion: us-east-1
    apiTokens: ["bad-brk-key-0001"]
    {FAILOVER}"amazon.nova-key-hc-v1:0" }}
routes:
  - {{ name: iam, models: ["anthropic.*"], provider: rock-iam }}
  - {{ name: key, models: ["amazon.*"], provider: rock-key }}
"#,
        addr = emu.addr
    ))
    .await;
    let sigv4 = Case {
        provider: "rock-iam",
        live_model: "anthropic.claude-3-5-haiku-20241022-v1:0",
        check_model: "amazon.nova-hc-v1:0",
        token: "bad-AKIAHEALTH0001",
        check_path: "/model/amazon.nova-hc-v1%3A0/converse".into(),
        auth_header: "authorization",
        failing_status: 403,
        headers: &[
            (
                "authorization",
                Some("AWS4-HMAC-SHA256 Credential=bad-AKIAHEALTH0001/"),
            ),
            ("x-amz-date", None),
            ("x-amz-content-sha256", None),
        ],
    };
    out_then_checked_back(&emu, &gw, &sigv4).await;

    emu.emulator.clear_requests();
    let api_key = Case {
        provider: "rock-key",
        live_model: "amazon.nova-lite-v1:0",
        check_model: "amazon.nova-key-hc-v1:0",
        token: "bad-brk-key-0001",
        check_path: "/model/amazon.nova-key-hc-v1%3A0/converse".into(),
        auth_header: "authorization",
        failing_status: 403,
        headers: &[("authorization", Some("Bearer bad-brk-key-0001"))],
    };
    out_then_checked_back(&emu, &gw, &api_key).await;
}

#[tokio::test]
async fn claude_credential_comes_back_through_messages_checks() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: claude
    type: claude
    baseUrl: "http://{}"
    apiTokens: ["bad-ant-key-0001"]
    {FAILOVER}claude-hc }}
"#,
        emu.addr
    ))
    .await;
    let case = Case {
        provider: "claude",
        live_model: "claude-sonnet-4-5",
        check_model: "claude-hc",
        token: "bad-ant-key-0001",
        check_path: "/v1/messages".into(),
        auth_header: "x-api-key",
        failing_status: 401,
        headers: &[("anthropic-version", Some("2023-06-01"))],
    };
    out_then_checked_back(&emu, &gw, &case).await;
}

/// The wait for a check slot does not count against `healthCheckTimeout`:
/// with 32 credentials of another provider whose checks hang (16 in
/// flight, the rest queued), a Gemini check with a 200 ms timeout waits
/// far longer than that for its slot, then passes.
#[tokio::test]
async fn a_check_queued_for_a_slot_is_not_timed_out_by_the_wait() {
    let emu = default_emulator().await;
    let hanging: Vec<String> = (0..32).map(|i| format!("hang-busy-{i:06}")).collect();
    let gw = gateway(&format!(
        r#"
providers:
  - id: busy
    type: openai
    baseUrl: "http://{addr}"
    apiTokens: {tokens:?}
    firstByteTimeout: 50ms
    retryOnFailure: {{ enabled: true, maxRetries: 31 }}
    failover: {{ enabled: true, failureThreshold: 1, healthCheckInterval: 100ms, healthCheckTimeout: 1s, healthCheckModel: busy-hc }}
  - id: gem
    type: gemini
    baseUrl: "http://{addr}"
    apiTokens: ["bad-slot-key-0001"]
    failover: {{ enabled: true, failureThreshold: 1, healthCheckInterval: 100ms, healthCheckTimeout: 200ms, healthCheckModel: gem-hc }}
routes:
  - {{ name: busy, models: ["busy-*"], provider: busy }}
  - {{ name: gem, models: ["gemini-*"], provider: gem }}
"#,
        addr = emu.addr,
        tokens = hanging,
    ))
    .await;
    // Every hanging credential is tried once and leaves rotation.
    let r = post(gw.addr, "/v1/chat/completions", chat("busy-m")).await;
    assert_eq!(r.status, 504, "{}", r.text());
    let states = gw.states("busy").await;
    assert!(states.iter().all(|s| s["state"] == "out"), "{states:?}");
    // Their checks fill every slot.
    assert!(
        eventually(Duration::from_secs(5), || async {
            emu.emulator
                .requests()
                .iter()
                .filter(|r| r.model.as_deref() == Some("busy-hc"))
                .count()
                >= 16
        })
        .await,
        "the hanging checks run"
    );

    let r = post(gw.addr, "/v1/chat/completions", chat("gemini-2.5-flash")).await;
    assert_eq!(r.status, 401, "{}", r.text());
    emu.emulator
        .set_behaviour("bad-slot-key-0001", Some(Behaviour::Ok));
    let flipped = tokio::time::Instant::now();
    assert!(
        eventually(Duration::from_secs(8), || async {
            gw.states("gem").await[0]["state"] == "healthy"
        })
        .await,
        "the queued check passes once it has a slot"
    );
    let took = flipped.elapsed();
    let s = &gw.states("gem").await[0];
    let err = s["lastError"].as_str().unwrap_or("");
    assert!(!err.contains("timed out"), "{s}");
    // It did wait for a slot, longer than its own timeout.
    assert!(took > Duration::from_millis(300), "took {took:?}");
    let checks: Vec<_> = emu
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.model.as_deref() == Some("gem-hc"))
        .collect();
    assert_eq!(checks.len(), 1, "one check, which passed");
    assert_eq!(checks[0].path, "/v1beta/models/gem-hc:generateContent");
}
