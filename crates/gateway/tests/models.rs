//! `GET /v1/models` and `GET /v1/models/{id}`: the models behind glob
//! routes come from each provider's own `/models` (fetched in the
//! background, cached, not live traffic) or the catalog's list; OpenAI's
//! shape, or Anthropic's for an Anthropic SDK.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn config(emu: SocketAddr, extra: &str) -> String {
    format!(
        r#"
providers:
  - {{ id: qwen, type: qwen, baseUrl: "http://{emu}", apiTokens: ["sk-qwen-000000001"], modelMapping: {{ "qwen-max": "" }} }}
  - {{ id: mock, type: generic, baseUrl: "http://{emu}", apiTokens: ["sk-mock-000000001"] }}
  - {{ id: claude, type: claude, baseUrl: "http://{emu}", apiTokens: ["sk-ant-000000001"] }}
routes:
  - {{ name: qwen, models: ["qwen-*"], provider: qwen }}
  - {{ name: mock, models: ["mock-*"], provider: mock }}
  - {{ name: claude, models: ["claude-sonnet-*", "claude-haiku-*"], provider: claude }}
  - {{ name: fixed, models: ["gpt-4o"], provider: mock }}
{extra}
"#
    )
}

fn ids_and_owners(v: &Value) -> Vec<(String, String)> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["owned_by"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn models_fetches(emu: &switchyard_emulator::RunningEmulator) -> Vec<(String, String)> {
    emu.emulator
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/models"))
        .map(|r| (r.path, r.credential.unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn glob_routes_list_their_providers_models() {
    let emu = default_emulator().await;
    let gw = gateway(&config(emu.addr, "")).await;
    let r = send(gw.addr, "GET", "/v1/models", "", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "list");
    let got = ids_and_owners(&v);
    let want = [
        ("qwen-max", "qwen"),
        ("qwen-plus", "qwen"),
        ("qwen-flash", "qwen"),
        ("mock-small", "mock"),
        ("mock-large", "mock"),
        // claude has no /models: the catalog's list, where the globs match.
        ("claude-sonnet-4-5", "claude"),
        ("claude-sonnet-4-0", "claude"),
        ("claude-haiku-4-5", "claude"),
        ("gpt-4o", "mock"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    for m in v["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert!(m["created"].as_u64().unwrap() > 1_600_000_000, "{m}");
    }
    // One fetch per provider with a /models API and a glob route, each
    // with that provider's own credential.
    let mut fetches = models_fetches(&emu);
    fetches.sort();
    assert_eq!(
        fetches,
        [
            (
                "/compatible-mode/v1/models".to_string(),
                "sk-qwen-000000001".to_string()
            ),
            ("/v1/models".to_string(), "sk-mock-000000001".to_string()),
        ]
    );

    // Cached: listing again fetches nothing.
    let again = send(gw.addr, "GET", "/v1/models", "", &[]).await.json();
    assert_eq!(ids_and_owners(&again), want);
    assert_eq!(models_fetches(&emu).len(), 2);

    // One model.
    let r = send(gw.addr, "GET", "/v1/models/qwen-plus", "", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let m = r.json();
    assert_eq!(
        (
            m["id"].as_str(),
            m["object"].as_str(),
            m["owned_by"].as_str()
        ),
        (Some("qwen-plus"), Some("model"), Some("qwen"))
    );
    // Not reachable: an emulator model no route sends anywhere.
    let r = send(gw.addr, "GET", "/v1/models/gpt-4o-mini", "", &[]).await;
    assert_eq!(r.status, 404);
    let e = r.json();
    assert_eq!(e["error"]["code"], "model_not_found");
    assert_eq!(e["error"]["type"], "invalid_request_error");
    assert_eq!(e["error"]["param"], "model");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`gpt-4o-mini`")
    );
}

#[tokio::test]
async fn anthropic_clients_get_anthropics_shape_and_pages() {
    let emu = default_emulator().await;
    let gw = gateway(&config(emu.addr, "")).await;
    let h = [
        ("anthropic-version", "2023-06-01"),
        ("x-api-key", "anything"),
    ];
    let v = send(gw.addr, "GET", "/v1/models", "", &h).await.json();
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 9, "{v}");
    assert_eq!(data[0]["type"], "model");
    assert_eq!(data[0]["id"], "qwen-max");
    assert_eq!(data[0]["display_name"], "qwen-max");
    assert!(
        data[0]["created_at"].as_str().unwrap().ends_with('Z'),
        "{v}"
    );
    assert_eq!(v["has_more"], false);
    assert_eq!(v["first_id"], "qwen-max");
    assert_eq!(v["last_id"], "gpt-4o");

    // Paged as the Anthropic SDK pages: limit, then after_id = last_id.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/v1/models?limit=4".to_string(),
            Some(a) => format!("/v1/models?limit=4&after_id={a}"),
        };
        let p = send(gw.addr, "GET", &path, "", &h).await.json();
        for m in p["data"].as_array().unwrap() {
            seen.push(m["id"].as_str().unwrap().to_string());
        }
        if p["has_more"] != true {
            break;
        }
        after = Some(p["last_id"].as_str().unwrap().to_string());
    }
    let all: Vec<String> = data
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(seen, all);

    let m = send(gw.addr, "GET", "/v1/models/mock-small", "", &h)
        .await
        .json();
    assert_eq!(m["type"], "model");
    assert_eq!(m["id"], "mock-small");
    let r = send(gw.addr, "GET", "/v1/models/nope", "", &h).await;
    assert_eq!(r.status, 404);
    let e = r.json();
    assert_eq!(e["type"], "error");
    assert_eq!(e["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn a_provider_that_hangs_delays_only_the_first_listing() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: stuck, type: openai, baseUrl: "http://{0}", apiTokens: ["hang-000000001"] }}
  - {{ id: mock, type: generic, baseUrl: "http://{0}", apiTokens: ["sk-mock-000000001"] }}
routes:
  - {{ name: stuck, models: ["qwen-*"], provider: stuck }}
  - {{ name: mock, models: ["mock-*"], provider: mock }}
"#,
        emu.addr
    ))
    .await;
    let t = Instant::now();
    let r = send(gw.addr, "GET", "/v1/models", "", &[]).await;
    let first = t.elapsed();
    assert_eq!(r.status, 200);
    let ids: Vec<String> = ids_and_owners(&r.json()).into_iter().map(|x| x.0).collect();
    assert_eq!(
        ids,
        ["mock-small", "mock-large"],
        "the stuck provider adds nothing"
    );
    assert!(
        first < Duration::from_millis(3500),
        "bounded wait: {first:?}"
    );
    // The fetch is still in flight: the next listing does not wait.
    let t = Instant::now();
    let r = send(gw.addr, "GET", "/v1/models", "", &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );
    // And requests are not held up by it.
    let t = Instant::now();
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("mock-small"))
            .await
            .status,
        200
    );
    assert!(t.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn list_fetches_are_not_live_traffic_and_are_refreshed() {
    let emu = default_emulator().await;
    // `down-` tokens answer 503 to everything; one failure would take the
    // credential out of rotation if it were live traffic.
    let gw = gateway(&format!(
        r#"
providers:
  - id: down
    type: openai
    baseUrl: "http://{0}"
    apiTokens: ["down-000000001"]
    failover: {{ enabled: true, failureThreshold: 1, cooldown: 60s }}
  - {{ id: mock, type: generic, baseUrl: "http://{0}", apiTokens: ["sk-mock-000000001"] }}
routes:
  - {{ name: down, models: ["gpt-*"], provider: down }}
  - {{ name: mock, models: ["mock-*"], provider: mock }}
server: {{ modelsRefreshInterval: 300ms }}
"#,
        emu.addr
    ))
    .await;
    let r = send(gw.addr, "GET", "/v1/models", "", &[]).await;
    assert_eq!(r.status, 200);
    let ids: Vec<String> = ids_and_owners(&r.json()).into_iter().map(|x| x.0).collect();
    assert_eq!(ids, ["mock-small", "mock-large"]);
    assert_eq!(
        gw.states("down").await[0]["state"],
        "healthy",
        "a failed list fetch does not count against the credential"
    );
    assert_eq!(gw.states("down").await[0]["consecutiveFailures"], 0);
    let m = send(gw.admin, "GET", "/metrics", "", &[]).await.text();
    assert!(
        !m.contains("switchyard_requests_total{route=\"down\""),
        "not counted as a request: {m}"
    );

    // After the interval, a listing serves the cached list at once and
    // fetches a new one in the background.
    let mock_fetches = |emu: &switchyard_emulator::RunningEmulator| {
        models_fetches(emu)
            .iter()
            .filter(|(_, c)| c == "sk-mock-000000001")
            .count()
    };
    assert_eq!(mock_fetches(&emu), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = send(gw.addr, "GET", "/v1/models", "", &[]).await;
    let ids: Vec<String> = ids_and_owners(&r.json()).into_iter().map(|x| x.0).collect();
    assert_eq!(ids, ["mock-small", "mock-large"]);
    wait_until(Duration::from_secs(3), "a background refresh", || async {
        mock_fetches(&emu) == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetched_lists_survive_a_reload() {
    let emu = default_emulator().await;
    let dir = TempDir::new("models");
    let path = dir.file();
    let text = |extra_route: &str| {
        format!(
            r#"
server: {{ listen: "127.0.0.1:0" }}
log: {{ access: "off" }}
providers:
  - {{ id: mock, type: generic, baseUrl: "http://{0}", apiTokens: ["sk-mock-000000001"] }}
routes:
  - {{ name: mock, models: ["mock-*"], provider: mock }}
{extra_route}
"#,
            emu.addr
        )
    };
    std::fs::write(&path, text("")).unwrap();
    let gw = gateway_from_file(&path).await;
    let ids =
        |r: Reply| -> Vec<String> { ids_and_owners(&r.json()).into_iter().map(|x| x.0).collect() };
    assert_eq!(
        ids(send(gw.addr, "GET", "/v1/models", "", &[]).await),
        ["mock-small", "mock-large"]
    );
    assert_eq!(models_fetches(&emu).len(), 1);
    // A reload adds a route to the same provider: its list is still
    // cached (a service of the runtime, not of the snapshot).
    replace(
        &path,
        &text("  - { name: qwen, models: [\"qwen-*\"], provider: mock }"),
    );
    wait_serves(gw.addr, "qwen-plus", "the reloaded routes").await;
    assert_eq!(
        ids(send(gw.addr, "GET", "/v1/models", "", &[]).await),
        ["mock-small", "mock-large", "qwen-plus", "qwen-flash"]
    );
    assert_eq!(models_fetches(&emu).len(), 1, "not fetched again");
}
