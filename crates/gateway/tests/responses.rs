//! `POST /v1/responses` end to end: passed through to a provider with the
//! Responses API (the emulator's `/v1/responses`), bridged to every other
//! dialect, streamed and not; function tools, `previous_response_id`, and
//! `GET` / `DELETE /v1/responses/{id}`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;

use common::*;
use serde_json::{Value, json};

fn providers(emu: SocketAddr) -> String {
    format!(
        r#"
providers:
  - {{ id: native, type: openai, baseUrl: "http://{emu}", apiTokens: ["sk-oai-000000001"] }}
  - {{ id: chat, type: openai, baseUrl: "http://{emu}", apiTokens: ["sk-chat-00000001"], responsesApi: false }}
  - {{ id: claude, type: claude, baseUrl: "http://{emu}", apiTokens: ["sk-ant-000000001"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{emu}", apiTokens: ["gm-key-000000001"] }}
  - {{ id: rock, type: bedrock, baseUrl: "http://{emu}", awsRegion: us-east-1, apiTokens: ["br-key-000000001"] }}
  - {{ id: broken, type: claude, baseUrl: "http://{emu}", apiTokens: ["bad-key-00000001"] }}
routes:
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: bedrock, models: ["anthropic.*"], provider: rock }}
  - {{ name: chat, models: ["chat-*"], provider: chat }}
  - {{ name: broken, models: ["broken-*"], provider: broken }}
  - {{ name: openai, models: ["gpt-*"], provider: native }}
"#
    )
}

/// (model, provider, a substring of the upstream path).
const BRIDGED: [(&str, &str, &str); 4] = [
    ("chat-model", "chat", "/v1/chat/completions"),
    ("claude-sonnet-4-5", "claude", "/v1/messages"),
    ("gemini-2.5-flash", "gem", ":generateContent"),
    (
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "rock",
        "/converse",
    ),
];

const NATIVE: (&str, &str, &str) = ("gpt-4o-mini", "native", "/v1/responses");

fn weather_tool() -> Value {
    json!([{"type": "function", "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

/// (event line, data) of every event of a Responses stream.
fn events(body: &[u8]) -> Vec<(String, Value)> {
    String::from_utf8_lossy(body)
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let ev = e
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap_or_else(|| panic!("no event line: {e}"));
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            (ev.to_string(), serde_json::from_str(data).unwrap())
        })
        .collect()
}

/// The lifecycle a client relies on; returns the final response.
fn check_lifecycle(events: &[(String, Value)], what: &str) -> Value {
    assert!(events.len() >= 3, "{what}: {events:?}");
    assert_eq!(events[0].0, "response.created", "{what}");
    assert_eq!(events[1].0, "response.in_progress", "{what}");
    let id = events[0].1["response"]["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("resp_"), "{what}: {id}");
    let mut open: HashMap<u64, String> = HashMap::new();
    let mut closed = vec![];
    for (i, (name, data)) in events.iter().enumerate() {
        assert_eq!(data["type"], name.as_str(), "{what}");
        assert_eq!(data["sequence_number"], i as u64, "{what}: {name}");
        if let Some(r) = data.get("response") {
            assert_eq!(r["id"], id.as_str(), "{what}: one id");
        }
        let Some(idx) = data.get("output_index").and_then(Value::as_u64) else {
            continue;
        };
        if name == "response.output_item.added" {
            assert!(
                !open.contains_key(&idx) && !closed.contains(&idx),
                "{what}: {name} twice"
            );
            open.insert(idx, data["item"]["id"].as_str().unwrap().to_string());
            continue;
        }
        let item = open
            .get(&idx)
            .unwrap_or_else(|| panic!("{what}: {name} for item {idx} not open"));
        if let Some(item_id) = data.get("item_id") {
            assert_eq!(item_id, item.as_str(), "{what}: {name}");
        }
        if name == "response.output_item.done" {
            assert_eq!(data["item"]["id"], item.as_str());
            open.remove(&idx);
            closed.push(idx);
        }
    }
    assert!(open.is_empty(), "{what}: left open {open:?}");
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "response.completed", "{what}");
    data["response"].clone()
}

fn output_text(resp: &Value) -> String {
    resp["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .filter_map(|c| c["text"].as_str())
        .collect()
}

fn upstream_paths(emu: &switchyard_emulator::RunningEmulator) -> Vec<String> {
    emu.emulator
        .requests()
        .into_iter()
        .map(|r| r.path)
        .collect()
}

#[tokio::test]
async fn plain_and_streamed_on_every_provider() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    for (model, provider, path) in BRIDGED.into_iter().chain([NATIVE]) {
        emu.emulator.clear_requests();
        let r = post(
            gw.addr,
            "/v1/responses",
            json!({"model": model, "input": "Hello there",
            "instructions": "Be brief.", "metadata": {"k": "v"}}),
        )
        .await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert_eq!(r.header("x-switchyard-provider"), Some(provider));
        let j = r.json();
        assert_eq!(j["object"], "response", "{model}: {j}");
        assert_eq!(j["status"], "completed", "{model}: {j}");
        assert!(
            j["id"].as_str().unwrap().starts_with("resp_"),
            "{model}: {j}"
        );
        assert!(output_text(&j).contains("Hello there"), "{model}: {j}");
        assert!(
            j["usage"]["input_tokens"].as_u64().unwrap() > 0,
            "{model}: {j}"
        );
        assert!(
            j["usage"]["output_tokens"].as_u64().unwrap() > 0,
            "{model}: {j}"
        );
        if provider != "native" {
            assert_eq!(j["metadata"]["k"], "v", "{model}: echoed");
            assert_eq!(j["instructions"], "Be brief.");
        }
        let paths = upstream_paths(&emu);
        assert!(
            paths.len() == 1 && paths[0].contains(path),
            "{model}: {paths:?}"
        );

        let r = post(
            gw.addr,
            "/v1/responses",
            json!({"model": model, "input": "Hello there", "stream": true}),
        )
        .await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("text/event-stream"),
            "{model}"
        );
        let evs = events(&r.body);
        let done = check_lifecycle(&evs, model);
        let deltas: String = evs
            .iter()
            .filter(|(n, _)| n == "response.output_text.delta")
            .map(|(_, d)| d["delta"].as_str().unwrap().to_string())
            .collect();
        assert!(deltas.contains("Hello there"), "{model}: {deltas}");
        assert_eq!(output_text(&done), deltas, "{model}");
        assert!(
            done["usage"]["output_tokens"].as_u64().unwrap() > 0,
            "{model}: {done}"
        );
    }
}

#[tokio::test]
async fn function_tool_round_trip_on_every_provider() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    for (model, provider, _) in BRIDGED.into_iter().chain([NATIVE]) {
        for stream in [false, true] {
            let what = format!("{model} stream={stream}");
            let r = post(gw.addr, "/v1/responses", json!({"model": model, "stream": stream,
                "tools": weather_tool(), "input": [{"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]}]})).await;
            assert_eq!(r.status, 200, "{what}: {}", r.text());
            assert_eq!(r.header("x-switchyard-provider"), Some(provider));
            let resp = if stream {
                let evs = events(&r.body);
                let done = check_lifecycle(&evs, &what);
                let args: String = evs
                    .iter()
                    .filter(|(n, _)| n == "response.function_call_arguments.delta")
                    .map(|(_, d)| d["delta"].as_str().unwrap().to_string())
                    .collect();
                assert_eq!(args, r#"{"city":"sf"}"#, "{what}");
                done
            } else {
                r.json()
            };
            let call = resp["output"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["type"] == "function_call")
                .unwrap_or_else(|| panic!("{what}: no call in {resp}"))
                .clone();
            assert_eq!(call["name"], "get_weather", "{what}");
            assert!(
                call["id"].as_str().unwrap().starts_with("fc_"),
                "{what}: {call}"
            );
            let call_id = call["call_id"].as_str().unwrap();
            assert!(!call_id.is_empty());
            let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
            assert_eq!(args, json!({"city": "sf"}), "{what}");

            // The result goes back with the whole conversation.
            let r = post(
                gw.addr,
                "/v1/responses",
                json!({"model": model, "stream": stream,
                "tools": weather_tool(), "input": [
                    {"role": "user", "content": "Weather in Paris?"},
                    call,
                    {"type": "function_call_output", "call_id": call_id, "output": "Sunny, 21C"}
                ]}),
            )
            .await;
            assert_eq!(r.status, 200, "{what}: {}", r.text());
            let resp = if stream {
                check_lifecycle(&events(&r.body), &what)
            } else {
                r.json()
            };
            assert!(
                output_text(&resp).contains("Tool said: Sunny, 21C"),
                "{what}: {resp}"
            );
        }
    }
}

#[tokio::test]
async fn previous_response_id_carries_the_conversation() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    for (model, _, _) in BRIDGED {
        for stream in [false, true] {
            let what = format!("{model} stream={stream}");
            let first = post(gw.addr, "/v1/responses", json!({"model": model, "stream": stream,
                "tools": weather_tool(), "input": "Weather in Paris? Please answer with many details."})).await;
            assert_eq!(first.status, 200, "{what}: {}", first.text());
            let first = if stream {
                check_lifecycle(&events(&first.body), &what)
            } else {
                first.json()
            };
            let id = first["id"].as_str().unwrap();
            let call_id = first["output"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["type"] == "function_call")
                .unwrap()["call_id"]
                .as_str()
                .unwrap();
            let turn = |prev: Option<&str>| {
                let mut body = json!({"model": model, "tools": weather_tool(),
                    "input": [{"type": "function_call_output", "call_id": call_id, "output": "Sunny"}]});
                if let Some(p) = prev {
                    body["previous_response_id"] = json!(p);
                }
                body
            };
            let second = post(gw.addr, "/v1/responses", turn(Some(id))).await;
            assert_eq!(second.status, 200, "{what}: {}", second.text());
            let second = second.json();
            assert_eq!(second["previous_response_id"], id, "{what}");
            assert!(
                output_text(&second).contains("Tool said: Sunny"),
                "{what}: {second}"
            );
            // The earlier turns went upstream: more input than the turn alone.
            let alone = post(gw.addr, "/v1/responses", turn(None)).await.json();
            assert!(
                second["usage"]["input_tokens"].as_u64() > alone["usage"]["input_tokens"].as_u64(),
                "{what}: {second} vs {alone}"
            );

            // Stored: GET gives it back; DELETE removes it.
            let got = send(gw.addr, "GET", &format!("/v1/responses/{id}"), "", &[]).await;
            assert_eq!(got.status, 200, "{what}: {}", got.text());
            assert_eq!(got.json()["id"], id);
            assert_eq!(got.json()["output"], first["output"], "{what}");
            let del = send(gw.addr, "DELETE", &format!("/v1/responses/{id}"), "", &[]).await;
            assert_eq!(del.status, 200);
            assert_eq!(
                del.json(),
                json!({"id": id, "object": "response.deleted", "deleted": true})
            );
            let gone = send(gw.addr, "GET", &format!("/v1/responses/{id}"), "", &[]).await;
            assert_eq!(gone.status, 404);
            assert_eq!(gone.json()["error"]["code"], "response_not_found");
            // A deleted (or unknown) previous response: a clear 400.
            let r = post(gw.addr, "/v1/responses", turn(Some(id))).await;
            assert_eq!(r.status, 400, "{what}: {}", r.text());
            assert!(
                r.json()["error"]["message"].as_str().unwrap().contains(id),
                "{}",
                r.text()
            );
        }
    }
}

#[tokio::test]
async fn native_providers_get_the_body_untouched() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    let r = post(
        gw.addr,
        "/v1/responses",
        json!({"model": "gpt-4o-mini", "input": "Hi",
        "previous_response_id": "resp_upstream_own", "tools": [{"type": "web_search"}]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["previous_response_id"], "resp_upstream_own");
    assert_eq!(
        r.header("x-switchyard-dropped-tools"),
        None,
        "nothing dropped natively"
    );
    // Not stored by the gateway.
    let id = r.json()["id"].as_str().unwrap().to_string();
    let got = send(gw.addr, "GET", &format!("/v1/responses/{id}"), "", &[]).await;
    assert_eq!(got.status, 404);
}

#[tokio::test]
async fn built_in_tools_are_dropped_and_named() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    let r = post(gw.addr, "/v1/responses", json!({"model": "claude-sonnet-4-5", "input": "Hi",
        "tools": [{"type": "web_search"}, {"type": "code_interpreter", "container": {"type": "auto"}}, {"type": "web_search"}]})).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("x-switchyard-dropped-tools"),
        Some("web_search, code_interpreter")
    );
    assert!(output_text(&r.json()).contains("Hi"));
    // store: false keeps nothing.
    let r = post(
        gw.addr,
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5", "input": "Hi", "store": false}),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert_eq!(r.json()["store"], false);
    assert_eq!(
        send(gw.addr, "GET", &format!("/v1/responses/{id}"), "", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn errors_have_openai_shape() {
    let emu = default_emulator().await;
    let gw = gateway(&providers(emu.addr)).await;
    // A provider error, translated.
    let r = post(
        gw.addr,
        "/v1/responses",
        json!({"model": "broken-x", "input": "Hi"}),
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert!(
        r.json()["error"]["message"].as_str().is_some(),
        "{}",
        r.text()
    );
    // A request that cannot be bridged says why.
    let r = post(
        gw.addr,
        "/v1/responses",
        json!({"model": "claude-x", "input": [
        {"role": "user", "content": [{"type": "input_file", "file_id": "file_1"}]}]}),
    )
    .await;
    assert_eq!(r.status, 400);
    let e = &r.json()["error"];
    assert_eq!(e["code"], "untranslatable_request");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("input[0].content[0]"),
        "{e}"
    );
    // Not a model request.
    let r = send(gw.addr, "PUT", "/v1/responses/resp_x", "", &[]).await;
    assert_eq!(r.status, 405);
    assert!(r.json()["error"]["message"].as_str().is_some());
}

#[tokio::test]
async fn instances_sharing_redis_share_conversations() {
    use switchyard_store::testing::RedisServer;
    let redis = RedisServer::start();
    let emu = default_emulator().await;
    let cfg = format!(
        "{}\nredis: {{ url: \"{}\", timeout: 2s, keyPrefix: resp }}\n",
        providers(emu.addr),
        redis.url()
    );
    let a = gateway(&cfg).await;
    let b = gateway(&cfg).await;
    let first = post(
        a.addr,
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5",
        "tools": weather_tool(), "input": "Weather in Paris?"}),
    )
    .await
    .json();
    let id = first["id"].as_str().unwrap();
    let call_id = first["output"][1]["call_id"].as_str().unwrap();
    // Written in the background: wait until the other instance sees it.
    let mut got = send(b.addr, "GET", &format!("/v1/responses/{id}"), "", &[]).await;
    for _ in 0..50 {
        if got.status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        got = send(b.addr, "GET", &format!("/v1/responses/{id}"), "", &[]).await;
    }
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.json()["output"], first["output"]);
    let second = post(
        b.addr,
        "/v1/responses",
        json!({"model": "claude-sonnet-4-5",
        "tools": weather_tool(), "previous_response_id": id,
        "input": [{"type": "function_call_output", "call_id": call_id, "output": "Sunny"}]}),
    )
    .await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert!(output_text(&second.json()).contains("Tool said: Sunny"));
    // Deleted on one, gone on both.
    assert_eq!(
        send(b.addr, "DELETE", &format!("/v1/responses/{id}"), "", &[])
            .await
            .status,
        200
    );
    assert_eq!(
        send(a.addr, "GET", &format!("/v1/responses/{id}"), "", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_access_log_names_the_response_id() {
    let emu = default_emulator().await;
    let log = std::env::temp_dir().join(format!("sy-resp-log-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let gw = gateway(&format!(
        "{}\nlog: {{ access: \"{}\" }}\n",
        providers(emu.addr),
        log.display()
    ))
    .await;
    let mut ids = vec![];
    for stream in [false, true] {
        let r = post(
            gw.addr,
            "/v1/responses",
            json!({"model": "claude-sonnet-4-5", "input": "Hi", "stream": stream}),
        )
        .await;
        let id = if stream {
            check_lifecycle(&events(&r.body), "log")["id"]
                .as_str()
                .unwrap()
                .to_string()
        } else {
            r.json()["id"].as_str().unwrap().to_string()
        };
        ids.push(id);
    }
    drop(gw);
    let mut text = String::new();
    for _ in 0..100 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if ids.iter().all(|id| text.contains(id.as_str())) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for id in &ids {
        assert!(
            text.contains(&format!("\"chat_id\":\"{id}\"")),
            "{id} not in {text}"
        );
    }
    let _ = std::fs::remove_file(&log);
}
