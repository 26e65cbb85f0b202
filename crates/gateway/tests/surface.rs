//! The API surface around the model endpoints: `HEAD /` and `GET /`,
//! 501 for known APIs not served, 404 listing every served endpoint,
//! Claude Code's mid-conversation system messages, and Gemini's streamed
//! JSON array.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use switchyard_emulator::MockConfig;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn root_answers_head_and_get() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-test-00000001", "").await;
    // Claude Code's warm-up, over a raw socket: 200 and no body.
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"HEAD / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut out),
    )
    .await
    .unwrap()
    .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "no body after the head: {text}");

    let r = send(gw.addr, "GET", "/", "", &[]).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["service"], "switchyard");
    let eps: Vec<&str> = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(eps.contains(&"POST /v1/messages"), "{eps:?}");
    assert!(eps.contains(&"GET /v1/models/{model}"), "{eps:?}");
    assert_eq!(
        send(gw.addr, "DELETE", "/", "", &[]).await.status,
        405,
        "only HEAD and GET"
    );
}

#[tokio::test]
async fn known_apis_not_served_are_501_and_unknown_paths_404() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-test-00000001", "").await;
    for (method, path, names) in [
        ("GET", "/v1/realtime?model=gpt-realtime", "Realtime"),
        ("POST", "/v1/realtime/sessions", "Realtime"),
        ("POST", "/v1/assistants", "Assistants"),
        ("POST", "/v1/threads/thread_1/runs", "Assistants"),
        ("GET", "/v1/vector_stores", "vector stores"),
        ("POST", "/v1/fine_tuning/jobs", "fine-tuning"),
        ("GET", "/v1/evals", "evals"),
        ("POST", "/v1/messages/batches", "message batches"),
        (
            "POST",
            "/v1beta/models/gemini-2.5-flash:countTokens",
            "countTokens",
        ),
    ] {
        let r = send(
            gw.addr,
            method,
            path,
            "{}",
            &[("content-type", "application/json")],
        )
        .await;
        assert_eq!(r.status, 501, "{method} {path}: {}", r.text());
        let e = r.json();
        assert_eq!(e["error"]["code"], "unsupported_api", "{path}");
        assert_eq!(e["error"]["type"], "invalid_request_error");
        let m = e["error"]["message"].as_str().unwrap();
        assert!(m.contains(names), "{path}: {m}");
        assert!(
            m.contains("POST /v1/chat/completions"),
            "names what is served: {m}"
        );
    }
    // A WebSocket upgrade to the realtime API: 501, not a switch.
    let r = send(
        gw.addr,
        "GET",
        "/v1/realtime?model=gpt-realtime",
        "",
        &[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
    )
    .await;
    assert_eq!(r.status, 501);

    let r = send(gw.addr, "POST", "/v2/whatever", "{}", &[]).await;
    assert_eq!(r.status, 404);
    let e = r.json();
    assert_eq!(e["error"]["code"], "unknown_url");
    let m = e["error"]["message"].as_str().unwrap();
    for served in [
        "POST /v1/chat/completions",
        "POST /v1/completions",
        "POST /v1/embeddings",
        "POST /v1/messages",
        "GET /v1/models",
        "GET /v1/models/{model}",
        ":generateContent",
        ":streamGenerateContent",
        "GET /health",
    ] {
        assert!(m.contains(served), "missing {served}: {m}");
    }
    assert_eq!(emu.emulator.requests().len(), 0, "nothing went upstream");
}

fn claude_code_request(model: &str, stream: bool) -> Value {
    json!({
        "model": model,
        "max_tokens": 256,
        "stream": stream,
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hello there"}]},
            {"role": "system", "content": [{"type": "text", "text": "Reminder: the cwd is /src."}]}
        ]
    })
}

async fn messages(gw: &TestGateway, body: &Value) -> Reply {
    send(
        gw.addr,
        "POST",
        "/v1/messages",
        serde_json::to_vec(body).unwrap(),
        &[
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
            ("anthropic-beta", "mid-conversation-system-2026-04-07"),
        ],
    )
    .await
}

/// Through every provider dialect of the emulator, streamed and not.
#[tokio::test]
async fn claude_code_mid_conversation_system_reaches_every_dialect() {
    let emu = default_emulator().await;
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: oai, type: openai, baseUrl: "http://{0}", apiTokens: ["sk-oai-000000001"] }}
  - {{ id: claude, type: claude, baseUrl: "http://{0}", apiTokens: ["sk-ant-000000001"] }}
  - {{ id: gem, type: gemini, baseUrl: "http://{0}", apiTokens: ["gm-key-000000001"] }}
  - {{ id: rock, type: bedrock, baseUrl: "http://{0}", awsRegion: us-east-1, apiTokens: ["br-key-000000001"] }}
routes:
  - {{ name: claude, models: ["claude-*"], provider: claude }}
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: bedrock, models: ["anthropic.*"], provider: rock }}
  - {{ name: openai, models: ["qwen-*"], provider: oai }}
"#,
        emu.addr
    ))
    .await;
    for model in [
        "qwen-plus",
        "claude-sonnet-4-5",
        "gemini-2.5-flash",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
    ] {
        let r = messages(&gw, &claude_code_request(model, false)).await;
        assert_eq!(r.status, 200, "{model}: {}", r.text());
        let j = r.json();
        assert_eq!(j["type"], "message", "{model}: {j}");
        assert!(
            j["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Hello there"),
            "{model}: {j}"
        );
        let r = messages(&gw, &claude_code_request(model, true)).await;
        assert_eq!(r.status, 200, "{model} streamed: {}", r.text());
        assert!(r.text().contains("message_stop"), "{model}: {}", r.text());
    }
}

/// What an OpenAI-style provider receives: the system message where it
/// stood, after the user's turn.
#[tokio::test]
async fn openai_providers_get_the_system_message_where_it_stands() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let upstream = raw_upstream(move |mut s| {
        let tx = tx.clone();
        async move {
            let req = read_request(&mut s).await;
            let _ = tx.send(req.json());
            let body = br#"{"id":"c1","object":"chat.completion","created":1,"model":"qwen-plus","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            s.write_all(head.as_bytes()).await.unwrap();
            s.write_all(body).await.unwrap();
        }
    })
    .await;
    let gw = simple_gateway(upstream, "sk-test-00000001", "").await;
    let r = messages(&gw, &claude_code_request("qwen-plus", false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = rx.recv().await.unwrap();
    let roles: Vec<&str> = sent["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "system"], "{sent}");
    assert_eq!(sent["messages"][2]["content"], "Reminder: the cwd is /src.");
}

/// `:streamGenerateContent` without `alt=sse`: one JSON array, arriving
/// element by element as the provider streams.
#[tokio::test]
async fn gemini_streams_a_json_array_without_alt_sse() {
    let emu = emulator(MockConfig {
        stream_chunks: 4,
        chunk_delay: Duration::from_millis(150),
        ..MockConfig::default()
    })
    .await;
    let gw = gateway(&format!(
        r#"
providers:
  - {{ id: gem, type: gemini, baseUrl: "http://{0}", apiTokens: ["gm-key-000000001"] }}
  - {{ id: oai, type: openai, baseUrl: "http://{0}", apiTokens: ["sk-oai-000000001"] }}
routes:
  - {{ name: gemini, models: ["gemini-*"], provider: gem }}
  - {{ name: openai, models: ["gpt-*"], provider: oai }}
"#,
        emu.addr
    ))
    .await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello there"}]}]});
    for model in ["gemini-2.5-flash", "gpt-4o-mini"] {
        let req = Request::builder()
            .method("POST")
            .uri(format!(
                "http://{}/v1beta/models/{model}:streamGenerateContent",
                gw.addr
            ))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap())))
            .unwrap();
        let resp = tokio::time::timeout(Duration::from_secs(10), client().request(req))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(resp.status(), 200, "{model}");
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "application/json",
            "{model}"
        );
        let start = Instant::now();
        let mut frames: Vec<(Duration, Bytes)> = Vec::new();
        let mut b = resp.into_body();
        while let Some(f) = tokio::time::timeout(Duration::from_secs(10), b.frame())
            .await
            .unwrap()
        {
            if let Ok(d) = f.unwrap().into_data() {
                frames.push((start.elapsed(), d));
            }
        }
        let all: Vec<u8> = frames.iter().flat_map(|(_, d)| d.to_vec()).collect();
        assert!(all.starts_with(b"["), "{model}");
        assert!(all.ends_with(b"]"), "{model}");
        let v: Value = serde_json::from_slice(&all).unwrap_or_else(|e| {
            panic!("{model}: not JSON ({e}): {}", String::from_utf8_lossy(&all))
        });
        let chunks = v.as_array().unwrap();
        assert!(chunks.len() >= 2, "{model}: {v}");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert!(text.contains("Hello there"), "{model}: {text}");
        let last = chunks.last().unwrap();
        assert!(
            last["candidates"][0]["finishReason"].is_string(),
            "{model}: {last}"
        );
        assert!(last["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0);
        // Incremental: the array opened well before it closed.
        assert!(frames.len() >= 3, "{model}: {} frames", frames.len());
        let (first_at, first) = &frames[0];
        assert!(first.starts_with(b"["));
        let (last_at, _) = frames.last().unwrap();
        assert!(
            *last_at - *first_at >= Duration::from_millis(200),
            "{model}: first {first_at:?}, last {last_at:?}"
        );
    }
    // With alt=sse: server-sent events, as before.
    let r = send(
        gw.addr,
        "POST",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        serde_json::to_vec(&body).unwrap(),
        &[("content-type", "application/json")],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().starts_with("data: "), "{}", r.text());
}
