//! Authorize: may this consumer use this route and model? Allow lists and
//! model globs per consumer plug in here (401 for an unknown key, 403 for
//! a consumer not allowed). Without consumers everything is allowed.

use super::RequestCtx;
use crate::error::GatewayError;
use crate::runtime::RouteTarget;

pub fn authorize(_ctx: &RequestCtx, _route: &RouteTarget) -> Result<(), GatewayError> {
    Ok(())
}
