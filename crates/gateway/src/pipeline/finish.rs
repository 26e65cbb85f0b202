//! Finish: the response head (request id, overhead, gateway errors in the
//! client's dialect) and the end of the request. The body is wrapped so
//! that the end-of-request work runs exactly once, when the body ends, is
//! cut, or the client goes away: the reservation of `admit` is settled
//! with the real usage (before the last bytes go out, so the client's next
//! request sees it), then the record goes to telemetry.

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};
use switchyard_protocol::ErrorKind;
use switchyard_protocol::canonical::{StreamError, TokenUsage};
use switchyard_providers::Dialect;
use tokio::time::Instant;

use super::RequestCtx;
use super::admit::Admission;
use super::endpoint::X_REQUEST_ID;
use crate::body::{APPLICATION_JSON, GatewayBody};
use crate::error::GatewayError;
use crate::runtime::Runtime;
use crate::telemetry::ObservedBody;
use crate::translate;
use switchyard_limits::{HEADER_NAMES, RateHeaders, format_reset};

/// The gateway's own time until the response head, in milliseconds.
pub static X_OVERHEAD_MS: http::HeaderName =
    http::HeaderName::from_static("x-switchyard-overhead-ms");
static X_UPSTREAM_REQUEST_ID: http::HeaderName =
    http::HeaderName::from_static("x-upstream-request-id");

pub fn respond(
    rt: &Arc<Runtime>,
    mut ctx: RequestCtx,
    result: Result<Response<GatewayBody>, GatewayError>,
) -> Response<ObservedBody> {
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.status().is_server_error() {
                tracing::warn!(status = e.status().as_u16(), error = %e, request_id = ?ctx.id, "request failed");
            } else {
                tracing::debug!(status = e.status().as_u16(), error = %e, request_id = ?ctx.id, "request rejected");
            }
            ctx.rec.error = Some((e.code(), e.to_string()));
            error_response(&e, ctx.dialect)
        }
    };
    let now = Instant::now();
    ctx.rec.status = resp.status().as_u16();
    let h = resp.headers_mut();
    // The provider's own id stays available for its support.
    if let Some(upstream) = h.remove(&X_REQUEST_ID) {
        h.insert(X_UPSTREAM_REQUEST_ID.clone(), upstream);
    }
    h.insert(X_OVERHEAD_MS.clone(), overhead_ms(ctx.rec.overhead(now)));
    h.insert(X_REQUEST_ID.clone(), ctx.id);
    let rate = ctx
        .admission
        .as_ref()
        .and_then(|a| a.headers)
        .or(ctx.rate_headers);
    if let Some(rate) = rate {
        rate_headers(h, &rate);
    }
    let (parts, body) = resp.into_parts();
    // Only token counters and budgets need the usage: a request that only
    // counts requests is done with once admitted.
    let settle = ctx
        .admission
        .take()
        .filter(|a| a.budget.is_some() || a.reservation.as_ref().is_some_and(|r| r.settles()))
        .map(Settle::from);
    let body = if ctx.accounted {
        ObservedBody::new(body, ctx.rec, rt.shared.telemetry.clone(), settle)
    } else {
        ObservedBody::plain(body)
    };
    Response::from_parts(parts, body)
}

/// OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, each
/// kind only where a limit of that kind applies (numbers written without
/// an intermediate string).
fn rate_headers(h: &mut http::HeaderMap, rate: &RateHeaders) {
    const fn names(n: [&'static str; 3]) -> [http::HeaderName; 3] {
        [
            http::HeaderName::from_static(n[0]),
            http::HeaderName::from_static(n[1]),
            http::HeaderName::from_static(n[2]),
        ]
    }
    static NAMES: [[http::HeaderName; 3]; 2] = [names(HEADER_NAMES[0]), names(HEADER_NAMES[1])];
    for (info, [limit, remaining, reset]) in [rate.requests, rate.tokens].iter().zip(&NAMES) {
        if let Some(info) = info {
            h.insert(limit.clone(), HeaderValue::from(info.limit));
            h.insert(remaining.clone(), HeaderValue::from(info.remaining));
            if let Ok(v) = HeaderValue::from_str(&format_reset(info.reset)) {
                h.insert(reset.clone(), v);
            }
        }
    }
}

/// End-of-request work for limits: settle the reservation made by `admit`
/// with the tokens the request really used.
pub struct Settle {
    admission: Admission,
}

impl From<Admission> for Settle {
    fn from(admission: Admission) -> Self {
        Settle { admission }
    }
}

impl Settle {
    /// Whether `run` needs the request's cost (a budget applies).
    pub fn needs_cost(&self) -> bool {
        self.admission.budget.is_some()
    }

    /// Settle with the real usage (input, cached included, plus output)
    /// and add `cost_usd` to the consumer's budget. An in-memory store is
    /// done before this returns; a shared store's calls finish on their
    /// own task (the response is not held).
    pub fn run(self, usage: &TokenUsage, cost_usd: Option<f64>) {
        let tokens = usage.input_tokens.saturating_add(usage.output_tokens);
        let Admission {
            reservation,
            budget,
            limiter,
            ..
        } = self.admission;
        let cost = switchyard_limits::to_micro_usd(cost_usd.unwrap_or(0.0));
        let now = Instant::now();
        now_or_spawn(async move {
            if let Some(r) = reservation
                && let Err(e) = limiter.settle(r, tokens, now).await
            {
                tracing::debug!(error = %e, "settling a reservation failed; it keeps its reserve");
            }
            if let Some(b) = budget.as_ref().and_then(|c| c.budget.as_ref())
                && let Err(e) = limiter.spend(&b.key, &b.budget, cost, now).await
            {
                tracing::warn!(error = %e, budget = %b.key, "a request's cost could not be added to its budget");
            }
        });
    }
}

/// Run `f` to completion now if it does not wait; else on its own task.
fn now_or_spawn<F: Future<Output = ()> + Send + 'static>(f: F) {
    let mut f = Box::pin(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    if f.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(f);
    }
}

/// `12.345`: milliseconds to the microsecond, written without `format!`
/// (a `u128` division and a `String` per answer).
fn overhead_ms(d: std::time::Duration) -> HeaderValue {
    let us = d.as_secs().saturating_mul(1_000_000) + u64::from(d.subsec_micros());
    let mut out = [0u8; 24];
    let mut digits = itoa::Buffer::new();
    let whole = digits.format(us / 1000).as_bytes();
    out[..whole.len()].copy_from_slice(whole);
    let frac = (us % 1000) as u16;
    out[whole.len()..whole.len() + 4].copy_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
    HeaderValue::from_bytes(&out[..whole.len() + 4])
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

/// A gateway-made error in the client's dialect.
pub fn error_response(e: &GatewayError, dialect: Dialect) -> Response<GatewayBody> {
    let body = e.body();
    let bytes = match dialect {
        Dialect::OpenAi | Dialect::Bedrock | Dialect::Responses => body.to_json(),
        _ => {
            let kind = match body.kind {
                _ if e.status() == http::StatusCode::NOT_FOUND => "not_found_error",
                _ if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE => "request_too_large",
                ErrorKind::InvalidRequest => "invalid_request_error",
                ErrorKind::Authentication => "authentication_error",
                ErrorKind::Permission => "permission_error",
                ErrorKind::RateLimit => "rate_limit_error",
                ErrorKind::Upstream | ErrorKind::Timeout | ErrorKind::Internal => "api_error",
            };
            let err = StreamError {
                status: Some(e.status().as_u16()),
                kind: kind.to_string(),
                message: body.message,
            };
            translate::encode_error(dialect, e.status().as_u16(), &err)
        }
    };
    let mut r = Response::new(GatewayBody::full(bytes));
    *r.status_mut() = e.status();
    r.headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    if let Some(secs) = e.retry_after() {
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn overhead_is_milliseconds_to_the_microsecond() {
        for (d, want) in [
            (Duration::ZERO, "0.000"),
            (Duration::from_micros(5), "0.005"),
            (Duration::from_micros(12_345), "12.345"),
            (Duration::from_nanos(1_999), "0.001"),
            (Duration::from_secs(3_600), "3600000.000"),
        ] {
            assert_eq!(super::overhead_ms(d).to_str().unwrap(), want, "{d:?}");
        }
    }
}
