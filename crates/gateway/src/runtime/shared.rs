//! What lives for the whole process and survives every reload: the HTTP
//! client and its connection pools, telemetry (metrics registry, access
//! log, traces), credential health and the health checker, and the drain
//! signal of a graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use switchyard_config::Config;
use switchyard_limits::Limiter;
use switchyard_routing::{HealthStore, MemoryHealthStore};
use switchyard_store::Counters;

use super::BuildError;
use crate::health_check::HealthChecker;
use crate::server::Drain;
use crate::telemetry::Telemetry;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct Shared {
    pub client: HttpClient,
    /// Metrics, access log and traces.
    pub telemetry: Arc<Telemetry>,
    /// Credential health, keyed by provider id and token: a snapshot built
    /// by a reload finds the state of the credentials it keeps.
    pub health_store: Arc<dyn HealthStore>,
    pub checker: HealthChecker,
    /// Fired when a shutdown's grace period is over: streams still running
    /// end with an error event.
    pub drain: Drain,
    /// Rate limits and budgets, counted on one timeline (Unix
    /// milliseconds) so instances sharing a store agree on every window.
    pub limiter: Arc<Limiter<Counters>>,
}

impl Shared {
    /// Start the process-wide services for `cfg`. `known_models`: model
    /// names the config itself uses (always their own metric label).
    pub fn start(cfg: &Config, known_models: Vec<String>) -> Result<Shared, BuildError> {
        let client = build_client()?;
        let telemetry = Arc::new(Telemetry::start(cfg, known_models, client.clone())?);
        Ok(Shared {
            checker: HealthChecker::new(client.clone(), telemetry.metrics.clone()),
            client,
            telemetry,
            health_store: Arc::new(MemoryHealthStore::default()),
            drain: Drain::default(),
            limiter: Arc::new(
                Counters::from_config(cfg.redis.as_ref())
                    .map_err(|e| BuildError(format!("redis: {e}")))?
                    .into_limiter(),
            ),
        })
    }
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
