//! Request dispatch: which endpoint, body limits, and turning every
//! failure into an OpenAI-shaped error response.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use switchyard_providers::Api;

use crate::body::GatewayBody;
use crate::error::GatewayError;
use crate::proxy;
use crate::runtime::Runtime;

static APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

pub async fn handle(
    rt: Arc<Runtime>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    Ok(match dispatch(&rt, req).await {
        Ok(r) => r,
        Err(e) => {
            if e.status().is_server_error() {
                tracing::warn!(status = e.status().as_u16(), error = %e, "request failed");
            } else {
                tracing::debug!(status = e.status().as_u16(), error = %e, "request rejected");
            }
            error_response(&e)
        }
    })
}

pub fn error_response(e: &GatewayError) -> Response<GatewayBody> {
    let mut r = Response::new(GatewayBody::full(e.body().to_json()));
    *r.status_mut() = e.status();
    r.headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    if let Some(secs) = e.retry_after() {
        r.headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

fn json_response(body: Bytes) -> Response<GatewayBody> {
    let mut r = Response::new(GatewayBody::full(body));
    r.headers_mut()
        .insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    r
}

enum Endpoint {
    Model(Api),
    Models,
    Health,
}

fn endpoint_for(path: &str) -> Option<Endpoint> {
    let p = path.strip_prefix("/v1").unwrap_or(path);
    Some(match p {
        "/chat/completions" => Endpoint::Model(Api::ChatCompletions),
        "/completions" => Endpoint::Model(Api::Completions),
        "/embeddings" => Endpoint::Model(Api::Embeddings),
        "/models" => Endpoint::Models,
        _ if path == "/health" || path == "/healthz" => Endpoint::Health,
        _ => return None,
    })
}

async fn dispatch(
    rt: &Runtime,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, GatewayError> {
    let method = req.method();
    let Some(endpoint) = endpoint_for(req.uri().path()) else {
        return Err(GatewayError::UnknownEndpoint {
            method: method.to_string(),
            path: req.uri().path().to_string(),
        });
    };
    let not_allowed = |allowed| GatewayError::MethodNotAllowed {
        method: method.to_string(),
        path: req.uri().path().to_string(),
        allowed,
    };
    match endpoint {
        Endpoint::Health => {
            if method != Method::GET && method != Method::HEAD {
                return Err(not_allowed("GET"));
            }
            Ok(json_response(Bytes::from_static(b"{\"status\":\"ok\"}")))
        }
        Endpoint::Models => {
            if method != Method::GET {
                return Err(not_allowed("GET"));
            }
            Ok(json_response(rt.models_body.clone()))
        }
        Endpoint::Model(api) => {
            if method != Method::POST {
                return Err(not_allowed("POST"));
            }
            let body = read_body(req, rt.max_body_bytes).await?;
            proxy::forward(rt, api, body).await
        }
    }
}

/// Read the whole request body, refusing more than `limit` bytes (early,
/// from `content-length`, when the client sends one).
async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, GatewayError> {
    if let Some(len) = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > limit as u64
    {
        return Err(GatewayError::BodyTooLarge { limit });
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.is::<http_body_util::LengthLimitError>() {
                Err(GatewayError::BodyTooLarge { limit })
            } else {
                Err(GatewayError::BodyRead(e.to_string()))
            }
        }
    }
}
