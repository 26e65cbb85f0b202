//! The request body the pipeline reads: whole when it came with the head
//! (the common case: no copy, no waiting), read from the connection when
//! it is still on its way, or hyper's for the connections hyper serves.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use bytes::{BufMut, Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::Io;
use crate::body::BoxError;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// Room made at once for a body still arriving: a body up to this size
/// (its declared length) gets one buffer, filled once, never copied (the
/// pages are only backed as they are written); a longer one grows from
/// it, never past four times what has arrived (a declared length costs
/// the client nothing to send).
const FIRST_ROOM: usize = 4 * 1024 * 1024;

/// A request's body.
pub enum RequestBody {
    /// No body, or all of it already read.
    Full(Option<Bytes>),
    /// A body of known length still arriving on our connection.
    Arriving(Arriving),
    /// A body hyper reads (HTTP/2, chunked uploads, the admin listener).
    Hyper(Incoming),
}

impl RequestBody {
    pub fn empty() -> RequestBody {
        RequestBody::Full(None)
    }

    /// The whole body at once, when it is already here.
    pub fn ready(&mut self) -> Option<Bytes> {
        match self {
            RequestBody::Full(data) => Some(data.take().unwrap_or_default()),
            RequestBody::Arriving(_) | RequestBody::Hyper(_) => None,
        }
    }
}

impl From<Incoming> for RequestBody {
    fn from(b: Incoming) -> Self {
        RequestBody::Hyper(b)
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            RequestBody::Full(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            RequestBody::Arriving(a) => a.poll(cx).map(|r| match r {
                Ok(Some(d)) => Some(Ok(Frame::data(d))),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            }),
            RequestBody::Hyper(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|r| r.map(|f| f.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Full(data) => data.is_none(),
            RequestBody::Arriving(a) => a.done,
            RequestBody::Hyper(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RequestBody::Full(data) => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            RequestBody::Arriving(a) => SizeHint::with_exact(a.declared),
            RequestBody::Hyper(b) => b.size_hint(),
        }
    }
}

/// A body of `declared` bytes, part of which came with the head: read
/// from the socket into one buffer (see [`FIRST_ROOM`]) and given as one
/// frame at its end.
pub struct Arriving {
    io: Arc<Io>,
    buf: BytesMut,
    declared: u64,
    left: u64,
    /// How much of `100 Continue` is written (`None`: none to write).
    continue_at: Option<usize>,
    done: bool,
}

impl Arriving {
    pub(super) fn new(io: Arc<Io>, buf: BytesMut, declared: u64, expects_continue: bool) -> Self {
        let left = declared.saturating_sub(buf.len() as u64);
        io.body_left.store(left, Ordering::Relaxed);
        Arriving {
            io,
            buf,
            declared,
            left,
            continue_at: expects_continue.then_some(0),
            done: false,
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        if self.done {
            return Poll::Ready(Ok(None));
        }
        // The client waits for our word before it sends the rest; it is
        // given when the body is first wanted, so a request refused before
        // (bad key, unknown model) is answered without its body sent.
        while let Some(at) = self.continue_at {
            ready!(self.io.stream.poll_write_ready(cx))?;
            match self.io.stream.try_write(&CONTINUE[at..]) {
                Ok(n) if at + n >= CONTINUE.len() => self.continue_at = None,
                Ok(n) => self.continue_at = Some(at + n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        while self.left > 0 {
            if self.buf.capacity() == self.buf.len() {
                let arrived = self.buf.len();
                let room = (self.declared as usize)
                    .min(FIRST_ROOM.max(arrived.saturating_mul(4)))
                    .max(arrived + 1);
                self.buf.reserve(room - arrived);
            }
            ready!(self.io.stream.poll_read_ready(cx))?;
            let limit = usize::try_from(self.left).unwrap_or(usize::MAX);
            match self.io.read_into(&mut (&mut self.buf).limit(limit)) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the client closed the connection after {} of the {} body bytes it declared",
                            self.declared - self.left,
                            self.declared
                        ),
                    )));
                }
                Ok(n) => {
                    self.left -= n as u64;
                    self.io.body_left.store(self.left, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        self.done = true;
        Poll::Ready(Ok(Some(std::mem::take(&mut self.buf).freeze())))
    }
}
