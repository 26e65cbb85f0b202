//! The upstream HTTP client. Plain-HTTP origins (self-hosted vLLM, Ollama,
//! the emulator) go through our own keep-alive pool of HTTP/1.1
//! connections that are driven *inside the request's task*: the response
//! body polls its connection, so an event read from the provider is
//! written to the client without a hand-off to another task (and without
//! waking another thread). TLS origins use hyper-util's pooled client
//! (HTTP/2 where the provider offers it).
//!
//! A pooled connection is checked before reuse: polled once (a closed one
//! answers at once) and asked whether it can take a request; idle ones
//! older than [`IDLE_TIMEOUT`] are dropped. A request that could not be
//! written on a reused connection (it closed meanwhile) is sent once more
//! on a new one; nothing that reached the provider is sent twice.

use std::collections::{HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderValue, Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use pin_project_lite::pin_project;
use tokio::net::TcpStream;

use crate::runtime::HttpClient;

/// Idle connections older than this are not reused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Idle connections kept per origin at most.
const MAX_IDLE_PER_ORIGIN: usize = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

type Connection = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// Why a request got no answer.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made.
    Connect(String),
    /// The connection broke before an answer came.
    Broken(String),
}

/// One HTTP/1.1 connection of the pool.
struct Conn {
    sender: http1::SendRequest<Full<Bytes>>,
    conn: Pin<Box<Connection>>,
    idle_since: Instant,
}

impl Conn {
    /// Whether this idle connection can take a request now: polled once
    /// (a connection the server closed ends at once) and ready to send.
    fn usable(&mut self) -> bool {
        if self.idle_since.elapsed() > IDLE_TIMEOUT {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        if self.conn.as_mut().poll(&mut cx).is_ready() {
            return false;
        }
        matches!(self.sender.poll_ready(&mut cx), Poll::Ready(Ok(())))
    }
}

#[derive(Default)]
struct Pool {
    /// Per origin, oldest first.
    idle: Mutex<HashMap<Box<str>, VecDeque<Conn>>>,
}

impl Pool {
    fn checkout(&self, origin: &str) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.get_mut(origin)?;
        // Most recently used first: the likeliest to be open.
        while let Some(mut c) = list.pop_back() {
            if c.usable() {
                return Some(c);
            }
        }
        None
    }

    fn checkin(&self, origin: &str, mut c: Conn) {
        c.idle_since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.entry(Box::from(origin)).or_default();
        // Connections idle too long are closed rather than kept open until
        // some later request finds them stale.
        while list
            .front()
            .is_some_and(|old| old.idle_since.elapsed() > IDLE_TIMEOUT)
        {
            list.pop_front();
        }
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push_back(c);
        }
    }
}

/// The client every attempt sends through.
#[derive(Clone)]
pub struct UpstreamClient {
    pool: Arc<Pool>,
    tls: HttpClient,
}

impl UpstreamClient {
    pub fn new(tls: HttpClient) -> Self {
        UpstreamClient {
            pool: Arc::new(Pool::default()),
            tls,
        }
    }

    /// Send `req` (an absolute URI) and wait for the answer's head.
    pub async fn send(
        &self,
        mut req: Request<Full<Bytes>>,
    ) -> Result<Response<UpstreamBody>, SendError> {
        if req.uri().scheme_str() != Some("http") {
            return match self.tls.request(req).await {
                Ok(r) => Ok(r.map(|body| UpstreamBody::Tls { body })),
                Err(e) => Err(legacy_error(&e)),
            };
        }
        let Some(origin) = req.uri().authority().map(|a| a.as_str().to_string()) else {
            return Err(SendError::Connect(format!("`{}` has no host", req.uri())));
        };
        if !req.headers().contains_key(HOST)
            && let Ok(v) = HeaderValue::from_str(&origin)
        {
            req.headers_mut().insert(HOST, v);
        }
        // Origin-form on the wire.
        let path = req
            .uri()
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_string();
        if let Ok(u) = path.parse::<Uri>() {
            *req.uri_mut() = u;
        }
        if let Some(c) = self.pool.checkout(&origin) {
            // A reused connection may have closed in the meantime: a
            // request it never sent comes back and goes out once more on a
            // new one.
            match exchange(c, req).await {
                Ok(r) => return Ok(self.wrap(r, origin)),
                Err(Exchange::NotSent(_, Some(back))) => req = *back,
                Err(Exchange::NotSent(e, None) | Exchange::Failed(e)) => return Err(e),
            }
        }
        let c = connect(&origin).await?;
        match exchange(c, req).await {
            Ok(r) => Ok(self.wrap(r, origin)),
            Err(Exchange::NotSent(e, _) | Exchange::Failed(e)) => Err(e),
        }
    }

    fn wrap(
        &self,
        (resp, conn): (Response<Incoming>, Conn),
        origin: String,
    ) -> Response<UpstreamBody> {
        let pool = Arc::downgrade(&self.pool);
        resp.map(|body| UpstreamBody::Pooled {
            body,
            conn: Some(Box::new(Checked {
                conn,
                pool,
                origin: origin.into(),
            })),
        })
    }
}

/// A pooled connection lent to one response, returned when its body ends.
struct Checked {
    conn: Conn,
    pool: Weak<Pool>,
    origin: Box<str>,
}

enum Exchange {
    /// The request was not written (the connection had closed); it comes
    /// back when hyper still has it.
    NotSent(SendError, Option<Box<Request<Full<Bytes>>>>),
    Failed(SendError),
}

/// Send on `c`, driving the connection in this task until the head of the
/// answer is in.
async fn exchange(
    mut c: Conn,
    req: Request<Full<Bytes>>,
) -> Result<(Response<Incoming>, Conn), Exchange> {
    let mut fut = std::pin::pin!(c.sender.try_send_request(req));
    let mut closed: Option<String> = None;
    let result = poll_fn(|cx| {
        if closed.is_none() {
            match c.conn.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => closed = Some("the connection closed".into()),
                Poll::Ready(Err(e)) => closed = Some(cause(&e)),
                Poll::Pending => {}
            }
        }
        fut.as_mut().poll(cx)
    })
    .await;
    match result {
        Ok(resp) => Ok((resp, c)),
        Err(mut e) => {
            let back = e.take_message().map(Box::new);
            let why = closed.unwrap_or_else(|| cause(e.error()));
            if back.is_some() || e.error().is_canceled() {
                Err(Exchange::NotSent(SendError::Broken(why), back))
            } else {
                Err(Exchange::Failed(SendError::Broken(why)))
            }
        }
    }
}

/// A new connection to `origin` (`host:port`).
async fn connect(origin: &str) -> Result<Conn, SendError> {
    let addr = if origin.contains(':') {
        origin.to_string()
    } else {
        format!("{origin}:80")
    };
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr)).await {
        Err(_) => {
            return Err(SendError::Connect(format!(
                "no connection within {} s",
                CONNECT_TIMEOUT.as_secs()
            )));
        }
        Ok(Err(e)) => return Err(SendError::Connect(e.to_string())),
        Ok(Ok(s)) => s,
    };
    let _ = stream.set_nodelay(true);
    let (sender, conn) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| SendError::Connect(cause(&e)))?;
    Ok(Conn {
        sender,
        conn: Box::pin(conn),
        idle_since: Instant::now(),
    })
}

/// The innermost cause of an error (what a person can act on).
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        last = s.to_string();
        src = s.source();
    }
    last
}

fn legacy_error(e: &hyper_util::client::legacy::Error) -> SendError {
    if e.is_connect() {
        SendError::Connect(cause(e))
    } else {
        SendError::Broken(cause(e))
    }
}

pin_project! {
    /// An answer's body: from a pooled connection this body drives, or
    /// from the TLS client's.
    #[project = Proj]
    pub enum UpstreamBody {
        Pooled { #[pin] body: Incoming, conn: Option<Box<Checked>> },
        Tls { #[pin] body: Incoming },
    }
}

/// The whole answer is read: the connection can serve the next request.
fn give_back(conn: &mut Option<Box<Checked>>) {
    if let Some(c) = conn.take() {
        let Checked {
            mut conn,
            pool,
            origin,
        } = *c;
        let mut noop = Context::from_waker(Waker::noop());
        if conn.conn.as_mut().poll(&mut noop).is_pending()
            && let Some(pool) = pool.upgrade()
        {
            pool.checkin(&origin, conn);
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.project() {
            Proj::Tls { body } => body.poll_frame(cx),
            Proj::Pooled { mut body, conn } => {
                let mut drove = false;
                loop {
                    match body.as_mut().poll_frame(cx) {
                        Poll::Ready(None) => {
                            give_back(conn);
                            return Poll::Ready(None);
                        }
                        Poll::Ready(Some(Ok(frame))) => {
                            // A body of known length is done with its last
                            // byte: whoever reads it need not poll again.
                            if body.is_end_stream() {
                                give_back(conn);
                            }
                            return Poll::Ready(Some(Ok(frame)));
                        }
                        Poll::Ready(other) => return Poll::Ready(other),
                        Poll::Pending if drove => return Poll::Pending,
                        Poll::Pending => {
                            drove = true;
                            // Read what the socket has: that feeds the body.
                            if let Some(c) = conn.as_mut()
                                && c.conn.conn.as_mut().poll(cx).is_ready()
                            {
                                // Closed or failed: the body ends (with an
                                // error if the answer was cut short).
                                *conn = None;
                            }
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Pooled { body, .. } | UpstreamBody::Tls { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Pooled { body, .. } | UpstreamBody::Tls { body } => body.size_hint(),
        }
    }
}
