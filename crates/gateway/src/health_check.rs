//! Active health checks: for each credential out of rotation, a minimal
//! chat completion every `healthCheckInterval`, built by the same code as
//! live requests for that provider ([`Upstream::prepared_request`]), until
//! `successThreshold` checks in a row pass.
//!
//! At most [`MAX_CONCURRENT_CHECKS`] checks are in flight; the wait for a
//! slot is not counted against `healthCheckTimeout`.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::BodyExt;
use switchyard_providers::Api;
use switchyard_routing::Recovery;
use switchyard_routing::health::run_recovery_observed;
use tokio::sync::Semaphore;

use crate::runtime::HttpClient;
use crate::telemetry::Metrics;
use crate::upstream::Upstream;

/// At most this many checks are in flight at once, whatever the number of
/// credentials out.
pub const MAX_CONCURRENT_CHECKS: usize = 16;

#[derive(Clone)]
pub struct HealthChecker {
    client: HttpClient,
    permits: Arc<Semaphore>,
    metrics: Option<Arc<Metrics>>,
}

impl HealthChecker {
    pub fn new(client: HttpClient, metrics: Option<Arc<Metrics>>) -> Self {
        HealthChecker {
            client,
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_CHECKS)),
            metrics,
        }
    }

    /// Start checking credential `idx` of `up`, which just left rotation.
    /// The task ends when the credential is back, or when the provider is
    /// gone (a config change dropped it).
    pub fn spawn(&self, up: &Arc<Upstream>, idx: usize) {
        let Some(policy) = up.pool.policy().cloned() else {
            return;
        };
        let Recovery::Check { model, .. } = &policy.recovery else {
            return;
        };
        let Some(health) = up.pool.health(idx).cloned() else {
            return;
        };
        let model = model.clone();
        let weak = Arc::downgrade(up);
        let alive = weak.clone();
        let checker = self.clone();
        let permits = self.permits.clone();
        let metrics = self.metrics.clone();
        let provider = up.id.clone();
        let credential = up.masked_shared(idx);
        let observe = move |result: &Result<(), String>, _back: bool| {
            if let Some(m) = &metrics {
                m.health_check(&provider, &credential, result.is_ok());
            }
        };
        tokio::spawn(async move {
            // The slot is taken before the check's timeout starts; the
            // semaphore is never closed, so `ok()` always holds a permit.
            let slot = move || {
                let permits = permits.clone();
                async move { permits.acquire_owned().await.ok() }
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
                probe,
                move || alive.strong_count() > 0,
                observe,
            )
            .await;
        });
    }

    /// One check of credential `idx` of `up`. The caller holds a check
    /// slot and bounds the time (`healthCheckTimeout`).
    pub async fn check(&self, up: &Upstream, idx: usize, model: &str) -> Result<(), String> {
        let uri = up
            .endpoint
            .uri(Api::ChatCompletions, model)
            .map_err(|e| e.to_string())?;
        let body = serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "ping"}],
            "max_tokens": 1,
        });
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        tracing::debug!(
            provider = %up.id,
            host = uri.authority().map_or("", |a| a.as_str()),
            path = uri.path(),
            credential = up.masked(idx),
            "health check"
        );
        let req = up.prepared_request(&self.client, idx, uri, body).await?;
        let resp = self.client.request(req).await.map_err(|e| e.to_string())?;
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
