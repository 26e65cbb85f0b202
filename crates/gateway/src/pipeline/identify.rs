//! Identify: who is calling. A consumer key is read from the configured
//! headers (`Authorization: Bearer`, `x-api-key`, `api-key`,
//! `x-goog-api-key`) or the query parameter (`?key=`), in that order, on
//! every path; it is looked up by its SHA-256 and never goes further (the
//! upstream request is built from the provider's own credential). Without
//! consumers and with `auth.required` off, nothing is read.

use http::HeaderMap;

use super::RequestCtx;
use super::endpoint::query_param;
use crate::error::GatewayError;
use crate::runtime::consumers::Auth;

pub fn identify(
    ctx: &mut RequestCtx,
    auth: &Auth,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), GatewayError> {
    if !auth.active() {
        return Ok(());
    }
    let Some(key) = find_key(auth, headers, query) else {
        if auth.required {
            let mut places: Vec<String> =
                auth.headers[1..].iter().map(|h| format!("`{h}`")).collect();
            if let Some(q) = &auth.query_param {
                places.push(format!("`?{q}=`"));
            }
            return Err(GatewayError::MissingApiKey {
                where_: places.join(", "),
            });
        }
        return Ok(());
    };
    let Some(consumer) = auth.consumer(&key) else {
        return Err(GatewayError::InvalidApiKey);
    };
    ctx.rec.consumer = Some(consumer.name.clone());
    ctx.consumer = Some(consumer.clone());
    Ok(())
}

/// The first key found: headers in order, then the query parameter.
fn find_key(auth: &Auth, headers: &HeaderMap, query: Option<&str>) -> Option<Vec<u8>> {
    for name in &auth.headers {
        let Some(v) = headers.get(name) else { continue };
        let mut b = v.as_bytes();
        if name == http::header::AUTHORIZATION
            && b.len() > 7
            && b[..7].eq_ignore_ascii_case(b"bearer ")
        {
            b = &b[7..];
        }
        let b = b.trim_ascii();
        if !b.is_empty() {
            return Some(b.to_vec());
        }
    }
    query_param(query?, auth.query_param.as_deref()?)
}
