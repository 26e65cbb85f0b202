//! The record of one request, filled on the request path and accounted
//! when the response ends.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::HeaderValue;
use switchyard_protocol::canonical::TokenUsage;
use switchyard_providers::{Api, Dialect};
use tokio::time::Instant;

use super::account::Accounted;
use super::tap::Tap;

/// Why an attempt failed, as a bounded label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// The provider answered with a non-2xx status.
    Status,
    Connect,
    Timeout,
    /// The connection broke, or the answer was unusable.
    Broken,
    /// The answer could not be translated for the client.
    Translation,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Status => "upstream_status",
            FailureKind::Connect => "connect",
            FailureKind::Timeout => "timeout",
            FailureKind::Broken => "broken",
            FailureKind::Translation => "translation",
        }
    }
}

/// One upstream call.
#[derive(Debug)]
pub struct AttemptRecord {
    pub provider: Arc<str>,
    /// Masked (`sk-…abcd`).
    pub credential: Arc<str>,
    pub model: Arc<str>,
    /// The provider's type (`openai`, `claude`, ...), for `gen_ai.system`.
    pub system: &'static str,
    /// The hop (0: the route's own provider, 1..: fallback targets).
    pub hop: u8,
    pub started: Instant,
    pub started_wall: SystemTime,
    /// When the answer's head (and for streams its first bytes) came, or
    /// the attempt failed.
    pub ended: Option<Instant>,
    pub status: Option<u16>,
    pub failure: Option<(FailureKind, String)>,
    /// The span id sent upstream in `traceparent`, when traced.
    pub span_id: Option<switchyard_otel::SpanId>,
    pub server: Option<(String, u16)>,
}

/// The trace this request belongs to (tracing on). Unsampled requests
/// record no spans but still pass a `traceparent` on.
#[derive(Clone, Copy, Debug)]
pub struct TraceState {
    pub trace_id: switchyard_otel::TraceId,
    pub span_id: switchyard_otel::SpanId,
    /// The client's span, from its `traceparent`.
    pub parent: Option<switchyard_otel::SpanId>,
    pub sampled: bool,
}

/// Everything accounted for one request.
pub struct RequestRecord {
    pub request_id: HeaderValue,
    pub started: Instant,
    pub started_wall: SystemTime,
    pub method: http::Method,
    pub path: Box<str>,
    pub api: Option<Api>,
    pub client: Dialect,
    pub requested_model: Option<Box<str>>,
    /// The consumer whose key the request carried.
    pub consumer: Option<Arc<str>>,
    pub route: Option<Arc<str>>,
    /// The route's own provider.
    pub primary_provider: Option<Arc<str>>,
    pub stream: bool,
    pub attempts: Vec<AttemptRecord>,
    /// `provider/model` of the route's own target, when another served.
    pub fallback_from: Option<String>,
    pub status: u16,
    /// A gateway-made error: its code and message.
    pub error: Option<(&'static str, String)>,
    pub ended: Option<Instant>,
    /// When the served attempt's body ended (streams and relayed bodies).
    pub upstream_end: Option<Instant>,
    /// The relayed answer broke after its head was sent (not a stream).
    pub body_error: Option<String>,
    /// Time spent reading the client's request body (waiting on the
    /// client, not working).
    pub body_read: std::time::Duration,
    /// The body was not read to its end by the client.
    pub client_gone: bool,
    /// What the stream relay saw.
    pub tap: Option<Tap>,
    /// The request body, for token estimates and `log.bodies`: whole up to
    /// [`REQUEST_KEEP`] bytes, else its first [`REQUEST_KEEP`] bytes (a copy,
    /// so the record does not keep the whole body alive). Set it with
    /// [`RequestRecord::keep_request_body`].
    pub request_body: Option<Bytes>,
    /// Length of the whole request body (more than `request_body` holds when
    /// it was cut).
    pub request_body_len: usize,
    /// The response body as sent (non-streamed answers, and with
    /// `log.bodies`), bounded.
    pub response_body: Vec<Bytes>,
    pub response_len: usize,
    /// Past the capture limit, the answer's last bytes (where providers put
    /// usage), at least [`TAIL`] of them.
    pub response_tail: std::collections::VecDeque<Bytes>,
    pub response_tail_len: usize,
    pub trace: Option<TraceState>,
    /// Accounted already (on the request path, to settle limits); the
    /// worker uses this instead of accounting again.
    pub accounted: Option<Box<Accounted>>,
    /// The rate-limit rule that refused the request.
    pub rate_limited_by: Option<Arc<str>>,
    /// The prices of the configuration the request was routed on (set
    /// with the route), to price it when accounted.
    pub prices: Option<Arc<switchyard_tokens::PriceTable>>,
}

/// Bytes of an answer's end kept past the capture limit.
pub const TAIL: usize = 64 * 1024;

/// Bytes of a request body a record keeps (for the prompt estimate and
/// `log.bodies`); of a larger body only this prefix, copied.
pub const REQUEST_KEEP: usize = 256 * 1024;

impl RequestRecord {
    /// Keep the request body for the prompt estimate and `log.bodies`,
    /// shared (no copy). A body over [`REQUEST_KEEP`] bytes is bounded by
    /// [`RequestRecord::bound_request_body`] before the record outlives
    /// the request's own hold on it (a stream's relay, the worker's queue).
    /// `request_body_len` is the whole length either way.
    pub fn keep_request_body(&mut self, body: &Bytes) {
        self.request_body_len = body.len();
        self.request_body = Some(body.clone());
    }

    /// A kept body over [`REQUEST_KEEP`] bytes is let go: `needed` (the
    /// estimate or `log.bodies` may still read it) keeps a copy of its
    /// first [`REQUEST_KEEP`] bytes (the estimate is then scaled by
    /// length, see `account`), else nothing. So a record never keeps a
    /// large body's allocation alive, and copies its prefix only when the
    /// answer did not bring the prompt's token count.
    pub fn bound_request_body(&mut self, needed: bool) {
        if let Some(body) = &self.request_body
            && body.len() > REQUEST_KEEP
        {
            self.request_body = needed
                .then(|| body.get(..REQUEST_KEEP).map(Bytes::copy_from_slice))
                .flatten();
        }
    }

    /// Whether the record still shares a request body over [`REQUEST_KEEP`]
    /// bytes (see [`RequestRecord::bound_request_body`]).
    pub fn holds_large_body(&self) -> bool {
        self.request_body
            .as_ref()
            .is_some_and(|b| b.len() > REQUEST_KEEP)
    }

    /// Whether the kept request body is only a prefix of the body.
    pub fn request_body_cut(&self) -> bool {
        self.request_body
            .as_ref()
            .is_some_and(|b| b.len() < self.request_body_len)
    }

    /// About how much memory the record holds (itself, its attempts and the
    /// bodies and text it keeps): what it costs while queued for a worker.
    pub fn approx_bytes(&self) -> usize {
        let attempts: usize = self
            .attempts
            .iter()
            .map(|a| {
                std::mem::size_of::<AttemptRecord>()
                    + a.failure.as_ref().map_or(0, |(_, m)| m.len())
                    + a.server.as_ref().map_or(0, |(h, _)| h.len())
            })
            .sum();
        std::mem::size_of::<RequestRecord>()
            + self.path.len()
            + attempts
            + self.error.as_ref().map_or(0, |(_, m)| m.len())
            + self.body_error.as_ref().map_or(0, String::len)
            + self.fallback_from.as_ref().map_or(0, String::len)
            + self.request_body.as_ref().map_or(0, Bytes::len)
            + self.response_len
            + self.response_tail_len
            + self.tap.as_ref().map_or(0, Tap::approx_bytes)
    }

    /// Keep a frame of the answer: whole up to `limit`, then only the tail
    /// (for non-streamed answers, whose usage comes last).
    pub fn capture(&mut self, data: &Bytes, limit: usize) {
        if self.response_len < limit {
            self.response_len += data.len();
            self.response_body.push(data.clone());
        } else if !self.stream && (200..300).contains(&self.status) {
            self.response_tail_len += data.len();
            self.response_tail.push_back(data.clone());
            while self
                .response_tail
                .front()
                .is_some_and(|f| self.response_tail_len - f.len() >= TAIL)
            {
                if let Some(f) = self.response_tail.pop_front() {
                    self.response_tail_len -= f.len();
                }
            }
        }
    }

    pub fn new(request_id: HeaderValue, method: http::Method, path: &str, client: Dialect) -> Self {
        RequestRecord {
            request_id,
            started: Instant::now(),
            started_wall: SystemTime::now(),
            method,
            path: path.into(),
            api: None,
            client,
            requested_model: None,
            consumer: None,
            route: None,
            primary_provider: None,
            stream: false,
            attempts: Vec::new(),
            fallback_from: None,
            status: 0,
            error: None,
            ended: None,
            upstream_end: None,
            body_error: None,
            body_read: std::time::Duration::ZERO,
            client_gone: false,
            tap: None,
            request_body: None,
            request_body_len: 0,
            response_body: Vec::new(),
            response_len: 0,
            response_tail: std::collections::VecDeque::new(),
            response_tail_len: 0,
            trace: None,
            accounted: None,
            rate_limited_by: None,
            prices: None,
        }
    }

    /// The attempt that served the request: the last one, if it succeeded.
    pub fn served(&self) -> Option<&AttemptRecord> {
        self.attempts
            .last()
            .filter(|a| a.failure.is_none() && a.status.is_some_and(|s| (200..300).contains(&s)))
    }

    /// Time spent waiting on providers up to `until`: every attempt from
    /// its start to its end (the served one to the end of its body when
    /// the body was relayed).
    pub fn upstream_time(&self, until: Instant) -> std::time::Duration {
        let n = self.attempts.len();
        self.attempts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let end = match (i + 1 == n, self.upstream_end) {
                    (true, Some(end)) => end,
                    _ => a.ended.unwrap_or(until),
                };
                end.min(until).saturating_duration_since(a.started)
            })
            .sum()
    }

    /// Time spent in the gateway itself up to `until`: not waiting on a
    /// provider, nor on the client's request body.
    pub fn overhead(&self, until: Instant) -> std::time::Duration {
        until
            .saturating_duration_since(self.started)
            .saturating_sub(self.upstream_time(until))
            .saturating_sub(self.body_read)
    }

    /// The usage the provider reported, if any.
    pub fn reported_usage(&self) -> Option<TokenUsage> {
        self.tap.as_ref().and_then(|t| t.usage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> RequestRecord {
        RequestRecord::new(
            HeaderValue::from_static("t"),
            http::Method::POST,
            "/v1/chat/completions",
            Dialect::OpenAi,
        )
    }

    #[test]
    fn a_large_request_body_is_not_kept_alive() {
        let mut rec = record();
        let small = Bytes::from(vec![b'a'; 1000]);
        rec.keep_request_body(&small);
        assert_eq!(rec.request_body_len, 1000);
        assert!(!rec.request_body_cut());
        // Shared, not copied.
        assert_eq!(
            rec.request_body.as_ref().map(|b| b.as_ptr()),
            Some(small.as_ptr())
        );

        let big = Bytes::from(vec![b'b'; 32 * 1024 * 1024]);
        // Not needed (the answer counted the prompt): nothing is kept.
        let mut rec = record();
        rec.keep_request_body(&big);
        assert!(rec.holds_large_body());
        rec.bound_request_body(false);
        assert!(rec.request_body.is_none() && !rec.holds_large_body());
        assert_eq!(rec.request_body_len, big.len());
        // Needed: its prefix, copied.
        let mut rec = record();
        rec.keep_request_body(&big);
        rec.bound_request_body(true);
        assert_eq!(rec.request_body_len, big.len());
        assert!(rec.request_body_cut());
        let kept = rec.request_body.clone().unwrap();
        assert_eq!(kept.len(), REQUEST_KEEP);
        assert_ne!(kept.as_ptr(), big.as_ptr());
        // The big body can go: the record holds only its prefix.
        drop(big);
        assert!(
            rec.approx_bytes() < REQUEST_KEEP + 4096,
            "{}",
            rec.approx_bytes()
        );
    }
}
