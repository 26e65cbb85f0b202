//! The admin listener: liveness, the health of every credential, metrics
//! and reloads, kept apart from client traffic
//! (`admin: { listen: "127.0.0.1:8001", token: "${SWITCHYARD_ADMIN_TOKEN}" }`).
//! With a token every path but `admin.openPaths` needs it ([`auth`]);
//! without one, the listener stays on a loopback address.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

use http_body_util::Either;

use crate::body::GatewayBody;
use crate::runtime::Runtime;
use crate::server::Backoff;
use crate::telemetry::ObservedBody;

mod api;
mod auth;
mod console;
mod playground;
mod reload;
mod status;

pub use auth::AdminAuth;
pub use reload::request_reload;
pub use status::status_json;

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<GatewayBody> {
    let mut r = Response::new(GatewayBody::full(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, crate::body::APPLICATION_JSON.clone());
    r
}

/// An admin answer, or the gateway's own (the playground).
type AdminBody = Either<GatewayBody, ObservedBody>;

async fn handle(
    rt: Arc<Runtime>,
    peer: Option<std::net::IpAddr>,
    req: Request<Incoming>,
) -> Result<Response<AdminBody>, Infallible> {
    if req.uri().path().starts_with(playground::PREFIX) {
        if !rt
            .snapshot()
            .admin_auth
            .allows(req.uri().path(), req.headers())
        {
            return Ok(unauthorized().map(Either::Left));
        }
        return Ok(playground::serve(rt, peer, req).await.map(Either::Right));
    }
    Ok(handle_admin(rt, req).await.map(Either::Left))
}

fn unauthorized() -> Response<GatewayBody> {
    let mut r = respond(
        StatusCode::UNAUTHORIZED,
        r#"{"error":{"message":"this admin endpoint needs the admin token: send `Authorization: Bearer <admin.token>`","type":"authentication_error","code":"invalid_admin_token","param":null}}"#,
    );
    r.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    r
}

async fn handle_admin(rt: Arc<Runtime>, req: Request<Incoming>) -> Response<GatewayBody> {
    let path = req.uri().path();
    // The console's page and assets are open; its data calls are not.
    if let Some(r) = console::serve(&rt, req.method(), path) {
        return r;
    }
    if !rt.snapshot().admin_auth.allows(path, req.headers()) {
        return unauthorized();
    }
    if path == "/admin/reload" {
        return reload::reload(&rt, req.method()).await;
    }
    if path.starts_with("/admin/") {
        let shown = path.to_string();
        return match api::handle(&rt, req).await {
            Some(r) => r,
            None => not_found(&shown),
        };
    }
    if req.method() != Method::GET {
        return respond(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":{"message":"this endpoint is read-only: use GET","type":"invalid_request_error","code":"method_not_allowed","param":null}}"#,
        );
    }
    match path {
        "/health" | "/healthz" => respond(StatusCode::OK, r#"{"status":"ok"}"#),
        "/status" => respond(StatusCode::OK, status_json(&rt)),
        "/metrics" => match &rt.shared.telemetry.metrics {
            Some(m) => {
                // Account every request that has ended before answering.
                rt.shared
                    .telemetry
                    .flush(std::time::Duration::from_secs(2))
                    .await;
                let mut r = Response::new(GatewayBody::full(m.render(&rt)));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            }
            None => respond(
                StatusCode::NOT_FOUND,
                r#"{"error":{"message":"metrics are off (metrics.enabled: false)","type":"invalid_request_error","code":"metrics_disabled","param":null}}"#,
            ),
        },
        p => not_found(p),
    }
}

fn not_found(p: &str) -> Response<GatewayBody> {
    respond(
        StatusCode::NOT_FOUND,
        serde_json::json!({"error": {
            "message": format!("no admin endpoint {p}; try /health, /status, /metrics, /admin/reload or the API in docs/admin.md (/admin/providers, /admin/routes, /admin/consumers, /admin/config, ...)"),
            "type": "invalid_request_error", "code": "unknown_url", "param": null,
        }})
        .to_string(),
    )
}

pub async fn serve(
    rt: Arc<Runtime>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut backoff = Backoff::default();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, peer)) => {
                        backoff.reset();
                        (s, peer.ip())
                    }
                    Err(e) => {
                        backoff.wait(&e, "admin").await;
                        continue;
                    }
                };
                let (stream, peer) = stream;
                let rt = rt.clone();
                let conn = builder
                    .serve_connection(TokioIo::new(stream), service_fn(move |req| handle(rt.clone(), Some(peer), req)))
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => return Ok(()),
        }
    }
}
