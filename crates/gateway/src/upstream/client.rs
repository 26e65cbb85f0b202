//! The upstream HTTP client. Plain-HTTP origins (self-hosted vLLM, Ollama,
//! the emulator) go through our own HTTP/1.1 client ([`super::h1`]): a
//! keep-alive pool of connections driven *inside the request's task*: the
//! response body reads its connection, so an event read from the provider
//! is written to the client without a hand-off to another task (and
//! without waking another thread). TLS origins use hyper-util's pooled
//! client (HTTP/2 where the provider offers it).
//!
//! A pooled connection is checked before reuse (closed by the provider,
//! or idle longer than [`super::h1::IDLE_TIMEOUT`]: not used). A request
//! that could not be written at all on a reused connection is sent once
//! more on a new one; nothing that may have reached the provider is sent
//! twice. A request the provider stopped taking part way gets the answer
//! the provider sent before closing, when it sent one.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::Full;
use hyper::body::Incoming;
use pin_project_lite::pin_project;

use super::h1;
use crate::runtime::HttpClient;

/// Why a request got no answer.
#[derive(Debug)]
pub enum SendError {
    /// No connection could be made.
    Connect(String),
    /// The connection broke before an answer came.
    Broken(String),
}

/// The client every attempt sends through.
#[derive(Clone)]
pub struct UpstreamClient {
    plain: h1::Client,
    tls: HttpClient,
}

impl UpstreamClient {
    pub fn new(tls: HttpClient) -> Self {
        UpstreamClient {
            plain: h1::Client::default(),
            tls,
        }
    }

    /// Send `req` (an absolute URI) and wait for the answer's head.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Response<UpstreamBody>, SendError> {
        let (parts, body) = req.into_parts();
        if parts.uri.scheme_str() == Some("http") {
            let resp = self.plain.send(&parts, &body).await?;
            return Ok(resp.map(|body| UpstreamBody::Pooled { body }));
        }
        match self
            .tls
            .request(Request::from_parts(parts, Full::new(body)))
            .await
        {
            Ok(r) => Ok(r.map(|body| UpstreamBody::Tls { body })),
            Err(e) => Err(legacy_error(&e)),
        }
    }
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
    /// An answer's body: from a pooled plain-HTTP connection this body
    /// reads, or from the TLS client's.
    #[project = Proj]
    pub enum UpstreamBody {
        Pooled { body: h1::Body },
        Tls { #[pin] body: Incoming },
    }
}

/// Why an answer's body broke off.
#[derive(Debug)]
pub enum BodyError {
    Pooled(h1::Error),
    Tls(hyper::Error),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Pooled(e) => e.fmt(f),
            BodyError::Tls(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BodyError::Pooled(e) => e.source(),
            BodyError::Tls(e) => e.source(),
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.project() {
            Proj::Pooled { body } => Pin::new(body).poll_frame(cx).map_err(BodyError::Pooled),
            Proj::Tls { body } => body.poll_frame(cx).map_err(BodyError::Tls),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Pooled { body } => body.is_end_stream(),
            UpstreamBody::Tls { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Pooled { body } => body.size_hint(),
            UpstreamBody::Tls { body } => body.size_hint(),
        }
    }
}
