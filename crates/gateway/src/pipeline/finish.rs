//! Finish: the response head (request id, overhead, gateway errors in the
//! client's dialect) and the end of the request. The body is wrapped so
//! that the end-of-request work runs exactly once, when the body ends, is
//! cut, or the client goes away: usage and the telemetry record today;
//! settling limit reservations, cost and cache stores plug in there.

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response};
use switchyard_protocol::ErrorKind;
use switchyard_protocol::canonical::StreamError;
use switchyard_providers::Dialect;
use tokio::time::Instant;

use super::RequestCtx;
use super::endpoint::X_REQUEST_ID;
use crate::body::{APPLICATION_JSON, GatewayBody};
use crate::error::GatewayError;
use crate::runtime::Runtime;
use crate::telemetry::ObservedBody;
use crate::translate;

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
    let (parts, body) = resp.into_parts();
    let body = if ctx.accounted {
        ObservedBody::new(body, ctx.rec, rt.shared.telemetry.clone())
    } else {
        ObservedBody::plain(body)
    };
    Response::from_parts(parts, body)
}

fn overhead_ms(d: std::time::Duration) -> HeaderValue {
    let us = d.as_micros();
    HeaderValue::from_str(&format!("{}.{:03}", us / 1000, us % 1000))
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

/// A gateway-made error in the client's dialect.
pub fn error_response(e: &GatewayError, dialect: Dialect) -> Response<GatewayBody> {
    let body = e.body();
    let bytes = match dialect {
        Dialect::OpenAi | Dialect::Bedrock => body.to_json(),
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
