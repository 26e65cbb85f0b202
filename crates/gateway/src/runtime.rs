//! Everything the request path needs, built once from a validated config
//! and shared read-only by every request.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use switchyard_config::Config;
use switchyard_routing::{HealthStore, MemoryHealthStore, RouteTable, StatusSet};

use crate::health_check::HealthChecker;
use crate::telemetry::Telemetry;
use crate::upstream::Upstream;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The configuration could not be turned into a runtime.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

#[derive(Debug)]
pub struct RouteTarget {
    pub name: Arc<str>,
    pub upstream: Arc<Upstream>,
    pub fallback: Option<Fallback>,
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

pub struct Runtime {
    pub routes: RouteTable<RouteTarget>,
    pub upstreams: Vec<Arc<Upstream>>,
    pub max_body_bytes: usize,
    pub client: HttpClient,
    /// `GET /v1/models`, built once.
    pub models_body: Bytes,
    /// For 404 messages: what the routes can serve.
    pub served_summary: String,
    pub checker: HealthChecker,
    pub health_store: Arc<dyn HealthStore>,
    /// Metrics, access log and traces.
    pub telemetry: Arc<Telemetry>,
}

fn build_client() -> Result<HttpClient, BuildError> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    http.set_keepalive(Some(Duration::from_secs(60)));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(provider)
        .map_err(|e| BuildError(format!("TLS setup failed: {e}")))?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024)
        .build(https))
}

impl Runtime {
    pub fn new(cfg: &Config) -> Result<Runtime, BuildError> {
        Runtime::with_store(cfg, Arc::new(MemoryHealthStore::default()))
    }

    /// Build with a given health store: a reload passes the previous one so
    /// unchanged credentials keep their state.
    pub fn with_store(
        cfg: &Config,
        health_store: Arc<dyn HealthStore>,
    ) -> Result<Runtime, BuildError> {
        let upstreams = cfg
            .providers
            .iter()
            .map(|p| Upstream::from_config(p, health_store.as_ref()).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let find = |id: &str| {
            upstreams
                .iter()
                .find(|u| &*u.id == id)
                .cloned()
                .ok_or_else(|| BuildError(format!("route names unknown provider `{id}`")))
        };
        let mut routes = RouteTable::default();
        if cfg.routes.is_empty() {
            if let Some(u) = upstreams.first() {
                routes.push(
                    &[],
                    RouteTarget {
                        name: u.id.clone(),
                        upstream: u.clone(),
                        fallback: None,
                    },
                );
            }
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
                },
            );
        }
        let (models_body, served_summary) = describe_models(&routes);
        let client = build_client()?;
        let telemetry = Arc::new(Telemetry::start(cfg, config_models(cfg), client.clone())?);
        Ok(Runtime {
            checker: HealthChecker::new(client.clone(), telemetry.metrics.clone()),
            telemetry,
            health_store,
            routes,
            upstreams,
            max_body_bytes: cfg.server.max_body_bytes,
            client,
            models_body,
            served_summary,
        })
    }
}

/// The model list (literal route patterns and the exact mapping keys each
/// route accepts) and a one-line summary of the routes for 404 messages.
impl Runtime {
    /// Start background work: health checks for credentials that are
    /// already out of rotation (state kept across a reload).
    pub fn start_background(&self) {
        for up in &self.upstreams {
            for i in 0..up.pool.len() {
                if up.pool.health(i).is_some_and(|h| h.is_out()) {
                    self.checker.spawn(up, i);
                }
            }
        }
    }
}

/// Model names the config itself sends upstream: always their own `model`
/// label value.
fn config_models(cfg: &Config) -> Vec<String> {
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

fn describe_models(routes: &RouteTable<RouteTarget>) -> (Bytes, String) {
    let mut models: Vec<(String, Arc<str>)> = Vec::new();
    let mut summary: Vec<String> = Vec::new();
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for (globs, target) in routes.iter() {
        let mut add = |m: &str| {
            if !models.iter().any(|(x, _)| x == m) {
                models.push((m.to_string(), target.upstream.id.clone()));
            }
        };
        for g in globs.iter().filter(|g| g.is_literal()) {
            add(g.as_str());
        }
        let mut keys: Vec<&str> = target.upstream.mapper.exact_keys().collect();
        keys.sort_unstable();
        for k in keys {
            if globs.is_empty() || globs.iter().any(|g| g.matches(k)) {
                add(k);
            }
        }
        let pats = if globs.is_empty() {
            "any model".to_string()
        } else {
            globs
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        summary.push(format!(
            "{} -> provider {} ({pats})",
            target.name, target.upstream.id
        ));
    }
    let data: Vec<serde_json::Value> = models
        .iter()
        .map(|(id, owner)| serde_json::json!({"id": id, "object": "model", "created": created, "owned_by": &**owner}))
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({"object": "list", "data": data}))
        .unwrap_or_default();
    let summary = if summary.is_empty() {
        "No routes are configured.".to_string()
    } else {
        format!(
            "Configured routes: {}. Use a model one of them matches (GET /v1/models lists them) or add a route.",
            summary.join("; ")
        )
    };
    (Bytes::from(body), summary)
}
