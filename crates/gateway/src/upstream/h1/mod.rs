//! Our HTTP/1.1 client for plain-HTTP origins (self-hosted vLLM, Ollama,
//! SGLang, the emulator): a keep-alive pool of connections, each a
//! `TcpStream` and one read buffer, driven by the task of the request
//! using it. No connection task, no dispatch channel: the send writes the
//! request and reads the answer's head; the answer's [`Body`] reads its
//! connection when polled, so an event the provider writes is read,
//! parsed and written to the client in one task turn.
//!
//! - [`head`]: the request head written, the response head parsed.
//! - [`framing`]: the body's framing (length, chunked, close) decoded.
//! - [`conn`]: one connection (socket, read buffer, reuse check).
//! - [`pool`]: the pool, the send path and the body.
//!
//! An idle connection holds its socket and nothing else (its read buffer
//! is released when it returns to the pool). Frames are slices of the
//! read buffer, never copies.

mod conn;
mod framing;
mod head;
mod pool;
#[cfg(test)]
mod tests;

use std::fmt;
use std::io;
use std::time::Duration;

pub use framing::FramingError;
pub use pool::{Body, Client};

thread_local! {
    static SHARD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Which runtime this thread serves: 0 for the shared multi-thread runtime,
/// `1..=n` for the per-core runtimes `server.workers` starts. Connections
/// are pooled per runtime: a socket belongs to the reactor of the runtime
/// that opened it.
pub fn shard() -> usize {
    SHARD.with(std::cell::Cell::get)
}

/// Mark this thread as serving per-core runtime `n` (1-based).
pub fn set_shard(n: usize) {
    SHARD.with(|s| s.set(n));
}

/// Idle connections older than this are not reused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Idle connections kept per origin at most.
const MAX_IDLE_PER_ORIGIN: usize = 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A body up to this size is copied after the head, for one `write`.
const SMALL_BODY: usize = 16 * 1024;

/// What went wrong on a connection, in words for the operator.
#[derive(Debug)]
pub enum Error {
    Read(io::Error),
    Write(io::Error),
    /// The connection closed before a whole response head came.
    ClosedBeforeHead {
        received: usize,
    },
    HeadTooLarge,
    TooManyHeaders,
    /// Not an HTTP/1.x response (httparse's reason).
    NotHttp(String),
    /// An HTTP/1.x head that cannot be used (why).
    Head(String),
    Framing(FramingError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read(e) => write!(f, "reading the provider's answer failed: {e}"),
            Error::Write(e) => write!(f, "writing the request to the provider failed: {e}"),
            Error::ClosedBeforeHead { received: 0 } => {
                f.write_str("the provider closed the connection without answering")
            }
            Error::ClosedBeforeHead { received } => write!(
                f,
                "the provider closed the connection in the middle of its response head (after {} bytes)",
                thousands(*received as u64)
            ),
            Error::HeadTooLarge => write!(
                f,
                "the provider's response head is over {} KiB",
                head::MAX_HEAD / 1024
            ),
            Error::TooManyHeaders => write!(
                f,
                "the provider's response has more than {} headers",
                head::MAX_HEADERS
            ),
            Error::NotHttp(why) => write!(f, "the provider's response is not HTTP/1.x: {why}"),
            Error::Head(why) => write!(f, "the provider's response head is unusable: {why}"),
            Error::Framing(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Read(e) | Error::Write(e) => Some(e),
            Error::Framing(e) => Some(e),
            _ => None,
        }
    }
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}
