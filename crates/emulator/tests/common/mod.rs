//! Helpers shared by the emulator's integration tests: start an emulator on
//! 127.0.0.1 and talk to it over real sockets.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use switchyard_emulator::{Emulator, MockConfig, RunningEmulator};

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub async fn start(cfg: MockConfig) -> RunningEmulator {
    Emulator::new(cfg)
        .start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::from(body.to_owned()))).unwrap()
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub async fn call(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let resp = client()
        .request(request(addr, method, path, headers, body))
        .await
        .unwrap();
    let (parts, body) = resp.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "invalid JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

/// Runs a test body with a deadline, so a server that stops answering fails
/// the test instead of hanging it.
pub async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), f)
        .await
        .expect("the test took more than 10 s")
}

/// Asserts that `body` (a response body or an event payload) says nothing
/// about tokens: no `usage`, `usageMetadata`, `*_tokens`, `*TokenCount`,
/// `inputTokens`, ... (case-insensitive search for `usage` and `token`).
pub fn assert_no_usage(body: &[u8]) {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    assert!(
        !text.contains("usage") && !text.contains("token"),
        "usage reported: {}",
        String::from_utf8_lossy(body)
    );
}

/// `v` with the keys in `drop` removed at any depth, and the values that
/// differ between two answers to the same request reduced to their shape:
/// ids keep their prefix (`chatcmpl-`, `msg_`, `toolu_`, `call_`,
/// `tooluse_`; the hex part is dropped) and `created` / `latencyMs` become
/// `"<number>"`.
pub fn normalized(v: &Value, drop: &[&str]) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !drop.contains(&k.as_str()))
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("id" | "responseId" | "toolUseId", Value::String(s)) => Value::String(
                            s.trim_end_matches(|c: char| c.is_ascii_hexdigit())
                                .to_owned(),
                        ),
                        ("created" | "latencyMs", Value::Number(_)) => {
                            Value::String("<number>".to_owned())
                        }
                        _ => normalized(v, drop),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| normalized(x, drop)).collect()),
        other => other.clone(),
    }
}
