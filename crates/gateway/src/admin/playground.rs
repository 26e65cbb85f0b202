//! `/admin/playground/...`: the client API served in-process through the
//! whole pipeline, for the console's Playground (same origin as the
//! console, so no CORS). The admin token is stripped; a consumer key may
//! come as `x-api-key` (or `api-key`), as any client would send it.

use std::sync::Arc;

use http::{Request, Response, Uri};
use hyper::body::Incoming;

use crate::runtime::Runtime;
use crate::telemetry::ObservedBody;

pub const PREFIX: &str = "/admin/playground/";

pub async fn serve(
    rt: Arc<Runtime>,
    peer: Option<std::net::IpAddr>,
    req: Request<Incoming>,
) -> Response<ObservedBody> {
    let (mut parts, body) = req.into_parts();
    let rest = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .strip_prefix("/admin/playground")
        .unwrap_or("/")
        .to_string();
    if let Ok(uri) = rest.parse::<Uri>() {
        parts.uri = uri;
    }
    parts.headers.remove(http::header::AUTHORIZATION);
    match crate::pipeline::handle(rt, peer, Box::new(Request::from_parts(parts, body.into()))).await
    {
        Ok(r) => r,
        Err(never) => match never {},
    }
}
