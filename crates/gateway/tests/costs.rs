//! What requests cost, end to end: real sockets, the emulator (and a
//! scripted upstream for cached tokens), the access log's `cost_usd`
//! read back from a file and `/metrics` scraped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// Scrape until the access log has `lines` lines (a scrape flushes the
/// workers' log blocks); the exposition and the lines.
async fn settle(
    gw: &TestGateway,
    log: &Path,
    lines: usize,
) -> (String, Vec<Sample>, BTreeMap<String, Value>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = send(gw.admin, "GET", "/metrics", "", &[]).await;
        assert_eq!(r.status, 200);
        let l = log_lines(log);
        if l.len() >= lines {
            let text = r.text();
            let samples = parse(&text);
            return (text, samples, l);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {lines} log lines",
            l.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// USD for `line`'s tokens at (input, cached input, output) per million,
/// computed as the gateway documents it.
fn expected(line: &Value, (input, cached_price, output): (f64, f64, f64)) -> f64 {
    let n = |k: &str| line[k].as_u64().unwrap();
    let cached = n("cached_token");
    ((n("input_token") - cached) as f64 * input
        + cached as f64 * cached_price
        + n("output_token") as f64 * output)
        / 1_000_000.0
}

/// Built-in `gpt-4o-mini`: 0.15 input, 0.075 cached, 0.60 output.
const MINI: (f64, f64, f64) = (0.15, 0.075, 0.60);

#[tokio::test]
async fn cost_is_price_times_usage_and_the_metric_is_the_sum() {
    let emu = default_emulator().await;
    let e = emu.addr;
    let log = log_path("costs", "priced");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: main, type: openai, baseUrl: "http://{e}", apiTokens: ["sk-main-000000001"] }}
  - {{ id: claude, type: claude, baseUrl: "http://{e}", apiTokens: ["sk-ant-000000001"] }}
routes:
  - {{ name: chat, models: ["gpt-4o-mini"], provider: main }}
  - {{ name: haiku, models: ["claude-3-5-haiku-20241022"], provider: claude }}
log: {{ access: "{}" }}
"#,
        log.display()
    ))
    .await;

    // Usage as the emulator reported it to the client, by request id.
    let mut reported: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for i in 0..2 {
        let id = format!("plain-{i}");
        let r = post_id(gw.addr, "/v1/chat/completions", &id, chat("gpt-4o-mini")).await;
        assert_eq!(r.status, 200);
        let u = &r.json()["usage"];
        reported.insert(
            id,
            (
                u["prompt_tokens"].as_u64().unwrap(),
                u["completion_tokens"].as_u64().unwrap(),
            ),
        );
    }
    let mut body = chat_stream("gpt-4o-mini");
    body["stream_options"] = json!({"include_usage": true});
    let r = post_id(gw.addr, "/v1/chat/completions", "stream-usage", body).await;
    assert_eq!(r.status, 200);
    let last: Value = sse_data(&r.body)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .next_back()
        .unwrap();
    reported.insert(
        "stream-usage".into(),
        (
            last["usage"]["prompt_tokens"].as_u64().unwrap(),
            last["usage"]["completion_tokens"].as_u64().unwrap(),
        ),
    );
    // A stream whose usage the gateway asked for itself (hidden from the
    // client): priced from the provider's count all the same.
    let r = post_id(
        gw.addr,
        "/v1/chat/completions",
        "stream-plain",
        chat_stream("gpt-4o-mini"),
    )
    .await;
    assert_eq!(r.status, 200);
    // Translated to Anthropic and back.
    let r = post_id(
        gw.addr,
        "/v1/chat/completions",
        "haiku",
        chat("claude-3-5-haiku-20241022"),
    )
    .await;
    assert_eq!(r.status, 200);
    let u = &r.json()["usage"];
    reported.insert(
        "haiku".into(),
        (
            u["prompt_tokens"].as_u64().unwrap(),
            u["completion_tokens"].as_u64().unwrap(),
        ),
    );

    let (text, s, lines) = settle(&gw, &log, 5).await;
    let mut sum = 0.0;
    for id in ["plain-0", "plain-1", "stream-usage", "stream-plain"] {
        let l = &lines[id];
        assert_eq!(l["token_estimated"], false, "{l}");
        if let Some(&(input, output)) = reported.get(id) {
            assert_eq!(l["input_token"], input, "{id}");
            assert_eq!(l["output_token"], output, "{id}");
        }
        let cost = l["cost_usd"].as_f64().unwrap_or_else(|| panic!("{l}"));
        assert!(cost > 0.0, "{l}");
        // Exactly what the price says.
        assert_eq!(cost, expected(l, MINI), "{l}");
        sum += cost;
    }
    let (n, metric) = series(
        &s,
        "switchyard_cost_usd_total",
        &[
            ("route", "chat"),
            ("provider", "main"),
            ("model", "gpt-4o-mini"),
            ("consumer", "none"),
        ],
    );
    assert_eq!(n, 1, "{text}");
    assert!((metric - sum).abs() <= sum * 1e-12, "{metric} vs {sum}");

    // Claude's own price, on its usage.
    let l = &lines["haiku"];
    assert_eq!(
        (l["input_token"].as_u64(), l["output_token"].as_u64()),
        (Some(reported["haiku"].0), Some(reported["haiku"].1))
    );
    let cost = l["cost_usd"].as_f64().unwrap();
    assert_eq!(cost, expected(l, (0.80, 0.08, 4.0)), "{l}");
    let (_, metric) = series(&s, "switchyard_cost_usd_total", &[("route", "haiku")]);
    assert!((metric - cost).abs() <= cost * 1e-12);

    // A counter with a float value, not a gauge.
    assert!(
        text.contains("# TYPE switchyard_cost_usd_total counter\n"),
        "{text}"
    );
    assert!(!text.contains("switchyard_cost_usd_total gauge"));
    assert_eq!(series(&s, "switchyard_unpriced_requests_total", &[]).0, 0);
}

#[tokio::test]
async fn config_prices_override_the_built_in_ones() {
    let emu = default_emulator().await;
    let e = emu.addr;
    let log = log_path("costs", "override");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: main, type: openai, baseUrl: "http://{e}", apiTokens: ["sk-main-000000001"] }}
routes:
  - {{ name: chat, models: ["gpt-4o-mini", "gpt-4o", "house-*"], provider: main }}
prices:
  gpt-4o-mini: {{ input: 1.5, output: 3.25, cachedInput: 0.5 }}
  "house-*": {{ input: 0.5, output: 0.25 }}
log: {{ access: "{}" }}
"#,
        log.display()
    ))
    .await;
    for (id, model) in [
        ("mini", "gpt-4o-mini"),
        ("full", "gpt-4o"),
        ("house", "house-special"),
    ] {
        let r = post_id(gw.addr, "/v1/chat/completions", id, chat(model)).await;
        assert_eq!(r.status, 200);
    }
    let (_, s, lines) = settle(&gw, &log, 3).await;
    let cost = |id: &str| lines[id]["cost_usd"].as_f64().unwrap();
    // The config's price, not the built-in 0.15 / 0.60.
    assert_eq!(cost("mini"), expected(&lines["mini"], (1.5, 0.5, 3.25)));
    // A model the config does not name keeps its built-in price.
    assert_eq!(cost("full"), expected(&lines["full"], (2.5, 1.25, 10.0)));
    // A config glob prices a model the built-in table does not know.
    assert_eq!(cost("house"), expected(&lines["house"], (0.5, 0.5, 0.25)));
    let (_, metric) = series(&s, "switchyard_cost_usd_total", &[("model", "gpt-4o-mini")]);
    assert!((metric - cost("mini")).abs() <= cost("mini") * 1e-12);
}

#[tokio::test]
async fn unpriced_models_are_counted_not_free() {
    let emu = default_emulator().await;
    let e = emu.addr;
    let log = log_path("costs", "unpriced");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: local, type: openai, baseUrl: "http://{e}", apiTokens: ["sk-local-00000001"] }}
  - {{ id: dead, type: openai, baseUrl: "http://{e}", apiTokens: ["down-dead-000001"] }}
routes:
  - {{ name: local, models: ["my-local-model"], provider: local }}
  - {{ name: dead, models: ["gpt-4o-mini"], provider: dead }}
log: {{ access: "{}" }}
"#,
        log.display()
    ))
    .await;
    for i in 0..2 {
        let r = post_id(
            gw.addr,
            "/v1/chat/completions",
            &format!("local-{i}"),
            chat("my-local-model"),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let r = post_id(
        gw.addr,
        "/v1/chat/completions",
        "local-stream",
        chat_stream("my-local-model"),
    )
    .await;
    assert_eq!(r.status, 200);
    // Nothing served: no cost, and not unpriced either.
    let r = post_id(gw.addr, "/v1/chat/completions", "dead", chat("gpt-4o-mini")).await;
    assert_eq!(r.status, 503);
    let r = post_id(gw.addr, "/v1/chat/completions", "no-route", chat("nope")).await;
    assert_eq!(r.status, 404);

    let (text, s, lines) = settle(&gw, &log, 5).await;
    for id in ["local-0", "local-1", "local-stream", "dead", "no-route"] {
        let l = &lines[id];
        assert!(l.as_object().unwrap().contains_key("cost_usd"), "{l}");
        assert_eq!(l["cost_usd"], Value::Null, "{l}");
    }
    assert!(lines["local-0"]["input_token"].as_u64().unwrap() > 0);
    assert_eq!(
        series(
            &s,
            "switchyard_unpriced_requests_total",
            &[
                ("route", "local"),
                ("provider", "local"),
                ("model", "my-local-model")
            ]
        ),
        (1, 3.0),
        "{text}"
    );
    assert_eq!(
        series(&s, "switchyard_unpriced_requests_total", &[]),
        (1, 3.0)
    );
    // No consumer label on it, and no cost series at all.
    assert!(
        s.iter()
            .filter(|x| x.name == "switchyard_unpriced_requests_total")
            .all(|x| !x.labels.contains_key("consumer"))
    );
    assert_eq!(series(&s, "switchyard_cost_usd_total", &[]).0, 0, "{text}");
}

#[tokio::test]
async fn cached_prompt_tokens_cost_the_cached_price() {
    // gpt-4o: 2.50 input, 1.25 cached, 10.00 output; 1000 prompt tokens of
    // which 600 cached, 200 output of which 50 reasoning.
    const BODY: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":200,"total_tokens":1200,"prompt_tokens_details":{"cached_tokens":600},"completion_tokens_details":{"reasoning_tokens":50}}}"#;
    let up = raw_upstream(|mut s| async move {
        read_request(&mut s).await;
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}",
            BODY.len()
        );
        s.write_all(resp.as_bytes()).await.unwrap();
    })
    .await;
    let log = log_path("costs", "cached");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: p, type: openai, baseUrl: "http://{up}", apiTokens: ["sk-test-00000001"] }}
log: {{ access: "{}" }}
"#,
        log.display()
    ))
    .await;
    let r = post_id(gw.addr, "/v1/chat/completions", "cached", chat("gpt-4o")).await;
    assert_eq!(r.status, 200);
    let (_, s, lines) = settle(&gw, &log, 1).await;
    let l = &lines["cached"];
    assert_eq!(l["cached_token"], 600);
    assert_eq!(l["reasoning_token"], 50);
    let want = (400.0 * 2.5 + 600.0 * 1.25 + 200.0 * 10.0) / 1_000_000.0;
    assert_eq!(l["cost_usd"].as_f64(), Some(want), "{l}");
    assert!((want - 0.00375).abs() < 1e-15);
    let (_, metric) = series(&s, "switchyard_cost_usd_total", &[("model", "gpt-4o")]);
    assert!((metric - want).abs() <= want * 1e-12);
}
