//! Authorize: may this caller use this route and this model? A route's
//! `allow` list names the consumers that may use it (403
//! `permission_denied`); a consumer's `models` globs bound the requested
//! models (403 `model_not_allowed`). A route with an `allow` list refuses
//! anonymous callers (401).

use super::RequestCtx;
use crate::error::GatewayError;
use crate::runtime::RouteTarget;

pub fn authorize(ctx: &RequestCtx, route: &RouteTarget, model: &str) -> Result<(), GatewayError> {
    let who = ctx.consumer.as_deref();
    if !route.allows(who) {
        return Err(match who {
            Some(c) => GatewayError::PermissionDenied {
                consumer: c.name.to_string(),
                route: route.name.to_string(),
            },
            None => GatewayError::MissingApiKey {
                where_: format!(
                    "a key header: route `{}` serves only named consumers",
                    route.name
                ),
            },
        });
    }
    if let Some(c) = who
        && !c.allows_model(model)
    {
        return Err(GatewayError::ModelNotAllowed {
            consumer: c.name.to_string(),
            model: model.to_string(),
        });
    }
    Ok(())
}
