//! `GET /v1/models` and `GET /v1/models/{id}`: every model a caller can
//! reach, in the client's shape (OpenAI's, or Anthropic's for an Anthropic
//! SDK). See `docs/routing.md` ("Model list").
//!
//! For each route the caller may use, in route order: its literal
//! patterns, the exact `modelMapping` keys of its provider that its
//! patterns match, and the models its provider lists (its own `/models`,
//! fetched by [`ModelDirectory`], or the catalog's list for a type without
//! one) that the route's patterns match and that the route really serves
//! (no earlier route takes them). Each model once, `owned_by` the provider
//! id; a consumer sees only the models its `models` globs allow.

mod directory;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderMap;
use switchyard_protocol::models::{
    Listed, ModelEntry, Page, anthropic_model, anthropic_page, openai_list, openai_model,
};
use switchyard_providers::{Api, Dialect, catalog_models};

pub use directory::{FIRST_WAIT, ModelDirectory, RETRY_FAILED};

use crate::error::GatewayError;
use crate::pipeline::endpoint::query_param;
use crate::runtime::consumers::Consumer;
use crate::runtime::{Runtime, Snapshot};
use crate::upstream::Upstream;

/// Anthropic SDKs (and Claude Code) always send `anthropic-version`; the
/// OpenAI SDKs never do. An `x-api-key` alone is no sign: consumer keys
/// may come in it from any client.
pub fn wants_anthropic(headers: &HeaderMap) -> bool {
    headers.contains_key("anthropic-version")
}

/// The `GET /v1/models` body for `who` in `dialect`.
pub async fn list_body(
    rt: &Runtime,
    snap: &Snapshot,
    who: Option<&Consumer>,
    dialect: Dialect,
    query: Option<&str>,
) -> Bytes {
    let models = reachable(rt, snap, who).await;
    Bytes::from(match dialect {
        Dialect::Anthropic => {
            let q = query.unwrap_or("");
            let text = |name| query_param(q, name).and_then(|v| String::from_utf8(v).ok());
            let page = Page {
                limit: text("limit").and_then(|l| l.parse().ok()),
                after_id: text("after_id"),
                before_id: text("before_id"),
            };
            anthropic_page(&models, &page)
        }
        _ => openai_list(&models),
    })
}

/// The `GET /v1/models/{id}` body, or 404 `model_not_found`.
pub async fn model_body(
    rt: &Runtime,
    snap: &Snapshot,
    who: Option<&Consumer>,
    dialect: Dialect,
    id: &str,
) -> Result<Bytes, GatewayError> {
    let models = reachable(rt, snap, who).await;
    let Some(m) = models.iter().find(|m| m.id == id) else {
        return Err(GatewayError::ModelNotFound {
            model: id.to_string(),
        });
    };
    Ok(Bytes::from(match dialect {
        Dialect::Anthropic => anthropic_model(m),
        _ => openai_model(m),
    }))
}

/// Every model `who` can reach (see the module docs).
pub async fn reachable(rt: &Runtime, snap: &Snapshot, who: Option<&Consumer>) -> Vec<ModelEntry> {
    let routes = &snap.routes;
    let usable: Vec<_> = routes.iter().filter(|(_, t)| t.allows(who)).collect();
    // Providers whose own list can add models: those behind a route with
    // a pattern that is not literal (or none at all).
    let mut fetch: Vec<Arc<Upstream>> = Vec::new();
    for (globs, target) in &usable {
        let up = &target.upstream;
        if (globs.is_empty() || globs.iter().any(|g| !g.is_literal()))
            && up.endpoint.kind.supports(Api::Models)
            && !fetch.iter().any(|u| u.id == up.id)
        {
            fetch.push(up.clone());
        }
    }
    let lists: HashMap<Arc<str>, Arc<[Listed]>> = if fetch.is_empty() {
        HashMap::new()
    } else {
        rt.shared.models.lists(&fetch, snap.models_refresh).await
    };
    let created = rt.shared.models.started();

    let mut out: Vec<ModelEntry> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (globs, target) in usable {
        let up = &target.upstream;
        let matches = |m: &str| globs.is_empty() || globs.iter().any(|g| g.matches(m));
        // Only where this route is the one that serves `m`.
        let served_here = |m: &str| routes.find(m).is_some_and(|t| std::ptr::eq(t, target));
        let mut add = |m: &str, listed: Option<&Listed>, out: &mut Vec<ModelEntry>| {
            if who.is_some_and(|c| !c.allows_model(m)) || !seen.insert(m.to_string()) {
                return;
            }
            out.push(ModelEntry {
                id: m.to_string(),
                owned_by: up.id.clone(),
                created: listed.and_then(|l| l.created).unwrap_or(created),
                display_name: listed.and_then(|l| l.display_name.clone()),
            });
        };
        for g in globs.iter().filter(|g| g.is_literal()) {
            if who.is_none() || served_here(g.as_str()) {
                add(g.as_str(), None, &mut out);
            }
        }
        let mut keys: Vec<&str> = up.mapper.exact_keys().collect();
        keys.sort_unstable();
        for k in keys {
            if matches(k) && (who.is_none() || served_here(k)) {
                add(k, None, &mut out);
            }
        }
        if let Some(list) = lists.get(&up.id) {
            for l in list.iter() {
                if matches(&l.id) && served_here(&l.id) {
                    add(&l.id, Some(l), &mut out);
                }
            }
        } else {
            for m in catalog_models(up.endpoint.kind.name) {
                if matches(m) && served_here(m) {
                    add(m, None, &mut out);
                }
            }
        }
    }
    out
}
