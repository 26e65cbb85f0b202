//! Cache: a stored answer for the same request (keyed by route, model and
//! the whole prompt) is served here without an upstream attempt, and
//! `finish` stores new answers. No cache is configured yet: always a miss.

use http::Response;

use super::RequestCtx;
use super::parse::Parsed;
use crate::body::GatewayBody;

pub fn lookup(_ctx: &mut RequestCtx, _request: &Parsed<'_>) -> Option<Response<GatewayBody>> {
    None
}
