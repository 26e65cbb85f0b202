//! One connection to a provider: the socket and one read buffer, which
//! holds nothing (no memory) while the connection is idle in the pool.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use super::head::{Head, parse_response};
use super::{CONNECT_TIMEOUT, Error, IDLE_TIMEOUT};

/// Room made before the first read of a response: a head and a short
/// answer, or several stream events, fit; reads that fill it double it. It
/// is held for as long as a stream lasts, so it is kept small.
const INITIAL_READ: usize = 2048;
/// Room made before a read at most (reads that fill it double it).
const MAX_READ: usize = 64 * 1024;

pub struct Conn {
    io: TcpStream,
    /// Bytes read and not yet handed out.
    pub buf: BytesMut,
    /// Room made before a read; doubles while reads fill it.
    read_size: usize,
    pub idle_since: Instant,
    /// `host:port`, the pool's key.
    pub origin: Box<str>,
    /// The runtime that opened it ([`super::shard`]): it goes back to that
    /// runtime's idle list.
    pub shard: usize,
}

impl Conn {
    /// Tests: close the sending half, as a connection the kernel has torn
    /// down looks to the next write (which then fails with nothing sent).
    #[cfg(test)]
    pub fn shutdown_write(&self) {
        let _ = socket2::SockRef::from(&self.io).shutdown(std::net::Shutdown::Write);
    }
}

/// Whether `buf` (read while the request was still being written) holds
/// the start of a final answer, past any whole interim `1xx` heads; too
/// few bytes to tell is not one yet.
fn final_answer_started(buf: &[u8]) -> bool {
    let mut rest = buf;
    loop {
        match rest.get(..10) {
            None => return false,
            Some([b'H', b'T', b'T', b'P', b'/', b'1', b'.', _, _, b'1']) => {
                match memchr::memmem::find(rest, b"\r\n\r\n") {
                    Some(end) => rest = rest.get(end + 4..).unwrap_or_default(),
                    None => return false,
                }
            }
            Some(_) => return true,
        }
    }
}

/// A request write that failed after `sent` bytes.
#[derive(Debug)]
pub struct WriteFailed {
    pub sent: usize,
    pub error: io::Error,
}

impl Conn {
    /// A new connection to `origin` (`host:port`, or `host` for port 80).
    pub async fn connect(origin: &str) -> Result<Box<Conn>, String> {
        let connecting = async {
            if origin.contains(':') {
                TcpStream::connect(origin).await
            } else {
                TcpStream::connect((origin, 80)).await
            }
        };
        let io = match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Err(_) => {
                return Err(format!(
                    "no connection within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ));
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Ok(Ok(s)) => s,
        };
        let _ = io.set_nodelay(true);
        Ok(Box::new(Conn {
            io,
            buf: BytesMut::new(),
            read_size: INITIAL_READ,
            idle_since: Instant::now(),
            origin: origin.into(),
            shard: super::shard(),
        }))
    }

    /// Whether this idle connection can take a request: not idle too long,
    /// and nothing to read on it (a provider that closed it, sent something
    /// unasked such as an early 408, or reset it makes it unusable). The
    /// runtime is asked first: a socket read dry (a short read or an empty
    /// one) with no event since has nothing, and costs no syscall; after
    /// an event the socket itself is asked with a non-blocking read. An
    /// end of file the runtime has not yet taken from epoll is missed, as
    /// one still on the wire is by any check.
    pub fn usable(&self) -> bool {
        if self.idle_since.elapsed() > IDLE_TIMEOUT {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(
            self.io.try_read(&mut probe),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock
        )
    }

    /// Back to the pool: the buffer's memory goes (frames handed out may
    /// still share it) and reads start small again.
    pub fn idle(&mut self) {
        self.buf = BytesMut::new();
        self.read_size = INITIAL_READ;
        self.idle_since = Instant::now();
    }

    /// Write `first` then `second`, in one `write` when `second` is empty,
    /// else gathered (`writev`), until all is sent.
    ///
    /// While the provider takes no more (the socket is full), what it may
    /// have answered already is read: a final answer (a body over its
    /// limit refused at once, say) ends the write as cut short, so the
    /// answer is passed on instead of waiting for a provider that stopped
    /// reading. The answer stays in the buffer for [`Conn::read_head`]; an
    /// interim `1xx` head does not stop the write.
    pub async fn write_request(&mut self, first: &[u8], second: &[u8]) -> Result<(), WriteFailed> {
        let total = first.len() + second.len();
        let mut sent = 0;
        let mut read_closed = false;
        poll_fn(|cx| {
            while sent < total {
                let io = Pin::new(&mut self.io);
                let wrote = if sent >= first.len() {
                    io.poll_write(cx, &second[sent - first.len()..])
                } else if second.is_empty() {
                    io.poll_write(cx, &first[sent..])
                } else {
                    let parts = [IoSlice::new(&first[sent..]), IoSlice::new(second)];
                    io.poll_write_vectored(cx, &parts)
                };
                match wrote {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(WriteFailed {
                            sent,
                            error: io::ErrorKind::WriteZero.into(),
                        }));
                    }
                    Poll::Ready(Ok(n)) => sent += n,
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(error)) => {
                        return Poll::Ready(Err(WriteFailed { sent, error }));
                    }
                    Poll::Pending if read_closed => return Poll::Pending,
                    Poll::Pending => match self.poll_fill(cx) {
                        // It closed its side: the write goes on until it fails.
                        Poll::Ready(Ok(0)) => read_closed = true,
                        Poll::Ready(Ok(_)) if final_answer_started(&self.buf) => {
                            return Poll::Ready(Err(WriteFailed {
                                sent,
                                error: io::Error::other(
                                    "the provider answered before the whole request was sent",
                                ),
                            }));
                        }
                        // An interim head, or too little to tell: read on.
                        Poll::Ready(Ok(_)) => {}
                        Poll::Ready(Err(error)) => {
                            return Poll::Ready(Err(WriteFailed { sent, error }));
                        }
                        Poll::Pending => return Poll::Pending,
                    },
                }
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// Read until the head of the answer is in (interim 1xx heads
    /// skipped); the bytes after it stay in the buffer.
    pub async fn read_head(&mut self, head_request: bool) -> Result<Head, Error> {
        loop {
            if !self.buf.is_empty()
                && let Some(head) = parse_response(&mut self.buf, head_request)?
            {
                return Ok(head);
            }
            let n = poll_fn(|cx| self.poll_fill(cx))
                .await
                .map_err(Error::Read)?;
            if n == 0 {
                return Err(Error::ClosedBeforeHead {
                    received: self.buf.len(),
                });
            }
        }
    }

    /// Read what the socket has into the buffer; `Ok(0)` is end of file.
    pub fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let room = self.buf.capacity() - self.buf.len();
        if room < self.read_size / 2 {
            self.buf.reserve(self.read_size);
        }
        let room = self.buf.capacity() - self.buf.len();
        let n = ready!(tokio_util::io::poll_read_buf(
            Pin::new(&mut self.io),
            cx,
            &mut self.buf
        ))?;
        if n == room && self.read_size < MAX_READ {
            self.read_size *= 2;
        }
        Poll::Ready(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::final_answer_started;

    #[test]
    fn a_final_answer_is_told_from_interim_heads() {
        assert!(final_answer_started(b"HTTP/1.1 413 Payload Too Large\r\n"));
        assert!(final_answer_started(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"
        ));
        // Not HTTP at all: the head's parse says what is wrong.
        assert!(final_answer_started(b"garbage!!!"));
        assert!(final_answer_started(b"HTTP/1.1 4"));
        assert!(!final_answer_started(b"HTTP/1.1 "));
        assert!(!final_answer_started(b"HTTP/1.1 100 Continue\r\n"));
        assert!(!final_answer_started(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1"
        ));
        assert!(!final_answer_started(b""));
    }
}
