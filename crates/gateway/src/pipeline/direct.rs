//! Direct: the APIs with no model to route by (`/v1/files`, `/v1/batches`)
//! go to one provider: the one the request names in `x-switchyard-provider`,
//! else the config's `filesProvider`. Its credentials, retries and health
//! work as for a model call (a 401 or 429 moves on to the provider's next
//! token); there is no route, so no fallback, no model mapping and no
//! route `allow` list; consumer keys and request limits apply.

use std::time::Duration;

use crate::server::RequestBody;
use http::header::CONTENT_TYPE;
use http::{Method, Request, Response};
use switchyard_providers::Api;

use super::endpoint::Ingress;
use super::{RequestCtx, admit, identify, parse};
use crate::body::GatewayBody;
use crate::error::GatewayError;
use crate::runtime::{Runtime, Snapshot};
use crate::upstream::attempt::{HopResult, X_PROVIDER, respond, try_provider};
use crate::upstream::classify::Failure;
use crate::upstream::headers::Forwarded;

/// The methods `tail` (the path after `/files` or `/batches`) takes, or
/// `None` for a path the API does not have.
pub fn methods(api: Api, tail: &str) -> Option<&'static [Method]> {
    let segs: Vec<&str> = tail.split('/').skip(1).collect();
    let ok = |s: &&str| !s.is_empty();
    match (api, segs.as_slice()) {
        (_, []) => Some(&[Method::GET, Method::POST]),
        (Api::Files, [id]) if ok(id) => Some(&[Method::GET, Method::DELETE]),
        (Api::Files, [id, "content"]) if ok(id) => Some(&[Method::GET]),
        (Api::Batches, [id]) if ok(id) => Some(&[Method::GET]),
        (Api::Batches, [id, "cancel"]) if ok(id) => Some(&[Method::POST]),
        _ => None,
    }
}

pub async fn serve(
    rt: &Runtime,
    snap: &Snapshot,
    ctx: &mut RequestCtx,
    mut ingress: Box<Ingress>,
    req: Box<Request<RequestBody>>,
) -> Result<Response<GatewayBody>, GatewayError> {
    identify::identify(ctx, &snap.auth, req.headers(), req.uri().query())?;
    let subjects = admit::subjects(snap, ctx, req.headers(), req.uri().query(), ctx.peer);
    let named = req
        .headers()
        .get(&X_PROVIDER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let up = match named {
        Some(id) => snap
            .upstreams
            .iter()
            .find(|u| &*u.id == id)
            .ok_or_else(|| GatewayError::UnknownProvider {
                id: id.to_string(),
                known: snap
                    .upstreams
                    .iter()
                    .map(|u| u.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
        None => snap
            .files_provider
            .as_ref()
            .ok_or(GatewayError::NoProviderNamed {
                api: ingress.api.name(),
            })?,
    };
    ctx.rec.primary_provider = Some(up.id.clone());
    if !up.endpoint.kind.supports(ingress.api) {
        return Err(GatewayError::UnsupportedApi {
            provider: up.id.to_string(),
            kind: up.endpoint.kind.name,
            api: ingress.api.name(),
        });
    }
    if let Some(r) = ingress.resource.as_mut() {
        r.method = req.method().clone();
        r.query = req.uri().query().map(Box::from);
    }
    ingress.forwarded = Forwarded::capture(
        req.headers(),
        ctx.id.clone(),
        ctx.rec.trace.is_some(),
        ingress.dialect,
    );
    ingress.forwarded.content_type = req.headers().get(CONTENT_TYPE).cloned();
    let body = parse::read_body(ctx, req, snap.max_body_bytes, snap.body_read_timeout).await?;
    let request = parse::parse(ctx, &ingress, &body)?;
    ctx.rec.prices = Some(snap.prices.clone());
    ctx.admission = admit::admit(&rt.shared.limiter, snap, ctx, subjects, &request).await?;
    match try_provider(&rt.shared, up, "", body.clone(), &request, 0, &mut ctx.rec).await {
        HopResult::Served(resp) => Ok(resp),
        HopResult::Failed(Failure::Status {
            status,
            headers,
            body,
        }) => Ok(respond(status, headers, GatewayBody::full(body))),
        HopResult::Failed(Failure::Error { error, .. }) => Err(error),
        HopResult::AllDown => Err(GatewayError::NoCredential {
            detail: format!(
                "No usable credential: provider `{}` has {} of {} credentials out of rotation.",
                up.id,
                up.pool.out_count(tokio::time::Instant::now()),
                up.pool.len()
            ),
            retry_after: up
                .pool
                .earliest_retry(tokio::time::Instant::now())
                .unwrap_or(Duration::from_secs(1)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_methods() {
        assert_eq!(
            methods(Api::Files, ""),
            Some(&[Method::GET, Method::POST][..])
        );
        assert_eq!(
            methods(Api::Files, "/file-1"),
            Some(&[Method::GET, Method::DELETE][..])
        );
        assert_eq!(
            methods(Api::Files, "/file-1/content"),
            Some(&[Method::GET][..])
        );
        assert_eq!(
            methods(Api::Batches, "/b1/cancel"),
            Some(&[Method::POST][..])
        );
        assert_eq!(methods(Api::Batches, "/b1/content"), None);
        assert_eq!(methods(Api::Files, "//content"), None);
        assert_eq!(methods(Api::Files, "/a/b/c"), None);
    }
}
