//! Our HTTP/1.1 server: one task per connection reads a request head into
//! a buffer, parses it once ([`head`]), hands the pipeline its parts and
//! body ([`body`]), and writes the answer ([`answer`], heads and chunks by
//! [`write`]) from the same task that polls the body, so an event read from
//! the provider is written to the client in the same task turn. Small writes are coalesced: a head
//! and a short body go out in one `write`, and SSE events that are ready
//! together in one chunked `write`.
//!
//! While the pipeline works and while an answer streams, the connection
//! is watched for the client going away (EOF or reset), which drops the
//! request: the upstream attempt is cancelled and the stream accounted as
//! ended by the client. A stream holds no read buffer (it is released
//! before relaying and a closed client is detected with a small stack
//! read), which is most of what a long stream costs.
//!
//! Requests this codec leaves to hyper (see [`head`]) are served by hyper
//! on the same connection with the bytes read so far ([`fallback`]).
//!
//! Tests: the pure parts beside them (`head`, `write`); the connection over
//! raw sockets in `tests/server_h1.rs`.

mod answer;
mod body;
mod fallback;
mod head;
mod write;

pub use body::{Arriving, RequestBody};

use std::future::poll_fn;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{Method, Request};
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use crate::pipeline;
use crate::runtime::Runtime;
use head::{BadRequest, Parsed};

/// A client has this long to send a request head (from the end of the
/// previous answer, or from accept): idle keep-alive connections close
/// after it.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// A read asks for at least this much room.
const READ_ROOM: usize = 4096;
/// Body bytes up to this size are copied after the head, for one `write`;
/// larger ones are written beside it (`writev`), not copied.
const SMALL_COPY: usize = 16 * 1024;
/// Bytes of requests sent ahead (pipelined) held while one is answered.
const MAX_AHEAD: usize = 64 * 1024;

/// The socket, shared by the connection and a body still arriving on it.
pub struct Io {
    stream: TcpStream,
    /// Body bytes of the current request not read yet.
    body_left: AtomicU64,
}

impl Io {
    /// Read what the socket holds into `buf` without waiting
    /// (`WouldBlock` when it holds nothing). A read that leaves room in
    /// `buf` emptied the socket, and epoll is edge-triggered: tokio is told
    /// the socket is not readable, so the next read waits for its next
    /// event rather than spending a syscall to find nothing (tokio's own
    /// `poll_read` does this, as nginx does). An end of file stays seen:
    /// tokio keeps "read closed" through a clear.
    fn read_into(&self, buf: &mut impl BufMut) -> io::Result<usize> {
        let mut short = 0;
        let read = self.stream.try_io(Interest::READABLE, || {
            let room = buf.chunk_mut().len();
            let n = self.stream.try_read_buf(buf)?;
            if n > 0 && n < room {
                short = n;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        });
        match read {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && short > 0 => Ok(short),
            other => other,
        }
    }
}

/// What every connection of one listener shares.
pub struct Served {
    pub runtime: Arc<Runtime>,
    /// Serves what this codec leaves to hyper.
    pub fallback: auto::Builder<TokioExecutor>,
}

/// How a connection's loop ended.
enum End {
    /// Close (after the answer, or idle at shutdown).
    Close,
    /// Close, reading and dropping what the client still sends.
    Linger,
    /// Hand the connection to hyper with the bytes read so far.
    Elsewhere,
}

/// Serve one connection until it closes. `stop` fires at shutdown: idle
/// connections close, busy ones after their answer.
pub async fn serve(
    served: Arc<Served>,
    stream: TcpStream,
    peer: IpAddr,
    mut stop: watch::Receiver<bool>,
) {
    let mut conn = Conn {
        io: Arc::new(Io {
            stream,
            body_left: AtomicU64::new(0),
        }),
        buf: BytesMut::new(),
        out: Vec::new(),
        timer: None,
        peer,
    };
    match conn.run(&served.runtime, &mut stop).await {
        End::Close => {}
        End::Linger => conn.linger().await,
        // Boxed: hyper's connection state (several KiB) is only allocated
        // for the connections it serves, not inline in every one.
        End::Elsewhere => Box::pin(fallback::serve(served, conn.io, conn.buf, peer, stop)).await,
    }
}

struct Conn {
    io: Arc<Io>,
    /// What was read and not yet parsed.
    buf: BytesMut,
    /// What is about to be written.
    out: Vec<u8>,
    /// The head timeout, armed once per connection and moved on lazily.
    timer: Option<Pin<Box<Sleep>>>,
    peer: IpAddr,
}

/// What one wait on the socket gave.
enum Read {
    Data,
    /// The client closed or reset the connection.
    Gone,
    Stop,
    Timeout,
}

impl Conn {
    async fn run(&mut self, rt: &Arc<Runtime>, stop: &mut watch::Receiver<bool>) -> End {
        loop {
            let head = match self.read_head(stop).await {
                Ok(h) => h,
                Err(end) => return end,
            };
            let head::Head {
                parts,
                body_len,
                expects_continue,
                keep_alive,
            } = head;
            let version = parts.version;
            let head_request = parts.method == Method::HEAD;
            let body = self.body(body_len, expects_continue);
            if self.buf.is_empty() {
                // Nothing sent ahead: hold no read buffer while the request
                // is handled (a stream's first event can take seconds).
                self.buf = BytesMut::new();
            }
            let req = Box::new(Request::from_parts(parts, body));
            // Boxed: the request's future (several KiB) lives only while
            // the request is handled, not inline in the connection's task.
            let mut handling = Box::pin(pipeline::handle(rt.clone(), Some(self.peer), req));
            let answer = poll_fn(|cx| {
                if let Poll::Ready(r) = handling.as_mut().poll(cx) {
                    return Poll::Ready(Some(r));
                }
                if self.poll_gone(cx) {
                    return Poll::Ready(None);
                }
                Poll::Pending
            })
            .await;
            drop(handling);
            let resp = match answer {
                Some(Ok(resp)) => resp,
                Some(Err(never)) => match never {},
                // The client went away: the request is dropped with it.
                None => return End::Close,
            };
            let body_read = self.io.body_left.load(Ordering::Relaxed) == 0;
            let keep_alive = keep_alive && body_read && !stopping(stop);
            // The body boxed once: moved by pointer from here on, and not
            // inline (three times over) in every connection's future.
            let (parts, body) = resp.into_parts();
            match self
                .answer(parts, Box::pin(body), version, head_request, keep_alive)
                .await
            {
                Ok(true) if body_read => {}
                Ok(_) if !body_read => return End::Linger,
                _ => return End::Close,
            }
            if self.out.capacity() > 4 * answer::COALESCE {
                self.out = Vec::new();
            }
        }
    }

    /// Wait for a whole request head, parse it and consume it.
    async fn read_head(&mut self, stop: &mut watch::Receiver<bool>) -> Result<head::Head, End> {
        let started = Instant::now();
        let mut stopped = false;
        loop {
            if self.buf.is_empty() {
                if stopped || stopping(stop) {
                    return Err(End::Close);
                }
            } else {
                match head::parse(&self.buf) {
                    Parsed::Head(head, len) => {
                        self.buf.advance(len);
                        return Ok(head);
                    }
                    Parsed::Partial => {}
                    Parsed::Elsewhere => return Err(End::Elsewhere),
                    Parsed::Bad(bad) => {
                        self.refuse(&bad).await;
                        return Err(End::Linger);
                    }
                }
            }
            match self.read_more(stop, started, &mut stopped).await {
                Read::Data => {}
                Read::Stop => stopped = true,
                Read::Gone => return Err(End::Close),
                Read::Timeout if self.buf.is_empty() => return Err(End::Close),
                Read::Timeout => {
                    let secs = HEAD_TIMEOUT.as_secs();
                    self.refuse(&BadRequest {
                        status: 408,
                        message: format!(
                            "The request head did not arrive within {secs} s; send the whole request at once."
                        ),
                    })
                    .await;
                    return Err(End::Linger);
                }
            }
        }
    }

    /// Read what the client sent next, waiting for it (up to the head
    /// timeout from `started`; idle connections also wake at shutdown).
    async fn read_more(
        &mut self,
        stop: &mut watch::Receiver<bool>,
        started: Instant,
        stopped: &mut bool,
    ) -> Read {
        if self.buf.capacity() - self.buf.len() < READ_ROOM / 4 {
            self.buf.reserve(READ_ROOM);
        }
        // Without a wait when the socket is known to have data; tokio
        // skips the syscall when it is known to have none.
        match self.io.read_into(&mut self.buf) {
            Ok(0) => return Read::Gone,
            Ok(_) => return Read::Data,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Read::Gone,
        }
        let deadline = started + HEAD_TIMEOUT;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            let idle = self.buf.is_empty() && !*stopped;
            tokio::select! {
                biased;
                ready = self.io.stream.readable() => {
                    if ready.is_err() {
                        return Read::Gone;
                    }
                    match self.io.read_into(&mut self.buf) {
                        Ok(0) => return Read::Gone,
                        Ok(_) => return Read::Data,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return Read::Gone,
                    }
                }
                changed = stop.changed(), if idle => {
                    if changed.is_err() || *stop.borrow() {
                        *stopped = true;
                        return Read::Stop;
                    }
                }
                () = timer.as_mut() => {
                    // Armed for an earlier head: move it on, rather than
                    // resetting the timer for every request.
                    if Instant::now() >= deadline {
                        return Read::Timeout;
                    }
                    timer.as_mut().reset(deadline);
                }
            }
        }
    }

    /// The request's body: whole when it is in the buffer already.
    fn body(&mut self, len: u64, expects_continue: bool) -> RequestBody {
        if len == 0 {
            return RequestBody::empty();
        }
        let Ok(n) = usize::try_from(len) else {
            return RequestBody::Arriving(Arriving::new(
                self.io.clone(),
                std::mem::take(&mut self.buf),
                len,
                expects_continue,
            ));
        };
        if self.buf.len() >= n {
            // A short body is copied out, so the buffer is reused for the
            // next read; a long one is split off, not copied.
            let data = if n <= SMALL_COPY {
                let d = Bytes::copy_from_slice(&self.buf[..n]);
                self.buf.advance(n);
                d
            } else {
                self.buf.split_to(n).freeze()
            };
            return RequestBody::Full(Some(data));
        }
        RequestBody::Arriving(Arriving::new(
            self.io.clone(),
            std::mem::take(&mut self.buf),
            len,
            expects_continue,
        ))
    }

    /// While the request is handled or its answer waits for the provider:
    /// has the client gone? Bytes it sends ahead (the next request) are
    /// kept, up to [`MAX_AHEAD`]; a body still arriving is the body's.
    fn poll_gone(&mut self, cx: &mut Context<'_>) -> bool {
        if self.io.body_left.load(Ordering::Relaxed) != 0 || self.buf.len() >= MAX_AHEAD {
            return false;
        }
        let mut scratch = [0u8; 512];
        loop {
            match self.io.stream.poll_read_ready(cx) {
                Poll::Pending => return false,
                Poll::Ready(Err(_)) => return true,
                Poll::Ready(Ok(())) => {}
            }
            match self.io.read_into(&mut &mut scratch[..]) {
                Ok(0) => return true,
                Ok(n) => {
                    self.buf.extend_from_slice(&scratch[..n]);
                    if self.buf.len() >= MAX_AHEAD {
                        return false;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return true,
            }
        }
    }
}

/// The server is shutting down (a state, not a change: it stays true
/// after a wait has seen it).
fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}
