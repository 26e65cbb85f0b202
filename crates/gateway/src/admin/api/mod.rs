//! The admin REST API under `/admin/` (see `docs/admin.md`): the config's
//! own objects as resources ([`resources`]), the whole document
//! ([`document`]), and what the gateway sees ([`observe`]). Every write goes
//! through [`Runtime::edit`]: validated like a reload, swapped in, written
//! to the file.

mod document;
mod observe;
mod resources;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, ETAG};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};
use switchyard_config::EditError;

use super::respond;
use crate::body::GatewayBody;
use crate::runtime::{EditFailure, EditMode, Edited, Runtime};

/// The largest body an admin write accepts.
const MAX_BODY: usize = 4 << 20;

/// Answer an `/admin/...` request other than `/admin/reload`; `None` when
/// no endpoint has this path.
pub async fn handle(rt: &Runtime, req: Request<Incoming>) -> Option<Response<GatewayBody>> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<String> = path
        .trim_start_matches("/admin/")
        .split('/')
        .map(switchyard_providers::percent_decode)
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    Some(match segs.as_slice() {
        ["config"] => document::config(rt, req).await,
        ["config", "validate"] => document::validate(rt, req).await,
        ["credentials"] => observe::credentials(rt, req.method()),
        ["requests"] => observe::requests(rt, &req),
        ["traffic"] => observe::traffic(rt, req.method()),
        ["catalog"] => observe::catalog(req.method()),
        [field, rest @ ..] => match switchyard_config::Resource::from_field(field) {
            Some(r) => resources::handle(rt, r, rest, req).await,
            None => return None,
        },
        [] => return None,
    })
}

/// A query parameter's value.
fn query<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

/// `?dryRun=true` and `If-Match`.
fn mode(req: &Request<Incoming>) -> (bool, Option<String>) {
    let dry_run = matches!(query(req, "dryRun"), Some("true" | "1" | ""));
    let if_match = req
        .headers()
        .get(http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (dry_run, if_match)
}

/// The body, at most [`MAX_BODY`] bytes.
async fn body(req: Request<Incoming>) -> Result<Bytes, Response<GatewayBody>> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_body",
            &format!("cannot read the request body ({e}); send at most 4 MiB"),
            None,
        )),
    }
}

/// A JSON body that must be an object.
async fn json_body(req: Request<Incoming>) -> Result<Value, Response<GatewayBody>> {
    let b = body(req).await?;
    serde_json::from_slice::<Value>(&b).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_json",
            &format!(
                "the body is not JSON ({e}); send a JSON object with the config's field names"
            ),
            None,
        )
    })
}

fn json_response(status: StatusCode, v: &Value) -> Response<GatewayBody> {
    respond(status, serde_json::to_vec(v).unwrap_or_default())
}

/// An error in the admin API's shape (OpenAI-style, with `problems`).
fn error(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: &str,
    problems: Option<Vec<(String, String)>>,
) -> Response<GatewayBody> {
    let mut e = json!({"error": {"message": message, "type": kind, "code": code, "param": null}});
    if let Some(p) = problems {
        e["error"]["problems"] = p
            .into_iter()
            .map(|(path, message)| json!({"path": path, "message": message}))
            .collect();
    }
    json_response(status, &e)
}

fn not_found(message: &str) -> Response<GatewayBody> {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "not_found",
        message,
        None,
    )
}

fn method_not_allowed(allowed: &str) -> Response<GatewayBody> {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "method_not_allowed",
        &format!("use {allowed} here"),
        None,
    )
}

/// Why a write changed nothing, as the client sees it.
fn failure(f: EditFailure) -> Response<GatewayBody> {
    match f {
        EditFailure::NoDocument => error(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "no_config_file",
            "this gateway runs a config that came from no document; start it with --config FILE to change it here",
            None,
        ),
        EditFailure::Stale { current } => {
            let mut r = error(
                StatusCode::PRECONDITION_FAILED,
                "invalid_request_error",
                "precondition_failed",
                &format!(
                    "the config changed since you read it (If-Match does not name the version in force, \"{current}\"); read it again, redo the change and send it with the new ETag"
                ),
                None,
            );
            if let Ok(v) = HeaderValue::from_str(&format!("\"{current}\"")) {
                r.headers_mut().insert(ETAG, v);
            }
            r
        }
        EditFailure::Edit(EditError::NotFound(m)) => not_found(&m),
        EditFailure::Edit(EditError::AlreadyExists(m)) => error(
            StatusCode::CONFLICT,
            "invalid_request_error",
            "already_exists",
            &m,
            None,
        ),
        EditFailure::Edit(EditError::Invalid { path, message }) => invalid(vec![(path, message)]),
        EditFailure::Invalid(problems) => invalid(problems),
        EditFailure::Io(m) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "cannot_write_config",
            &m,
            None,
        ),
    }
}

fn invalid(problems: Vec<(String, String)>) -> Response<GatewayBody> {
    let first = problems
        .first()
        .map(|(p, m)| {
            if p.is_empty() {
                m.clone()
            } else {
                format!("{p}: {m}")
            }
        })
        .unwrap_or_default();
    let more = match problems.len() {
        0 | 1 => String::new(),
        n => format!(" (and {} more: see problems)", n - 1),
    };
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        "invalid_config",
        &format!("the change is not valid, nothing was changed: {first}{more}"),
        Some(problems),
    )
}

/// The answer to a write: the envelope, with the new version as `ETag`.
fn written<T>(
    status: StatusCode,
    e: &Edited<T>,
    data: Value,
    dry_run: bool,
) -> Response<GatewayBody> {
    let mut body = json!({
        "data": data,
        "version": &*e.version,
        "changes": e.changes,
        "persisted": e.persisted,
    });
    if dry_run {
        body["dryRun"] = Value::Bool(true);
    }
    let mut r = json_response(status, &body);
    if !dry_run && let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", e.version)) {
        r.headers_mut().insert(ETAG, v);
    }
    r
}

/// Run `f` on the document with the request's mode.
async fn edit<T>(
    rt: &Runtime,
    dry_run: bool,
    if_match: Option<&str>,
    f: impl FnOnce(&mut switchyard_config::Document) -> Result<T, EditError>,
) -> Result<Edited<T>, Response<GatewayBody>> {
    rt.edit(EditMode { dry_run, if_match }, f)
        .await
        .map_err(failure)
}

fn is(method: &Method, m: Method) -> bool {
    *method == m
}

fn content_type(r: &mut Response<GatewayBody>, v: &'static str) {
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(v));
}
