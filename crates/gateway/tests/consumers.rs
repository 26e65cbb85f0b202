//! Consumers: keys in every header and the query parameter, hashed and
//! rotated keys, 401/403 in the client's dialect, per-consumer model lists,
//! the consumer in metrics, and the consumer key never sent upstream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

const KEY_A: &str = "sk-team-a-key-000000001";
const KEY_A_ROTATED: &str = "sk-team-a-rotated-00002";
const KEY_B: &str = "sk-team-b-key-000000003";
const PROVIDER_TOKEN: &str = "sk-provider-upstream-9";

fn sha256(key: &str) -> String {
    switchyard_config::key_digest_hex(key)
}

async fn setup(extra: &str) -> (switchyard_emulator::RunningEmulator, TestGateway) {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - id: p
    type: openai
    baseUrl: "http://{}"
    apiTokens: ["{PROVIDER_TOKEN}"]
    modelMapping: {{ "gpt-4o": "", "qwen-max": "", "claude-x": "" }}
consumers:
  - {{ name: team-a, keys: ["{KEY_A}", "sha256:{}"], models: ["gpt-*", "qwen-*"] }}
  - {{ name: team-b, keys: ["{KEY_B}"] }}
routes:
  - {{ name: qwen, models: ["qwen-*"], provider: p, allow: [team-a] }}
  - {{ name: gpt, models: ["gpt-*"], provider: p }}
  - {{ name: other, provider: p }}
{extra}
"#,
        emu.addr,
        sha256(KEY_A_ROTATED)
    ))
    .await;
    (emu, gw)
}

async fn chat_as(gw: &TestGateway, model: &str, header: (&str, &str)) -> Reply {
    send(
        gw.addr,
        "POST",
        "/v1/chat/completions",
        serde_json::to_vec(&chat(model)).unwrap(),
        &[("content-type", "application/json"), header],
    )
    .await
}

#[tokio::test]
async fn keys_are_read_from_every_header_and_the_query_and_never_sent_upstream() {
    let (emu, gw) = setup("").await;
    let bearer = format!("Bearer {KEY_A}");
    for header in [
        ("authorization", bearer.as_str()),
        ("x-api-key", KEY_A),
        ("api-key", KEY_A),
        ("x-goog-api-key", KEY_A),
    ] {
        let r = chat_as(&gw, "gpt-4o", header).await;
        assert_eq!(r.status, 200, "{header:?}: {}", r.text());
    }
    let r = send(
        gw.addr,
        "POST",
        &format!("/v1/chat/completions?key={KEY_A}"),
        serde_json::to_vec(&chat("gpt-4o")).unwrap(),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // A Gemini client with ?key= on its own path.
    let r = send(
        gw.addr,
        "POST",
        &format!("/v1beta/models/gpt-4o:generateContent?key={KEY_B}"),
        serde_json::to_vec(&json!({"contents": [{"parts": [{"text": "Hi"}]}]})).unwrap(),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The rotated key, configured only as its sha256: form.
    let r = chat_as(
        &gw,
        "qwen-max",
        ("authorization", &format!("Bearer {KEY_A_ROTATED}")),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let seen = emu.emulator.requests();
    assert_eq!(seen.len(), 7);
    for req in &seen {
        assert_eq!(req.credential.as_deref(), Some(PROVIDER_TOKEN));
        let all = format!("{} {:?}", req.path, req.headers);
        for key in [KEY_A, KEY_A_ROTATED, KEY_B] {
            assert!(!all.contains(key), "a consumer key went upstream: {all}");
        }
    }
}

#[tokio::test]
async fn missing_unknown_and_forbidden_in_the_documented_order() {
    let (emu, gw) = setup("").await;
    let r = post(gw.addr, "/v1/chat/completions", chat("gpt-4o")).await;
    assert_eq!(r.status, 401);
    let j = r.json();
    assert_eq!(j["error"]["code"], "invalid_api_key");
    assert_eq!(j["error"]["type"], "authentication_error");
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer"),
        "{j}"
    );

    for bad in [
        "sk-not-a-consumer-key",
        &format!("sha256:{}", sha256(KEY_A_ROTATED)),
    ] {
        let r = chat_as(&gw, "gpt-4o", ("authorization", &format!("Bearer {bad}"))).await;
        assert_eq!(r.status, 401, "{bad}");
        assert_eq!(r.json()["error"]["code"], "invalid_api_key");
        assert!(!r.text().contains(bad), "the key is echoed back");
    }
    // An unknown key is 401 even on a model no route would allow.
    let r = chat_as(&gw, "claude-x", ("x-api-key", "sk-wrong")).await;
    assert_eq!(r.status, 401);

    // team-b is not on the qwen route's allow list.
    let r = chat_as(&gw, "qwen-max", ("x-api-key", KEY_B)).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let j = r.json();
    assert_eq!(j["error"]["code"], "permission_denied");
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("route `qwen`"),
        "{j}"
    );

    // team-a may use gpt-* and qwen-* only.
    let r = chat_as(&gw, "claude-x", ("x-api-key", KEY_A)).await;
    assert_eq!(r.status, 403);
    let j = r.json();
    assert_eq!(j["error"]["code"], "model_not_allowed");
    assert_eq!(j["error"]["param"], "model");
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`claude-x`"),
        "{j}"
    );

    // A Claude client hears it in Anthropic's shape.
    let r = send(
        gw.addr,
        "POST",
        "/v1/messages",
        serde_json::to_vec(&json!({"model": "gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]})).unwrap(),
        &[("content-type", "application/json"), ("x-api-key", "sk-wrong")],
    )
    .await;
    assert_eq!(r.status, 401);
    let j = r.json();
    assert_eq!(j["type"], "error");
    assert_eq!(j["error"]["type"], "authentication_error");
    assert!(
        emu.emulator.requests().is_empty(),
        "no refused request went upstream"
    );
}

#[tokio::test]
async fn each_consumer_lists_only_its_models_and_is_counted() {
    let (_emu, gw) = setup("").await;
    let models = |r: Reply| -> Vec<String> {
        let mut v: Vec<String> = r.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    // Mapping keys, and the provider's own models (the emulator's list)
    // behind the routes each may use, within its `models` globs.
    let a = send(gw.addr, "GET", "/v1/models", "", &[("x-api-key", KEY_A)]).await;
    assert_eq!(
        models(a),
        [
            "gpt-3.5-turbo-instruct",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4o",
            "gpt-4o-mini",
            "qwen-flash",
            "qwen-max",
            "qwen-plus"
        ]
    );
    // team-b may not use route `qwen`: none of its models, even those the
    // catch-all route would match.
    let b = send(gw.addr, "GET", "/v1/models", "", &[("x-api-key", KEY_B)]).await;
    assert_eq!(
        models(b),
        [
            "claude-x",
            "gpt-3.5-turbo-instruct",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4o",
            "gpt-4o-mini",
            "mock-large",
            "mock-small",
            "o3-mini",
            "text-embedding-3-small"
        ]
    );
    let r = send(
        gw.addr,
        "GET",
        "/v1/models/qwen-plus",
        "",
        &[("x-api-key", KEY_B)],
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = send(
        gw.addr,
        "GET",
        "/v1/models/qwen-plus",
        "",
        &[("x-api-key", KEY_A)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        send(gw.addr, "GET", "/v1/models/qwen-plus", "", &[])
            .await
            .status,
        401
    );
    let none = send(gw.addr, "GET", "/v1/models", "", &[]).await;
    assert_eq!(none.status, 401);

    assert_eq!(
        chat_as(&gw, "gpt-4o", ("x-api-key", KEY_A)).await.status,
        200
    );
    assert_eq!(
        chat_as(&gw, "gpt-4o", ("x-api-key", KEY_B)).await.status,
        200
    );
    assert_eq!(
        chat_as(&gw, "gpt-4o", ("x-api-key", KEY_B)).await.status,
        200
    );
    let m = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
    assert!(
        m.contains(r#"switchyard_requests_total{route="gpt",provider="p",model="gpt-4o",consumer="team-a",status_class="2xx"} 1"#),
        "{m}"
    );
    assert!(
        m.contains(r#"switchyard_requests_total{route="gpt",provider="p",model="gpt-4o",consumer="team-b",status_class="2xx"} 2"#),
        "{m}"
    );
    for key in [KEY_A, KEY_B] {
        assert!(!m.contains(key));
    }
}

#[tokio::test]
async fn with_auth_optional_anonymous_callers_use_open_routes_only() {
    let (_emu, gw) = setup("auth: { required: false }").await;
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("gpt-4o"))
            .await
            .status,
        200
    );
    let r = post(gw.addr, "/v1/chat/completions", chat("qwen-max")).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.text()
            .contains("route `qwen` serves only named consumers")
    );
    // A wrong key is still refused.
    assert_eq!(
        chat_as(&gw, "gpt-4o", ("x-api-key", "sk-wrong"))
            .await
            .status,
        401
    );
}
