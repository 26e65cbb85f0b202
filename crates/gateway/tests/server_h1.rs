//! The gateway's own HTTP/1.1 server, byte by byte over raw sockets:
//! keep-alive and pipelining, chunked streams, HTTP/1.0, bodies that
//! arrive late (and `100 Continue`), refusals of heads it cannot read,
//! what it leaves to hyper (chunked uploads, HTTP/2), and its timeouts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ROUTES: &str = "routes:\n  - { name: all, models: [\"*\"], provider: p }";

/// One response read off `s`: its head (lower-cased names) and its body,
/// de-chunked. `None` when the connection closed before a head.
async fn response(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(String, Vec<u8>)> {
    let mut tmp = [0u8; 8192];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut tmp).await.unwrap_or(0);
        if n == 0 {
            assert!(
                buf.is_empty(),
                "closed mid-head: {:?}",
                String::from_utf8_lossy(buf)
            );
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
    buf.drain(..end);
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
    };
    let body = if head.starts_with("http/1.1 100 ") || head.contains(" 204 ") {
        Vec::new()
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse().unwrap();
        fill(s, buf, len).await;
        buf.drain(..len).collect()
    } else if header("transfer-encoding").as_deref() == Some("chunked") {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                let want = buf.len() + 1;
                fill(s, buf, want).await;
            };
            let size =
                usize::from_str_radix(std::str::from_utf8(&buf[..line_end]).unwrap(), 16).unwrap();
            fill(s, buf, line_end + 2 + size + 2).await;
            body.extend_from_slice(&buf[line_end + 2..line_end + 2 + size]);
            assert_eq!(&buf[line_end + 2 + size..line_end + 4 + size], b"\r\n");
            buf.drain(..line_end + 4 + size);
            if size == 0 {
                break body;
            }
        }
    } else {
        // Close-delimited.
        let mut body = std::mem::take(buf);
        s.read_to_end(&mut body).await.unwrap();
        body
    };
    Some((head, body))
}

async fn fill(s: &mut TcpStream, buf: &mut Vec<u8>, want: usize) {
    let mut tmp = [0u8; 8192];
    while buf.len() < want {
        let n = s.read(&mut tmp).await.unwrap();
        assert!(n > 0, "closed mid-body");
        buf.extend_from_slice(&tmp[..n]);
    }
}

fn chat_request(stream: bool, version: &str, extra: &str) -> String {
    let body = serde_json::json!({
        "model": "gpt-4o",
        "stream": stream,
        "messages": [{ "role": "user", "content": "hi" }],
    })
    .to_string();
    format!(
        "POST /v1/chat/completions {version}\r\nhost: gw\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Send a request on `s` and read its answer, which must be a 200.
async fn ok(s: &mut TcpStream, buf: &mut Vec<u8>, request: &str) -> (String, Vec<u8>) {
    s.write_all(request.as_bytes()).await.unwrap();
    let (head, body) = response(s, buf).await.unwrap();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    (head, body)
}

async fn gateway_at(emu: SocketAddr, extra: &str) -> TestGateway {
    simple_gateway(emu, "sk-test-00000001", &format!("{ROUTES}\n{extra}")).await
}

async fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), s.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let emu = default_emulator().await;
    let gw = gateway_at(emu.addr, "").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    // Three requests in one write: a chat, a model list, a chat.
    let models = "GET /v1/models HTTP/1.1\r\nhost: gw\r\n\r\n";
    let all = format!(
        "{}{models}{}",
        chat_request(false, "HTTP/1.1", ""),
        chat_request(false, "HTTP/1.1", "")
    );
    s.write_all(all.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    for want in ["chat.completion", "list", "chat.completion"] {
        let (head, body) = response(&mut s, &mut buf).await.unwrap();
        assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
        assert!(
            head.contains("\r\ndate: ") && !head.contains("connection: close"),
            "{head}"
        );
        let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(j["object"], want, "{j}");
    }
    // And the connection still serves.
    ok(&mut s, &mut buf, &chat_request(false, "HTTP/1.1", "")).await;
}

#[tokio::test]
async fn a_stream_is_chunked_event_by_event_and_the_connection_is_reused() {
    let emu = default_emulator().await;
    let gw = gateway_at(emu.addr, "").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let mut buf = Vec::new();
    s.write_all(chat_request(true, "HTTP/1.1", "").as_bytes())
        .await
        .unwrap();
    let (head, body) = response(&mut s, &mut buf).await.unwrap();
    assert!(
        head.contains("transfer-encoding: chunked") && head.contains("text/event-stream"),
        "{head}"
    );
    let events = sse_data(&body);
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    assert!(events.len() >= 9, "{events:?}");
    ok(&mut s, &mut buf, &chat_request(false, "HTTP/1.1", "")).await;
}

#[tokio::test]
async fn http_10_clients_get_closed_or_kept_connections_as_they_ask() {
    let emu = default_emulator().await;
    let gw = gateway_at(emu.addr, "").await;
    let mut buf = Vec::new();
    // No keep-alive asked: the answer, then the close.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(chat_request(false, "HTTP/1.0", "").as_bytes())
        .await
        .unwrap();
    let (head, _) = response(&mut s, &mut buf).await.unwrap();
    assert!(head.contains("connection: close"), "{head}");
    assert!(closed(&mut s).await);
    // Keep-alive asked: kept.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    for _ in 0..2 {
        s.write_all(chat_request(false, "HTTP/1.0", "connection: keep-alive\r\n").as_bytes())
            .await
            .unwrap();
        let (head, _) = response(&mut s, &mut buf).await.unwrap();
        assert!(head.contains("connection: keep-alive"), "{head}");
    }
    // A stream to an HTTP/1.0 client: no chunks, the close ends it.
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(chat_request(true, "HTTP/1.0", "connection: keep-alive\r\n").as_bytes())
        .await
        .unwrap();
    let (head, body) = response(&mut s, &mut buf).await.unwrap();
    assert!(
        !head.contains("chunked") && head.contains("connection: close"),
        "{head}"
    );
    assert_eq!(sse_data(&body).last().map(String::as_str), Some("[DONE]"));
}

#[tokio::test]
async fn a_body_that_arrives_late_or_after_100_continue_is_read_whole() {
    let emu = default_emulator().await;
    let gw = gateway_at(emu.addr, "").await;
    let request = chat_request(false, "HTTP/1.1", "expect: 100-continue\r\n");
    let (head, body) = request.split_at(request.find("\r\n\r\n").unwrap() + 4);
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let (interim, _) = response(&mut s, &mut buf).await.unwrap();
    assert_eq!(interim, "http/1.1 100 continue\r\n\r\n");
    // The body in three pieces, apart.
    let (a, rest) = body.split_at(10);
    let (b, c) = rest.split_at(20);
    for piece in [a, b, c] {
        s.write_all(piece.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (head, body) = response(&mut s, &mut buf).await.unwrap();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["object"], "chat.completion");
    // Without `Expect`, a body sent after the head is read as it comes.
    let request = chat_request(false, "HTTP/1.1", "");
    let (head, body) = request.split_at(request.find("\r\n\r\n").unwrap() + 4);
    s.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    s.write_all(body.as_bytes()).await.unwrap();
    let (head, _) = response(&mut s, &mut buf).await.unwrap();
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

#[tokio::test]
async fn a_request_refused_before_its_body_gets_no_100_continue() {
    let emu = default_emulator().await;
    let gw = gateway_at(
        emu.addr,
        "consumers:\n  - { name: team, keys: [\"sk-team-0001\"] }",
    )
    .await;
    let request = chat_request(
        false,
        "HTTP/1.1",
        "expect: 100-continue\r\nauthorization: Bearer sk-wrong-0002\r\n",
    );
    let head = &request[..request.find("\r\n\r\n").unwrap() + 4];
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let (head, body) = response(&mut s, &mut buf).await.unwrap();
    assert!(head.starts_with("http/1.1 401"), "{head}");
    // The body was never read: the connection is not trusted with another request.
    assert!(head.contains("connection: close"), "{head}");
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(j["error"]["message"].is_string(), "{j}");
    assert!(closed(&mut s).await);
}

#[tokio::test]
async fn heads_it_cannot_read_are_refused_in_words_and_closed() {
    let emu = default_emulator().await;
    let gw = gateway_at(emu.addr, "").await;
    let cases = [
        (
            "GET /v1/models HTTP/1.1\r\nbad header: x\r\n\r\n".to_string(),
            "400",
            "bad_request",
        ),
        (
            format!(
                "GET /v1/models HTTP/1.1\r\n{}\r\n",
                (0..101)
                    .map(|i| format!("x-{i}: v\r\n"))
                    .collect::<String>()
            ),
            "431",
            "request_header_fields_too_large",
        ),
        (
            "POST /v1/chat/completions HTTP/1.1\r\ncontent-length: 5, 7\r\n\r\n".to_string(),
            "400",
            "bad_request",
        ),
    ];
    for (request, status, code) in cases {
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let (head, body) = response(&mut s, &mut buf).await.unwrap();
        assert!(head.starts_with(&format!("http/1.1 {status} ")), "{head}");
        assert!(
            head.contains("content-type: application/json")
                && head.contains("connection: close")
                && head.contains("\r\ndate: "),
            "{head}"
        );
        let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(j["error"]["code"], code, "{j}");
        assert!(j["error"]["message"].as_str().unwrap().len() > 20, "{j}");
        assert!(closed(&mut s).await);
    }
}

#[tokio::test]
async fn chunked_uploads_and_http2_are_served_by_hyper() {
    let emu = default_emulator().await;
    let gw = gateway_at(emu.addr, "").await;
    let body = serde_json::to_string(&chat("gpt-4o")).unwrap();
    let (a, b) = body.split_at(7);
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    for _ in 0..2 {
        let (head, body) = response(&mut s, &mut buf).await.unwrap();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(j["object"], "chat.completion");
        // The connection stays hyper's, and serves the next request.
        s.write_all(chat_request(false, "HTTP/1.1", "").as_bytes())
            .await
            .unwrap();
    }

    let h2 = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .http2_only(true)
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let req = http::Request::post(format!("http://{}/v1/chat/completions", gw.addr))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let resp = h2.request(req).await.unwrap();
    assert_eq!(resp.version(), http::Version::HTTP_2);
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn large_answers_pass_whole_with_their_length_or_in_chunks() {
    let big = "x".repeat(100_000);
    let json = serde_json::json!({
        "id": "c1", "object": "chat.completion", "model": "gpt-4o", "created": 1,
        "choices": [{ "index": 0, "finish_reason": "stop", "message": { "role": "assistant", "content": big } }],
    })
    .to_string();
    let upstream = raw_upstream(move |mut s| {
        let json = json.clone();
        async move {
            loop {
                let req = read_request(&mut s).await;
                if req.json()["stream"] == true {
                    s.write_all(SSE_HEAD).await.unwrap();
                    let event = format!("data: {}\n\n", serde_json::json!({
                        "id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o", "created": 1,
                        "choices": [{ "index": 0, "delta": { "content": "y".repeat(40_000) } }],
                    }));
                    write_chunk(&mut s, event.as_bytes()).await;
                    write_chunk(&mut s, b"data: [DONE]\n\n").await;
                    end_chunks(&mut s).await;
                } else {
                    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", json.len());
                    s.write_all(head.as_bytes()).await.unwrap();
                    s.write_all(json.as_bytes()).await.unwrap();
                }
            }
        }
    })
    .await;
    let gw = gateway_at(upstream, "").await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    let mut buf = Vec::new();
    let (_, body) = ok(&mut s, &mut buf, &chat_request(false, "HTTP/1.1", "")).await;
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        j["choices"][0]["message"]["content"].as_str().map(str::len),
        Some(100_000)
    );
    s.write_all(chat_request(true, "HTTP/1.1", "").as_bytes())
        .await
        .unwrap();
    let (_, body) = response(&mut s, &mut buf).await.unwrap();
    let events = sse_data(&body);
    let first: serde_json::Value = serde_json::from_str(&events[0]).unwrap();
    assert_eq!(
        first["choices"][0]["delta"]["content"]
            .as_str()
            .map(str::len),
        Some(40_000)
    );
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
}

#[tokio::test]
async fn idle_connections_and_slow_heads_time_out() {
    let emu = default_emulator().await;
    let gw = gateway_at(emu.addr, "").await;
    let mut idle = TcpStream::connect(gw.addr).await.unwrap();
    let mut slow = TcpStream::connect(gw.addr).await.unwrap();
    slow.write_all(b"GET /v1/models HTTP/1.1\r\nhost: gw\r\n")
        .await
        .unwrap();
    // Let the gateway see both connections before time jumps.
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokio::time::pause();
    let mut buf = Vec::new();
    let (head, body) = response(&mut slow, &mut buf).await.unwrap();
    assert!(head.starts_with("http/1.1 408 "), "{head}");
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        j["error"]["message"].as_str().unwrap().contains("30 s"),
        "{j}"
    );
    let mut b = [0u8; 8];
    assert_eq!(idle.read(&mut b).await.unwrap(), 0);
}

#[tokio::test]
async fn at_shutdown_idle_connections_close_and_a_request_on_its_way_is_answered() {
    let emu = default_emulator().await;
    let mut gw = gateway_at(emu.addr, "").await;
    let mut buf = Vec::new();
    // A keep-alive connection that served one request and now idles.
    let mut idle = TcpStream::connect(gw.addr).await.unwrap();
    idle.write_all(chat_request(false, "HTTP/1.1", "").as_bytes())
        .await
        .unwrap();
    let (head, _) = response(&mut idle, &mut buf).await.unwrap();
    assert!(!head.contains("connection: close"), "{head}");
    // A request whose head is half sent.
    let request = chat_request(false, "HTTP/1.1", "");
    let (first, rest) = request.split_at(30);
    let mut partial = TcpStream::connect(gw.addr).await.unwrap();
    partial.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    gw.shut_down();
    assert!(
        closed(&mut idle).await,
        "the idle connection closes at once"
    );
    partial.write_all(rest.as_bytes()).await.unwrap();
    let (head, body) = response(&mut partial, &mut buf).await.unwrap();
    assert!(
        head.starts_with("http/1.1 200") && head.contains("connection: close"),
        "{head}"
    );
    let j: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["object"], "chat.completion");
    assert!(closed(&mut partial).await, "closed after its answer");
}
