//! The configuration schema. Field names follow the reference gateway's
//! (`apiTokens`, `modelMapping`, `providerDomain`, ...). Unknown fields are
//! errors, reported with their line.

use std::time::Duration;

use serde::Deserialize;

use crate::access::{BudgetConfig, LimitsConfig, PriceTableConfig, RateLimitConfig, RedisConfig};
use crate::de;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    #[serde(default)]
    pub providers: Vec<ProviderConfig>,
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// Prometheus metrics, served on the admin listener at `/metrics`.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The access log: one JSON line per request.
    #[serde(default)]
    pub log: LogConfig,
    /// OpenTelemetry traces over OTLP/HTTP; off unless set.
    #[serde(default)]
    pub otel: Option<OtelConfig>,
    /// Who may call the gateway: each consumer with its own keys.
    #[serde(default)]
    pub consumers: Vec<ConsumerConfig>,
    /// Where client keys are read, and whether one is required.
    #[serde(default)]
    pub auth: AuthConfig,
    /// Rate limits keyed by something other than the consumer.
    #[serde(default)]
    pub rate_limits: Vec<RateLimitConfig>,
    /// Prices (USD per million tokens) over the built-in table; keys are
    /// model names or globs.
    #[serde(default)]
    pub prices: PriceTableConfig,
    /// The store shared by every instance; omitted: counted in memory.
    #[serde(default)]
    pub redis: Option<RedisConfig>,
    /// The provider (its `id`) that `/v1/files` and `/v1/batches` go to
    /// when the request names none in `x-switchyard-provider` (these APIs
    /// have no model to route by).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub files_provider: Option<String>,
}

/// A client of the gateway (a team, an application) with its own keys.
/// `Debug` masks the keys (see `debug.rs`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConsumerConfig {
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// Keys as sent by clients, or `sha256:<64 lowercase hex>` of one (the
    /// SHA-256 of its UTF-8 bytes). Several keys allow rotation.
    #[serde(deserialize_with = "de::strings")]
    pub keys: Vec<String>,
    /// Requested models this consumer may use (globs); omitted: all.
    #[serde(default, deserialize_with = "de::opt_strings")]
    pub models: Option<Vec<String>>,
    /// Rate limits counted over all of this consumer's keys.
    #[serde(default)]
    pub limits: Option<LimitsConfig>,
    /// A spend cap per period.
    #[serde(default)]
    pub budget: Option<BudgetConfig>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthConfig {
    /// Whether a request without a key is refused (401). Default: true
    /// when `consumers` is not empty.
    #[serde(default)]
    pub required: Option<bool>,
    /// Headers a key is read from, in order; `Bearer ` is stripped.
    #[serde(default = "default_key_headers", deserialize_with = "de::strings")]
    pub key_headers: Vec<String>,
    /// Query parameter a key is read from (Gemini clients send `?key=`);
    /// `""` turns it off.
    #[serde(default = "default_query_param", deserialize_with = "de::string")]
    pub query_param: String,
}

fn default_key_headers() -> Vec<String> {
    ["authorization", "x-api-key", "api-key", "x-goog-api-key"]
        .map(String::from)
        .to_vec()
}

fn default_query_param() -> String {
    "key".into()
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            required: None,
            key_headers: default_key_headers(),
            query_param: default_query_param(),
        }
    }
}

impl Config {
    /// Whether a request must carry a consumer key.
    pub fn auth_required(&self) -> bool {
        self.auth.required.unwrap_or(!self.consumers.is_empty())
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MetricsConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Distinct `model` label values kept (beyond the models named in the
    /// config); later ones are counted as `other`, so clients sending
    /// arbitrary model names cannot grow the series without bound.
    #[serde(default = "default_max_models")]
    pub max_models: usize,
}

fn yes() -> bool {
    true
}

fn default_max_models() -> usize {
    100
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            max_models: default_max_models(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LogConfig {
    /// `stdout` (default), `stderr`, `off`, or a file path (appended to).
    #[serde(default = "default_access", deserialize_with = "de::string")]
    pub access: String,
    /// Log request and response bodies (truncated at `bodyLimit`).
    #[serde(default)]
    pub bodies: bool,
    /// Bytes of each body kept when `bodies` is on.
    #[serde(default = "default_body_limit")]
    pub body_limit: usize,
}

fn default_access() -> String {
    "stdout".into()
}

fn default_body_limit() -> usize {
    4096
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            access: default_access(),
            bodies: false,
            body_limit: default_body_limit(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OtelConfig {
    /// The collector's OTLP/HTTP URL, e.g. `http://127.0.0.1:4318`
    /// (`/v1/traces` is added when the URL has no path).
    #[serde(deserialize_with = "de::string")]
    pub endpoint: String,
    #[serde(default = "default_service_name", deserialize_with = "de::string")]
    pub service_name: String,
    /// Share of new traces recorded, 0.0-1.0; a client's `traceparent`
    /// decides for its own trace.
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: f64,
}

fn default_service_name() -> String {
    "switchyard".into()
}

fn default_sample_ratio() -> f64 {
    1.0
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerConfig {
    /// `host:port` to accept clients on.
    #[serde(default = "default_listen", deserialize_with = "de::string")]
    pub listen: String,
    /// Largest request body accepted; larger gets 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Reload when the configuration file changes (in place or replaced
    /// by a rename); `SIGHUP` and `POST /admin/reload` work either way.
    #[serde(default = "yes")]
    pub watch_config: bool,
    /// On SIGTERM/SIGINT, how long in-flight requests and streams may run
    /// before the remaining streams are ended with an error event.
    #[serde(default = "default_grace", deserialize_with = "de::duration")]
    pub shutdown_grace_period: Duration,
    /// Longest time a client may take to send its request body; 408 after.
    #[serde(default = "default_body_read", deserialize_with = "de::duration")]
    pub body_read_timeout: Duration,
    /// Client connections served at once; more wait in the accept queue.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Threads serving requests; default: the cores this process may run
    /// on (its CPU affinity). Read at start.
    #[serde(default)]
    pub workers: Option<usize>,
    /// How long a provider's own model list (its `/models`), fetched for
    /// `GET /v1/models`, is kept before it is fetched again.
    #[serde(default = "default_models_refresh", deserialize_with = "de::duration")]
    pub models_refresh_interval: Duration,
}

fn default_models_refresh() -> Duration {
    Duration::from_secs(600)
}

fn default_grace() -> Duration {
    Duration::from_secs(30)
}

fn default_body_read() -> Duration {
    Duration::from_secs(60)
}

fn default_max_connections() -> usize {
    10_000
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}

fn default_max_body() -> usize {
    32 * 1024 * 1024
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            max_body_bytes: default_max_body(),
            watch_config: true,
            shutdown_grace_period: default_grace(),
            body_read_timeout: default_body_read(),
            max_connections: default_max_connections(),
            workers: None,
            models_refresh_interval: default_models_refresh(),
        }
    }
}

/// `Debug` masks the token (see `debug.rs`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdminConfig {
    #[serde(deserialize_with = "de::string")]
    pub listen: String,
    /// The admin API's bearer token. Without one the listener must be on a
    /// loopback address. `Debug` masks it.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub token: Option<String>,
    /// Paths served without the token (liveness and scrapes).
    #[serde(default = "default_open_paths", deserialize_with = "de::strings")]
    pub open_paths: Vec<String>,
}

impl AdminConfig {
    /// An admin listener on `listen` with no token and the default open
    /// paths.
    pub fn new(listen: impl Into<String>) -> Self {
        AdminConfig {
            listen: listen.into(),
            token: None,
            open_paths: default_open_paths(),
        }
    }

    /// Whether `addr` may serve this admin API: a loopback address, or any
    /// address once a token is set.
    pub fn may_listen_on(&self, addr: &std::net::SocketAddr) -> bool {
        addr.ip().is_loopback() || self.token.as_deref().is_some_and(|t| !t.trim().is_empty())
    }
}

fn default_open_paths() -> Vec<String> {
    ["/health", "/healthz", "/metrics"]
        .map(String::from)
        .to_vec()
}

/// `Debug` masks credentials (see `debug.rs`).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProviderConfig {
    /// Unique; used in logs, metrics and response headers.
    pub id: String,
    /// The catalog entry: default origin, paths and auth scheme.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "de::strings")]
    pub api_tokens: Vec<String>,
    /// Overrides scheme, host, port and (if it has one) the base path.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub base_url: Option<String>,
    /// Overrides the host only.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub provider_domain: Option<String>,
    /// Prefix put before the provider's paths.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub provider_base_path: Option<String>,
    #[serde(default, deserialize_with = "de::ordered_map")]
    pub model_mapping: Vec<(String, String)>,
    /// `openai` (default) or `original`; both pass OpenAI-style bodies through.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Whether the provider has the OpenAI Responses API (`/responses`):
    /// Responses clients are then passed through to it, not bridged
    /// through chat. Default: its type's (openai, azure: yes).
    #[serde(default)]
    pub responses_api: Option<bool>,
    /// The whole non-streaming request.
    #[serde(default = "default_timeout", deserialize_with = "de::duration")]
    pub timeout: Duration,
    /// Until the first upstream byte, streaming or not; `timeout` if unset.
    #[serde(default, deserialize_with = "de::opt_duration")]
    pub first_byte_timeout: Option<Duration>,
    /// Extra headers sent upstream.
    #[serde(default, deserialize_with = "de::ordered_map")]
    pub headers: Vec<(String, String)>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub azure_service_url: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub openai_custom_url: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub qwen_domain: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub ollama_server_host: Option<String>,
    #[serde(default)]
    pub ollama_server_port: Option<u16>,
    /// claude: the `anthropic-version` header (default 2023-06-01).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub claude_version: Option<String>,
    /// bedrock: the region, e.g. us-east-1.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub aws_region: Option<String>,
    /// bedrock: an IAM access key id, to sign requests (SigV4).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub aws_access_key: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub aws_secret_key: Option<String>,
    /// bedrock: a session token for temporary credentials.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub aws_session_token: Option<String>,
    /// vertex: region (e.g. us-central1, or global) and project.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub vertex_region: Option<String>,
    #[serde(default, deserialize_with = "de::opt_string")]
    pub vertex_project_id: Option<String>,
    /// vertex: a service-account key file (JSON) to obtain OAuth tokens.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub vertex_auth_key: Option<String>,
    /// How a request picks among healthy tokens.
    #[serde(default)]
    pub token_selection: TokenSelection,
    /// Take failing tokens out of rotation and bring them back.
    #[serde(default)]
    pub failover: Option<FailoverConfig>,
    /// Retry a failed attempt with another token.
    #[serde(default)]
    pub retry_on_failure: Option<RetryConfig>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenSelection {
    #[default]
    Random,
    RoundRobin,
}

fn default_status_patterns() -> Vec<String> {
    vec!["4.*".into(), "5.*".into()]
}

fn default_fallback_status() -> Vec<String> {
    vec!["4xx".into(), "5xx".into()]
}

const fn one() -> u32 {
    1
}

const fn three() -> u32 {
    3
}

fn five_seconds() -> Duration {
    Duration::from_millis(5000)
}

fn thirty_seconds() -> Duration {
    Duration::from_millis(30000)
}

/// `failover:` (names and defaults as the reference gateway).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FailoverConfig {
    #[serde(default)]
    pub enabled: bool,
    /// Failures in a row that take a token out of rotation.
    #[serde(default = "three")]
    pub failure_threshold: u32,
    /// Health-check successes in a row that bring it back.
    #[serde(default = "one")]
    pub success_threshold: u32,
    #[serde(default = "five_seconds", deserialize_with = "de::duration")]
    pub health_check_interval: Duration,
    #[serde(default = "five_seconds", deserialize_with = "de::duration")]
    pub health_check_timeout: Duration,
    /// The model of the minimal chat completion sent as a health check.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub health_check_model: Option<String>,
    #[serde(default = "default_status_patterns", deserialize_with = "de::strings")]
    pub failover_on_status: Vec<String>,
    /// Instead of health checks: back in rotation after this long.
    #[serde(default, deserialize_with = "de::opt_duration")]
    pub cooldown: Option<Duration>,
}

/// `retryOnFailure:` (names and defaults as the reference gateway).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RetryConfig {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "one")]
    pub max_retries: u32,
    /// No new attempt starts after this long since the request arrived.
    #[serde(default = "thirty_seconds", deserialize_with = "de::duration")]
    pub retry_timeout: Duration,
    #[serde(default = "default_status_patterns", deserialize_with = "de::strings")]
    pub retry_on_status: Vec<String>,
}

/// `fallback:` on a route.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FallbackConfig {
    /// Statuses that move on to the next target; connect errors and
    /// timeouts always do.
    #[serde(default = "default_fallback_status", deserialize_with = "de::strings")]
    pub on_status: Vec<String>,
    pub targets: Vec<FallbackTarget>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FallbackTarget {
    #[serde(deserialize_with = "de::string")]
    pub provider: String,
    /// The model to ask for; if unset, the requested model through the
    /// target provider's modelMapping.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub model: Option<String>,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

impl ProviderConfig {
    pub fn endpoint_options(&self) -> switchyard_providers::EndpointOptions<'_> {
        switchyard_providers::EndpointOptions {
            base_url: self.base_url.as_deref(),
            provider_domain: self.provider_domain.as_deref(),
            provider_base_path: self.provider_base_path.as_deref(),
            azure_service_url: self.azure_service_url.as_deref(),
            openai_custom_url: self.openai_custom_url.as_deref(),
            qwen_domain: self.qwen_domain.as_deref(),
            ollama_server_host: self.ollama_server_host.as_deref(),
            ollama_server_port: self.ollama_server_port,
            aws_region: self.aws_region.as_deref(),
            vertex_region: self.vertex_region.as_deref(),
            vertex_project_id: self.vertex_project_id.as_deref(),
        }
    }

    /// `failover`, compiled; `None` when off.
    pub fn health_policy(&self) -> Result<Option<switchyard_routing::HealthPolicy>, String> {
        let Some(f) = self.failover.as_ref().filter(|f| f.enabled) else {
            return Ok(None);
        };
        let failover_on = switchyard_routing::StatusSet::parse(&f.failover_on_status)?;
        let recovery = match (&f.health_check_model, f.cooldown) {
            (Some(model), _) => switchyard_routing::Recovery::Check {
                interval: f.health_check_interval,
                timeout: f.health_check_timeout,
                model: model.clone(),
            },
            (None, Some(c)) => switchyard_routing::Recovery::Cooldown(c),
            (None, None) => {
                return Err("set healthCheckModel (active health checks) or cooldown (return after a pause), so tokens that leave rotation can come back".into());
            }
        };
        Ok(Some(switchyard_routing::HealthPolicy {
            failure_threshold: f.failure_threshold,
            success_threshold: f.success_threshold,
            failover_on,
            recovery,
        }))
    }

    /// `retryOnFailure`, compiled; `None` when off.
    pub fn retry_policy(&self) -> Result<Option<switchyard_routing::RetryPolicy>, String> {
        let Some(r) = self.retry_on_failure.as_ref().filter(|r| r.enabled) else {
            return Ok(None);
        };
        Ok(Some(switchyard_routing::RetryPolicy {
            max_retries: r.max_retries,
            retry_timeout: r.retry_timeout,
            on_status: switchyard_routing::StatusSet::parse(&r.retry_on_status)?,
        }))
    }

    pub fn selection(&self) -> switchyard_routing::Selection {
        match self.token_selection {
            TokenSelection::Random => switchyard_routing::Selection::Random,
            TokenSelection::RoundRobin => switchyard_routing::Selection::RoundRobin,
        }
    }

    /// Time allowed until the first upstream byte.
    pub fn first_byte_deadline(&self) -> Duration {
        self.first_byte_timeout.unwrap_or(self.timeout)
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteConfig {
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// Glob patterns on the requested model; empty means every model.
    #[serde(default, deserialize_with = "de::strings")]
    pub models: Vec<String>,
    #[serde(deserialize_with = "de::string")]
    pub provider: String,
    #[serde(default)]
    pub fallback: Option<FallbackConfig>,
    /// Consumers that may use this route; omitted: every consumer.
    #[serde(default, deserialize_with = "de::opt_strings")]
    pub allow: Option<Vec<String>>,
}
