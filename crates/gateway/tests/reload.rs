//! Live configuration: reloads by file change (in place and by rename) and
//! by `POST /admin/reload`; an invalid file changes nothing; credential
//! health survives; streams in flight finish; requests during reloads all
//! succeed. Real sockets, the emulator upstream, real files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use serde_json::json;
use switchyard_emulator::{Behaviour, MockConfig};

const HC_MODEL: &str = "hc-model";

fn provider(id: &str, upstream: SocketAddr, tokens: &str) -> String {
    format!(
        "  - id: {id}\n    type: openai\n    baseUrl: \"http://{upstream}\"\n    apiTokens: [{tokens}]\n"
    )
}

fn config(watch: bool, providers: &[&str], routes: &[(&str, &str, &str)]) -> String {
    let mut s =
        format!("server: {{ watchConfig: {watch} }}\nlog: {{ access: \"off\" }}\nproviders:\n");
    for p in providers {
        s.push_str(p);
    }
    s.push_str("routes:\n");
    for (name, models, provider) in routes {
        s.push_str(&format!(
            "  - {{ name: {name}, models: [\"{models}\"], provider: {provider} }}\n"
        ));
    }
    s
}

async fn reload_status(gw: &TestGateway) -> serde_json::Value {
    send(gw.admin, "GET", "/admin/reload", "", &[]).await.json()
}

async fn metrics(gw: &TestGateway) -> String {
    send(gw.admin, "GET", "/metrics", "", &[]).await.text()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_changes_reload_in_place_and_by_rename() {
    let emu = default_emulator().await;
    let dir = TempDir::new("file");
    let path = dir.file();
    let a = provider("a", emu.addr, "\"sk-a\"");
    let b = provider("b", emu.addr, "\"sk-b\"");
    std::fs::write(&path, config(true, &[&a], &[("alpha", "alpha-*", "a")])).unwrap();
    let gw = gateway_from_file(&path).await;
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("alpha-1"))
            .await
            .status,
        200
    );
    let r = post(gw.addr, "/v1/chat/completions", chat("beta-1")).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let first = reload_status(&gw).await;
    assert_eq!(first["generation"], 1);

    // An in-place edit (same inode): a provider and a route appear.
    std::fs::write(
        &path,
        config(
            true,
            &[&a, &b],
            &[("alpha", "alpha-*", "a"), ("beta", "beta-*", "b")],
        ),
    )
    .unwrap();
    wait_serves(gw.addr, "beta-1", "the edited file to serve beta-*").await;
    let r = post(gw.addr, "/v1/chat/completions", chat("beta-1")).await;
    assert_eq!(r.header("x-switchyard-provider"), Some("b"));

    // An atomic replace by rename: another route appears.
    replace(
        &path,
        &config(
            true,
            &[&a, &b],
            &[
                ("alpha", "alpha-*", "a"),
                ("beta", "beta-*", "b"),
                ("gamma", "gamma-*", "a"),
            ],
        ),
    );
    wait_serves(gw.addr, "gamma-1", "the replaced file to serve gamma-*").await;

    let s = reload_status(&gw).await;
    assert_eq!(s["generation"], 3, "{s}");
    assert_eq!(s["lastAttempt"]["trigger"], "file");
    assert_eq!(s["lastAttempt"]["ok"], true);
    assert_eq!(s["lastAttempt"]["changes"], json!(["routes added: gamma"]));
    assert_ne!(s["version"], first["version"]);
    let m = metrics(&gw).await;
    assert!(
        m.contains("switchyard_config_reloads_total{result=\"ok\"} 2"),
        "{m}"
    );
    assert!(
        m.contains("switchyard_config_reloads_total{result=\"error\"} 0"),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "switchyard_config_info{{version=\"{}\"}} 1",
            s["version"].as_str().unwrap()
        )),
        "{m}"
    );

    // Saving the same text again (a touch) reloads nothing.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text).unwrap();
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(reload_status(&gw).await["generation"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_reload_and_an_invalid_file_changes_nothing() {
    let emu = default_emulator().await;
    let dir = TempDir::new("api");
    let path = dir.file();
    let a = provider("a", emu.addr, "\"sk-a\"");
    let b = provider("b", emu.addr, "\"sk-b\"");
    // No file watch: only the API reloads.
    std::fs::write(&path, config(false, &[&a], &[("alpha", "alpha-*", "a")])).unwrap();
    let gw = gateway_from_file(&path).await;

    std::fs::write(
        &path,
        config(
            false,
            &[&a, &b],
            &[("alpha", "alpha-*", "a"), ("beta", "beta-*", "b")],
        ),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("beta-1"))
            .await
            .status,
        404,
        "watchConfig: false must not reload by itself"
    );
    let r = send(gw.admin, "POST", "/admin/reload", "", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["ok"], true);
    assert_eq!(
        j["changes"],
        json!(["providers added: b", "routes added: beta"])
    );
    let r = post(gw.addr, "/v1/chat/completions", chat("beta-1")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-switchyard-provider"), Some("b"));
    let version = reload_status(&gw).await["version"].clone();

    // Two problems at once: both are reported, nothing changes.
    let broken = config(
        false,
        &[&a, &b.replace("type: openai", "type: nosuchtype")],
        &[("alpha", "alpha-*", "a"), ("beta", "beta-*", "nowhere")],
    );
    std::fs::write(&path, broken).unwrap();
    let r = send(gw.admin, "POST", "/admin/reload", "", &[]).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let j = r.json();
    assert_eq!(j["ok"], false);
    let errors: Vec<String> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("nosuchtype")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.contains("nowhere")), "{errors:?}");
    // The old config still serves.
    let r = post(gw.addr, "/v1/chat/completions", chat("beta-1")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-switchyard-provider"), Some("b"));
    let s = reload_status(&gw).await;
    assert_eq!(s["version"], version);
    assert_eq!(s["generation"], 2);
    assert_eq!(s["lastAttempt"]["ok"], false);
    assert_eq!(s["lastAttempt"]["trigger"], "api");
    assert_eq!(s["lastAttempt"]["errors"].as_array().unwrap().len(), 2);
    let m = metrics(&gw).await;
    assert!(
        m.contains("switchyard_config_reloads_total{result=\"error\"} 1"),
        "{m}"
    );

    // Unreadable YAML: one clear error, still nothing changes.
    std::fs::write(&path, "providers: [ {").unwrap();
    let r = send(gw.admin, "POST", "/admin/reload", "", &[]).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("alpha-1"))
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_state_survives_a_reload_and_removed_ones_are_forgotten() {
    let emu = default_emulator().await;
    let dir = TempDir::new("health");
    let path = dir.file();
    let failover = format!(
        "    failover: {{ enabled: true, failureThreshold: 1, healthCheckModel: {HC_MODEL}, healthCheckInterval: 200ms }}\n"
    );
    let a = provider("a", emu.addr, "\"sk-good\", \"bad-revoked-1\"") + &failover;
    let b = provider("b", emu.addr, "\"sk-b\"");
    std::fs::write(&path, config(false, &[&a], &[("alpha", "alpha-*", "a")])).unwrap();
    let gw = gateway_from_file(&path).await;
    // Drive the bad token out of rotation.
    wait_until(
        Duration::from_secs(5),
        "bad-revoked-1 out of rotation",
        || async {
            post(gw.addr, "/v1/chat/completions", chat("alpha-1")).await;
            gw.states("a").await[1]["state"] == "out"
        },
    )
    .await;

    // A reload that keeps provider a as it is.
    std::fs::write(
        &path,
        config(
            false,
            &[&a, &b],
            &[("alpha", "alpha-*", "a"), ("beta", "beta-*", "b")],
        ),
    )
    .unwrap();
    let r = send(gw.admin, "POST", "/admin/reload", "", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        gw.states("a").await[1]["state"],
        "out",
        "state kept across the reload"
    );
    emu.emulator.clear_requests();
    for _ in 0..30 {
        assert_eq!(
            post(gw.addr, "/v1/chat/completions", chat("alpha-1"))
                .await
                .status,
            200
        );
    }
    let live_to_bad = emu
        .emulator
        .requests()
        .iter()
        .filter(|r| {
            r.credential.as_deref() == Some("bad-revoked-1") && r.model.as_deref() != Some(HC_MODEL)
        })
        .count();
    assert_eq!(
        live_to_bad, 0,
        "a token out of rotation got live traffic after the reload"
    );

    // It is still checked, and comes back once it works.
    emu.emulator
        .set_behaviour("bad-revoked-1", Some(Behaviour::Ok));
    wait_until(
        Duration::from_secs(5),
        "bad-revoked-1 back in rotation",
        || async { gw.states("a").await[1]["state"] == "healthy" },
    )
    .await;
    assert!(
        emu.emulator
            .requests()
            .iter()
            .any(|r| r.credential.as_deref() == Some("bad-revoked-1")
                && r.model.as_deref() == Some(HC_MODEL)),
        "the health check after the reload"
    );

    // Removed, then added again: it starts healthy (its old record is gone).
    emu.emulator.set_behaviour("bad-revoked-1", None);
    wait_until(
        Duration::from_secs(5),
        "bad-revoked-1 out again",
        || async {
            post(gw.addr, "/v1/chat/completions", chat("alpha-1")).await;
            gw.states("a").await[1]["state"] == "out"
        },
    )
    .await;
    let only_good = provider("a", emu.addr, "\"sk-good\"") + &failover;
    std::fs::write(
        &path,
        config(false, &[&only_good], &[("alpha", "alpha-*", "a")]),
    )
    .unwrap();
    assert_eq!(
        send(gw.admin, "POST", "/admin/reload", "", &[])
            .await
            .status,
        200
    );
    assert_eq!(gw.states("a").await.len(), 1);
    std::fs::write(&path, config(false, &[&a], &[("alpha", "alpha-*", "a")])).unwrap();
    assert_eq!(
        send(gw.admin, "POST", "/admin/reload", "", &[])
            .await
            .status,
        200
    );
    let states = gw.states("a").await;
    assert_eq!(states[1]["state"], "healthy", "{states:?}");
    assert_eq!(states[1]["consecutiveFailures"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_started_before_a_reload_completes() {
    let emu = emulator(MockConfig {
        stream_chunks: 8,
        chunk_delay: Duration::from_millis(100),
        ..MockConfig::default()
    })
    .await;
    let other = default_emulator().await;
    let dir = TempDir::new("stream");
    let path = dir.file();
    let a = provider("a", emu.addr, "\"sk-a\"");
    std::fs::write(&path, config(false, &[&a], &[("alpha", "alpha-*", "a")])).unwrap();
    let gw = gateway_from_file(&path).await;

    let req = http::Request::post(format!("http://{}/v1/chat/completions", gw.addr))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            serde_json::to_vec(&chat_stream("alpha-1")).unwrap(),
        )))
        .unwrap();
    let resp = client().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    // Provider a is removed while its stream is running.
    let b = provider("b", other.addr, "\"sk-b\"");
    std::fs::write(&path, config(false, &[&b], &[("all", "*", "b")])).unwrap();
    let r = send(gw.admin, "POST", "/admin/reload", "", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["changes"][0], "providers added: b");
    let r = post(gw.addr, "/v1/chat/completions", chat("alpha-1")).await;
    assert_eq!(
        r.header("x-switchyard-provider"),
        Some("b"),
        "new requests use the new config"
    );

    let (body, events) = read_done_stream(resp).await;
    let chunks: Vec<serde_json::Value> = events
        .iter()
        .filter_map(|e| serde_json::from_str(e).ok())
        .collect();
    let content = chunks
        .iter()
        .filter(|v| {
            v["choices"][0]["delta"]["content"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
        })
        .count();
    assert_eq!(
        content, 8,
        "every content chunk of the old provider arrived: {events:?}"
    );
    assert_eq!(
        chunks
            .iter()
            .filter(|v| v["choices"][0]["finish_reason"] == "stop")
            .count(),
        1
    );
    assert!(!String::from_utf8_lossy(&body).contains("error"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_over_ten_reloads_all_succeed() {
    let emu = default_emulator().await;
    let dir = TempDir::new("many");
    let path = dir.file();
    let a = provider("a", emu.addr, "\"sk-a\"");
    let c = provider("c", emu.addr, "\"sk-c\"");
    let one = config(false, &[&a], &[("alpha", "alpha-*", "a")]);
    let two = config(
        false,
        &[&c, &a],
        &[("alpha", "alpha-*", "c"), ("beta", "beta-*", "a")],
    );
    std::fs::write(&path, &one).unwrap();
    let gw = gateway_from_file(&path).await;
    let addr = gw.addr;
    let sender = tokio::spawn(async move {
        let mut statuses = Vec::new();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..1000u32 {
            if tasks.len() >= 16 {
                statuses.push(tasks.join_next().await.unwrap().unwrap());
            }
            let body = if i % 5 == 0 {
                chat_stream("alpha-1")
            } else {
                chat("alpha-1")
            };
            tasks.spawn(async move {
                post(addr, "/v1/chat/completions", body)
                    .await
                    .status
                    .as_u16()
            });
        }
        while let Some(s) = tasks.join_next().await {
            statuses.push(s.unwrap());
        }
        statuses
    });
    for i in 0..10 {
        std::fs::write(&path, if i % 2 == 0 { &two } else { &one }).unwrap();
        let r = send(gw.admin, "POST", "/admin/reload", "", &[]).await;
        assert_eq!(r.status, 200, "{}", r.text());
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let statuses = sender.await.unwrap();
    assert_eq!(statuses.len(), 1000);
    let failed: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(failed.is_empty(), "{} failed: {failed:?}", failed.len());
    assert_eq!(reload_status(&gw).await["generation"], 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_names_of_a_reloaded_config_keep_their_metric_label() {
    let emu = default_emulator().await;
    let dir = TempDir::new("labels");
    let path = dir.file();
    let a = provider("a", emu.addr, "\"sk-a\"");
    // No room for names the config does not use: they count as `other`.
    let with_metrics = |routes: &[(&str, &str, &str)]| {
        config(false, &[&a], routes) + "metrics: { maxModels: 0 }\n"
    };
    std::fs::write(&path, with_metrics(&[("alpha", "alpha-*", "a")])).unwrap();
    let gw = gateway_from_file(&path).await;
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("alpha-1"))
            .await
            .status,
        200
    );
    std::fs::write(
        &path,
        with_metrics(&[("beta", "beta-1", "a"), ("alpha", "alpha-*", "a")]),
    )
    .unwrap();
    assert_eq!(
        send(gw.admin, "POST", "/admin/reload", "", &[])
            .await
            .status,
        200
    );
    assert_eq!(
        post(gw.addr, "/v1/chat/completions", chat("beta-1"))
            .await
            .status,
        200
    );
    let m = metrics(&gw).await;
    assert!(
        m.contains(r#"switchyard_requests_total{route="alpha",provider="a",model="other""#),
        "{m}"
    );
    assert!(
        m.contains(r#"switchyard_requests_total{route="beta",provider="a",model="beta-1""#),
        "{m}"
    );
}
