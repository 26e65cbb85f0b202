//! Writing an answer on a client connection: its head and body as they
//! come (ready frames gathered into one `write`, large ones beside the
//! head with `writev`), refusals of heads the codec cannot read, and the
//! linger that lets a refused client read its answer before the close.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::Version;
use http_body::Body as _;

use super::head::BadRequest;
use super::write::{self, Framing};
use super::{Conn, SMALL_COPY};
use crate::telemetry::ObservedBody;

/// Ready frames are gathered up to this size before a `write`.
pub(super) const COALESCE: usize = 16 * 1024;
/// After refusing a request whose body was not read, how long its bytes
/// are read and dropped, so the refusal reaches the client before the
/// connection closes (a close with unread bytes resets it).
const LINGER: Duration = Duration::from_secs(2);

/// What one turn of relaying an answer's body gave.
enum Step {
    /// Bytes are waiting in `out` (and `large`): write them.
    Write,
    End,
    Failed,
    Gone,
}

impl Conn {
    /// Write the answer. `Ok(true)`: the connection may carry another
    /// request.
    pub(super) async fn answer(
        &mut self,
        parts: http::response::Parts,
        body: Pin<Box<ObservedBody>>,
        version: Version,
        head_request: bool,
        keep_alive: bool,
    ) -> io::Result<bool> {
        let exact = body.size_hint().exact();
        let plan = write::plan(&parts, exact, version, head_request, keep_alive);
        self.out.clear();
        write::encode_head(&parts, plan, exact, version, head_request, &mut self.out);
        drop(parts);
        if plan.framing == Framing::None {
            drop(body);
            self.flush(None).await?;
            return Ok(plan.keep_alive);
        }
        let complete = self.relay(body, plan.framing).await?;
        Ok(plan.keep_alive && complete)
    }

    /// Relay the body's frames as they come. `Ok(true)`: all of it, as
    /// framed.
    async fn relay(
        &mut self,
        mut body: Pin<Box<ObservedBody>>,
        framing: Framing,
    ) -> io::Result<bool> {
        let mut large: Option<Bytes> = None;
        let mut sent: u64 = 0;
        loop {
            let step = poll_fn(|cx| {
                loop {
                    match body.as_mut().poll_frame(cx) {
                        Poll::Ready(Some(Ok(frame))) => {
                            let Ok(data) = frame.into_data() else {
                                continue; // trailers: HTTP/1.1 answers carry none
                            };
                            if data.is_empty() {
                                continue;
                            }
                            sent += data.len() as u64;
                            if let Framing::Length(n) = framing
                                && sent > n
                            {
                                return Poll::Ready(Step::Failed);
                            }
                            if framing == Framing::Chunked {
                                write::chunk_start(data.len(), &mut self.out);
                            }
                            if data.len() > SMALL_COPY {
                                large = Some(data);
                                return Poll::Ready(Step::Write);
                            }
                            self.out.extend_from_slice(&data);
                            if framing == Framing::Chunked {
                                self.out.extend_from_slice(write::CHUNK_END);
                            }
                            if self.out.len() >= COALESCE {
                                return Poll::Ready(Step::Write);
                            }
                        }
                        Poll::Ready(Some(Err(e))) => {
                            tracing::debug!(error = %e, "the answer's body failed; closing the connection");
                            return Poll::Ready(Step::Failed);
                        }
                        Poll::Ready(None) => return Poll::Ready(Step::End),
                        Poll::Pending => {
                            if !self.out.is_empty() {
                                return Poll::Ready(Step::Write);
                            }
                            if self.poll_gone(cx) {
                                return Poll::Ready(Step::Gone);
                            }
                            return Poll::Pending;
                        }
                    }
                }
            })
            .await;
            match step {
                Step::Write => {
                    let chunked_large = framing == Framing::Chunked && large.is_some();
                    self.flush(large.take().as_deref()).await?;
                    if chunked_large {
                        self.out.extend_from_slice(write::CHUNK_END);
                    }
                }
                Step::End => {
                    if framing == Framing::Chunked {
                        self.out.extend_from_slice(write::LAST_CHUNK);
                    }
                    self.flush(None).await?;
                    return Ok(match framing {
                        Framing::Length(n) => sent == n,
                        _ => true,
                    });
                }
                Step::Failed => {
                    // What was relayed reaches the client; the missing end
                    // (no last chunk, or a short length) tells it the
                    // answer is incomplete.
                    self.flush(None).await?;
                    return Ok(false);
                }
                Step::Gone => return Ok(false),
            }
        }
    }

    /// Write `out` (then `large`, beside it) and clear `out`.
    async fn flush(&mut self, large: Option<&[u8]>) -> io::Result<()> {
        let mut parts: [&[u8]; 2] = [&self.out, large.unwrap_or_default()];
        loop {
            let total = parts[0].len() + parts[1].len();
            if total == 0 {
                break;
            }
            let written = if parts[1].is_empty() {
                self.io.stream.try_write(parts[0])
            } else if parts[0].is_empty() {
                self.io.stream.try_write(parts[1])
            } else {
                self.io
                    .stream
                    .try_write_vectored(&[IoSlice::new(parts[0]), IoSlice::new(parts[1])])
            };
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(mut n) => {
                    for part in &mut parts {
                        let k = n.min(part.len());
                        *part = &part[k..];
                        n -= k;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.stream.writable().await?;
                }
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        Ok(())
    }

    /// Answer a request the codec cannot read, in the OpenAI dialect (the
    /// path, and so the dialect, may be unknown), and close.
    pub(super) async fn refuse(&mut self, bad: &BadRequest) {
        tracing::debug!(status = bad.status, message = %bad.message, "request refused before parsing");
        let body = serde_json::json!({
            "error": {
                "message": bad.message,
                "type": "invalid_request_error",
                "param": null,
                "code": match bad.status {
                    408 => "request_timeout",
                    431 => "request_header_fields_too_large",
                    _ => "bad_request",
                },
            }
        })
        .to_string();
        let mut head = http::Response::new(());
        *head.status_mut() =
            http::StatusCode::from_u16(bad.status).unwrap_or(http::StatusCode::BAD_REQUEST);
        head.headers_mut().insert(
            http::header::CONTENT_TYPE,
            crate::body::APPLICATION_JSON.clone(),
        );
        let (parts, ()) = head.into_parts();
        let len = body.len() as u64;
        let plan = write::Plan {
            framing: Framing::Length(len),
            keep_alive: false,
        };
        self.out.clear();
        write::encode_head(
            &parts,
            plan,
            Some(len),
            Version::HTTP_11,
            false,
            &mut self.out,
        );
        self.out.extend_from_slice(body.as_bytes());
        let _ = self.flush(None).await;
    }

    /// Stop sending, then read and drop what the client still sends (a
    /// body not read) for up to [`LINGER`], so it reads our answer rather
    /// than a reset.
    pub(super) async fn linger(self) {
        let stream = &self.io.stream;
        let _ = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write);
        let mut scratch = [0u8; 512];
        let drained = async {
            loop {
                if stream.readable().await.is_err() {
                    return;
                }
                match stream.try_read(&mut scratch) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drained).await;
    }
}
