//! Token counting (Anthropic's `POST /v1/messages/count_tokens`): a route
//! whose provider (or a fallback target) has the endpoint (type `claude`)
//! passes it through like any model call; for every other provider the
//! gateway answers here, before any attempt, with its own tokenizer's count
//! of the canonical request (the model's tokenizer where the gateway ships
//! it, else its character heuristic), marked `x-switchyard-tokens-estimated:
//! true` like every estimate the gateway makes (the `estimated` metrics
//! label, the access log's `token_estimated`).

use http::header::CONTENT_TYPE;
use http::{HeaderName, HeaderValue, Response};
use switchyard_providers::Api;

use super::parse::Parsed;
use super::route::any_serves;
use crate::body::{APPLICATION_JSON, GatewayBody};
use crate::error::GatewayError;
use crate::runtime::RouteTarget;
use crate::upstream::attempt::X_MODEL;

/// On an answer the gateway counted itself.
pub static X_TOKENS_ESTIMATED: HeaderName =
    HeaderName::from_static("x-switchyard-tokens-estimated");

/// The gateway's own count, when no provider of the route can count.
pub fn local_answer(
    route: &RouteTarget,
    req: &Parsed<'_>,
) -> Option<Result<Response<GatewayBody>, GatewayError>> {
    if req.ingress.api != Api::CountTokens || any_serves(route, req.ingress) {
        return None;
    }
    let chat = match req.canonical() {
        Ok(c) => c,
        Err(e) => return Some(Err(GatewayError::Translation(e))),
    };
    // The tokenizer of the model the provider would be asked for.
    let model = route.upstream.mapper.map(req.model());
    let n = switchyard_tokens::count_prompt(&model, chat);
    let mut r = Response::new(GatewayBody::full(format!("{{\"input_tokens\":{n}}}")));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, APPLICATION_JSON.clone());
    h.insert(X_TOKENS_ESTIMATED.clone(), HeaderValue::from_static("true"));
    if let Ok(v) = HeaderValue::from_str(&model) {
        h.insert(X_MODEL.clone(), v);
    }
    Some(Ok(r))
}
