//! The client over real sockets, against a raw-bytes server on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http_body::Body as _;
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Body, Client};

/// A server handing each accepted connection (numbered from 0) to
/// `script`; the count of accepted connections.
async fn server<F, Fut>(script: F) -> (SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(TcpStream, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(script(s, n));
        }
    });
    (addr, accepted)
}

/// Bytes read until a whole request head is in: them, the head's length
/// and its `Content-Length` (0 when absent); `None` at end of file.
async fn read_head(s: &mut TcpStream) -> Option<(Vec<u8>, usize, usize)> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
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
    Some((buf, head_end, len))
}

/// One request (head and content-length body) as text; `None` at end of
/// file.
async fn read_request(s: &mut TcpStream) -> Option<String> {
    let (mut buf, head_end, len) = read_head(s).await?;
    let mut tmp = [0u8; 4096];
    while buf.len() < head_end + len {
        let n = s.read(&mut tmp).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&tmp[..n]);
    }
    Some(String::from_utf8_lossy(&buf).into_owned())
}

fn post(addr: SocketAddr) -> Parts {
    http::Request::post(format!("http://{addr}/v1/chat?x=1"))
        .header("content-type", "application/json")
        .body(())
        .unwrap()
        .into_parts()
        .0
}

async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("the test took over 10 s")
}

async fn text(body: Body) -> String {
    let bytes = within(body.collect()).await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The next data frame of `body`.
async fn frame(body: &mut Body) -> Bytes {
    within(body.frame())
        .await
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap()
}

#[tokio::test]
async fn two_requests_go_over_one_connection() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let (addr, accepted) = server(move |mut s, _| {
        let tx = tx.clone();
        async move {
            while let Some(req) = read_request(&mut s).await {
                tx.send(req).unwrap();
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
                    .unwrap();
            }
        }
    })
    .await;
    let client = Client::default();
    for body in ["{\"n\":1}", "{\"n\":22}"] {
        let resp = within(client.send(&post(addr), &Bytes::from(body)))
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.body().size_hint().exact(), Some(2));
        assert_eq!(text(resp.into_body()).await, "ok");
        let req = seen.recv().await.unwrap();
        assert_eq!(
            req,
            format!(
                "POST /v1/chat?x=1 HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\n\r\n{body}",
                body.len()
            )
        );
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the connection was reused"
    );
}

#[tokio::test]
async fn a_large_body_is_sent_whole() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let (addr, _) = server(move |mut s, _| {
        let tx = tx.clone();
        async move {
            let req = read_request(&mut s).await.unwrap();
            tx.send(req.len()).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
        }
    })
    .await;
    let big = Bytes::from(vec![b'x'; 3 * 1024 * 1024]);
    let resp = within(Client::default().send(&post(addr), &big))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let got = seen.recv().await.unwrap();
    assert!(got > big.len(), "the server read {got} bytes");
}

#[tokio::test]
async fn a_connection_the_provider_closed_is_not_reused() {
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let (addr, accepted) = server(move |mut s, _| {
        let closed_tx = closed_tx.clone();
        async move {
            read_request(&mut s).await.unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            drop(s);
            closed_tx.send(()).unwrap();
        }
    })
    .await;
    let client = Client::default();
    for _ in 0..2 {
        let resp = within(client.send(&post(addr), &Bytes::from_static(b"{}")))
            .await
            .unwrap();
        assert_eq!(text(resp.into_body()).await, "ok");
        within(closed.recv()).await.unwrap();
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_chunked_stream_arrives_piece_by_piece() {
    let (go_tx, go) = mpsc::unbounded_channel::<()>();
    let go = Arc::new(tokio::sync::Mutex::new(go));
    let (addr, accepted) = server(move |mut s, n| {
        let go = go.clone();
        async move {
            if n > 0 {
                // The second request, on a connection of its own.
                read_request(&mut s).await.unwrap();
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await;
                return;
            }
            read_request(&mut s).await.unwrap();
            let pieces: [&[u8]; 4] = [
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\nb;x=y\r\ndata: one\n\n",
                // One chunk's data in two writes: the first half comes at once.
                b"\r\nB\r\ndata: t",
                b"wo\n\n\r\n",
                b"0\r\nx-trailer: 1\r\n\r\n",
            ];
            let mut go = go.lock().await;
            for p in pieces {
                s.write_all(p).await.unwrap();
                go.recv().await;
            }
            // Kept open: the next request comes on it.
            read_request(&mut s).await.unwrap();
            s.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
        }
    })
    .await;
    let client = Client::default();
    let resp = within(client.send(&post(addr), &Bytes::from_static(b"{}")))
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut body = resp.into_body();
    assert_eq!(frame(&mut body).await, "data: one\n\n");
    go_tx.send(()).unwrap();
    assert_eq!(frame(&mut body).await, "data: t");
    go_tx.send(()).unwrap();
    assert_eq!(frame(&mut body).await, "wo\n\n");
    assert!(!body.is_end_stream());
    go_tx.send(()).unwrap();
    assert!(within(body.frame()).await.is_none());
    assert!(body.is_end_stream());
    assert_eq!(client.idle_count(&addr.to_string()), 1);
    go_tx.send(()).unwrap();
    // The next request takes the same connection.
    let resp = within(client.send(&post(addr), &Bytes::new()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_close_delimited_body_runs_to_the_close() {
    let (addr, _) = server(|mut s, _| async move {
        read_request(&mut s).await.unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.write_all(b"part two").await.unwrap();
    })
    .await;
    let client = Client::default();
    let resp = within(client.send(&post(addr), &Bytes::new()))
        .await
        .unwrap();
    assert_eq!(text(resp.into_body()).await, "part one, part two");
    assert_eq!(client.idle_count(&addr.to_string()), 0, "not reusable");
}

#[tokio::test]
async fn a_body_cut_short_ends_with_an_error() {
    let (addr, _) = server(|mut s, _| async move {
        read_request(&mut s).await.unwrap();
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5678\r\n\r\n")
            .await
            .unwrap();
        s.write_all(&[b'x'; 1234]).await.unwrap();
    })
    .await;
    let client = Client::default();
    let resp = within(client.send(&post(addr), &Bytes::new()))
        .await
        .unwrap();
    let e = within(resp.into_body().collect()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the provider closed the connection after 1,234 of 5,678 body bytes"
    );
    assert_eq!(client.idle_count(&addr.to_string()), 0);
}

#[tokio::test]
async fn no_answer_is_a_broken_send() {
    let (addr, _) = server(|mut s, _| async move {
        read_request(&mut s).await.unwrap();
    })
    .await;
    let e = within(Client::default().send(&post(addr), &Bytes::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, crate::upstream::client::SendError::Broken(m) if m == "the provider closed the connection without answering"),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_204_has_no_body_and_frees_the_connection_at_once() {
    let (addr, accepted) = server(|mut s, _| async move {
        while read_request(&mut s).await.is_some() {
            s.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nx-a: b\r\n\r\n")
                .await
                .unwrap();
        }
    })
    .await;
    let client = Client::default();
    for _ in 0..2 {
        let resp = within(client.send(&post(addr), &Bytes::new()))
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        assert_eq!(resp.headers()["x-a"], "b");
        assert!(resp.body().is_end_stream());
        assert_eq!(
            client.idle_count(&addr.to_string()),
            1,
            "back before the body is read"
        );
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_dropped_mid_stream_closes_its_connection() {
    let (eof_tx, mut eof) = mpsc::unbounded_channel();
    let (addr, accepted) = server(move |mut s, n| {
        let eof_tx = eof_tx.clone();
        async move {
            read_request(&mut s).await.unwrap();
            if n == 0 {
                s.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
                    .await
                    .unwrap();
                // The client goes away: the connection reads end of file.
                let mut rest = [0u8; 16];
                let n = s.read(&mut rest).await.unwrap_or(0);
                eof_tx.send(n).unwrap();
            } else {
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await
                    .unwrap();
            }
        }
    })
    .await;
    let client = Client::default();
    let resp = within(client.send(&post(addr), &Bytes::new()))
        .await
        .unwrap();
    let mut body = resp.into_body();
    assert_eq!(frame(&mut body).await, "hello");
    drop(body);
    assert_eq!(
        within(eof.recv()).await,
        Some(0),
        "the connection was closed"
    );
    assert_eq!(client.idle_count(&addr.to_string()), 0);
    let resp = within(client.send(&post(addr), &Bytes::new()))
        .await
        .unwrap();
    assert_eq!(text(resp.into_body()).await, "ok");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_request_a_reused_connection_could_not_take_goes_once_on_a_new_one() {
    // Connection 0 answers once, then stays open and reports whatever else
    // it reads; connection 1 answers the request sent again.
    let (after_tx, mut after) = mpsc::unbounded_channel();
    let (addr, accepted) = server(move |mut s, n| {
        let after_tx = after_tx.clone();
        async move {
            let first = read_request(&mut s).await.unwrap();
            if n == 0 {
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none")
                    .await
                    .unwrap();
                // The client's half closes: what (if anything) came first.
                after_tx.send(read_request(&mut s).await).unwrap();
                // Open from this side, so the pool's check finds it usable.
                std::future::pending::<()>().await;
            } else {
                assert!(first.ends_with("{\"n\":2}"), "{first}");
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo")
                    .await
                    .unwrap();
            }
        }
    })
    .await;
    let client = Client::default();
    let resp = within(client.send(&post(addr), &Bytes::from_static(b"{\"n\":1}")))
        .await
        .unwrap();
    assert_eq!(text(resp.into_body()).await, "one");
    let origin = addr.to_string();
    assert_eq!(client.idle_count(&origin), 1);
    // The pooled connection can no longer send, and the check before reuse
    // cannot tell (nothing arrives on it).
    client.break_idle_writes(&origin);
    assert_eq!(within(after.recv()).await.unwrap(), None);
    let resp = within(client.send(&post(addr), &Bytes::from_static(b"{\"n\":2}")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(text(resp.into_body()).await, "two");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "sent again on a new connection"
    );
    // The broken connection was dropped; the new one is pooled.
    assert_eq!(client.idle_count(&origin), 1);
}

const TOO_LARGE: &str = "{\"error\":{\"message\":\"request too large\"}}";

/// What a provider that refuses a body over its limit does at once: read
/// the request's head only (the body left unread), then send `interim`
/// and a 413.
async fn refuse_after_head(s: &mut TcpStream, interim: &[u8]) {
    read_head(s).await.expect("a request head");
    let answer = format!(
        "HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{TOO_LARGE}",
        TOO_LARGE.len()
    );
    s.write_all(interim).await.unwrap();
    s.write_all(answer.as_bytes()).await.unwrap();
}

/// `body` sent to `addr` gets the 413, and the connection is not pooled.
async fn refused(client: &Client, addr: SocketAddr, body: &Bytes) {
    let resp = within(client.send(&post(addr), body)).await.unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(text(resp.into_body()).await, TOO_LARGE);
    // Cut short, the connection is not pooled.
    assert_eq!(client.idle_count(&addr.to_string()), 0);
}

/// A provider that refuses a body over its limit answers at once and
/// closes without reading the rest: its answer is what the client gets,
/// not the failed write.
#[tokio::test]
async fn an_answer_sent_before_the_body_was_taken_is_the_answer() {
    let (addr, _) = server(|mut s, _| async move {
        refuse_after_head(&mut s, b"").await;
        // Closed with the body unread: the kernel resets the connection.
    })
    .await;
    let big = Bytes::from(vec![b'x'; 16 * 1024 * 1024]);
    refused(&Client::default(), addr, &big).await;
}

/// A provider that refuses a body over its limit may answer at once and
/// then neither read nor close: the answer is passed on as soon as it
/// arrives, not when the provider gives up on the connection.
#[tokio::test]
async fn an_answer_from_a_provider_that_stopped_reading_is_the_answer() {
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let (addr, _) = server(move |mut s, _| {
        let mut release = release_rx.clone();
        async move {
            // An interim head first: it does not stop the request.
            refuse_after_head(&mut s, b"HTTP/1.1 100 Continue\r\n\r\n").await;
            // Open, the body unread, until the test is done.
            let _ = release.wait_for(|r| *r).await;
        }
    })
    .await;
    let big = Bytes::from(vec![b'x'; 64 * 1024 * 1024]);
    refused(&Client::default(), addr, &big).await;
    let _ = release_tx.send(true);
}

/// An interim `100 Continue` that arrives while a large body is still
/// being written does not end the write: the whole body goes, and the
/// final answer after it is the answer.
#[tokio::test]
async fn an_interim_head_during_the_write_does_not_cut_the_request() {
    let (tx, mut seen) = mpsc::unbounded_channel();
    let (addr, _) = server(move |mut s, _| {
        let tx = tx.clone();
        async move {
            let (buf, head_end, len) = read_head(&mut s).await.unwrap();
            // At once, before the body is read: the client is still writing.
            s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.unwrap();
            let mut tmp = [0u8; 64 * 1024];
            let mut body = buf.len() - head_end;
            while body < len {
                let n = s.read(&mut tmp).await.unwrap();
                assert!(n > 0, "the client stopped after {body} of {len} body bytes");
                body += n;
            }
            tx.send(body).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
        }
    })
    .await;
    let big = Bytes::from(vec![b'x'; 16 * 1024 * 1024]);
    let client = Client::default();
    let resp = within(client.send(&post(addr), &big)).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(text(resp.into_body()).await, "ok");
    assert_eq!(seen.recv().await, Some(big.len()));
}
