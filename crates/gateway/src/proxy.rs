//! Forwarding one request to its provider: build the upstream request,
//! send it within the provider's deadlines, and turn the answer into the
//! client's response.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use switchyard_protocol::{RequestView, Rewrite};
use switchyard_providers::Api;
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::body::GatewayBody;
use crate::error::GatewayError;
use crate::relay::SseRelay;
use crate::runtime::Runtime;
use crate::upstream::Upstream;

pub static X_PROVIDER: HeaderName = HeaderName::from_static("x-switchyard-provider");
pub static X_MODEL: HeaderName = HeaderName::from_static("x-switchyard-model");
static APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
];

/// Forward a model API request (chat, completions, embeddings).
pub async fn forward(
    rt: &Runtime,
    api: Api,
    body: Bytes,
) -> Result<Response<GatewayBody>, GatewayError> {
    let start = Instant::now();
    let view = RequestView::parse(&body)?;
    let Some(target) = rt.routes.find(&view.model) else {
        return Err(GatewayError::NoRoute {
            model: view.model.into_owned(),
            served: rt.served_summary.clone(),
        });
    };
    let up: &Arc<Upstream> = &target.upstream;
    let kind = up.endpoint.kind;
    if !kind.supports(api) {
        return Err(GatewayError::UnsupportedApi {
            provider: up.id.to_string(),
            kind: kind.name,
            api: api.name(),
        });
    }
    let mapped = up.mapper.map(&view.model);
    let stream = view.stream;
    // Ask for the usage chunk so streamed usage can be counted; hide it
    // again if the client did not ask for it.
    let inject_usage = stream && api == Api::ChatCompletions && !view.include_usage;
    let rewrite = Rewrite {
        model: Some(&mapped),
        include_usage: inject_usage,
    };
    let upstream_body = match rewrite.apply(&body, &view) {
        Some(v) => Bytes::from(v),
        None => body.clone(),
    };
    let model_header = HeaderValue::from_str(&mapped).ok();
    let uri = up
        .endpoint
        .uri(api, &mapped)
        .map_err(|e| GatewayError::Internal(format!("bad upstream URI: {e}")))?;
    drop(view);

    let cred = up.pick_credential();
    let mut req = Request::new(Full::new(upstream_body));
    *req.method_mut() = Method::POST;
    *req.uri_mut() = uri;
    let h = req.headers_mut();
    h.insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    if let Some((name, value)) = &cred.header {
        h.insert(name.clone(), value.clone());
    }
    for (name, value) in &up.headers {
        h.insert(name.clone(), value.clone());
    }

    let deadline = start + up.timeout;
    let first_byte_deadline = start + up.first_byte_timeout;
    let which = if up.first_byte_timeout < up.timeout {
        "firstByteTimeout"
    } else {
        "timeout"
    };
    let timeout_err = |after: Duration, which: &'static str| GatewayError::UpstreamTimeout {
        provider: up.id.to_string(),
        after,
        which,
    };

    let resp = match timeout_at(first_byte_deadline, rt.client.request(req)).await {
        Err(_) => return Err(timeout_err(up.first_byte_timeout, which)),
        Ok(Err(e)) => return Err(classify(up, &e)),
        Ok(Ok(r)) => r,
    };
    tracing::debug!(provider = %up.id, credential = %cred.masked, status = resp.status().as_u16(), "upstream answered");

    let (parts, mut incoming) = resp.into_parts();
    let status = parts.status;
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.insert(X_PROVIDER.clone(), up.id_header.clone());
    if let Some(m) = model_header {
        headers.insert(X_MODEL.clone(), m);
    }

    let is_sse = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let body = if status.is_success() && stream && is_sse {
        // Wait for the first bytes before answering the client, so a
        // provider that never starts is a clean 504, not a hung stream.
        let first = first_frame(&mut incoming, first_byte_deadline, up)
            .await
            .map_err(|e| match e {
                FirstFrame::Timeout => timeout_err(up.first_byte_timeout, which),
                FirstFrame::Broken(cause) => GatewayError::UpstreamBroken {
                    provider: up.id.to_string(),
                    origin: up.endpoint.origin(),
                    cause,
                },
            })?;
        headers.remove(CONTENT_LENGTH);
        GatewayBody::Sse {
            relay: SseRelay::new(incoming, first, inject_usage, up.id.clone()),
        }
    } else {
        GatewayBody::Passthrough {
            inner: incoming,
            deadline: sleep_until(deadline),
            timeout_ms: up.timeout.as_millis(),
        }
    };
    let mut out = Response::new(body);
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    Ok(out)
}

enum FirstFrame {
    Timeout,
    Broken(String),
}

async fn first_frame(
    incoming: &mut Incoming,
    deadline: Instant,
    _up: &Upstream,
) -> Result<Option<Bytes>, FirstFrame> {
    loop {
        match timeout_at(deadline, incoming.frame()).await {
            Err(_) => return Err(FirstFrame::Timeout),
            Ok(None) => return Ok(None),
            Ok(Some(Err(e))) => return Err(FirstFrame::Broken(e.to_string())),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                {
                    return Ok(Some(data));
                }
            }
        }
    }
}

fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        h.remove(name);
    }
}

/// Turn a client error into what the user should hear.
fn classify(up: &Upstream, e: &hyper_util::client::legacy::Error) -> GatewayError {
    use std::error::Error as _;
    let mut cause = String::new();
    let mut src = e.source();
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    if cause.is_empty() {
        cause = e.to_string();
    }
    if e.is_connect() {
        GatewayError::UpstreamConnect {
            provider: up.id.to_string(),
            origin: up.endpoint.origin(),
            cause,
        }
    } else {
        GatewayError::UpstreamBroken {
            provider: up.id.to_string(),
            origin: up.endpoint.origin(),
            cause,
        }
    }
}
