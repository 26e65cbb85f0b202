//! Attempts: the route's provider, then its fallback targets in order
//! while the failure is one the route falls back on. Each hop's attempts
//! (credentials, retries, deadlines) are [`crate::upstream::attempt`]'s.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Response};
use tokio::time::Instant;

use super::RequestCtx;
use super::parse::Parsed;
use super::route::serves;
use crate::body::GatewayBody;
use crate::error::GatewayError;
use crate::runtime::{RouteTarget, Shared};
use crate::upstream::Upstream;
use crate::upstream::attempt::{HopResult, respond, try_provider};
use crate::upstream::classify::Failure;

pub static X_FALLBACK_FROM: HeaderName = HeaderName::from_static("x-switchyard-fallback-from");

pub async fn run(
    shared: &Shared,
    ctx: &mut RequestCtx,
    route: &RouteTarget,
    req: &Parsed<'_>,
) -> Result<Response<GatewayBody>, GatewayError> {
    let model = req.model();
    let primary = &route.upstream;
    let hops = 1 + route.fallback.as_ref().map_or(0, |f| f.targets.len());
    let mut last: Option<Failure> = None;
    let mut all_down: Vec<String> = Vec::new();
    let mut retry_after: Option<Duration> = None;
    let primary_model = primary.mapper.map(model);
    for hop in 0..hops {
        let (up, hop_model): (&Arc<Upstream>, Cow<'_, str>) = match hop {
            0 => (primary, primary_model.clone()),
            _ => {
                let Some(fb) = &route.fallback else { break };
                if let Some(f) = &last
                    && !f.matches(&fb.on_status)
                {
                    break;
                }
                let t = &fb.targets[hop - 1];
                let m = match &t.model {
                    Some(m) => Cow::Borrowed(m.as_str()),
                    None => t.upstream.mapper.map(model),
                };
                (&t.upstream, m)
            }
        };
        if !serves(up, req.ingress) {
            continue;
        }
        let upstream_body = match req.body_for(up, &hop_model) {
            Ok(b) => b,
            // The request cannot be expressed for this provider: a clear
            // 400 if it is the route's own, else try the next target.
            Err(e) if hop == 0 => return Err(GatewayError::Translation(e)),
            Err(e) => {
                tracing::debug!(provider = %up.id, error = %e, "fallback target cannot take this request");
                continue;
            }
        };
        match try_provider(
            shared,
            up,
            &hop_model,
            upstream_body,
            req,
            hop as u8,
            &mut ctx.rec,
        )
        .await
        {
            HopResult::Served(mut resp) => {
                if hop > 0 {
                    let from = format!("{}/{}", primary.id, primary_model);
                    if let Ok(v) = HeaderValue::from_str(&from) {
                        resp.headers_mut().insert(X_FALLBACK_FROM.clone(), v);
                    }
                    ctx.rec.fallback_from = Some(from);
                }
                return Ok(resp);
            }
            HopResult::AllDown => {
                let now = Instant::now();
                let wait = up
                    .pool
                    .earliest_retry(now)
                    .unwrap_or(Duration::from_secs(1));
                retry_after = Some(retry_after.map_or(wait, |r| r.min(wait)));
                all_down.push(format!(
                    "provider `{}` has {} of {} credentials out of rotation",
                    up.id,
                    up.pool.out_count(now),
                    up.pool.len()
                ));
            }
            HopResult::Failed(f) => last = Some(f),
        }
    }

    match last {
        Some(Failure::Status {
            status,
            headers,
            body,
        }) => Ok(respond(status, headers, GatewayBody::full(body))),
        Some(Failure::Error { error, .. }) => Err(error),
        None => Err(GatewayError::NoCredential {
            detail: format!("No usable credential: {}.", all_down.join("; ")),
            retry_after: retry_after.unwrap_or(Duration::from_secs(1)),
        }),
    }
}
