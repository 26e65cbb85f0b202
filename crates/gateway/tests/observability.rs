//! Metrics, access log and token accounting, end to end: real sockets,
//! the emulator in every dialect, `/metrics` scraped after scripted
//! traffic and the access log read back from a file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

async fn scrape(gw: &TestGateway) -> (String, Vec<Sample>) {
    let r = send(gw.admin, "GET", "/metrics", "", &[]).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type").unwrap().starts_with("text/plain"),
        "{:?}",
        r.headers
    );
    let text = r.text();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test]
async fn metrics_count_scripted_traffic_exactly() {
    let emu = default_emulator().await;
    let e = emu.addr;
    let log = log_path("obs", "scripted");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: main, type: openai, baseUrl: "http://{e}", apiTokens: ["sk-main-000000001"] }}
  - id: pool
    type: openai
    baseUrl: "http://{e}"
    apiTokens: ["limited-pool-0001", "sk-pool-000000002"]
    tokenSelection: round-robin
    retryOnFailure: {{ enabled: true, maxRetries: 1 }}
  - {{ id: broken, type: openai, baseUrl: "http://{e}", apiTokens: ["down-broken-0001"] }}
  - id: flaky
    type: openai
    baseUrl: "http://{e}"
    apiTokens: ["sk-flaky-00000001"]
    failover: {{ enabled: true, failureThreshold: 1, healthCheckInterval: 50ms, healthCheckModel: ping }}
  - id: cool
    type: openai
    baseUrl: "http://{e}"
    apiTokens: ["sk-cool-000000001"]
    failover: {{ enabled: true, failureThreshold: 1, cooldown: 100ms }}
routes:
  - {{ name: chat, models: ["gpt-4o-mini"], provider: main }}
  - {{ name: retrying, models: ["retry-me"], provider: pool }}
  - name: degraded
    models: ["qwen-turbo"]
    provider: broken
    fallback: {{ onStatus: ["5xx"], targets: [{{ provider: main, model: gpt-4o-mini }}] }}
  - {{ name: flaky, models: ["flaky"], provider: flaky }}
  - {{ name: cool, models: ["cool"], provider: cool }}
log: {{ access: "{}" }}
"#,
        log.display()
    ))
    .await;

    // 3 answers, 2 streams (one asking for usage itself).
    let mut input = 0;
    let mut output = 0;
    for i in 0..3 {
        let r = post_id(
            gw.addr,
            "/v1/chat/completions",
            &format!("plain-{i}"),
            chat("gpt-4o-mini"),
        )
        .await;
        assert_eq!(r.status, 200);
        let overhead: f64 = r
            .header("x-switchyard-overhead-ms")
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..1000.0).contains(&overhead), "{overhead}");
        input += r.json()["usage"]["prompt_tokens"].as_u64().unwrap();
        output += r.json()["usage"]["completion_tokens"].as_u64().unwrap();
    }
    let mut body = chat_stream("gpt-4o-mini");
    body["stream_options"] = json!({"include_usage": true});
    let r = post_id(gw.addr, "/v1/chat/completions", "stream-usage", body).await;
    let last: Value = sse_data(&r.body)
        .iter()
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str::<Value>(d).unwrap())
        .next_back()
        .unwrap();
    input += last["usage"]["prompt_tokens"].as_u64().unwrap();
    output += last["usage"]["completion_tokens"].as_u64().unwrap();
    let r = post_id(
        gw.addr,
        "/v1/chat/completions",
        "stream-plain",
        chat_stream("gpt-4o-mini"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        !r.text().contains("\"usage\":{"),
        "the usage chunk the gateway asked for is hidden"
    );

    // 429 then a retry with the other credential; 503 then a fallback.
    let r = post_id(gw.addr, "/v1/chat/completions", "retried", chat("retry-me")).await;
    assert_eq!(r.status, 200);
    input += r.json()["usage"]["prompt_tokens"].as_u64().unwrap();
    output += r.json()["usage"]["completion_tokens"].as_u64().unwrap();
    let r = post_id(
        gw.addr,
        "/v1/chat/completions",
        "fell-back",
        chat("qwen-turbo"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-switchyard-fallback-from"),
        Some("broken/qwen-turbo")
    );
    input += r.json()["usage"]["prompt_tokens"].as_u64().unwrap();
    output += r.json()["usage"]["completion_tokens"].as_u64().unwrap();
    // No route: the gateway's own 404.
    let r = post_id(gw.addr, "/v1/chat/completions", "no-route", chat("nope")).await;
    assert_eq!(r.status, 404);

    // A credential goes down, is checked, and comes back.
    emu.emulator.set_behaviour(
        "sk-flaky-00000001",
        Some(switchyard_emulator::Behaviour::Unavailable),
    );
    let r = post_id(gw.addr, "/v1/chat/completions", "flaky-down", chat("flaky")).await;
    assert_eq!(r.status, 503);
    let (_, s) = scrape(&gw).await;
    let cred = [("provider", "flaky"), ("credential", "sk-…0001")];
    assert_eq!(value(&s, "switchyard_credential_healthy", &cred), 0.0);
    assert_eq!(
        value(
            &s,
            "switchyard_credential_transitions_total",
            &[("provider", "flaky"), ("to", "out")]
        ),
        1.0
    );
    emu.emulator.set_behaviour(
        "sk-flaky-00000001",
        Some(switchyard_emulator::Behaviour::Ok),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let (_, s) = scrape(&gw).await;
        if value(&s, "switchyard_credential_healthy", &cred) == 1.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "credential never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Another leaves rotation and comes back at the end of its cooldown.
    emu.emulator.set_behaviour(
        "sk-cool-000000001",
        Some(switchyard_emulator::Behaviour::Unavailable),
    );
    let r = post_id(gw.addr, "/v1/chat/completions", "cool-down", chat("cool")).await;
    assert_eq!(r.status, 503);
    emu.emulator.set_behaviour(
        "sk-cool-000000001",
        Some(switchyard_emulator::Behaviour::Ok),
    );
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = post_id(gw.addr, "/v1/chat/completions", "cool-back", chat("cool")).await;
    assert_eq!(r.status, 200);
    output += r.json()["usage"]["completion_tokens"].as_u64().unwrap();

    let (text, s) = scrape(&gw).await;
    let cool = [("provider", "cool"), ("credential", "sk-…0001")];
    assert_eq!(value(&s, "switchyard_credential_healthy", &cool), 1.0);
    for to in ["out", "in"] {
        assert_eq!(
            value(
                &s,
                "switchyard_credential_transitions_total",
                &[cool[0], cool[1], ("to", to)]
            ),
            1.0,
            "{to}"
        );
    }
    // Credentials that never left are there too, at zero.
    assert!(text.contains(
        r#"switchyard_credential_transitions_total{provider="main",credential="sk-…0001",to="out"} 0"#
    ));
    let req = |route: &str, class: &str| {
        value(
            &s,
            "switchyard_requests_total",
            &[
                ("route", route),
                ("status_class", class),
                ("consumer", "none"),
            ],
        )
    };
    assert_eq!(req("chat", "2xx"), 5.0, "{text}");
    assert_eq!(req("retrying", "2xx"), 1.0);
    assert_eq!(req("degraded", "2xx"), 1.0);
    assert_eq!(req("none", "4xx"), 1.0);
    assert_eq!(req("flaky", "5xx"), 1.0);
    assert_eq!(req("cool", "5xx"), 1.0);
    assert_eq!(req("cool", "2xx"), 1.0);
    assert_eq!(value(&s, "switchyard_requests_total", &[]), 11.0);
    // The model that served, not the one asked for.
    assert_eq!(
        value(
            &s,
            "switchyard_requests_total",
            &[
                ("route", "degraded"),
                ("provider", "main"),
                ("model", "gpt-4o-mini")
            ]
        ),
        1.0
    );
    // Histograms: one observation per request, buckets cumulative.
    assert_eq!(
        value(&s, "switchyard_request_duration_seconds_count", &[]),
        11.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_request_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        11.0
    );
    assert_eq!(
        value(&s, "switchyard_gateway_overhead_seconds_count", &[]),
        11.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_time_to_first_token_seconds_count",
            &[("route", "chat")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_time_per_output_token_seconds_count",
            &[("route", "chat")]
        ),
        2.0
    );
    // Attempts: 5 + 2 (retry) + 2 (fallback) + 1 (flaky) + 2 (cool) upstream calls.
    assert_eq!(
        value(&s, "switchyard_upstream_duration_seconds_count", &[]),
        12.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_upstream_failures_total",
            &[("kind", "upstream_status"), ("status", "429")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_upstream_failures_total",
            &[("kind", "upstream_status"), ("status", "503")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_retries_total",
            &[("route", "retrying"), ("provider", "pool")]
        ),
        1.0
    );
    assert_eq!(value(&s, "switchyard_retries_total", &[]), 1.0);
    assert_eq!(
        value(
            &s,
            "switchyard_fallbacks_total",
            &[("route", "degraded"), ("from", "broken"), ("to", "main")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_gateway_errors_total",
            &[("code", "model_not_found")]
        ),
        1.0
    );
    // Tokens: the provider's counts, for streams too.
    assert_eq!(
        value(
            &s,
            "switchyard_tokens_total",
            &[("type", "input"), ("estimated", "false"), ("route", "chat")]
        ) + value(
            &s,
            "switchyard_tokens_total",
            &[
                ("type", "input"),
                ("estimated", "false"),
                ("route", "retrying")
            ]
        ) + value(
            &s,
            "switchyard_tokens_total",
            &[
                ("type", "input"),
                ("estimated", "false"),
                ("route", "degraded")
            ]
        ),
        (input
            + log_lines(&log)["stream-plain"]["input_token"]
                .as_u64()
                .unwrap()) as f64
    );
    let stream_plain_out = log_lines(&log)["stream-plain"]["output_token"]
        .as_u64()
        .unwrap();
    assert!(stream_plain_out > 0);
    assert_eq!(
        value(&s, "switchyard_tokens_total", &[("type", "output")]),
        (output + stream_plain_out) as f64
    );
    assert_eq!(
        value(&s, "switchyard_tokens_total", &[("estimated", "true")]),
        0.0
    );
    // Credentials: every one has a gauge, masked; health checks counted.
    assert_eq!(
        value(&s, "switchyard_credential_healthy", &[("provider", "pool")]),
        2.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_credential_transitions_total",
            &[("provider", "flaky"), ("to", "in")]
        ),
        1.0
    );
    assert!(
        value(
            &s,
            "switchyard_health_checks_total",
            &[("provider", "flaky"), ("result", "success")]
        ) >= 1.0
    );
    assert!(!text.contains("sk-flaky-00000001") && !text.contains("pool-000000002"));
    for family in [
        "switchyard_request_duration_seconds",
        "switchyard_upstream_duration_seconds",
        "switchyard_gateway_overhead_seconds",
        "switchyard_time_to_first_token_seconds",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} histogram")),
            "{family}"
        );
    }

    // The access log: one line per request, with the reference's fields.
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 11, "{lines:#?}");
    let r = &lines["retried"];
    assert_eq!(r["route"], "retrying");
    assert_eq!(r["status"], 200);
    assert_eq!(r["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(r["attempts"][0]["status"], 429);
    assert_eq!(r["attempts"][0]["credential"], "limi…0001");
    assert_eq!(r["attempts"][1]["status"], 200);
    let f = &lines["fell-back"];
    assert_eq!(f["fallback_from"], "broken/qwen-turbo");
    assert_eq!(f["model"], "gpt-4o-mini");
    assert_eq!(f["requested_model"], "qwen-turbo");
    assert_eq!(f["provider"], "main");
    let st = &lines["stream-usage"];
    assert_eq!(st["response_type"], "stream");
    assert!(st["llm_first_token_duration"].as_f64().unwrap() > 0.0);
    assert!(st["chat_id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(st["finish_reason"], "stop");
    assert_eq!(
        st["total_token"].as_u64().unwrap(),
        st["input_token"].as_u64().unwrap() + st["output_token"].as_u64().unwrap()
    );
    let n = &lines["no-route"];
    assert_eq!(n["status"], 404);
    assert!(n["error"].as_str().unwrap().starts_with("model_not_found"));
    let p = &lines["plain-0"];
    assert_eq!(p["response_type"], "normal");
    assert!(p["chat_id"].as_str().unwrap().starts_with("chatcmpl-"));
    for field in [
        "api",
        "model",
        "requested_model",
        "provider",
        "route",
        "consumer",
        "input_token",
        "output_token",
        "total_token",
        "cached_token",
        "reasoning_token",
        "response_type",
        "llm_first_token_duration",
        "llm_service_duration",
        "gateway_overhead",
        "status",
        "attempts",
        "fallback_from",
        "chat_id",
        "request_id",
        "error",
    ] {
        assert!(p.get(field).is_some(), "missing {field}: {p}");
    }
}

/// Text a client received in an OpenAI stream.
fn openai_stream_text(body: &[u8]) -> String {
    sse_data(body)
        .iter()
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| {
            let d = &v["choices"][0]["delta"];
            d["content"].as_str().map(str::to_string)
        })
        .collect()
}

#[tokio::test]
async fn streamed_tokens_in_every_dialect_with_and_without_usage() {
    let emu = default_emulator().await;
    let e = emu.addr;
    let log = log_path("obs", "dialects");
    let mut providers = String::new();
    let mut routes = String::new();
    for (kind, extra) in [
        ("openai", ""),
        ("claude", ""),
        ("gemini", ""),
        ("bedrock", ", awsRegion: us-east-1"),
    ] {
        for (suffix, token) in [("ok", "sk-good-0000001"), ("nu", "nousage-000001")] {
            let id = format!("{kind}-{suffix}");
            providers.push_str(&format!(
                "  - {{ id: {id}, type: {kind}, baseUrl: \"http://{e}\", apiTokens: [\"{token}\"], modelMapping: {{ \"*\": gpt-4o-mini }}{extra} }}\n"
            ));
            routes.push_str(&format!(
                "  - {{ name: {id}, models: [\"{id}\"], provider: {id} }}\n"
            ));
        }
    }
    let gw = gateway(&format!(
        "providers:\n{providers}routes:\n{routes}log: {{ access: \"{}\" }}\n",
        log.display()
    ))
    .await;

    let mut texts = BTreeMap::new();
    let mut client_usage = BTreeMap::new();
    for kind in ["openai", "claude", "gemini", "bedrock"] {
        for suffix in ["ok", "nu"] {
            let model = format!("{kind}-{suffix}");
            let mut body = chat_stream(&model);
            body["stream_options"] = json!({"include_usage": true});
            let r = post_id(gw.addr, "/v1/chat/completions", &model, body).await;
            assert_eq!(r.status, 200, "{model}: {}", r.text());
            texts.insert(model.clone(), openai_stream_text(&r.body));
            let usage = sse_data(&r.body)
                .iter()
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find_map(|v| v.get("usage").filter(|u| u.is_object()).cloned());
            client_usage.insert(model, usage);
        }
    }
    // Claude and Gemini clients on their own dialect: relayed untranslated.
    let r = post_id(
        gw.addr,
        "/v1/messages",
        "claude-native-ok",
        json!({"model": "claude-ok", "max_tokens": 100, "stream": true,
               "messages": [{"role": "user", "content": "Hello there"}]}),
    )
    .await;
    assert_eq!(r.status, 200);
    let r = post_id(
        gw.addr,
        "/v1/messages",
        "claude-native-nu",
        json!({"model": "claude-nu", "max_tokens": 100, "stream": true,
               "messages": [{"role": "user", "content": "Hello there"}]}),
    )
    .await;
    assert_eq!(r.status, 200);
    for (id, model) in [
        ("gemini-native-ok", "gemini-ok"),
        ("gemini-native-nu", "gemini-nu"),
    ] {
        let r = post_id(
            gw.addr,
            &format!("/v1beta/models/{model}:streamGenerateContent?alt=sse"),
            id,
            json!({"contents": [{"role": "user", "parts": [{"text": "Hello there"}]}]}),
        )
        .await;
        assert_eq!(r.status, 200);
    }

    scrape(&gw).await;
    let lines = log_lines(&log);
    for kind in ["openai", "claude", "gemini", "bedrock"] {
        let ok = &lines[&format!("{kind}-ok")];
        let usage = client_usage[&format!("{kind}-ok")].clone().unwrap();
        assert_eq!(ok["token_estimated"], false, "{kind}: {ok}");
        assert_eq!(ok["input_token"], usage["prompt_tokens"], "{kind}: {ok}");
        assert_eq!(
            ok["output_token"], usage["completion_tokens"],
            "{kind}: {ok}"
        );
        assert!(ok["output_token"].as_u64().unwrap() > 0);
        assert!(
            ok["llm_first_token_duration"].as_f64().is_some(),
            "{kind}: {ok}"
        );

        let nu = &lines[&format!("{kind}-nu")];
        assert_eq!(nu["token_estimated"], true, "{kind}: {nu}");
        let text = &texts[&format!("{kind}-nu")];
        assert!(!text.is_empty());
        assert_eq!(
            nu["output_token"].as_u64().unwrap(),
            switchyard_tokens::count_text("gpt-4o-mini", text),
            "{kind}: the estimate counts exactly the text delivered: {nu}"
        );
        // The prompt is counted by the tokenizer (the OpenAI formula).
        let prompt =
            switchyard_protocol::openai::decode_request(&serde_json::to_vec(&chat("x")).unwrap())
                .unwrap();
        assert_eq!(
            nu["input_token"].as_u64().unwrap(),
            switchyard_tokens::count_prompt("gpt-4o-mini", &prompt),
            "{kind}: {nu}"
        );
    }
    for id in ["claude-native-ok", "gemini-native-ok"] {
        let l = &lines[id];
        assert_eq!(l["token_estimated"], false, "{l}");
        assert!(l["input_token"].as_u64().unwrap() > 0, "{l}");
        assert!(l["output_token"].as_u64().unwrap() > 0, "{l}");
        assert!(l["llm_first_token_duration"].as_f64().is_some(), "{l}");
    }
    for id in ["claude-native-nu", "gemini-native-nu"] {
        let l = &lines[id];
        assert_eq!(l["token_estimated"], true, "{l}");
        assert!(l["input_token"].as_u64().unwrap() > 0, "{l}");
        assert!(l["output_token"].as_u64().unwrap() > 0, "{l}");
    }
    // Native relays count what the translated path counts for the same answer.
    assert_eq!(
        lines["claude-native-ok"]["output_token"],
        lines["claude-ok"]["output_token"]
    );
}

#[tokio::test]
async fn a_stream_cut_mid_way_is_logged_with_what_was_delivered() {
    let emu = default_emulator().await;
    let log = log_path("obs", "cut");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: p, type: openai, baseUrl: "http://{}", apiTokens: ["cut-000000001"] }}
log: {{ access: "{}" }}
"#,
        emu.addr,
        log.display()
    ))
    .await;
    let r = post_id(
        gw.addr,
        "/v1/chat/completions",
        "cut",
        chat_stream("gpt-4o-mini"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("stream_interrupted"), "{}", r.text());
    let delivered = openai_stream_text(&r.body);
    assert!(!delivered.is_empty());
    let (_, s) = scrape(&gw).await;
    let l = &log_lines(&log)["cut"];
    assert_eq!(l["status"], 200);
    assert!(
        l["error"]
            .as_str()
            .unwrap()
            .starts_with("stream_interrupted"),
        "{l}"
    );
    assert_eq!(l["token_estimated"], true);
    assert_eq!(
        l["output_token"].as_u64().unwrap(),
        switchyard_tokens::count_text("gpt-4o-mini", &delivered)
    );
    assert!(l["input_token"].as_u64().unwrap() > 0);
    assert_eq!(
        value(
            &s,
            "switchyard_upstream_failures_total",
            &[("kind", "stream_interrupted")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &s,
            "switchyard_tokens_total",
            &[("type", "output"), ("estimated", "true")]
        ),
        l["output_token"].as_u64().unwrap() as f64
    );
}

#[tokio::test]
async fn a_client_that_leaves_mid_stream_is_still_accounted() {
    use http_body_util::BodyExt;
    let emu = emulator(switchyard_emulator::MockConfig {
        stream_chunks: 12,
        chunk_delay: Duration::from_millis(30),
        ..Default::default()
    })
    .await;
    let log = log_path("obs", "gone");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: p, type: openai, baseUrl: "http://{}", apiTokens: ["sk-000000000001"] }}
log: {{ access: "{}" }}
"#,
        emu.addr,
        log.display()
    ))
    .await;
    let req = http::Request::post(format!("http://{}/v1/chat/completions", gw.addr))
        .header("content-type", "application/json")
        .header("x-request-id", "leaver")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            serde_json::to_vec(&chat_stream("gpt-4o-mini")).unwrap(),
        )))
        .unwrap();
    let resp = client().request(req).await.unwrap();
    let mut body = resp.into_body();
    // Read until some text has come, then hang up.
    let mut got = Vec::new();
    while openai_stream_text(&got).is_empty() {
        let f = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Ok(d) = f.into_data() {
            got.extend_from_slice(&d);
        }
    }
    drop(body);
    let delivered = openai_stream_text(&got);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let line = loop {
        scrape(&gw).await;
        if let Some(l) = log_lines(&log).remove("leaver") {
            break l;
        }
        assert!(tokio::time::Instant::now() < deadline, "never logged");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(line["client_disconnected"], true, "{line}");
    assert_eq!(line["token_estimated"], true, "{line}");
    // The gateway may have relayed an event or two more than this client
    // read before it noticed; never fewer.
    let out = line["output_token"].as_u64().unwrap();
    let read = switchyard_tokens::count_text("gpt-4o-mini", &delivered);
    assert!(
        out >= read && out <= read + 4,
        "partial output counted ({read} read): {line}"
    );
    assert!(
        line["llm_first_token_duration"].as_f64().is_some(),
        "{line}"
    );
}

#[tokio::test]
async fn model_labels_stay_bounded_whatever_clients_send() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: p, type: openai, baseUrl: "http://{}", apiTokens: ["sk-000000000001"], modelMapping: {{ "gpt-4o": "gpt-4o-2024-08-06" }} }}
metrics: {{ maxModels: 3 }}
"#,
        emu.addr
    ))
    .await;
    for i in 0..10 {
        let r = post(
            gw.addr,
            "/v1/chat/completions",
            chat(&format!("client-model-{i}")),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let r = post(gw.addr, "/v1/chat/completions", chat("gpt-4o")).await;
    assert_eq!(r.status, 200);
    let (_, s) = scrape(&gw).await;
    let models: std::collections::BTreeSet<&str> = s
        .iter()
        .filter(|x| x.name == "switchyard_requests_total")
        .map(|x| x.labels["model"].as_str())
        .collect();
    assert_eq!(
        models.into_iter().collect::<Vec<_>>(),
        vec![
            "client-model-0",
            "client-model-1",
            "client-model-2",
            "gpt-4o-2024-08-06",
            "other"
        ]
    );
    assert_eq!(
        value(&s, "switchyard_requests_total", &[("model", "other")]),
        7.0
    );
}

#[tokio::test]
async fn non_streamed_answers_count_usage_in_every_client_dialect() {
    let emu = default_emulator().await;
    let e = emu.addr;
    let log = log_path("obs", "plain");
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: oai, type: openai, baseUrl: "http://{e}", apiTokens: ["sk-0000000000001"] }}
  - {{ id: oai-nu, type: openai, baseUrl: "http://{e}", apiTokens: ["nousage-0000001"] }}
  - {{ id: claude, type: claude, baseUrl: "http://{e}", apiTokens: ["sk-ant-00000001"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{e}", apiTokens: ["gm-000000000001"] }}
routes:
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: nousage, models: ["nu-*"], provider: oai-nu }}
  - {{ name: openai, models: ["*"], provider: oai }}
log: {{ access: "{}" }}
"#,
        log.display()
    ))
    .await;
    let r = post_id(gw.addr, "/v1/chat/completions", "oa", chat("gpt-4o-mini")).await;
    let oa_usage = r.json()["usage"].clone();
    let r = post_id(
        gw.addr,
        "/v1/chat/completions",
        "oa-claude",
        chat("claude-x"),
    )
    .await;
    let claude_usage = r.json()["usage"].clone();
    let r = post_id(
        gw.addr,
        "/v1/messages",
        "claude-native",
        json!({"model": "claude-x", "max_tokens": 50, "messages": [{"role": "user", "content": "Hello there"}]}),
    )
    .await;
    let native_usage = r.json()["usage"].clone();
    let r = post_id(
        gw.addr,
        "/v1beta/models/gemini-x:generateContent",
        "gemini-native",
        json!({"contents": [{"role": "user", "parts": [{"text": "Hello there"}]}]}),
    )
    .await;
    let gemini_usage = r.json()["usageMetadata"].clone();
    let r = post_id(gw.addr, "/v1/chat/completions", "nu", chat("nu-gpt-4o")).await;
    assert!(r.json().get("usage").is_none());
    let nu_text = r.json()["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post_id(
        gw.addr,
        "/v1/embeddings",
        "emb",
        json!({"model": "text-embedding-3-small", "input": "Hello there"}),
    )
    .await;
    let emb_usage = r.json()["usage"].clone();

    scrape(&gw).await;
    let l = log_lines(&log);
    assert_eq!(l["oa"]["input_token"], oa_usage["prompt_tokens"]);
    assert_eq!(l["oa"]["output_token"], oa_usage["completion_tokens"]);
    assert_eq!(l["oa-claude"]["input_token"], claude_usage["prompt_tokens"]);
    assert_eq!(
        l["oa-claude"]["output_token"],
        claude_usage["completion_tokens"]
    );
    assert_eq!(
        l["claude-native"]["input_token"],
        native_usage["input_tokens"]
    );
    assert_eq!(
        l["claude-native"]["output_token"],
        native_usage["output_tokens"]
    );
    assert_eq!(
        l["gemini-native"]["input_token"],
        gemini_usage["promptTokenCount"]
    );
    assert_eq!(
        l["gemini-native"]["output_token"],
        gemini_usage["candidatesTokenCount"]
    );
    assert_eq!(l["emb"]["input_token"], emb_usage["prompt_tokens"]);
    assert_eq!(l["emb"]["api"], "embeddings");
    for id in ["oa", "oa-claude", "claude-native", "gemini-native", "emb"] {
        assert_eq!(l[id]["token_estimated"], false, "{id}: {}", l[id]);
        assert!(
            l[id]["chat_id"].is_string() || id == "emb",
            "{id}: {}",
            l[id]
        );
    }
    assert_eq!(l["nu"]["token_estimated"], true);
    assert_eq!(
        l["nu"]["output_token"].as_u64().unwrap(),
        switchyard_tokens::count_text("nu-gpt-4o", &nu_text)
    );
}
