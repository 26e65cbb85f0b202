//! `GET`/`PUT /admin/config` (the whole document, YAML or JSON, with an
//! `ETag`) and `POST /admin/config/validate` (a dry run: every problem and
//! what would change).

use http::header::{ACCEPT, CONTENT_TYPE, ETAG};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use switchyard_config::{Document, EditError};

use super::{
    body, content_type, edit, failure, is, json_response, method_not_allowed, mode, written,
};
use crate::body::GatewayBody;
use crate::runtime::{EditFailure, Runtime};

fn wants_json(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

pub async fn config(rt: &Runtime, req: Request<Incoming>) -> Response<GatewayBody> {
    let method = req.method().clone();
    if is(&method, Method::GET) {
        let Some((doc, version)) = rt.document().await else {
            return failure(EditFailure::NoDocument);
        };
        let shown = doc.masked();
        let mut r = if wants_json(&req) {
            json_response(StatusCode::OK, &shown.to_json())
        } else {
            let mut r = super::respond(StatusCode::OK, shown.to_yaml().unwrap_or_default());
            content_type(&mut r, "application/yaml; charset=utf-8");
            r
        };
        if let Ok(v) = HeaderValue::from_str(&format!("\"{version}\"")) {
            r.headers_mut().insert(ETAG, v);
        }
        return r;
    }
    if !is(&method, Method::PUT) {
        return method_not_allowed("GET or PUT");
    }
    let (dry_run, if_match) = mode(&req);
    let new = match parse_body(req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match edit(rt, dry_run, if_match.as_deref(), |d| replace(d, new)).await {
        Ok(e) => written(StatusCode::OK, &e, Value::Null, dry_run),
        Err(r) => r,
    }
}

/// The document sent back takes the place of the one in force; masked
/// secrets keep the values they mask.
fn replace(doc: &mut Document, mut new: Document) -> Result<(), EditError> {
    new.unmask_from(doc)?;
    *doc = new;
    Ok(())
}

/// `application/yaml` or JSON (JSON is YAML too; both parse the same).
async fn parse_body(req: Request<Incoming>) -> Result<Document, Response<GatewayBody>> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    let b = body(req).await?;
    let text = String::from_utf8_lossy(&b);
    let parsed = if is_json {
        serde_json::from_str::<Value>(&text)
            .map_err(|e| e.to_string())
            .and_then(Document::from_json)
    } else {
        Document::parse(&text)
    };
    parsed.map_err(|e| {
        super::invalid(vec![(
            String::new(),
            format!("cannot parse the document: {e}"),
        )])
    })
}

pub async fn validate(rt: &Runtime, req: Request<Incoming>) -> Response<GatewayBody> {
    if !is(req.method(), Method::POST) {
        return method_not_allowed("POST");
    }
    let new = match parse_body(req).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match rt
        .edit(
            crate::runtime::EditMode {
                dry_run: true,
                if_match: None,
            },
            |d| replace(d, new),
        )
        .await
    {
        Ok(e) => json_response(
            StatusCode::OK,
            &json!({"valid": true, "problems": [], "changes": e.changes, "version": &*e.version}),
        ),
        Err(EditFailure::Invalid(p)) => invalid_answer(p),
        Err(EditFailure::Edit(EditError::Invalid { path, message })) => {
            invalid_answer(vec![(path, message)])
        }
        Err(f) => failure(f),
    }
}

/// A document that does not validate is still a 200 for `validate`.
fn invalid_answer(problems: Vec<(String, String)>) -> Response<GatewayBody> {
    let problems: Vec<Value> = problems
        .into_iter()
        .map(|(path, message)| json!({"path": path, "message": message}))
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"valid": false, "problems": problems, "changes": []}),
    )
}
