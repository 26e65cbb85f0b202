//! Route: which route serves the model, and whether its provider (or a
//! fallback) offers the API at all. The hops themselves are walked by
//! [`super::attempts`].

use switchyard_providers::Api;

use super::RequestCtx;
use super::endpoint::Ingress;
use crate::error::GatewayError;
use crate::runtime::{RouteTarget, Snapshot};
use crate::upstream::Upstream;

/// The route for `model` in `snap`.
pub fn route<'s>(
    ctx: &mut RequestCtx,
    snap: &'s Snapshot,
    ingress: &Ingress,
    model: &str,
) -> Result<&'s RouteTarget, GatewayError> {
    let Some(target) = snap.routes.find(model) else {
        return Err(GatewayError::NoRoute {
            model: model.to_string(),
            served: snap.served_summary.clone(),
        });
    };
    let primary = &target.upstream;
    ctx.rec.route = Some(target.name.clone());
    ctx.rec.primary_provider = Some(primary.id.clone());
    ctx.rec.prices = Some(snap.prices.clone());
    // A provider without the API is skipped (a fallback target may have
    // it); when none has it, a clear 400 naming the route's provider.
    // Token counting is then answered by the gateway's tokenizer.
    if ingress.api != Api::CountTokens && !any_serves(target, ingress) {
        return Err(GatewayError::UnsupportedApi {
            provider: primary.id.to_string(),
            kind: primary.endpoint.kind.name,
            api: ingress.api.name(),
        });
    }
    Ok(target)
}

/// Whether the route's provider or one of its fallback targets can take
/// a request that came in at `ingress`.
pub fn any_serves(target: &RouteTarget, ingress: &Ingress) -> bool {
    serves(&target.upstream, ingress)
        || target
            .fallback
            .as_ref()
            .is_some_and(|f| f.targets.iter().any(|t| serves(&t.upstream, ingress)))
}

/// Whether `up` can take a request that came in at `ingress`: it offers
/// the API, and speaks the client's dialect or the API translates (chat,
/// Responses).
pub fn serves(up: &Upstream, ingress: &Ingress) -> bool {
    let d = up.dialect_for(ingress.dialect);
    if ingress.api == Api::Responses {
        // Natively, or bridged through chat (which every provider serves).
        return d == ingress.dialect || up.endpoint.kind.supports(Api::ChatCompletions);
    }
    up.endpoint.kind.supports(ingress.api)
        && (d == ingress.dialect || ingress.api == Api::ChatCompletions)
}
