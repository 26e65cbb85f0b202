//! Graceful shutdown and listener hygiene: new connections are refused at
//! once, streams in flight finish within `server.shutdownGracePeriod` or end
//! with the dialect's error event after it, and every request gets its
//! access-log line; slow bodies get 408; connections past
//! `server.maxConnections` wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use http_body_util::BodyExt;
use switchyard_emulator::MockConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A stream of 8 chunks, one every 375 ms: about 3 s.
async fn slow_stream_emulator() -> switchyard_emulator::RunningEmulator {
    emulator(MockConfig {
        stream_chunks: 8,
        chunk_delay: Duration::from_millis(375),
        ..MockConfig::default()
    })
    .await
}

fn log_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "switchyard-shutdown-{name}-{}-{}.log",
        std::process::id(),
        fastrand::u32(..)
    ))
}

async fn start_stream(
    addr: std::net::SocketAddr,
    path: &str,
    body: serde_json::Value,
) -> http::Response<hyper::body::Incoming> {
    let req = http::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            serde_json::to_vec(&body).unwrap(),
        )))
        .unwrap();
    let resp = client().request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    resp
}

async fn refused(addr: std::net::SocketAddr) -> bool {
    TcpStream::connect(addr).await.is_err()
}

async fn log_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_in_flight_finishes_within_the_grace_period() {
    let emu = slow_stream_emulator().await;
    let log = log_path("finish");
    let mut gw = simple_gateway(
        emu.addr,
        "sk-a",
        &format!(
            "server: {{ shutdownGracePeriod: 5s }}\nlog: {{ access: \"{}\" }}",
            log.display()
        ),
    )
    .await;
    let resp = start_stream(gw.addr, "/v1/chat/completions", chat_stream("gpt-4o")).await;
    gw.shut_down();
    wait_until(Duration::from_secs(1), "new connections refused", || {
        refused(gw.addr)
    })
    .await;
    let (body, _) = read_done_stream(resp).await;
    assert!(!String::from_utf8_lossy(&body).contains("stream_interrupted"));
    wait_until(Duration::from_secs(5), "the access-log line", || async {
        !log_lines(&log).await.is_empty()
    })
    .await;
    let lines = log_lines(&log).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["response_type"], "stream");
    assert!(lines[0]["error"].is_null(), "{}", lines[0]);
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_still_running_after_the_grace_period_get_an_error_event() {
    let emu = slow_stream_emulator().await;
    let log = log_path("cut");
    let mut gw = simple_gateway(
        emu.addr,
        "sk-a",
        &format!(
            "server: {{ shutdownGracePeriod: 1s }}\nlog: {{ access: \"{}\" }}\nroutes:\n  - {{ name: all, provider: p }}\n",
            log.display()
        ),
    )
    .await;
    // An OpenAI client and a Claude client (translated from OpenAI).
    let openai = start_stream(gw.addr, "/v1/chat/completions", chat_stream("gpt-4o")).await;
    let claude = start_stream(
        gw.addr,
        "/v1/messages",
        serde_json::json!({"model": "gpt-4o", "max_tokens": 64, "stream": true,
            "messages": [{"role": "user", "content": "Hello there"}]}),
    )
    .await;
    gw.shut_down();
    let read = |r: http::Response<hyper::body::Incoming>| async move {
        tokio::time::timeout(Duration::from_secs(10), r.into_body().collect())
            .await
            .expect("the stream ends soon after the grace period")
            .map(|c| c.to_bytes())
            .unwrap_or_default()
    };
    let (a, b) = tokio::join!(read(openai), read(claude));
    let a = String::from_utf8_lossy(&a).into_owned();
    assert!(a.contains("stream_interrupted"), "{a}");
    assert!(a.contains("shutdownGracePeriod"), "{a}");
    assert!(!a.contains("[DONE]"), "{a}");
    let b = String::from_utf8_lossy(&b).into_owned();
    assert!(b.contains("event: error"), "{b}");
    assert!(b.contains("shutting down"), "{b}");
    wait_until(Duration::from_secs(5), "two access-log lines", || async {
        log_lines(&log).await.len() == 2
    })
    .await;
    for line in log_lines(&log).await {
        let err = line["error"].as_str().unwrap_or_default().to_string();
        assert!(err.starts_with("stream_interrupted"), "{line}");
    }
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_send_its_body_gets_408() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-a", "server: { bodyReadTimeout: 300ms }").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"model\":")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("an answer after bodyReadTimeout")
        .unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("bodyReadTimeout"), "{text}");
    assert!(emu.emulator.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_max_connections_wait_their_turn() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-a", "server: { maxConnections: 1 }").await;
    // The first connection holds the only slot (idle keep-alive).
    let mut first = TcpStream::connect(gw.addr).await.unwrap();
    let req = b"GET /v1/models HTTP/1.1\r\nhost: x\r\n\r\n";
    first.write_all(req).await.unwrap();
    let mut buf = vec![0u8; 8192];
    let n = first.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // A second one is accepted by the kernel but not served yet.
    let mut second = TcpStream::connect(gw.addr).await.unwrap();
    second.write_all(req).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), second.read(&mut buf)).await;
    assert!(waited.is_err(), "served past maxConnections");
    // When the first leaves, the second is served.
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}
