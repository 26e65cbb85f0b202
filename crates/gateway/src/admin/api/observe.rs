//! What the gateway sees: `GET /admin/credentials`, `/admin/requests`,
//! `/admin/traffic` and `/admin/catalog` (the provider types).

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use switchyard_providers::{AuthScheme, CATALOG};

use super::{is, json_response, method_not_allowed, query};
use crate::admin::respond;
use crate::body::GatewayBody;
use crate::runtime::Runtime;

pub fn credentials(rt: &Runtime, method: &Method) -> Response<GatewayBody> {
    if !is(method, Method::GET) {
        return method_not_allowed("GET");
    }
    respond(StatusCode::OK, crate::admin::status::credentials_json(rt))
}

/// The last `?limit=N` (default 50, at most the ring's size) access-log
/// records, newest first.
pub fn requests(rt: &Runtime, req: &Request<Incoming>) -> Response<GatewayBody> {
    if !is(req.method(), Method::GET) {
        return method_not_allowed("GET");
    }
    let limit = query(req, "limit")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(50)
        .min(crate::telemetry::recent::RECENT_REQUESTS);
    let Some(recent) = &rt.shared.telemetry.recent else {
        return respond(StatusCode::OK, r#"{"data":[]}"#);
    };
    respond(
        StatusCode::OK,
        format!(r#"{{"data":{}}}"#, recent.requests_json(limit)),
    )
}

pub fn traffic(rt: &Runtime, method: &Method) -> Response<GatewayBody> {
    if !is(method, Method::GET) {
        return method_not_allowed("GET");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let minutes = rt
        .shared
        .telemetry
        .recent
        .as_ref()
        .map(|r| r.traffic(now))
        .unwrap_or_default();
    json_response(StatusCode::OK, &json!({ "minutes": minutes }))
}

/// The provider types a config may name, with what each needs.
pub fn catalog(method: &Method) -> Response<GatewayBody> {
    if !is(method, Method::GET) {
        return method_not_allowed("GET");
    }
    let data: Vec<Value> = CATALOG
        .iter()
        .map(|k| {
            let mut needs: Vec<&str> = Vec::new();
            if k.origin.is_none() {
                needs.push("baseUrl");
            }
            if k.token_required() {
                needs.push("apiTokens");
            }
            match k.name {
                "azure" => needs.push("azureServiceUrl"),
                "bedrock" => needs.push("awsRegion"),
                "vertex" => needs.extend(["vertexRegion", "vertexProjectId", "vertexAuthKey"]),
                _ => {}
            }
            json!({
                "type": k.name,
                "baseUrl": k.origin.map(|o| format!("{o}{}", k.base_path)),
                "dialect": k.dialect.name(),
                "tokenOptional": matches!(k.auth, AuthScheme::OptionalBearer),
                "needs": needs,
                "docs": k.docs,
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "data": data }))
}
