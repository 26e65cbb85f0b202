//! Streams are relayed event by event, reassembled across reads, carry
//! usage, and are cancelled upstream when the client leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

const CHUNK: &str = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#;
const USAGE: &str = r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}"#;

async fn open_stream(
    addr: std::net::SocketAddr,
    body: serde_json::Value,
) -> hyper::Response<hyper::body::Incoming> {
    let req = http::Request::post(format!("http://{addr}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            serde_json::to_vec(&body).unwrap(),
        )))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), client().request(req))
        .await
        .unwrap()
        .unwrap()
}

async fn next_data(body: &mut hyper::body::Incoming) -> bytes::Bytes {
    loop {
        let f = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("a frame within 5s")
            .expect("stream still open")
            .unwrap();
        if let Ok(d) = f.into_data() {
            return d;
        }
    }
}

#[tokio::test]
async fn first_event_reaches_client_before_upstream_finishes() {
    let (release_tx, release_rx) = mpsc::channel::<()>(1);
    let release_rx = std::sync::Arc::new(tokio::sync::Mutex::new(release_rx));
    let up = raw_upstream(move |mut s| {
        let rx = release_rx.clone();
        async move {
            read_request(&mut s).await;
            s.write_all(SSE_HEAD).await.unwrap();
            write_chunk(&mut s, format!("data: {CHUNK}\n\n").as_bytes()).await;
            // The rest only after the client has seen the first event.
            rx.lock().await.recv().await;
            write_chunk(
                &mut s,
                format!("data: {CHUNK}\n\ndata: [DONE]\n\n").as_bytes(),
            )
            .await;
            end_chunks(&mut s).await;
        }
    })
    .await;
    let gw = simple_gateway(up, "sk-test-00000001", "").await;
    let resp = open_stream(gw.addr, chat_stream("m")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    let first = next_data(&mut body).await;
    assert_eq!(
        first,
        format!("data: {CHUNK}\n\n").as_bytes(),
        "first event relayed while upstream is still open"
    );
    release_tx.send(()).await.unwrap();
    let mut rest = Vec::new();
    while let Some(f) = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap()
    {
        if let Ok(d) = f.unwrap().into_data() {
            rest.extend_from_slice(&d);
        }
    }
    assert_eq!(
        rest,
        format!("data: {CHUNK}\n\ndata: [DONE]\n\n").as_bytes()
    );
}

#[tokio::test]
async fn events_split_across_reads_are_reassembled_and_usage_kept() {
    let (req_tx, mut req_rx) = mpsc::channel::<serde_json::Value>(4);
    let up = raw_upstream(move |mut s| {
        let tx = req_tx.clone();
        async move {
            let req = read_request(&mut s).await;
            tx.send(req.json()).await.unwrap();
            s.write_all(SSE_HEAD).await.unwrap();
            let all = format!("data: {CHUNK}\r\n\r\ndata: {USAGE}\n\ndata: [DONE]\n\n");
            // Cut the stream mid-JSON, mid-line-ending and mid-`data:`.
            let cuts = [
                10,
                CHUNK.len() + 7,
                CHUNK.len() + 9,
                CHUNK.len() + 12,
                CHUNK.len() + 40,
            ];
            let mut at = 0;
            for c in cuts {
                write_chunk(&mut s, &all.as_bytes()[at..c]).await;
                tokio::time::sleep(Duration::from_millis(15)).await;
                at = c;
            }
            write_chunk(&mut s, &all.as_bytes()[at..]).await;
            end_chunks(&mut s).await;
        }
    })
    .await;
    let gw = simple_gateway(up, "sk-test-00000001", "").await;

    // The client did not ask for usage: the gateway asks for it upstream
    // and hides the usage-only chunk again.
    let r = post(gw.addr, "/v1/chat/completions", chat_stream("m")).await;
    let sent = req_rx.recv().await.unwrap();
    assert_eq!(
        sent["stream_options"]["include_usage"], true,
        "gateway asks for streamed usage"
    );
    assert_eq!(sse_data(&r.body), [CHUNK.to_string(), "[DONE]".to_string()]);

    // The client asked for usage: it gets the chunk, whole.
    let mut body = chat_stream("m");
    body["stream_options"] = serde_json::json!({"include_usage": true});
    let r = post(gw.addr, "/v1/chat/completions", body).await;
    let sent = req_rx.recv().await.unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true);
    let data = sse_data(&r.body);
    assert_eq!(data.len(), 3);
    let usage: serde_json::Value = serde_json::from_str(&data[1]).unwrap();
    assert_eq!(usage["usage"]["total_tokens"], 9);
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_request() {
    let (closed_tx, closed_rx) = oneshot::channel::<()>();
    let closed_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(closed_tx)));
    let up = raw_upstream(move |mut s| {
        let closed_tx = closed_tx.clone();
        async move {
            read_request(&mut s).await;
            s.write_all(SSE_HEAD).await.unwrap();
            write_chunk(&mut s, format!("data: {CHUNK}\n\n").as_bytes()).await;
            // Keep the stream open; notice when the gateway hangs up.
            let mut buf = [0u8; 64];
            let gone = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            })
            .await
            .is_ok();
            if gone && let Some(tx) = closed_tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    })
    .await;
    let gw = simple_gateway(up, "sk-test-00000001", "").await;

    // A raw client, so dropping it really closes the socket.
    let mut c = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let body = serde_json::to_vec(&chat_stream("m")).unwrap();
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    c.write_all(head.as_bytes()).await.unwrap();
    c.write_all(&body).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"Hi\"") {
        let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    drop(c);
    tokio::time::timeout(Duration::from_secs(5), closed_rx)
        .await
        .expect("upstream connection closed after the client left")
        .unwrap();
}

#[tokio::test]
async fn emulator_stream_through_gateway_is_well_formed() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "sk-test-00000001", "").await;
    let r = post(gw.addr, "/v1/chat/completions", chat_stream("gpt-4o-mini")).await;
    assert_eq!(r.status, 200);
    let data = sse_data(&r.body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    for d in &data[..data.len() - 1] {
        let v: serde_json::Value = serde_json::from_str(d).unwrap();
        assert_eq!(v["object"], "chat.completion.chunk");
        assert!(
            !v["choices"].as_array().unwrap().is_empty(),
            "no usage-only chunk leaks: {d}"
        );
    }
    assert!(emu.emulator.requests()[0].stream);
}

#[tokio::test]
async fn upstream_cut_mid_stream_ends_with_an_error_event() {
    let emu = default_emulator().await;
    let gw = simple_gateway(emu.addr, "cut-000000000001", "").await;
    let r = post(gw.addr, "/v1/chat/completions", chat_stream("gpt-4o-mini")).await;
    assert_eq!(r.status, 200);
    let data = sse_data(&r.body);
    let last: serde_json::Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "stream_interrupted", "{data:?}");
    assert!(data.len() >= 2, "the events before the cut were delivered");
}

/// A keep-alive upstream that counts its connections; `close_after_one`
/// closes each after its first answer (without saying so).
async fn counting_upstream(
    close_after_one: bool,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let conns = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = conns.clone();
    let addr = raw_upstream(move |mut s| {
        counted.fetch_add(1, Ordering::SeqCst);
        async move {
            loop {
                // A request head (the bodies here fit one read).
                let mut buf = vec![0u8; 65536];
                let mut got = 0;
                loop {
                    let n = s.read(&mut buf[got..]).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got += n;
                    let text = String::from_utf8_lossy(&buf[..got]);
                    if let Some(i) = text.find("\r\n\r\n") {
                        let len: usize = text[..i]
                            .lines()
                            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                            .unwrap_or(0);
                        if got >= i + 4 + len {
                            break;
                        }
                    }
                }
                let body = r#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if s.write_all(resp.as_bytes()).await.is_err() || close_after_one {
                    return;
                }
            }
        }
    })
    .await;
    (addr, conns)
}

#[tokio::test]
async fn upstream_connections_are_reused_and_a_closed_one_is_replaced() {
    use std::sync::atomic::Ordering;
    let (addr, conns) = counting_upstream(false).await;
    let gw = simple_gateway(addr, "sk-pool", "").await;
    for _ in 0..5 {
        let r = post(gw.addr, "/v1/chat/completions", chat("m")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(conns.load(Ordering::SeqCst), 1, "one keep-alive connection");

    // An upstream that closes each connection after answering: the next
    // request notices and opens a new one instead of failing.
    let (addr, conns) = counting_upstream(true).await;
    let gw = simple_gateway(addr, "sk-pool", "").await;
    for _ in 0..3 {
        let r = post(gw.addr, "/v1/chat/completions", chat("m")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(conns.load(Ordering::SeqCst), 3);
}
