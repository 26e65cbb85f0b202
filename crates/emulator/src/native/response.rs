//! Response helpers for the dialects: complete bodies, streamed frames and
//! run-time headers.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, HeaderName};
use http::{HeaderValue, Response, StatusCode};

use super::flow::Ctx;
use crate::body::EmuBody;
use crate::server::{NO_CACHE, respond};
use crate::wire::Out;

/// A complete JSON body (or half of it, then a dropped connection, for `cut-`).
pub(crate) fn full(
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
    cut: bool,
) -> Response<EmuBody> {
    let body = if cut {
        EmuBody::cut(body)
    } else {
        EmuBody::full(body)
    };
    respond(status, content_type, body)
}

/// Events (SSE events or binary frames) stored back to back in one buffer.
pub(crate) struct Frames {
    pub o: Out,
    pub ends: Vec<usize>,
}

impl Frames {
    pub(crate) fn with_capacity(bytes: usize, frames: usize) -> Self {
        Self {
            o: Out::with_capacity(bytes),
            ends: Vec::with_capacity(frames),
        }
    }

    /// Ends the current frame.
    pub(crate) fn end(&mut self) {
        self.ends.push(self.o.len());
    }

    /// A 200 streaming response; for `cut-` the connection is dropped after
    /// `cut_after` frames.
    pub(crate) fn respond(
        self,
        content_type: HeaderValue,
        ctx: &Ctx<'_>,
        cut_after: usize,
    ) -> Response<EmuBody> {
        let body = EmuBody::events(
            self.o.into_bytes(),
            self.ends,
            ctx.delay,
            ctx.cut.then_some(cut_after),
        );
        let mut r = respond(StatusCode::OK, content_type, body);
        r.headers_mut().insert(CACHE_CONTROL, NO_CACHE);
        r
    }
}

/// Inserts a header built at run time (ignored if not a valid value).
pub(crate) fn set_header(r: &mut Response<EmuBody>, name: HeaderName, value: &[u8]) {
    if let Ok(v) = HeaderValue::from_bytes(value) {
        r.headers_mut().insert(name, v);
    }
}
