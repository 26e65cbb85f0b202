//! The configuration schema. Field names follow the reference gateway's
//! (`apiTokens`, `modelMapping`, `providerDomain`, ...). Unknown fields are
//! errors, reported with their line.

use std::time::Duration;

use serde::Deserialize;

use crate::de;

#[derive(Clone, Debug, Deserialize)]
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
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ServerConfig {
    /// `host:port` to accept clients on.
    #[serde(default = "default_listen", deserialize_with = "de::string")]
    pub listen: String,
    /// Largest request body accepted; larger gets 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
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
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AdminConfig {
    #[serde(deserialize_with = "de::string")]
    pub listen: String,
}

#[derive(Clone, Debug, Deserialize)]
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
        }
    }

    /// Time allowed until the first upstream byte.
    pub fn first_byte_deadline(&self) -> Duration {
        self.first_byte_timeout.unwrap_or(self.timeout)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RouteConfig {
    #[serde(deserialize_with = "de::string")]
    pub name: String,
    /// Glob patterns on the requested model; empty means every model.
    #[serde(default, deserialize_with = "de::strings")]
    pub models: Vec<String>,
    #[serde(deserialize_with = "de::string")]
    pub provider: String,
}
