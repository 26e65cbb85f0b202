//! Shared helpers for the gateway's end-to-end tests: real sockets on
//! 127.0.0.1, an in-process emulator, an in-process gateway, and scripted
//! raw-TCP upstreams for byte-level control.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use switchyard_config::Config;
use switchyard_emulator::{Emulator, MockConfig, RunningEmulator};
use switchyard_gateway::Gateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

mod exposition;
mod files;
#[allow(unused_imports)]
pub use exposition::*;
#[allow(unused_imports)]
pub use files::*;

pub const LOCAL: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

pub async fn emulator(cfg: MockConfig) -> RunningEmulator {
    Emulator::new(cfg)
        .start(SocketAddr::from(LOCAL))
        .await
        .unwrap()
}

pub async fn default_emulator() -> RunningEmulator {
    emulator(MockConfig::default()).await
}

pub struct TestGateway {
    pub addr: SocketAddr,
    /// The admin API (`/health`, `/status`).
    pub admin: SocketAddr,
    /// The gateway serving, for tests that look at its runtime.
    pub gateway: Gateway,
    stop: Option<oneshot::Sender<()>>,
}

impl TestGateway {
    /// The `/status` document.
    pub async fn status(&self) -> serde_json::Value {
        send(self.admin, "GET", "/status", "", &[]).await.json()
    }

    /// The state of each credential of `provider`, in `apiTokens` order.
    pub async fn states(&self, provider: &str) -> Vec<serde_json::Value> {
        let s = self.status().await;
        s["providers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == provider)
            .unwrap_or_else(|| panic!("no provider {provider}"))["credentials"]
            .as_array()
            .unwrap()
            .clone()
    }
}

impl TestGateway {
    /// Begin a graceful shutdown (what SIGTERM does in the binary).
    pub fn shut_down(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn gateway(yaml: &str) -> TestGateway {
    // Keep the access log out of the test output unless a test wants it.
    let yaml = if yaml.contains("\nlog:") {
        yaml.to_string()
    } else {
        format!("{yaml}\nlog: {{ access: \"off\" }}\n")
    };
    let cfg = Config::from_yaml(&yaml, "test.yaml").unwrap_or_else(|e| panic!("{e}"));
    start(Gateway::new(&cfg).unwrap()).await
}

/// A gateway with one provider of type openai in front of `upstream`.
pub async fn simple_gateway(upstream: SocketAddr, token: &str, extra: &str) -> TestGateway {
    gateway(&format!(
        r#"
providers:
  - id: p
    type: openai
    baseUrl: "http://{upstream}"
    apiTokens: ["{token}"]
{extra}
"#
    ))
    .await
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: impl Into<Bytes>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b.body(Full::new(body.into())).unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), client().request(req))
        .await
        .expect("response within 10s")
        .unwrap();
    let (parts, body) = resp.into_parts();
    let body = tokio::time::timeout(Duration::from_secs(10), body.collect())
        .await
        .expect("body within 10s")
        .unwrap()
        .to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub async fn post(addr: SocketAddr, path: &str, body: serde_json::Value) -> Reply {
    send(
        addr,
        "POST",
        path,
        serde_json::to_vec(&body).unwrap(),
        &[("content-type", "application/json")],
    )
    .await
}

pub fn chat(model: &str) -> serde_json::Value {
    serde_json::json!({"model": model, "messages": [{"role": "user", "content": "Hello there"}]})
}

pub fn chat_stream(model: &str) -> serde_json::Value {
    serde_json::json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "Hello there"}]})
}

/// The `data:` payloads of an SSE body.
pub fn sse_data(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body).replace("\r\n", "\n");
    text.split("\n\n")
        .filter_map(|ev| {
            ev.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map(str::to_string)
        })
        .collect()
}

/// A request as a raw upstream received it.
pub struct RawRequest {
    pub head: String,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// Read one HTTP/1.1 request (head and content-length body) from `s`.
pub async fn read_request(s: &mut TcpStream) -> RawRequest {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut tmp).await.unwrap();
        assert!(n > 0, "connection closed before a request arrived");
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut tmp).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&tmp[..n]);
    }
    RawRequest {
        head,
        body: buf[head_end..head_end + len].to_vec(),
    }
}

/// A raw-TCP upstream: each accepted connection is handed to `script`.
pub async fn raw_upstream<F, Fut>(script: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind(SocketAddr::from(LOCAL)).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(script(s));
        }
    });
    addr
}

pub const SSE_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

/// Write `data` as one HTTP/1.1 chunk.
pub async fn write_chunk(s: &mut TcpStream, data: &[u8]) {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    s.write_all(&out).await.unwrap();
    s.flush().await.unwrap();
}

pub async fn end_chunks(s: &mut TcpStream) {
    s.write_all(b"0\r\n\r\n").await.unwrap();
    s.flush().await.unwrap();
}

/// A gateway serving the config file `path`, reloadable (file watch,
/// SIGHUP, `POST /admin/reload`) as the binary runs it.
pub async fn gateway_from_file(path: &std::path::Path) -> TestGateway {
    let source = switchyard_gateway::ConfigSource {
        path: Some(path.to_path_buf()),
        ..Default::default()
    };
    let (gw, _cfg) = Gateway::from_source(source).unwrap_or_else(|e| panic!("{e}"));
    gw.runtime().spawn_reloaders();
    start(gw).await
}

async fn start(gw: Gateway) -> TestGateway {
    let listener = TcpListener::bind(SocketAddr::from(LOCAL)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let admin_listener = TcpListener::bind(SocketAddr::from(LOCAL)).await.unwrap();
    let admin = admin_listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let (admin_tx, admin_rx) = oneshot::channel::<()>();
    let gw2 = gw.clone();
    let kept = gw.clone();
    tokio::spawn(async move {
        gw2.serve_admin(admin_listener, async {
            let _ = admin_rx.await;
        })
        .await
        .unwrap();
    });
    tokio::spawn(async move {
        gw.serve(listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
        let _ = admin_tx.send(());
    });
    TestGateway {
        addr,
        admin,
        gateway: kept,
        stop: Some(tx),
    }
}

/// Poll `cond` every 10 ms for at most `limit`; whether it became true.
pub async fn eventually<F, Fut>(limit: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + limit;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// [`eventually`], panicking with `what` when `check` never held.
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(
        eventually(limit, check).await,
        "timed out after {limit:?} waiting for {what}"
    );
}

/// Read a whole streamed body (bounded), and check it ended with `[DONE]`.
pub async fn read_done_stream(resp: http::Response<hyper::body::Incoming>) -> (Bytes, Vec<String>) {
    let body = tokio::time::timeout(Duration::from_secs(10), resp.into_body().collect())
        .await
        .expect("the stream ends within 10s")
        .unwrap()
        .to_bytes();
    let events = sse_data(&body);
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    (body, events)
}

/// Wait until a chat for `model` is answered 200 (a reload took effect).
pub async fn wait_serves(addr: SocketAddr, model: &str, what: &str) {
    wait_until(Duration::from_secs(3), what, || async {
        post(addr, "/v1/chat/completions", chat(model)).await.status == 200
    })
    .await;
}
