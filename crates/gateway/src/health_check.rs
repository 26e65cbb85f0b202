//! Active health checks: for each credential out of rotation, a minimal
//! chat request every `healthCheckInterval`, in the provider's own dialect
//! (OpenAI chat, Anthropic Messages, Gemini `generateContent`, Bedrock
//! Converse), built by the same encoder, URI builder and request code as
//! live requests for that provider ([`translate::encode_request`],
//! [`Endpoint::chat_uri`](switchyard_providers::Endpoint::chat_uri),
//! [`Upstream::prepared_request`]), until `successThreshold` checks in a
//! row pass.
//!
//! At most [`MAX_CONCURRENT_CHECKS`] checks are in flight; the wait for a
//! slot is not counted against `healthCheckTimeout`.
//!
//! With shared health (`redis:`), a check runs only on the instance
//! holding the credential's probe lease (the others skip the round), and a
//! check that brings a credential back tells every instance.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use switchyard_protocol::canonical::{ChatRequest, Message, Part, Role};
use switchyard_providers::Dialect;
use switchyard_routing::health::run_recovery_observed;
use switchyard_routing::share::{lease_ttl, out_until, unix_ms};
use switchyard_routing::{HealthShare, Recovery};
use tokio::sync::Semaphore;

use crate::runtime::HttpClient;
use crate::telemetry::Metrics;
use crate::translate;
use crate::upstream::{DEFAULT_ANTHROPIC_VERSION, Upstream};

/// At most this many checks are in flight at once, whatever the number of
/// credentials out.
pub const MAX_CONCURRENT_CHECKS: usize = 16;

static ANTHROPIC_VERSION: HeaderName = HeaderName::from_static("anthropic-version");

#[derive(Clone)]
pub struct HealthChecker {
    client: HttpClient,
    permits: Arc<Semaphore>,
    metrics: Option<Arc<Metrics>>,
    share: Arc<dyn HealthShare>,
}

impl HealthChecker {
    pub fn new(
        client: HttpClient,
        metrics: Option<Arc<Metrics>>,
        share: Arc<dyn HealthShare>,
    ) -> Self {
        HealthChecker {
            client,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_CHECKS)),
            metrics,
            share,
        }
    }

    /// Start checking credential `idx` of `up`, which just left rotation.
    /// The task ends when the credential is back, or when the provider is
    /// gone (a config change dropped it).
    pub fn spawn(&self, up: &Arc<Upstream>, idx: usize) {
        let Some(policy) = up.pool.policy().cloned() else {
            return;
        };
        let Recovery::Check {
            model,
            interval,
            timeout,
        } = &policy.recovery
        else {
            return;
        };
        let Some(health) = up.pool.health(idx).cloned() else {
            return;
        };
        let Some(key) = up.keys.get(idx).cloned() else {
            return;
        };
        let ttl = lease_ttl(*interval, *timeout);
        let share = self.share.clone();
        let lease_share = share.clone();
        let lease_key = key.clone();
        let lease_policy = policy.clone();
        let model = model.clone();
        // The newest loop of a credential wins: an older one stops.
        let generation = health.new_checker();
        let current = health.clone();
        let weak = Arc::downgrade(up);
        let alive = weak.clone();
        let checker = self.clone();
        let permits = self.permits.clone();
        let metrics = self.metrics.clone();
        let provider = up.id.clone();
        let credential = up.masked_shared(idx);
        let observe = move |result: &Result<(), String>, back: bool| {
            if let Some(m) = &metrics {
                m.health_check(&provider, &credential, result.is_ok());
            }
            if back {
                tracing::info!(provider = %provider, credential = %credential, "credential back in rotation (health check passed)");
                share.came_back(&key);
            }
        };
        tokio::spawn(async move {
            // The slot is taken before the check's timeout starts; the
            // semaphore is never closed, so `ok()` always holds a permit.
            let slot = move || {
                let permits = permits.clone();
                async move { permits.acquire_owned().await.ok() }
            };
            // One instance at a time probes; the holder keeps the shared
            // deadline an hour ahead while it fails.
            let lease = move || {
                let share = lease_share.clone();
                let key = lease_key.clone();
                let until = out_until(&lease_policy, unix_ms());
                async move { share.try_lease(&key, ttl, until).await }
            };
            let probe = move || {
                let weak = weak.clone();
                let checker = checker.clone();
                let model = model.clone();
                async move {
                    let Some(up) = weak.upgrade() else {
                        return Err("provider removed".to_string());
                    };
                    checker.check(&up, idx, &model).await
                }
            };
            run_recovery_observed(
                health,
                policy,
                slot,
                lease,
                probe,
                move || alive.strong_count() > 0 && current.is_current_checker(generation),
                observe,
            )
            .await;
        });
    }

    /// One check of credential `idx` of `up`: a minimal request in the
    /// provider's dialect; any 2xx passes. The caller holds a check slot
    /// and bounds the time (`healthCheckTimeout`).
    pub async fn check(&self, up: &Upstream, idx: usize, model: &str) -> Result<(), String> {
        let (uri, body) = check_request(up, model)?;
        tracing::debug!(
            provider = %up.id,
            host = uri.authority().map_or("", |a| a.as_str()),
            path = uri.path(),
            credential = up.masked(idx),
            "health check"
        );
        let mut req = up.prepared_request(&self.client, idx, uri, body).await?;
        if up.endpoint.dialect() == Dialect::Anthropic {
            // As live traffic: a default version when none is configured.
            let h = req.headers_mut();
            if !h.contains_key(&ANTHROPIC_VERSION) {
                h.insert(
                    ANTHROPIC_VERSION.clone(),
                    HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION),
                );
            }
        }
        let resp = self
            .client
            .request(req.map(Full::new))
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        // Drain so the connection can be reused.
        let _ = resp.into_body().collect().await;
        if status.is_success() {
            tracing::debug!(provider = %up.id, credential = up.masked(idx), status = status.as_u16(), "health check passed");
            Ok(())
        } else {
            tracing::debug!(provider = %up.id, credential = up.masked(idx), status = status.as_u16(), "health check failed");
            Err(format!("health check answered HTTP {}", status.as_u16()))
        }
    }
}

/// The URI and body of a health check of `up` with `model`: one user
/// message `ping`, at most one output token, not streamed, written by the
/// encoder live traffic uses for the provider's dialect and sent to the
/// URI live traffic uses (Gemini: the model in the URL, `:generateContent`;
/// Bedrock: `/model/{model}/converse`; Claude: `/v1/messages`).
pub fn check_request(up: &Upstream, model: &str) -> Result<(http::Uri, Bytes), String> {
    let dialect = up.endpoint.dialect();
    let req = ChatRequest {
        model: model.to_string(),
        messages: vec![Message {
            role: Role::User,
            content: vec![Part::Text {
                text: "ping".to_string(),
            }],
        }],
        max_tokens: Some(1),
        stream: false,
        ..ChatRequest::default()
    };
    let body = translate::encode_request(dialect, &req).map_err(|e| {
        format!(
            "health check request cannot be written for {}: {e}",
            dialect.name()
        )
    })?;
    let uri = up
        .endpoint
        .chat_uri(model, false)
        .map_err(|e| format!("health check URI for model `{model}`: {e}"))?;
    Ok((uri, Bytes::from(body)))
}

#[cfg(test)]
mod tests {
    use switchyard_config::Config;
    use switchyard_routing::MemoryHealthStore;

    use super::*;

    fn upstream(provider: &str) -> Upstream {
        let yaml = format!("providers:\n  - {provider}\n");
        let cfg = Config::from_yaml(&yaml, "test.yaml").unwrap();
        Upstream::from_config(&cfg.providers[0], &MemoryHealthStore::default()).unwrap()
    }

    /// Each dialect gets its own minimal request, at live traffic's URI,
    /// and the dialect's own decoder reads it back as one `ping` with one
    /// output token.
    #[test]
    fn checks_speak_each_providers_dialect() {
        let cases = [
            (
                "{ id: o, type: openai, baseUrl: \"http://h:1\", apiTokens: [k] }",
                "gpt-4o-mini",
                "http://h:1/v1/chat/completions",
                "messages",
            ),
            (
                "{ id: a, type: azure, apiTokens: [k], azureServiceUrl: \"http://h:1/openai/deployments/d/chat/completions?api-version=2024-10-21\" }",
                "gpt-4o",
                "http://h:1/openai/deployments/d/chat/completions?api-version=2024-10-21",
                "messages",
            ),
            (
                "{ id: c, type: claude, baseUrl: \"http://h:1\", apiTokens: [k] }",
                "claude-haiku-4-5",
                "http://h:1/v1/messages",
                "max_tokens",
            ),
            (
                "{ id: g, type: gemini, baseUrl: \"http://h:1\", apiTokens: [k] }",
                "gemini-2.5-flash",
                "http://h:1/v1beta/models/gemini-2.5-flash:generateContent",
                "contents",
            ),
            (
                "{ id: v, type: vertex, baseUrl: \"http://h:1\", vertexProjectId: p1, vertexRegion: us-central1, apiTokens: [k] }",
                "gemini-2.5-pro",
                "http://h:1/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent",
                "contents",
            ),
            (
                "{ id: vx, type: vertex, baseUrl: \"http://h:1\", apiTokens: [k] }",
                "gemini-2.5-pro",
                "http://h:1/v1/publishers/google/models/gemini-2.5-pro:generateContent",
                "contents",
            ),
            (
                "{ id: b, type: bedrock, baseUrl: \"http://h:1\", awsRegion: us-east-1, awsAccessKey: AKIA0000, awsSecretKey: s }",
                "anthropic.claude-3-5-haiku-20241022-v1:0",
                "http://h:1/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse",
                "inferenceConfig",
            ),
        ];
        for (provider, model, want_uri, key) in cases {
            let up = upstream(provider);
            let (uri, body) = check_request(&up, model).unwrap();
            assert_eq!(uri.to_string(), want_uri, "{provider}");
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert!(json.get(key).is_some(), "{provider}: {json}");
            let dialect = up.endpoint.dialect();
            let back = translate::decode_request(dialect, &body, model, false).unwrap();
            if dialect != Dialect::Bedrock {
                // Bedrock names the model in the URL only.
                assert_eq!(back.model, model, "{provider}");
            }
            assert_eq!(back.max_tokens, Some(1), "{provider}");
            assert!(!back.stream, "{provider}");
            assert_eq!(
                back.messages,
                [Message {
                    role: Role::User,
                    content: vec![Part::Text {
                        text: "ping".into()
                    }]
                }],
                "{provider}"
            );
        }
    }
}
