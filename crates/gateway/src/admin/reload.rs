//! `/admin/reload` on the server side, and `switchyard reload`'s client.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;

use super::respond;
use crate::body::GatewayBody;
use crate::runtime::{Runtime, Trigger};

/// `GET /admin/reload`: the last reload and the version in force.
/// `POST /admin/reload`: reload the config file now; 200 with what
/// changed, or 422 with every problem (nothing changed), or 409 when the
/// gateway has no file to reload.
pub(super) async fn reload(rt: &Runtime, method: &Method) -> Response<GatewayBody> {
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

/// `switchyard reload`: ask the gateway whose admin API listens on `addr`
/// to reload its config file. Returns the answer's status and body.
pub async fn request_reload(
    addr: std::net::SocketAddr,
    token: Option<&str>,
) -> Result<(u16, Bytes), String> {
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
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/admin/reload")
        .header(http::header::HOST, addr.to_string());
    if let Some(t) = token {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = req
        .body(Empty::<Bytes>::new())
        .map_err(|_| "the admin token is not a valid header value".to_string())?;
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
