//! The admin listener: liveness, the health of every credential, metrics
//! and reloads, kept apart from client traffic
//! (`admin: { listen: "127.0.0.1:8001" }`). It has no authentication yet:
//! keep it on a loopback address.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde::Serialize;
use switchyard_routing::Recovery;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::body::GatewayBody;
use crate::runtime::{Runtime, Trigger};
use crate::server::Backoff;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status<'a> {
    providers: Vec<ProviderStatus<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProviderStatus<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    origin: String,
    failover: bool,
    recovery: Option<&'static str>,
    healthy_credentials: usize,
    credentials: Vec<CredentialStatus<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CredentialStatus<'a> {
    credential: &'a str,
    state: &'static str,
    /// Unix seconds.
    out_since: Option<u64>,
    consecutive_failures: u32,
    last_error: Option<String>,
    next_check_in_ms: Option<u128>,
}

/// The `/status` document.
pub fn status_json(rt: &Runtime) -> Vec<u8> {
    let now = Instant::now();
    let snap = rt.snapshot();
    let providers = snap
        .upstreams
        .iter()
        .map(|up| {
            let credentials: Vec<_> = (0..up.pool.len())
                .filter_map(|i| {
                    let snap = up.pool.health(i)?.snapshot(now);
                    Some(CredentialStatus {
                        credential: up.masked(i),
                        state: if snap.healthy { "healthy" } else { "out" },
                        out_since: snap
                            .out_since
                            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                            .map(|d| d.as_secs()),
                        consecutive_failures: snap.consecutive_failures,
                        last_error: snap.last_error,
                        next_check_in_ms: snap.next_check_in.map(|d| d.as_millis()),
                    })
                })
                .collect();
            ProviderStatus {
                id: &up.id,
                kind: up.endpoint.kind.name,
                origin: up.endpoint.origin(),
                failover: up.pool.policy().is_some(),
                recovery: up.pool.policy().map(|p| match p.recovery {
                    Recovery::Check { .. } => "health-check",
                    Recovery::Cooldown(_) => "cooldown",
                }),
                healthy_credentials: credentials.iter().filter(|c| c.state == "healthy").count(),
                credentials,
            }
        })
        .collect();
    serde_json::to_vec_pretty(&Status { providers }).unwrap_or_default()
}

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
    if path == "/admin/reload" {
        return Ok(reload(&rt, req.method()).await);
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

/// `GET /admin/reload`: the last reload and the version in force.
/// `POST /admin/reload`: reload the config file now; 200 with what
/// changed, or 422 with every problem (nothing changed), or 409 when the
/// gateway has no file to reload.
async fn reload(rt: &Runtime, method: &Method) -> Response<GatewayBody> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Reloaded<'a> {
        ok: bool,
        changes: &'a [String],
        errors: &'a [String],
        status: crate::runtime::ReloadStatus,
    }
    let json = |status, body: &Reloaded<'_>| {
        respond(status, serde_json::to_vec_pretty(body).unwrap_or_default())
    };
    match *method {
        Method::GET => respond(
            StatusCode::OK,
            serde_json::to_vec_pretty(&rt.reload_status()).unwrap_or_default(),
        ),
        Method::POST => match rt.reload(Trigger::Api).await {
            Ok(changes) => json(
                StatusCode::OK,
                &Reloaded {
                    ok: true,
                    changes: &changes,
                    errors: &[],
                    status: rt.reload_status(),
                },
            ),
            Err(errors) => json(
                if rt.source().path.is_none() {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                },
                &Reloaded {
                    ok: false,
                    changes: &[],
                    errors: &errors,
                    status: rt.reload_status(),
                },
            ),
        },
        _ => respond(
            StatusCode::METHOD_NOT_ALLOWED,
            r#"{"error":{"message":"/admin/reload takes GET (the last reload) or POST (reload now)","type":"invalid_request_error","code":"method_not_allowed","param":null}}"#,
        ),
    }
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

/// `switchyard reload`: ask the gateway whose admin API listens on `addr`
/// to reload its config file. Returns the answer's status and body.
pub async fn request_reload(addr: std::net::SocketAddr) -> Result<(u16, Bytes), String> {
    use http_body_util::{BodyExt, Empty};
    let explain = |e: &dyn std::fmt::Display| {
        format!(
            "cannot reach the admin API at {addr}: {e}. Is the gateway running with admin.listen set to this address (or pass --admin)?"
        )
    };
    let stream = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .map_err(|e| explain(&e))?
    .map_err(|e| explain(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| explain(&e))?;
    tokio::spawn(conn);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/admin/reload")
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(std::time::Duration::from_secs(60), sender.send_request(req))
        .await
        .map_err(|e| explain(&e))?
        .map_err(|e| explain(&e))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| explain(&e))?
        .to_bytes();
    Ok((status, body))
}
