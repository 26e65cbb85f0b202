#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use switchyard_emulator::{Behaviour, Emulator, MockConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn chat_body(model: &str, stream: bool, include_usage: bool) -> String {
    let mut v = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Tell me a joke about gateways please"}
        ],
        "temperature": 0.1,
        "unknown_field": {"nested": [1, 2, 3]}
    });
    if stream {
        v["stream"] = json!(true);
        if include_usage {
            v["stream_options"] = json!({"include_usage": true});
        }
    }
    v.to_string()
}

async fn chat(addr: SocketAddr, token: &str) -> Reply {
    let auth = format!("Bearer {token}");
    call(
        addr,
        Method::POST,
        "/v1/chat/completions",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        &chat_body("gpt-4o-mini", false, false),
    )
    .await
}

/// Parses `data: ...\n\n` events; returns the JSON events and whether `[DONE]` came last.
fn parse_sse(body: &[u8]) -> (Vec<Value>, bool) {
    let text = std::str::from_utf8(body).unwrap();
    assert!(text.ends_with("\n\n"), "{text}");
    let mut events = Vec::new();
    let mut done = false;
    for block in text.split_terminator("\n\n") {
        assert!(!done, "event after [DONE]");
        let data = block.strip_prefix("data: ").expect(block);
        if data == "[DONE]" {
            done = true;
        } else {
            events.push(serde_json::from_str(data).unwrap());
        }
    }
    (events, done)
}

#[tokio::test]
async fn chat_success() {
    let emu = start(MockConfig::default()).await;
    let r = chat(emu.addr, "sk-good").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(
        r.headers["content-length"].to_str().unwrap(),
        r.body.len().to_string()
    );
    assert!(r.headers.contains_key("x-request-id"));
    let v = r.json();
    assert!(v["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-4o-mini");
    assert!(v["created"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(v["system_fingerprint"], "fp_emulator");
    let choice = &v["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(
        choice["message"]["content"],
        "Hello from the Switchyard emulator. You said: Tell me a joke about gateways please"
    );
    assert_eq!(choice["finish_reason"], "stop");
    assert!(choice["logprobs"].is_null());
    let u = &v["usage"];
    let (p, c) = (
        u["prompt_tokens"].as_u64().unwrap(),
        u["completion_tokens"].as_u64().unwrap(),
    );
    assert_eq!(p, (14 + 36) / 4 + 8);
    assert_eq!(c, 14);
    assert_eq!(u["total_tokens"].as_u64().unwrap(), p + c);

    // Unique ids.
    let r2 = chat(emu.addr, "sk-good").await;
    assert_ne!(r2.json()["id"], v["id"]);
    assert_ne!(r2.headers["x-request-id"], r.headers["x-request-id"]);
}

#[tokio::test]
async fn max_tokens_truncates() {
    let emu = start(MockConfig::default()).await;
    let body = json!({"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":4});
    let r = call(
        emu.addr,
        Method::POST,
        "/v1/chat/completions",
        &[],
        &body.to_string(),
    )
    .await;
    let v = r.json();
    assert_eq!(
        v["choices"][0]["message"]["content"],
        "Hello from the Switchyard"
    );
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    assert_eq!(v["usage"]["completion_tokens"], 4);
}

#[tokio::test]
async fn error_prefixes() {
    let emu = start(MockConfig::default()).await;

    let r = chat(emu.addr, "bad-0123456789wxyz").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.headers.contains_key("x-request-id"));
    let v = r.json();
    assert_eq!(v["error"]["code"], "invalid_api_key");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(v["error"]["param"].is_null());
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Incorrect API key provided: bad-…wxyz"),
        "{msg}"
    );
    assert!(!msg.contains("0123456789"), "{msg}");

    let r = chat(emu.addr, "limited-1").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");

    let r = chat(emu.addr, "down-1").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.json()["error"]["type"], "server_error");
}

#[tokio::test]
async fn request_errors() {
    let emu = start(MockConfig::default()).await;
    let r = call(emu.addr, Method::POST, "/v1/nope?x=1", &[], "{}").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(msg.contains("/v1/nope"), "{msg}");

    let r = call(emu.addr, Method::GET, "/v1/chat/completions", &[], "").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers["allow"], "POST");
    assert!(r.json()["error"].is_object());

    let r = call(emu.addr, Method::POST, "/v1/models", &[], "").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    let r = call(emu.addr, Method::POST, "/v1/chat/completions", &[], "{nope").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["type"], "invalid_request_error");

    let r = call(
        emu.addr,
        Method::POST,
        "/v1/chat/completions",
        &[],
        r#"{"messages":[]}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["param"], "model");
}

#[tokio::test]
async fn accept_tokens() {
    let emu = start(MockConfig {
        accept_tokens: Some(vec!["sk-allowed".into()]),
        ..MockConfig::default()
    })
    .await;
    assert_eq!(chat(emu.addr, "sk-allowed").await.status, StatusCode::OK);
    let r = chat(emu.addr, "sk-other-123456").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        !r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sk-other-123456")
    );
    let r = call(
        emu.addr,
        Method::POST,
        "/v1/chat/completions",
        &[],
        &chat_body("m", false, false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn override_via_api() {
    let emu = start(MockConfig::default()).await;
    emu.emulator
        .set_behaviour("sk-flaky", Some(Behaviour::RateLimited));
    assert_eq!(
        chat(emu.addr, "sk-flaky").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    emu.emulator
        .set_behaviour("bad-but-fine", Some(Behaviour::Ok));
    assert_eq!(chat(emu.addr, "bad-but-fine").await.status, StatusCode::OK);
    emu.emulator.set_behaviour("sk-flaky", None);
    assert_eq!(chat(emu.addr, "sk-flaky").await.status, StatusCode::OK);
}

#[tokio::test]
async fn control_api() {
    let emu = start(MockConfig::default()).await;
    let addr = emu.addr;

    let r = call(addr, Method::GET, "/_mock/health", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], b"ok");

    let r = call(
        addr,
        Method::PUT,
        "/_mock/tokens/sk-ctl",
        &[],
        "\"Unavailable\"",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        chat(addr, "sk-ctl").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    let r = call(
        addr,
        Method::PUT,
        "/_mock/tokens/sk-ctl",
        &[],
        r#"{"Slow":{"secs":0,"nanos":50000000}}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let t = Instant::now();
    assert_eq!(chat(addr, "sk-ctl").await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(50));

    let r = call(addr, Method::PUT, "/_mock/tokens/sk-ctl", &[], "\"Nope\"").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = call(addr, Method::DELETE, "/_mock/tokens/sk-ctl", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(chat(addr, "sk-ctl").await.status, StatusCode::OK);

    // Control requests are not recorded; API requests are.
    let r = call(addr, Method::GET, "/_mock/requests", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|r| r["path"] == "/v1/chat/completions"));
    assert_eq!(list[0]["credential"], "sk-ctl");
    assert_eq!(list[0]["auth_header"], "authorization");
    assert_eq!(list[0]["model"], "gpt-4o-mini");

    let r = call(addr, Method::DELETE, "/_mock/requests", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(emu.emulator.requests().is_empty());

    let r = call(addr, Method::GET, "/_mock/nope", &[], "").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn recording() {
    let emu = start(MockConfig::default()).await;
    let addr = emu.addr;
    chat(addr, "sk-rec").await;
    call(
        addr,
        Method::POST,
        "/v1beta/openai/chat/completions",
        &[("x-goog-api-key", "g-key"), ("x-custom", "yes")],
        &chat_body("gemini-2.0-flash", true, false),
    )
    .await;
    call(
        addr,
        Method::GET,
        "/v1/models",
        &[("x-api-key", "a-key")],
        "",
    )
    .await;
    call(
        addr,
        Method::GET,
        "/v1/models",
        &[("authorization", "raw-key")],
        "",
    )
    .await;
    call(addr, Method::GET, "/v1/models?limit=2", &[], "").await;

    let recs = emu.emulator.requests();
    assert_eq!(recs.len(), 5);
    assert_eq!(recs[0].method, "POST");
    assert_eq!(recs[0].credential.as_deref(), Some("sk-rec"));
    assert_eq!(recs[0].auth_header.as_deref(), Some("authorization"));
    assert_eq!(recs[0].host.as_deref(), Some(addr.to_string().as_str()));
    assert!(!recs[0].stream);
    assert!(
        recs[0]
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer sk-rec")
    );

    assert_eq!(recs[1].credential.as_deref(), Some("g-key"));
    assert_eq!(recs[1].auth_header.as_deref(), Some("x-goog-api-key"));
    assert_eq!(recs[1].model.as_deref(), Some("gemini-2.0-flash"));
    assert!(recs[1].stream);
    assert!(
        recs[1]
            .headers
            .iter()
            .any(|(k, v)| k == "x-custom" && v == "yes")
    );

    assert_eq!(recs[2].method, "GET");
    assert_eq!(recs[2].credential.as_deref(), Some("a-key"));
    assert_eq!(recs[2].auth_header.as_deref(), Some("x-api-key"));
    assert_eq!(recs[3].credential.as_deref(), Some("raw-key"));
    assert_eq!(recs[3].auth_header.as_deref(), Some("authorization"));
    assert_eq!(recs[4].credential, None);
    assert_eq!(recs[4].auth_header, None);
    assert_eq!(recs[4].path, "/v1/models?limit=2");
    assert_eq!(recs[4].model, None);

    emu.emulator.clear_requests();
    assert!(emu.emulator.requests().is_empty());
}

#[tokio::test]
async fn azure_paths() {
    let emu = start(MockConfig::default()).await;
    let body = json!({"messages":[{"role":"user","content":"hi"}]}).to_string();
    let path = "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21";
    let r = call(
        emu.addr,
        Method::POST,
        path,
        &[("api-key", "az-key")],
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["model"], "my-gpt4o");

    let r = call(
        emu.addr,
        Method::POST,
        "/openai/deployments/my-gpt4o/chat/completions",
        &[("api-key", "az-key")],
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["param"], "api-version");

    let r = call(
        emu.addr,
        Method::POST,
        "/openai/deployments/emb/embeddings?api-version=2024-10-21",
        &[("api-key", "bad-azure-key-000")],
        r#"{"input":"x"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let recs = emu.emulator.requests();
    assert_eq!(recs[0].credential.as_deref(), Some("az-key"));
    assert_eq!(recs[0].auth_header.as_deref(), Some("api-key"));
    assert_eq!(recs[0].model.as_deref(), Some("my-gpt4o"));
    assert_eq!(recs[0].path, path);
}

#[tokio::test]
async fn path_shapes() {
    let emu = start(MockConfig::default()).await;
    for p in [
        "/v1/chat/completions",
        "/compatible-mode/v1/chat/completions",
        "/api/paas/v4/chat/completions",
        "/api/v3/chat/completions",
        "/openai/v1/chat/completions",
        "/inference/v1/chat/completions",
        "/chat/completions",
    ] {
        let r = call(
            emu.addr,
            Method::POST,
            p,
            &[],
            &chat_body("m", false, false),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{p}");
        assert_eq!(r.json()["object"], "chat.completion", "{p}");
    }
}

#[tokio::test]
async fn streaming_format() {
    let emu = start(MockConfig {
        stream_chunks: 5,
        ..MockConfig::default()
    })
    .await;
    let full = chat(emu.addr, "sk-1").await.json();
    let expected = full["choices"][0]["message"]["content"].as_str().unwrap();

    for include_usage in [false, true] {
        let r = call(
            emu.addr,
            Method::POST,
            "/v1/chat/completions",
            &[("authorization", "Bearer sk-1")],
            &chat_body("gpt-4o-mini", true, include_usage),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.headers["content-type"], "text/event-stream");
        assert_eq!(r.headers["cache-control"], "no-cache");
        assert!(!r.headers.contains_key("content-length"));
        assert!(r.headers.contains_key("x-request-id"));
        let (events, done) = parse_sse(&r.body);
        assert!(done);
        assert_eq!(events.len(), 1 + 5 + 1 + usize::from(include_usage));
        let id = events[0]["id"].as_str().unwrap();
        assert!(id.starts_with("chatcmpl-"));
        for e in &events {
            assert_eq!(e["id"], id);
            assert_eq!(e["object"], "chat.completion.chunk");
            assert_eq!(e["model"], "gpt-4o-mini");
            assert!(e["created"].is_u64());
        }
        assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(events[0]["choices"][0]["delta"]["content"], "");
        let text: String = events[1..6]
            .iter()
            .map(|e| {
                assert!(e["choices"][0]["finish_reason"].is_null());
                e["choices"][0]["delta"]["content"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(text, expected);
        let fin = &events[6]["choices"][0];
        assert_eq!(fin["finish_reason"], "stop");
        assert_eq!(fin["delta"], json!({}));
        if include_usage {
            let u = &events[7];
            assert_eq!(u["choices"], json!([]));
            assert_eq!(u["usage"], full["usage"]);
        } else {
            assert!(events.iter().all(|e| e.get("usage").is_none()));
        }
    }
}

#[tokio::test]
async fn streaming_is_incremental() {
    let emu = start(MockConfig {
        stream_chunks: 3,
        chunk_delay: Duration::from_millis(40),
        ..MockConfig::default()
    })
    .await;
    let resp = client()
        .request(request(
            emu.addr,
            Method::POST,
            "/v1/chat/completions",
            &[],
            &chat_body("m", true, false),
        ))
        .await
        .unwrap();
    let mut body = resp.into_body();
    let start = Instant::now();
    let mut arrivals = Vec::new();
    let mut all = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.unwrap();
        if let Ok(data) = frame.into_data() {
            arrivals.push(start.elapsed());
            all.extend_from_slice(&data);
        }
    }
    // role + 3 content + finish + [DONE] = 6 events, 5 delays of 40ms.
    assert_eq!(arrivals.len(), 6, "{arrivals:?}");
    assert!(arrivals[0] < Duration::from_millis(30), "{arrivals:?}");
    assert!(arrivals[5] >= Duration::from_millis(190), "{arrivals:?}");
    let (events, done) = parse_sse(&all);
    assert!(done);
    assert_eq!(events.len(), 5);
}

#[tokio::test]
async fn legacy_completions() {
    let emu = start(MockConfig {
        stream_chunks: 4,
        ..MockConfig::default()
    })
    .await;
    let r = call(
        emu.addr,
        Method::POST,
        "/v1/completions",
        &[],
        r#"{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["object"], "text_completion");
    assert!(v["id"].as_str().unwrap().starts_with("cmpl-"));
    let text = v["choices"][0]["text"].as_str().unwrap().to_owned();
    assert!(text.ends_with("You said: Say this is a test"));
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["logprobs"].is_null());
    assert!(v["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let r = call(
        emu.addr,
        Method::POST,
        "/v1/completions",
        &[],
        r#"{"model":"gpt-3.5-turbo-instruct","prompt":["Say this is a test"],"stream":true,"stream_options":{"include_usage":true}}"#,
    )
    .await;
    assert_eq!(r.headers["content-type"], "text/event-stream");
    let (events, done) = parse_sse(&r.body);
    assert!(done);
    assert_eq!(events.len(), 4 + 1 + 1);
    let streamed: String = events[..4]
        .iter()
        .map(|e| {
            assert_eq!(e["object"], "text_completion");
            e["choices"][0]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(streamed, text);
    assert_eq!(events[4]["choices"][0]["finish_reason"], "stop");
    assert_eq!(events[5]["usage"], v["usage"]);
}

#[tokio::test]
async fn embeddings_and_models() {
    let emu = start(MockConfig::default()).await;
    let r = call(
        emu.addr,
        Method::POST,
        "/v1/embeddings",
        &[],
        r#"{"model":"text-embedding-3-small","input":["hello","world","hello"],"encoding_format":"float"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "text-embedding-3-small");
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (i, d) in data.iter().enumerate() {
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["index"], i);
        assert_eq!(d["embedding"].as_array().unwrap().len(), 8);
    }
    assert_eq!(data[0]["embedding"], data[2]["embedding"]);
    assert_ne!(data[0]["embedding"], data[1]["embedding"]);
    let p = v["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(p > 0);
    assert_eq!(v["usage"]["total_tokens"].as_u64().unwrap(), p);

    let r = call(emu.addr, Method::GET, "/v1/models", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["object"], "model");
            assert_eq!(m["owned_by"], "emulator");
            m["id"].as_str().unwrap()
        })
        .collect();
    assert!(ids.contains(&"gpt-4o-mini"));
    assert!(ids.contains(&"qwen-plus") && ids.contains(&"mock-small"));
}

#[tokio::test]
async fn slow_prefix_waits() {
    let emu = start(MockConfig::default()).await;
    let t = Instant::now();
    let r = chat(emu.addr, "slow-150-key").await;
    assert_eq!(r.status, StatusCode::OK);
    let e = t.elapsed();
    assert!(e >= Duration::from_millis(150), "{e:?}");
    assert!(e < Duration::from_millis(1500), "{e:?}");
}

#[tokio::test]
async fn latency_applies() {
    let emu = start(MockConfig {
        latency: Duration::from_millis(80),
        ..MockConfig::default()
    })
    .await;
    let t = Instant::now();
    assert_eq!(chat(emu.addr, "sk").await.status, StatusCode::OK);
    assert!(t.elapsed() >= Duration::from_millis(80));
    let t = Instant::now();
    let r = call(emu.addr, Method::GET, "/_mock/health", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(t.elapsed() < Duration::from_millis(80));
}

#[tokio::test]
async fn hang_never_answers() {
    let emu = start(MockConfig::default()).await;
    let c = client();
    let fut = c.request(request(
        emu.addr,
        Method::POST,
        "/v1/chat/completions",
        &[("authorization", "Bearer hang-1")],
        &chat_body("m", false, false),
    ));
    let res = tokio::time::timeout(Duration::from_millis(200), fut).await;
    assert!(res.is_err(), "hang- must not answer");
    // It was still recorded, and the server keeps serving others.
    assert_eq!(
        emu.emulator.requests()[0].credential.as_deref(),
        Some("hang-1")
    );
    assert_eq!(chat(emu.addr, "sk").await.status, StatusCode::OK);
}

#[tokio::test]
async fn cut_stream_is_incomplete() {
    let emu = start(MockConfig::default()).await;
    let resp = client()
        .request(request(
            emu.addr,
            Method::POST,
            "/v1/chat/completions",
            &[("authorization", "Bearer cut-1")],
            &chat_body("m", true, true),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let mut got = Vec::new();
    let mut failed = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(d) = f.into_data() {
                    got.extend_from_slice(&d);
                }
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "client must see an incomplete body");
    let (events, done) = parse_sse(&got);
    assert!(!done);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
}

#[tokio::test]
async fn cut_stream_raw_socket() {
    let emu = start(MockConfig::default()).await;
    let body = chat_body("m", true, false);
    let mut s = tokio::net::TcpStream::connect(emu.addr).await.unwrap();
    let req = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer cut-raw\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut out))
        .await
        .unwrap()
        .ok();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert_eq!(text.matches("data: ").count(), 2, "{text}");
    assert!(!text.ends_with("0\r\n\r\n"), "{text}");
    assert!(!text.contains("[DONE]"), "{text}");
}

#[tokio::test]
async fn cut_non_stream_is_incomplete() {
    let emu = start(MockConfig::default()).await;
    let resp = client()
        .request(request(
            emu.addr,
            Method::POST,
            "/v1/chat/completions",
            &[("authorization", "Bearer cut-2")],
            &chat_body("m", false, false),
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let len: usize = resp.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(len > 100);
    let mut body = resp.into_body();
    let mut got = 0;
    let mut failed = false;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => got += f.into_data().map_or(0, |d| d.len()),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "client must see an incomplete body");
    assert_eq!(got, len / 2);
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let emu = start(MockConfig::default()).await;
    let c = client();
    for _ in 0..20 {
        let resp = c
            .request(request(
                emu.addr,
                Method::POST,
                "/v1/chat/completions",
                &[],
                &chat_body("m", false, false),
            ))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        resp.into_body().collect().await.unwrap();
    }
    assert_eq!(emu.emulator.requests().len(), 20);
}

#[tokio::test]
async fn serve_on_listener() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let emu = Emulator::new(MockConfig::default());
    let task = tokio::spawn(emu.clone().serve(listener));
    assert_eq!(chat(addr, "sk").await.status, StatusCode::OK);
    assert_eq!(emu.requests().len(), 1);
    task.abort();
}

// ---------------------------------------------------------------------------
// nousage-: the Ok answer without any token usage
// ---------------------------------------------------------------------------

/// A chat body, optionally declaring a tool (the answer is then a call).
fn nousage_chat_body(tools: bool, stream: bool) -> String {
    let mut v: Value = serde_json::from_str(&chat_body("gpt-4o-mini", stream, true)).unwrap();
    if tools {
        v["tools"] = json!([{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    }
    v.to_string()
}

async fn post_as(addr: SocketAddr, path: &str, token: &str, body: &str) -> Reply {
    let auth = format!("Bearer {token}");
    let r = call(addr, Method::POST, path, &[("authorization", &auth)], body).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    r
}

/// Chat, streamed (with `include_usage: true`) and not, plain and with a tool
/// call: `nousage-` gives the `ok` answer minus `usage` and the usage chunk.
#[tokio::test]
async fn nousage_openai_chat() {
    bounded(async {
        let emu = start(MockConfig {
            stream_chunks: 3,
            ..MockConfig::default()
        })
        .await;
        let path = "/v1/chat/completions";
        for tools in [false, true] {
            let body = nousage_chat_body(tools, false);
            let ok = post_as(emu.addr, path, "sk-ok", &body).await;
            let no = post_as(emu.addr, path, "nousage-1", &body).await;
            assert_eq!(no.headers["content-type"], "application/json");
            assert_eq!(
                no.headers["content-length"].to_str().unwrap(),
                no.body.len().to_string()
            );
            assert!(no.headers.contains_key("x-request-id"));
            let (ok, no_v) = (ok.json(), no.json());
            assert!(ok["usage"]["total_tokens"].as_u64().unwrap() > 0);
            assert_no_usage(&no.body);
            assert_eq!(normalized(&no_v, &[]), normalized(&ok, &["usage"]));
            let finish = if tools { "tool_calls" } else { "stop" };
            assert_eq!(no_v["choices"][0]["finish_reason"], finish);
            assert_eq!(
                no_v["choices"][0]["message"]["tool_calls"].is_array(),
                tools
            );

            // Streamed: the client asks for usage and gets none.
            let body = nousage_chat_body(tools, true);
            let ok = post_as(emu.addr, path, "sk-ok", &body).await;
            let no = post_as(emu.addr, path, "nousage-1", &body).await;
            assert_eq!(no.headers["content-type"], "text/event-stream");
            let (ok_events, ok_done) = parse_sse(&ok.body);
            let (no_events, no_done) = parse_sse(&no.body);
            assert!(ok_done && no_done);
            let usage_chunk = ok_events.last().unwrap();
            assert_eq!(usage_chunk["choices"], json!([]));
            assert!(usage_chunk["usage"]["total_tokens"].as_u64().unwrap() > 0);
            assert_no_usage(&no.body);
            assert_eq!(no_events.len(), ok_events.len() - 1);
            let want: Vec<Value> = ok_events[..ok_events.len() - 1]
                .iter()
                .map(|e| normalized(e, &[]))
                .collect();
            let got: Vec<Value> = no_events.iter().map(|e| normalized(e, &[])).collect();
            assert_eq!(got, want);
        }
    })
    .await;
}

/// Legacy completions (streamed with `include_usage: true` and not) and
/// embeddings: no `usage`, everything else as for `ok`.
#[tokio::test]
async fn nousage_openai_completions_and_embeddings() {
    bounded(async {
        let emu = start(MockConfig {
            stream_chunks: 3,
            ..MockConfig::default()
        })
        .await;
        let path = "/v1/completions";
        let body = r#"{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test"}"#;
        let ok = post_as(emu.addr, path, "sk-ok", body).await.json();
        let no = post_as(emu.addr, path, "nousage-2", body).await;
        assert!(ok["usage"]["total_tokens"].as_u64().unwrap() > 0);
        assert_no_usage(&no.body);
        assert_eq!(normalized(&no.json(), &[]), normalized(&ok, &["usage"]));

        let body = r#"{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test","stream":true,"stream_options":{"include_usage":true}}"#;
        let ok = post_as(emu.addr, path, "sk-ok", body).await;
        let no = post_as(emu.addr, path, "nousage-2", body).await;
        let (ok_events, _) = parse_sse(&ok.body);
        let (no_events, done) = parse_sse(&no.body);
        assert!(done);
        assert!(ok_events.last().unwrap()["usage"].is_object());
        assert_no_usage(&no.body);
        let want: Vec<Value> = ok_events[..ok_events.len() - 1]
            .iter()
            .map(|e| normalized(e, &[]))
            .collect();
        let got: Vec<Value> = no_events.iter().map(|e| normalized(e, &[])).collect();
        assert_eq!(got, want);

        let path = "/v1/embeddings";
        let body = r#"{"model":"text-embedding-3-small","input":["hello","world"]}"#;
        let ok = post_as(emu.addr, path, "sk-ok", body).await.json();
        let no = post_as(emu.addr, path, "nousage-2", body).await;
        assert!(ok["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
        assert_no_usage(&no.body);
        assert_eq!(no.json(), normalized(&ok, &["usage"]));
    })
    .await;
}

/// `"NoUsage"` set through the control API (and through the library) for a
/// token without the prefix; removing the override brings usage back.
#[tokio::test]
async fn nousage_via_control_api() {
    bounded(async {
        let emu = start(MockConfig::default()).await;
        let addr = emu.addr;
        let path = "/v1/chat/completions";
        let body = nousage_chat_body(false, true);
        assert!(
            post_as(addr, path, "sk-ctl", &body)
                .await
                .body
                .windows(5)
                .any(|w| w == b"usage")
        );

        let r = call(
            addr,
            Method::PUT,
            "/_mock/tokens/sk-ctl",
            &[],
            "\"NoUsage\"",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = post_as(addr, path, "sk-ctl", &body).await;
        assert_no_usage(&r.body);
        assert!(parse_sse(&r.body).1);
        assert_no_usage(&chat(addr, "sk-ctl").await.body);

        let r = call(addr, Method::DELETE, "/_mock/tokens/sk-ctl", &[], "").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(chat(addr, "sk-ctl").await.json()["usage"].is_object());

        emu.emulator
            .set_behaviour("sk-lib", Some(Behaviour::NoUsage));
        assert_no_usage(&chat(addr, "sk-lib").await.body);
        // An override wins over the prefix.
        emu.emulator
            .set_behaviour("nousage-but-ok", Some(Behaviour::Ok));
        assert!(chat(addr, "nousage-but-ok").await.json()["usage"].is_object());
    })
    .await;
}
