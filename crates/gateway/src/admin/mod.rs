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

use crate::body::GatewayBody;
use crate::runtime::Runtime;
use crate::server::Backoff;

mod auth;
mod console;
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

async fn handle(
    rt: Arc<Runtime>,
    req: Request<Incoming>,
) -> Result<Response<GatewayBody>, Infallible> {
    let path = req.uri().path();
    // The console's page and assets are open; its data calls are not.
    if let Some(r) = console::serve(&rt, req.method(), path) {
        return Ok(r);
    }
    if !rt.snapshot().admin_auth.allows(path, req.headers()) {
        let mut r = respond(
            StatusCode::UNAUTHORIZED,
            r#"{"error":{"message":"this admin endpoint needs the admin token: send `Authorization: Bearer <admin.token>`","type":"authentication_error","code":"invalid_admin_token","param":null}}"#,
        );
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer"),
        );
        return Ok(r);
    }
    if path == "/admin/reload" {
        return Ok(reload::reload(&rt, req.method()).await);
    }
    if req.method() != Method::GET {
        return Ok(respond(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":{"message":"this admin endpoint is read-only: use GET (POST is for /admin/reload)","type":"invalid_request_error","code":"method_not_allowed","param":null}}"#,
        ));
    }
    Ok(match path {
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
        p => respond(
            StatusCode::NOT_FOUND,
            format!(
                r#"{{"error":{{"message":"no admin endpoint {p}; try /health, /status, /metrics or /admin/reload","type":"invalid_request_error","code":"unknown_url","param":null}}}}"#
            ),
        ),
    })
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
                    Ok((s, _)) => {
                        backoff.reset();
                        s
                    }
                    Err(e) => {
                        backoff.wait(&e, "admin").await;
                        continue;
                    }
                };
                let rt = rt.clone();
                let conn = builder
                    .serve_connection(TokioIo::new(stream), service_fn(move |req| handle(rt.clone(), req)))
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => return Ok(()),
        }
    }
}
