//! The configuration compiled for the request path: providers, routes,
//! mappings (and later consumers, limits, prices). Built from a validated
//! config, never changed; a reload builds a new one and swaps it in.

use std::sync::Arc;
use std::time::Duration;

use switchyard_config::Config;
use switchyard_routing::{HealthStore, RouteTable, StatusSet};
use switchyard_tokens::{Price, PriceTable};

use super::BuildError;
use super::consumers::{Auth, Consumer};
use super::limits::RateRules;
use crate::admin::AdminAuth;
use crate::upstream::Upstream;

#[derive(Debug)]
pub struct RouteTarget {
    pub name: Arc<str>,
    pub upstream: Arc<Upstream>,
    pub fallback: Option<Fallback>,
    /// Consumers that may use the route; `None`: every caller.
    pub allow: Option<Vec<Arc<str>>>,
}

impl RouteTarget {
    /// Whether `who` (`None`: an anonymous caller) may use this route.
    pub fn allows(&self, who: Option<&Consumer>) -> bool {
        match (&self.allow, who) {
            (None, _) => true,
            (Some(list), Some(c)) => list.contains(&c.name),
            (Some(_), None) => false,
        }
    }
}

/// A route's `fallback`: where to go, in order, when its provider fails.
#[derive(Debug)]
pub struct Fallback {
    pub on_status: StatusSet,
    pub targets: Vec<FallbackTarget>,
}

#[derive(Debug)]
pub struct FallbackTarget {
    pub upstream: Arc<Upstream>,
    /// `None`: the requested model through the target's modelMapping.
    pub model: Option<String>,
}

pub struct Snapshot {
    pub routes: RouteTable<RouteTarget>,
    pub upstreams: Vec<Arc<Upstream>>,
    pub max_body_bytes: usize,
    pub body_read_timeout: Duration,
    /// Settings read where they are used: the listener's connection limit
    /// (at start), the shutdown grace period (at stop), the file watch.
    pub max_connections: usize,
    pub shutdown_grace_period: Duration,
    pub watch_config: bool,
    /// How long a provider's fetched model list is kept
    /// (`server.modelsRefreshInterval`).
    pub models_refresh: Duration,
    /// For 404 messages: what the routes can serve.
    pub served_summary: String,
    /// The config's version: a digest of its text (see `reload`).
    pub version: Arc<str>,
    /// Consumers and where their keys are read.
    pub auth: Auth,
    /// `rateLimits`: limits keyed by something other than the consumer.
    pub rate_rules: RateRules,
    /// Who may use the admin listener (a reload can rotate the token).
    pub admin_auth: AdminAuth,
    /// Built-in prices with `prices:` over them; each routed request's
    /// record holds a clone of the `Arc` to price it when accounted.
    pub prices: Arc<PriceTable>,
    /// `filesProvider`: where files and batches go by default.
    pub files_provider: Option<Arc<Upstream>>,
}

impl Snapshot {
    /// Compile `cfg`. Credential health comes from `store`, so credentials
    /// a previous snapshot had keep their state.
    pub fn build(
        cfg: &Config,
        store: &dyn HealthStore,
        version: Arc<str>,
    ) -> Result<Snapshot, BuildError> {
        let upstreams = cfg
            .providers
            .iter()
            .map(|p| Upstream::from_config(p, store).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let find = |id: &str| {
            upstreams
                .iter()
                .find(|u| &*u.id == id)
                .cloned()
                .ok_or_else(|| BuildError(format!("route names unknown provider `{id}`")))
        };
        let mut routes = RouteTable::default();
        if cfg.routes.is_empty()
            && let Some(u) = upstreams.first()
        {
            routes.push(
                &[],
                RouteTarget {
                    name: u.id.clone(),
                    upstream: u.clone(),
                    fallback: None,
                    allow: None,
                },
            );
        }
        for r in &cfg.routes {
            let fallback = match &r.fallback {
                None => None,
                Some(f) => Some(Fallback {
                    on_status: StatusSet::parse(&f.on_status)
                        .map_err(|e| BuildError(format!("route `{}`: {e}", r.name)))?,
                    targets: f
                        .targets
                        .iter()
                        .map(|t| {
                            Ok(FallbackTarget {
                                upstream: find(&t.provider)?,
                                model: t.model.clone(),
                            })
                        })
                        .collect::<Result<_, BuildError>>()?,
                }),
            };
            routes.push(
                &r.models,
                RouteTarget {
                    name: Arc::from(r.name.as_str()),
                    upstream: find(&r.provider)?,
                    fallback,
                    allow: r
                        .allow
                        .as_ref()
                        .map(|a| a.iter().map(|n| Arc::from(n.as_str())).collect()),
                },
            );
        }
        let files_provider = cfg.files_provider.as_deref().map(find).transpose()?;
        let served_summary = describe_routes(&routes);
        let auth = Auth::build(cfg)?;
        Ok(Snapshot {
            auth,
            rate_rules: RateRules::build(cfg)?,
            admin_auth: match &cfg.admin {
                Some(a) => AdminAuth::new(a.token.as_deref(), &a.open_paths),
                None => AdminAuth::new(None, &[]),
            },
            routes,
            upstreams,
            max_body_bytes: cfg.server.max_body_bytes,
            body_read_timeout: cfg.server.body_read_timeout,
            max_connections: cfg.server.max_connections,
            shutdown_grace_period: cfg.server.shutdown_grace_period,
            watch_config: cfg.server.watch_config,
            models_refresh: cfg.server.models_refresh_interval,
            served_summary,
            version,
            prices: Arc::new(price_table(cfg)),
            files_provider,
        })
    }
}

/// The built-in price table with the config's `prices:` over it.
fn price_table(cfg: &Config) -> PriceTable {
    PriceTable::new(cfg.prices.iter().map(|(model, p)| {
        (
            model.as_str(),
            Price {
                input: p.input,
                output: p.output,
                cached_input: p.cached_input,
            },
        )
    }))
}

/// Model names the config itself sends upstream: always their own `model`
/// label value.
pub fn config_models(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let literal = |m: &str| !m.is_empty() && !m.contains(['*', '?', '$']);
    for p in &cfg.providers {
        for (k, v) in &p.model_mapping {
            if literal(v) {
                out.push(v.clone());
            } else if v.is_empty() && literal(k) {
                out.push(k.clone());
            }
        }
        if let Some(m) = p
            .failover
            .as_ref()
            .and_then(|f| f.health_check_model.clone())
        {
            out.push(m);
        }
    }
    for r in &cfg.routes {
        out.extend(r.models.iter().filter(|m| literal(m)).cloned());
        if let Some(f) = &r.fallback {
            out.extend(f.targets.iter().filter_map(|t| t.model.clone()));
        }
    }
    out
}

/// A one-line summary of the routes, for 404 messages.
fn describe_routes(routes: &RouteTable<RouteTarget>) -> String {
    let summary: Vec<String> = routes
        .iter()
        .map(|(globs, target)| {
            let pats = if globs.is_empty() {
                "any model".to_string()
            } else {
                globs
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "{} -> provider {} ({pats})",
                target.name, target.upstream.id
            )
        })
        .collect();
    if summary.is_empty() {
        "No routes are configured.".to_string()
    } else {
        format!(
            "Configured routes: {}. Use a model one of them matches (GET /v1/models lists them) or add a route.",
            summary.join("; ")
        )
    }
}
