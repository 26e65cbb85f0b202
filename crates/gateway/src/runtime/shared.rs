//! What lives for the whole process and survives every reload: the HTTP
//! client and its connection pools, telemetry (metrics registry, access
//! log, traces), credential health, its sharing with other instances
//! (`redis:`) and the health checker, the providers' model lists, and the
//! drain signal of a graceful shutdown.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use switchyard_config::Config;
use switchyard_limits::Limiter;
use switchyard_routing::{HealthShare, HealthStore, LocalOnly, MemoryHealthStore};
use switchyard_store::{Counters, RedisConn, RedisHealth};

use super::BuildError;
use crate::health_check::HealthChecker;
use crate::models::ModelDirectory;
use crate::server::Drain;
use crate::telemetry::Telemetry;

pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct Shared {
    /// For health checks, token exchanges and trace export.
    pub client: HttpClient,
    /// For requests to providers: plain-HTTP origins driven in the
    /// request's task by our HTTP/1.1 client (see `upstream/h1`).
    pub upstream: crate::upstream::UpstreamClient,
    /// Metrics, access log and traces.
    pub telemetry: Arc<Telemetry>,
    /// Credential health, keyed by provider id and token: a snapshot built
    /// by a reload finds the state of the credentials it keeps.
    pub health_store: Arc<dyn HealthStore>,
    /// Where credential transitions are shared with other instances:
    /// Redis when `redis:` is set, else nothing ([`LocalOnly`]). Built
    /// once; reloads keep it.
    pub health_share: Arc<dyn HealthShare>,
    /// Whether the task applying the shared view runs (started once, by
    /// the first `serve`).
    pub(crate) health_sync_started: AtomicBool,
    pub checker: HealthChecker,
    /// Fired when a shutdown's grace period is over: streams still running
    /// end with an error event.
    pub drain: Drain,
    /// Rate limits and budgets, counted on one timeline (Unix
    /// milliseconds) so instances sharing a store agree on every window.
    pub limiter: Arc<Limiter<Counters>>,
    /// Providers' own model lists for `GET /v1/models`, fetched in the
    /// background and kept across reloads.
    pub models: ModelDirectory,
    /// Responses answers made through bridged providers, for
    /// `previous_response_id` and `GET /v1/responses/{id}`.
    pub responses: Arc<dyn crate::responses::store::ResponseStore>,
}

impl Shared {
    /// Start the process-wide services for `cfg`. `known_models`: model
    /// names the config itself uses (always their own metric label).
    pub fn start(cfg: &Config, known_models: Vec<String>) -> Result<Shared, BuildError> {
        let client = build_client()?;
        let telemetry = Arc::new(Telemetry::start(cfg, known_models, client.clone())?);
        let (counters, health_share, redis) = stores(cfg)?;
        let responses: Arc<dyn crate::responses::store::ResponseStore> = match redis {
            Some(conn) => Arc::new(crate::responses::store::RedisStore::new(conn)),
            None => Arc::new(crate::responses::store::MemoryStore::default()),
        };
        Ok(Shared {
            checker: HealthChecker::new(
                client.clone(),
                telemetry.metrics.clone(),
                health_share.clone(),
            ),
            upstream: crate::upstream::UpstreamClient::new(client.clone()),
            models: ModelDirectory::new(client.clone()),
            client,
            telemetry,
            health_store: Arc::new(MemoryHealthStore::default()),
            health_share,
            health_sync_started: AtomicBool::new(false),
            drain: Drain::default(),
            limiter: Arc::new(counters.into_limiter()),
            responses,
        })
    }
}

/// Where limits are counted, credential health is shared and Responses
/// answers are kept: without `redis:`, in this process only; with it, in
/// Redis over ONE connection for all (one outage state, one error count, one log). The connection
/// is made in the background and re-established by itself, so a Redis
/// down at start does not stop the gateway.
type Stores = (Counters, Arc<dyn HealthShare>, Option<RedisConn>);

fn stores(cfg: &Config) -> Result<Stores, BuildError> {
    let Some(r) = &cfg.redis else {
        return Ok((Counters::default(), Arc::new(LocalOnly), None));
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(BuildError(format!(
            "redis `{}`: shared state needs a Tokio runtime",
            switchyard_config::mask_url_password(&r.url)
        )));
    }
    // The error names the URL with its password masked.
    let conn = RedisConn::new(r).map_err(|e| BuildError(format!("redis: {e}")))?;
    let health = RedisHealth::new(conn.clone());
    Ok((
        Counters::redis(conn.clone(), r),
        Arc::new(health),
        Some(conn),
    ))
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
