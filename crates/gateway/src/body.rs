//! The response body type: one enum, no boxing, for every way the gateway
//! answers.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::upstream::UpstreamBody;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use crate::relay::{SseRelay, TranslateRelay};
use crate::telemetry::Tap;

/// `content-type` of every JSON body the gateway writes.
pub static APPLICATION_JSON: http::HeaderValue = http::HeaderValue::from_static("application/json");

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    #[project = Proj]
    pub enum GatewayBody {
        /// A body the gateway made (errors, model lists).
        Full { data: Option<Bytes> },
        /// An upstream body relayed unchanged, bounded by a deadline.
        Passthrough { #[pin] inner: UpstreamBody, #[pin] deadline: Sleep, timeout_ms: u128 },
        /// An upstream SSE stream relayed event by event.
        Sse { #[pin] relay: SseRelay },
        /// An upstream stream translated into the client's dialect.
        Translate { #[pin] relay: TranslateRelay },
    }
}

impl GatewayBody {
    pub fn full(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        GatewayBody::Full {
            data: (!b.is_empty()).then_some(b),
        }
    }

    pub fn empty() -> Self {
        GatewayBody::Full { data: None }
    }

    /// What the stream relay saw, for accounting (streams only).
    pub fn take_tap(self: Pin<&mut Self>) -> Option<Tap> {
        match self.project() {
            Proj::Sse { relay } => Some(relay.take_tap()),
            Proj::Translate { relay } => Some(relay.take_tap()),
            Proj::Full { .. } | Proj::Passthrough { .. } => None,
        }
    }

    /// The body comes from the provider as it is sent (not read whole first).
    pub fn is_relayed(&self) -> bool {
        !matches!(self, GatewayBody::Full { .. })
    }
}

/// The upstream took longer than the provider's `timeout` to send its body.
#[derive(Debug)]
pub struct BodyDeadline(pub u128);

impl std::fmt::Display for BodyDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "upstream body not complete within {}ms (timeout)",
            self.0
        )
    }
}

impl std::error::Error for BodyDeadline {}

impl Body for GatewayBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            Proj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Proj::Passthrough {
                inner,
                deadline,
                timeout_ms,
            } => match inner.poll_frame(cx) {
                Poll::Ready(r) => Poll::Ready(r.map(|f| f.map_err(Into::into))),
                Poll::Pending => match deadline.poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyDeadline(*timeout_ms))))),
                    Poll::Pending => Poll::Pending,
                },
            },
            Proj::Sse { relay } => relay.poll_frame(cx),
            Proj::Translate { relay } => relay.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            GatewayBody::Full { data } => data.is_none(),
            GatewayBody::Passthrough { inner, .. } => inner.is_end_stream(),
            GatewayBody::Sse { relay } => relay.is_end_stream(),
            GatewayBody::Translate { relay } => relay.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            GatewayBody::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            GatewayBody::Passthrough { inner, .. } => inner.size_hint(),
            GatewayBody::Sse { .. } | GatewayBody::Translate { .. } => SizeHint::default(),
        }
    }
}
