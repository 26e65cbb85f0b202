//! Response bodies: a full buffer, a paced sequence of SSE events, or a body
//! that is cut in the middle.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

pub(crate) struct EmuBody {
    kind: Kind,
}

enum Kind {
    Full(Option<Bytes>),
    Events(Box<Events>),
    Cut(CutBody),
}

/// Events stored back to back in one buffer; each is its own frame.
pub(crate) struct Events {
    data: Bytes,
    /// End offset of each event in `data`.
    ends: Vec<usize>,
    next: usize,
    delay: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
    /// Drop the connection after this many events.
    cut_after: Option<usize>,
    yielded: bool,
}

struct CutBody {
    half: Option<Bytes>,
    total: u64,
    yielded: bool,
}

fn cut_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "emulator: connection cut on purpose",
    )
}

impl EmuBody {
    pub(crate) fn full(b: Bytes) -> Self {
        Self {
            kind: Kind::Full(if b.is_empty() { None } else { Some(b) }),
        }
    }

    pub(crate) fn events(
        data: Bytes,
        ends: Vec<usize>,
        delay: Duration,
        cut_after: Option<usize>,
    ) -> Self {
        Self {
            kind: Kind::Events(Box::new(Events {
                data,
                ends,
                next: 0,
                delay,
                sleep: None,
                armed: false,
                cut_after,
                yielded: false,
            })),
        }
    }

    /// Announces `full.len()` bytes but sends only the first half, then fails.
    pub(crate) fn cut(full: Bytes) -> Self {
        let total = full.len() as u64;
        let half = full.slice(..full.len() / 2);
        Self {
            kind: Kind::Cut(CutBody {
                half: Some(half),
                total,
                yielded: false,
            }),
        }
    }
}

impl Events {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        if let Some(limit) = self.cut_after {
            if self.next >= limit.min(self.ends.len()) {
                // Let hyper flush what it has buffered, then fail the body so
                // the connection is dropped without a terminating chunk.
                if !self.yielded {
                    self.yielded = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                return Poll::Ready(Some(Err(cut_error())));
            }
        }
        if self.next >= self.ends.len() {
            return Poll::Ready(None);
        }
        if self.next > 0 && !self.delay.is_zero() {
            let deadline = Instant::now() + self.delay;
            let sleep = match &mut self.sleep {
                Some(s) => {
                    if !self.armed {
                        s.as_mut().reset(deadline);
                    }
                    s
                }
                None => self
                    .sleep
                    .insert(Box::pin(tokio::time::sleep_until(deadline))),
            };
            self.armed = true;
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.armed = false;
        }
        let start = if self.next == 0 {
            0
        } else {
            self.ends[self.next - 1]
        };
        let end = self.ends[self.next];
        self.next += 1;
        Poll::Ready(Some(Ok(Frame::data(self.data.slice(start..end)))))
    }
}

impl Body for EmuBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Kind::Events(ev) => ev.poll_next(cx),
            Kind::Cut(c) => {
                if let Some(half) = c.half.take() {
                    if !half.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(half))));
                    }
                }
                if !c.yielded {
                    c.yielded = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Poll::Ready(Some(Err(cut_error())))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Events(ev) => ev.cut_after.is_none() && ev.next >= ev.ends.len(),
            Kind::Cut(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Events(_) => SizeHint::default(),
            Kind::Cut(c) => SizeHint::with_exact(c.total),
        }
    }
}
