//! How a response body is delimited (RFC 9112 §6.3, §7.1), decoded as a
//! pure state machine over the connection's read buffer: no I/O here.
//!
//! [`Decoder::advance`] consumes framing bytes (chunk-size lines, the CRLF
//! after chunk data, trailers) as far as the buffer allows;
//! [`Decoder::take_data`] then splits off every body byte already read,
//! without waiting for a whole chunk, as a `Bytes` sharing the buffer's
//! memory. An SSE stream sent as one chunk per event (or one event over
//! many chunks) thus passes as fast as it arrives.

use std::fmt;

use bytes::{Buf, Bytes, BytesMut};

use super::thousands;

/// A chunk-size line (with its extensions) longer than this is malformed.
const MAX_LINE: usize = 4096;
/// Trailers, all lines together, longer than this are malformed.
const MAX_TRAILERS: usize = 16 * 1024;

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body: an answer to HEAD, a 204 or 304.
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs until the provider closes the connection.
    Close,
}

/// What is wrong with a body, in words for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramingError {
    /// A chunk-size line that is not a hexadecimal size.
    ChunkSize(String),
    /// A chunk-size line over [`MAX_LINE`].
    LineTooLong,
    /// Chunk data not followed by CRLF.
    ChunkEnd,
    /// Trailers over [`MAX_TRAILERS`].
    TrailersTooLarge,
    /// The connection closed before the body's end.
    Truncated {
        received: u64,
        expected: Option<u64>,
    },
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::ChunkSize(line) => write!(
                f,
                "the provider's chunked body is malformed: the chunk size line `{line}` is not a hexadecimal size"
            ),
            FramingError::LineTooLong => write!(
                f,
                "the provider's chunked body is malformed: a chunk size line is over {MAX_LINE} bytes"
            ),
            FramingError::ChunkEnd => f.write_str(
                "the provider's chunked body is malformed: a chunk's data is not followed by CRLF",
            ),
            FramingError::TrailersTooLarge => write!(
                f,
                "the provider's chunked body is malformed: its trailers are over {} KiB",
                MAX_TRAILERS / 1024
            ),
            FramingError::Truncated {
                received,
                expected: Some(n),
            } => write!(
                f,
                "the provider closed the connection after {} of {} body bytes",
                thousands(*received),
                thousands(*n)
            ),
            FramingError::Truncated {
                received,
                expected: None,
            } => write!(
                f,
                "the provider closed the connection in the middle of its chunked body, after {} body bytes",
                thousands(*received)
            ),
        }
    }
}

impl std::error::Error for FramingError {}

#[derive(Debug)]
enum State {
    /// `Content-Length`: bytes still to come.
    Length {
        remaining: u64,
    },
    /// Chunked: a chunk-size line comes next.
    Size,
    /// Chunked: data of the current chunk still to come.
    Data {
        remaining: u64,
    },
    /// Chunked: the CRLF after a chunk's data.
    DataEnd,
    /// Chunked: trailer lines up to an empty line (read, discarded).
    Trailers {
        seen: usize,
    },
    /// Everything until end of file.
    Close,
    Done,
    Failed(FramingError),
}

/// The body decoder of one response.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    /// Body bytes handed out so far.
    received: u64,
    /// The `Content-Length`, for errors.
    expected: Option<u64>,
}

impl Decoder {
    pub fn new(framing: Framing) -> Decoder {
        let (state, expected) = match framing {
            Framing::Empty | Framing::Length(0) => (State::Done, Some(0)),
            Framing::Length(n) => (State::Length { remaining: n }, Some(n)),
            Framing::Chunked => (State::Size, None),
            Framing::Close => (State::Close, None),
        };
        Decoder {
            state,
            received: 0,
            expected,
        }
    }

    /// The body has ended (all of it handed out).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Body bytes still to come, when known.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length { remaining } => Some(remaining),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Consume framing bytes at the start of `buf` until body data is
    /// next, the body is done, or more bytes are needed. An error is
    /// final: every later call returns it again.
    pub fn advance(&mut self, buf: &mut BytesMut) -> Result<(), FramingError> {
        let result = self.step_all(buf);
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    fn step_all(&mut self, buf: &mut BytesMut) -> Result<(), FramingError> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Length { remaining: 0 } => self.state = State::Done,
                State::Length { .. } | State::Data { .. } | State::Close | State::Done => {
                    return Ok(());
                }
                State::Size => {
                    let Some(end) = line_end(buf, MAX_LINE)? else {
                        return Ok(());
                    };
                    let size = chunk_size(line(buf, end))?;
                    buf.advance(end + 1);
                    self.state = if size == 0 {
                        State::Trailers { seen: 0 }
                    } else {
                        State::Data { remaining: size }
                    };
                }
                State::DataEnd => match buf.first() {
                    None => return Ok(()),
                    // A bare LF is taken too, as most parsers do.
                    Some(b'\n') => {
                        buf.advance(1);
                        self.state = State::Size;
                    }
                    Some(b'\r') => match buf.get(1) {
                        None => return Ok(()),
                        Some(b'\n') => {
                            buf.advance(2);
                            self.state = State::Size;
                        }
                        Some(_) => return Err(FramingError::ChunkEnd),
                    },
                    Some(_) => return Err(FramingError::ChunkEnd),
                },
                State::Trailers { seen } => {
                    let room = MAX_TRAILERS.saturating_sub(*seen);
                    let Some(end) =
                        line_end(buf, room).map_err(|_| FramingError::TrailersTooLarge)?
                    else {
                        return Ok(());
                    };
                    if line(buf, end).is_empty() {
                        self.state = State::Done;
                    } else {
                        *seen += end + 1;
                    }
                    buf.advance(end + 1);
                }
            }
        }
    }

    /// Split off the body bytes at the start of `buf` (after
    /// [`Decoder::advance`]); `None` when there are none yet.
    pub fn take_data(&mut self, buf: &mut BytesMut) -> Option<Bytes> {
        if buf.is_empty() {
            return None;
        }
        let n = match &mut self.state {
            State::Length { remaining } | State::Data { remaining } if *remaining > 0 => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(buf.len());
                *remaining -= n as u64;
                if matches!(self.state, State::Data { remaining: 0 }) {
                    self.state = State::DataEnd;
                }
                n
            }
            State::Close => buf.len(),
            _ => return None,
        };
        self.received += n as u64;
        Some(buf.split_to(n).freeze())
    }

    /// The connection reached end of file: the end of a close-delimited
    /// body, else a body cut short.
    pub fn eof(&mut self) -> Result<(), FramingError> {
        match &self.state {
            State::Close | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            State::Failed(e) => Err(e.clone()),
            _ => {
                let e = FramingError::Truncated {
                    received: self.received,
                    expected: self.expected,
                };
                self.state = State::Failed(e.clone());
                Err(e)
            }
        }
    }
}

/// Where the line at the start of `buf` ends (the index of its LF);
/// `None` until it is complete. A line over `max` bytes is an error.
fn line_end(buf: &[u8], max: usize) -> Result<Option<usize>, FramingError> {
    match memchr::memchr(b'\n', buf) {
        Some(i) if i <= max => Ok(Some(i)),
        Some(_) => Err(FramingError::LineTooLong),
        None if buf.len() > max => Err(FramingError::LineTooLong),
        None => Ok(None),
    }
}

/// The line ending at `end` (see [`line_end`]), without its CR.
fn line(buf: &[u8], end: usize) -> &[u8] {
    let line = &buf[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The size of a chunk-size line, extensions (`;name=value`) ignored.
fn chunk_size(line: &[u8]) -> Result<u64, FramingError> {
    let bad = || FramingError::ChunkSize(String::from_utf8_lossy(line).into_owned());
    let hex = line.split(|&b| b == b';').next().unwrap_or_default();
    let hex = hex.trim_ascii();
    if hex.is_empty() || hex.len() > 16 {
        return Err(bad());
    }
    let mut size: u64 = 0;
    for &b in hex {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(bad()),
        };
        size = (size << 4) | u64::from(d);
    }
    Ok(size)
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
