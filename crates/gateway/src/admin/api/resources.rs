//! `/admin/{providers,routes,consumers,rateLimits}[/{key}]`, and the secret
//! lists one entry at a time (`/admin/providers/{id}/tokens`,
//! `/admin/consumers/{name}/keys`).

use http::header::LOCATION;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use switchyard_config::{Document, Resource};
use switchyard_limits::BudgetState;

use super::{edit, is, json_body, json_response, method_not_allowed, mode, not_found, written};
use crate::body::GatewayBody;
use crate::runtime::Runtime;

pub async fn handle(
    rt: &Runtime,
    r: Resource,
    rest: &[&str],
    req: Request<Incoming>,
) -> Response<GatewayBody> {
    let result = match rest {
        [] => collection(rt, r, req).await,
        [key] => item(rt, r, key, req).await,
        [key, list] => secrets(rt, r, key, list, None, req).await,
        [key, list, which] => secrets(rt, r, key, list, Some(which), req).await,
        _ => Err(not_found(&format!(
            "no admin endpoint {}; see GET /admin/{}",
            req.uri().path(),
            r.field()
        ))),
    };
    result.unwrap_or_else(|e| e)
}

type Answer = Result<Response<GatewayBody>, Response<GatewayBody>>;

async fn document(rt: &Runtime) -> Result<Document, Response<GatewayBody>> {
    match rt.document().await {
        Some((d, _)) => Ok(d),
        None => Err(super::failure(crate::runtime::EditFailure::NoDocument)),
    }
}

async fn collection(rt: &Runtime, r: Resource, req: Request<Incoming>) -> Answer {
    let method = req.method().clone();
    if is(&method, Method::GET) {
        let doc = document(rt).await?;
        let mut data = doc.list(r);
        if r == Resource::Consumers {
            for c in &mut data {
                add_spend(rt, c).await;
            }
        }
        return Ok(json_response(StatusCode::OK, &json!({ "data": data })));
    }
    if !is(&method, Method::POST) {
        return Err(method_not_allowed("GET or POST"));
    }
    let (dry_run, if_match) = mode(&req);
    let mut body = json_body(req).await?;
    // A consumer created without keys gets one, shown this once.
    let made = if r == Resource::Consumers
        && body.is_object()
        && body
            .get("keys")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        let key = make_key().map_err(|e| *e)?;
        body["keys"] = json!([format!(
            "sha256:{}",
            switchyard_config::key_digest_hex(&key)
        )]);
        Some(key)
    } else {
        None
    };
    let e = edit(rt, dry_run, if_match.as_deref(), |d| d.insert(r, body)).await?;
    let mut data = e.document.get_masked(r, &e.value).unwrap_or(Value::Null);
    if let Some(key) = made
        && !dry_run
    {
        data["key"] = Value::String(key);
    }
    let mut resp = written(StatusCode::CREATED, &e, data, dry_run);
    if let Ok(v) = HeaderValue::from_str(&format!("/admin/{}/{}", r.field(), e.value)) {
        resp.headers_mut().insert(LOCATION, v);
    }
    Ok(resp)
}

async fn item(rt: &Runtime, r: Resource, key: &str, req: Request<Incoming>) -> Answer {
    let method = req.method().clone();
    let (dry_run, if_match) = mode(&req);
    if is(&method, Method::GET) {
        let doc = document(rt).await?;
        let Some(mut data) = doc.get_masked(r, key) else {
            return Err(not_found(&format!(
                "no {} named `{key}`; GET /admin/{} lists them",
                r.singular(),
                r.field()
            )));
        };
        if r == Resource::Consumers {
            add_spend(rt, &mut data).await;
        }
        return Ok(json_response(StatusCode::OK, &data));
    }
    if is(&method, Method::PUT) {
        let body = json_body(req).await?;
        let e = edit(rt, dry_run, if_match.as_deref(), |d| {
            d.replace(r, key, body)
        })
        .await?;
        let data = e.document.get_masked(r, &e.value).unwrap_or(Value::Null);
        return Ok(written(StatusCode::OK, &e, data, dry_run));
    }
    if is(&method, Method::DELETE) {
        let e = edit(rt, dry_run, if_match.as_deref(), |d| d.remove(r, key)).await?;
        return Ok(written(StatusCode::OK, &e, Value::Null, dry_run));
    }
    Err(method_not_allowed("GET, PUT or DELETE"))
}

/// `POST .../tokens` (body `{"token": ...}`), `POST .../keys` (a new key,
/// shown once), `DELETE .../{tokens|keys}/{index or masked form}`.
async fn secrets(
    rt: &Runtime,
    r: Resource,
    key: &str,
    list: &str,
    which: Option<&str>,
    req: Request<Incoming>,
) -> Answer {
    let field = match (r, list) {
        (Resource::Providers, "tokens") => "apiTokens",
        (Resource::Consumers, "keys") => "keys",
        _ => {
            return Err(not_found(&format!(
                "no admin endpoint {}; secrets are added at /admin/providers/{{id}}/tokens and /admin/consumers/{{name}}/keys",
                req.uri().path()
            )));
        }
    };
    let method = req.method().clone();
    let (dry_run, if_match) = mode(&req);
    let shown = |d: &Document| json!({ field: d.secrets_of(r, key, field) });
    match (which, method) {
        (None, Method::GET) => {
            let doc = document(rt).await?;
            if doc.get(r, key).is_none() {
                return Err(not_found(&format!("no {} named `{key}`", r.singular())));
            }
            Ok(json_response(StatusCode::OK, &shown(&doc)))
        }
        (None, Method::POST) if field == "keys" => {
            let new_key = make_key().map_err(|e| *e)?;
            let stored = format!("sha256:{}", switchyard_config::key_digest_hex(&new_key));
            let e = edit(rt, dry_run, if_match.as_deref(), |d| {
                d.add_secret(r, key, field, &stored)
            })
            .await?;
            let mut resp_body = shown(&e.document);
            if !dry_run {
                resp_body["key"] = Value::String(new_key);
            }
            Ok(written(StatusCode::CREATED, &e, resp_body, dry_run))
        }
        (None, Method::POST) => {
            let body = json_body(req).await?;
            let Some(token) = body
                .get("token")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                return Err(super::invalid(vec![(
                    "token".into(),
                    "is required: send {\"token\": \"sk-...\"}".into(),
                )]));
            };
            let e = edit(rt, dry_run, if_match.as_deref(), |d| {
                d.add_secret(r, key, field, &token)
            })
            .await?;
            let data = shown(&e.document);
            Ok(written(StatusCode::CREATED, &e, data, dry_run))
        }
        (Some(which), Method::DELETE) => {
            let e = edit(rt, dry_run, if_match.as_deref(), |d| {
                d.remove_secret(r, key, field, which)
            })
            .await?;
            let data = shown(&e.document);
            Ok(written(StatusCode::OK, &e, data, dry_run))
        }
        (None, _) => Err(method_not_allowed("GET or POST")),
        (Some(_), _) => Err(method_not_allowed("DELETE")),
    }
}

/// A consumer with a budget gets `spend: {usd, budgetUsd, periodEndsAt}`.
async fn add_spend(rt: &Runtime, consumer: &mut Value) {
    let Some(name) = consumer.get("name").and_then(Value::as_str) else {
        return;
    };
    let snap = rt.snapshot();
    let Some(b) = snap
        .auth
        .consumer_named(name)
        .and_then(|c| c.budget.as_ref())
    else {
        return;
    };
    let state = rt
        .shared
        .limiter
        .budget_state(&b.key, &b.budget, tokio::time::Instant::now())
        .await;
    consumer["spend"] = match state {
        Ok(BudgetState::Within { spent_micro_usd }) => json!({
            "usd": spent_micro_usd as f64 / 1e6, "budgetUsd": b.usd, "period": b.period, "exhausted": false,
        }),
        Ok(BudgetState::Spent {
            spent_micro_usd,
            renews_in,
        }) => json!({
            "usd": spent_micro_usd as f64 / 1e6, "budgetUsd": b.usd, "period": b.period, "exhausted": true,
            "renewsInSeconds": renews_in.as_secs(),
        }),
        Err(e) => json!({ "budgetUsd": b.usd, "period": b.period, "error": e.to_string() }),
    };
}

/// A new consumer key (`sy-` and 64 hex digits).
fn make_key() -> Result<String, Box<Response<GatewayBody>>> {
    crate::runtime::consumers::new_key().map_err(|m| {
        Box::new(super::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "no_randomness",
            &m,
            None,
        ))
    })
}
