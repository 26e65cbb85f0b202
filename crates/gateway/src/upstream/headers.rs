//! The headers of an upstream request that come from the client's request:
//! its request id, its trace context and (to Anthropic-speaking providers)
//! its `anthropic-*` headers. The provider's own headers (credential,
//! `headers`, `claudeVersion`) are set by [`super::Upstream::request`].

use http::{HeaderMap, HeaderName, HeaderValue};
use switchyard_providers::Dialect;

use crate::pipeline::X_REQUEST_ID;
use crate::telemetry::trace::{TRACEPARENT, TRACESTATE};

pub static ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");
static DEFAULT_ANTHROPIC_VERSION: HeaderValue =
    HeaderValue::from_static(super::DEFAULT_ANTHROPIC_VERSION);

/// What the client sent that goes on to the provider.
#[derive(Clone, Debug, Default)]
pub struct Forwarded {
    pub request_id: Option<HeaderValue>,
    /// The client's `traceparent` when the gateway does not trace the
    /// request itself, and its `tracestate` always (W3C: passed on).
    pub trace: Vec<(HeaderName, HeaderValue)>,
    /// `anthropic-version` and `anthropic-beta` of a Claude client.
    pub anthropic: Vec<(HeaderName, HeaderValue)>,
    /// The client's `content-type` where the body is not JSON (uploads:
    /// the multipart boundary must reach the provider).
    pub content_type: Option<HeaderValue>,
}

impl Forwarded {
    /// Take what goes on from the client's `headers`. `traced`: the gateway
    /// traces this request (each attempt then sends its own traceparent).
    pub fn capture(
        headers: &HeaderMap,
        request_id: HeaderValue,
        traced: bool,
        client: Dialect,
    ) -> Forwarded {
        let mut f = Forwarded {
            request_id: Some(request_id),
            ..Forwarded::default()
        };
        for name in [&TRACEPARENT, &TRACESTATE] {
            if let Some(v) = headers.get(name)
                && (!traced || name == TRACESTATE)
            {
                f.trace.push((name.clone(), v.clone()));
            }
        }
        if client == Dialect::Anthropic {
            for name in ["anthropic-version", "anthropic-beta"] {
                if let Some(v) = headers.get(name) {
                    f.anthropic.push((HeaderName::from_static(name), v.clone()));
                }
            }
        }
        f
    }

    /// Add to an attempt's request for a provider spoken to in `target`.
    /// `traceparent`: the attempt's own span, when traced.
    pub fn apply(&self, h: &mut HeaderMap, target: Dialect, traceparent: Option<HeaderValue>) {
        if let Some(id) = &self.request_id {
            h.insert(X_REQUEST_ID.clone(), id.clone());
        }
        for (k, v) in &self.trace {
            h.insert(k.clone(), v.clone());
        }
        if let Some(tp) = traceparent {
            h.insert(TRACEPARENT.clone(), tp);
        }
        if let Some(ct) = &self.content_type {
            h.insert(http::header::CONTENT_TYPE, ct.clone());
        }
        if target == Dialect::Anthropic {
            for (k, v) in &self.anthropic {
                // The provider's configured version (claudeVersion) wins.
                if !(k == ANTHROPIC_VERSION && h.contains_key(&ANTHROPIC_VERSION)) {
                    h.insert(k.clone(), v.clone());
                }
            }
            default_anthropic_version(h);
        }
    }
}

/// Anthropic requires `anthropic-version`: the default when nobody set one.
pub fn default_anthropic_version(h: &mut HeaderMap) {
    if !h.contains_key(&ANTHROPIC_VERSION) {
        h.insert(ANTHROPIC_VERSION.clone(), DEFAULT_ANTHROPIC_VERSION.clone());
    }
}
