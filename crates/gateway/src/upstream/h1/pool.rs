//! The keep-alive pool, the send path and the response body that lends a
//! pooled connection to one answer.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response};
use http_body::{Frame, SizeHint};

use super::conn::Conn;
use super::framing::Decoder;
use super::head::encode_request;
use super::{Error, IDLE_TIMEOUT, MAX_IDLE_PER_ORIGIN, SMALL_BODY};
use crate::upstream::client::SendError;

/// Idle connections per runtime and origin (`host:port`), oldest first.
/// A socket is registered with the reactor of the runtime that opened it,
/// so with a runtime per core (`server.workers`) each runtime keeps its own
/// connections (see [`super::shard`]).
#[derive(Default)]
struct Pool {
    /// Indexed by runtime ([`super::shard`]).
    idle: Mutex<Vec<Idle>>,
}

/// One runtime's idle connections by origin.
type Idle = HashMap<Box<str>, VecDeque<Box<Conn>>>;

impl Pool {
    /// The most recently used idle connection to `origin` that is still
    /// usable (the likeliest to be open); the others found on the way are
    /// closed. The check is made outside the lock.
    fn checkout(&self, origin: &str) -> Option<Box<Conn>> {
        loop {
            let c = {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                idle.get_mut(super::shard())?.get_mut(origin)?.pop_back()?
            };
            if c.usable() {
                return Some(c);
            }
        }
    }

    fn checkin(&self, mut c: Box<Conn>) {
        c.idle();
        let now = c.idle_since;
        let mut shards = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if shards.len() <= c.shard {
            shards.resize_with(c.shard + 1, HashMap::new);
        }
        let idle = &mut shards[c.shard];
        let list = match idle.get_mut(&*c.origin) {
            Some(list) => list,
            None => idle.entry(c.origin.clone()).or_default(),
        };
        // Connections idle too long are closed rather than kept open until
        // some later request finds them stale.
        while list
            .front()
            .is_some_and(|old| now.duration_since(old.idle_since) > IDLE_TIMEOUT)
        {
            list.pop_front();
        }
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push_back(c);
        }
    }

    #[cfg(test)]
    fn idle_count(&self, origin: &str) -> usize {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.iter()
            .filter_map(|shard| shard.get(origin))
            .map(VecDeque::len)
            .sum()
    }
}

/// How long a request cut short waits for the answer the provider sent
/// before closing: it is in the socket already when there is one.
const EARLY_ANSWER: std::time::Duration = std::time::Duration::from_millis(500);

/// A request on its connection: written whole, or cut short by the
/// provider after part of it went out (with the write's error).
enum Written {
    Whole(Box<Conn>),
    Cut(Box<Conn>, std::io::Error),
}

/// The HTTP/1.1 client of plain-HTTP origins.
#[derive(Clone, Default)]
pub struct Client {
    pool: Arc<Pool>,
}

impl Client {
    /// Send the request `parts` (absolute URI) with `body`, and wait for
    /// the head of the answer.
    pub async fn send(&self, parts: &Parts, body: &Bytes) -> Result<Response<Body>, SendError> {
        let Some(origin) = parts.uri.authority().map(|a| a.as_str()) else {
            return Err(SendError::Connect(format!("`{}` has no host", parts.uri)));
        };
        // Head and small body in one buffer: one write. A large body goes
        // gathered with the head, not copied.
        let small = body.len() <= SMALL_BODY;
        let head_len = 64
            + parts.uri.path_and_query().map_or(1, |p| p.as_str().len())
            + origin.len()
            + parts
                .headers
                .iter()
                .map(|(n, v)| n.as_str().len() + v.len() + 4)
                .sum::<usize>();
        let mut out = Vec::with_capacity(head_len + if small { body.len() } else { 0 });
        encode_request(parts, body.len(), &mut out);
        let rest: &[u8] = if small {
            out.extend_from_slice(body);
            &[]
        } else {
            body
        };
        let head_request = parts.method == Method::HEAD;
        let written = self.write(origin, &out, rest).await?;
        // Not held while the provider thinks (a stream's first event can
        // take seconds).
        drop(out);
        match written {
            Written::Whole(c) => self.answer(c, head_request, true).await,
            Written::Cut(c, error) => {
                // The provider stopped taking the request part way (a body
                // over its limit, say) and closed. What it answered before
                // closing is in the socket already, and says more than the
                // write error; the connection is not used again.
                match tokio::time::timeout(EARLY_ANSWER, self.answer(c, head_request, false)).await
                {
                    Ok(Ok(resp)) => Ok(resp),
                    _ => Err(SendError::Broken(Error::Write(error).to_string())),
                }
            }
        }
    }

    /// Write the request on a pooled connection, or on a new one.
    async fn write(&self, origin: &str, head: &[u8], rest: &[u8]) -> Result<Written, SendError> {
        if let Some(mut c) = self.pool.checkout(origin) {
            match c.write_request(head, rest).await {
                Ok(()) => return Ok(Written::Whole(c)),
                // Not one byte left: the provider cannot have seen it, so
                // it goes once more on a new connection.
                Err(w) if w.sent == 0 => {}
                Err(w) => return Ok(Written::Cut(c, w.error)),
            }
        }
        let mut c = Conn::connect(origin).await.map_err(SendError::Connect)?;
        match c.write_request(head, rest).await {
            Ok(()) => Ok(Written::Whole(c)),
            Err(w) => Ok(Written::Cut(c, w.error)),
        }
    }

    /// Read the answer's head; `reusable` is false when the connection must
    /// not carry another request whatever the head says.
    async fn answer(
        &self,
        mut c: Box<Conn>,
        head_request: bool,
        reusable: bool,
    ) -> Result<Response<Body>, SendError> {
        let head = c
            .read_head(head_request)
            .await
            .map_err(|e| SendError::Broken(e.to_string()))?;
        let mut body = Body {
            conn: Some(c),
            decoder: Decoder::new(head.framing),
            keep_alive: head.keep_alive && reusable,
            pool: Arc::downgrade(&self.pool),
        };
        // No body (204, HEAD): the connection is free at once.
        if body.decoder.is_done() {
            body.give_back();
        }
        let mut resp = Response::new(body);
        *resp.status_mut() = head.status;
        *resp.version_mut() = head.version;
        *resp.headers_mut() = head.headers;
        Ok(resp)
    }

    #[cfg(test)]
    pub fn idle_count(&self, origin: &str) -> usize {
        self.pool.idle_count(origin)
    }

    /// Tests: break the sending half of every idle connection to `origin`
    /// without the pool's check seeing it.
    #[cfg(test)]
    pub fn break_idle_writes(&self, origin: &str) {
        let idle = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for c in idle.iter().filter_map(|shard| shard.get(origin)).flatten() {
            c.shutdown_write();
        }
    }
}

/// An answer's body, read from the connection it holds. The connection
/// goes back to the pool with the body's last byte when it may carry
/// another request; dropped before that, it is closed.
pub struct Body {
    conn: Option<Box<Conn>>,
    decoder: Decoder,
    keep_alive: bool,
    pool: Weak<Pool>,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("decoder", &self.decoder)
            .field("holds_connection", &self.conn.is_some())
            .finish()
    }
}

impl Body {
    /// The body is read to its end: the connection serves the next request
    /// if the answer allowed it and nothing unread is left on it.
    fn give_back(&mut self) {
        if let Some(c) = self.conn.take()
            && self.keep_alive
            && c.buf.is_empty()
            && let Some(pool) = self.pool.upgrade()
        {
            pool.checkin(c);
        }
    }

    /// A failure ends the body; its connection is closed.
    fn fail(&mut self, e: Error) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.conn = None;
        Poll::Ready(Some(Err(e)))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            if let Err(e) = this.decoder.advance(&mut conn.buf) {
                return this.fail(Error::Framing(e));
            }
            if this.decoder.is_done() {
                this.give_back();
                return Poll::Ready(None);
            }
            if let Some(data) = this.decoder.take_data(&mut conn.buf) {
                // The end may be read already: then the connection is free
                // with this frame, and a reader need not poll again. (An
                // error found here comes with the next poll.)
                if this.decoder.advance(&mut conn.buf).is_ok() && this.decoder.is_done() {
                    this.give_back();
                }
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            match ready!(conn.poll_fill(cx)) {
                Ok(0) => {
                    if let Err(e) = this.decoder.eof() {
                        return this.fail(Error::Framing(e));
                    }
                }
                Ok(_) => {}
                Err(e) => return this.fail(Error::Read(e)),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.remaining() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
