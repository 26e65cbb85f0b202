//! Admit: limits and budgets. Token rate limits reserve what a request may
//! use here (429 with a reset header when the reservation does not fit)
//! and `finish` settles the reservation with the real usage. Nothing is
//! limited until limits are configured.

use super::RequestCtx;
use crate::error::GatewayError;
use crate::runtime::RouteTarget;

pub fn admit(_ctx: &mut RequestCtx, _route: &RouteTarget) -> Result<(), GatewayError> {
    Ok(())
}
