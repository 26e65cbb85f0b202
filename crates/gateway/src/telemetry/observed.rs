//! The response body as the server sends it: the gateway's body, plus the
//! request's record, accounted when the body ends or is dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::Instant;

use super::record::RequestRecord;
use super::{Telemetry, account};
use crate::body::{BoxError, GatewayBody};
use crate::pipeline::finish::Settle;

pin_project! {
    pub struct ObservedBody {
        #[pin]
        inner: GatewayBody,
        rec: Option<Box<RequestRecord>>,
        telemetry: Option<Arc<Telemetry>>,
        // Limits to settle with the usage when the body ends.
        settle: Option<Settle>,
        // Response bytes kept (shared, not copied) for usage and body logs.
        capture_limit: usize,
    }

    impl PinnedDrop for ObservedBody {
        fn drop(this: Pin<&mut Self>) {
            // Not read to the end: the client went away (or the server is
            // shutting down). What was delivered is still accounted.
            finish(this, false);
        }
    }
}

impl ObservedBody {
    /// A body with nothing to account (the admin API, or telemetry off).
    pub fn plain(inner: GatewayBody) -> Self {
        ObservedBody {
            inner,
            rec: None,
            telemetry: None,
            settle: None,
            capture_limit: 0,
        }
    }

    pub fn new(
        inner: GatewayBody,
        rec: Box<RequestRecord>,
        telemetry: Arc<Telemetry>,
        settle: Option<Settle>,
    ) -> Self {
        let capture_limit = telemetry.capture_limit(&rec, settle.is_some());
        ObservedBody {
            inner,
            rec: Some(rec),
            telemetry: Some(telemetry),
            settle,
            capture_limit,
        }
    }
}

fn finish(mut this: Pin<&mut ObservedBody>, complete: bool) {
    let mut p = this.as_mut().project();
    let Some(mut rec) = p.rec.take() else {
        return;
    };
    let now = Instant::now();
    rec.ended = Some(now);
    rec.client_gone = !complete;
    let tap = p.inner.as_mut().take_tap();
    // A relayed body that ends here (or is dropped here: the upstream was
    // still answering until now) ends the serving attempt.
    let relayed_end = p.inner.is_relayed().then_some(now);
    rec.upstream_end = match &tap {
        Some(t) => t.upstream_end_at.or(relayed_end),
        None => relayed_end,
    };
    rec.tap = tap;
    if let Some(settle) = p.settle.take() {
        // Limits need the usage now (the client's next request must see
        // it): read it from the answer's end, or account here (and the
        // worker takes that result as it is).
        match account::quick_usage(&rec) {
            Some(usage) => {
                let cost = settle.needs_cost().then(|| account::cost_of(&rec, &usage));
                settle.run(&usage, cost.flatten());
            }
            None => {
                // The estimate reads a large body's prefix, never all of it.
                rec.bound_request_body(true);
                let acc = account::account(&mut rec);
                settle.run(&acc.usage, acc.cost_usd);
                rec.accounted = Some(Box::new(acc));
            }
        }
    }
    if let Some(t) = p.telemetry.take() {
        t.submit(rec);
    }
}

impl Body for ObservedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let p = self.as_mut().project();
        let polled = p.inner.poll_frame(cx);
        let end = match &polled {
            Poll::Pending => return polled,
            Poll::Ready(None) => true,
            Poll::Ready(Some(Err(e))) => {
                if let Some(rec) = p.rec.as_mut() {
                    rec.body_error = Some(e.to_string());
                }
                true
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(rec), Some(data)) = (p.rec.as_mut(), frame.data_ref())
                    && *p.capture_limit > 0
                {
                    rec.capture(data, *p.capture_limit);
                }
                // Account before the server writes the last bytes, so a
                // client that has read the whole answer finds it counted.
                self.inner.is_end_stream()
            }
        };
        if end {
            finish(self.as_mut(), true);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
