//! Vertex AI service-account auth: a cached OAuth access token, refreshed
//! a minute before it expires. The request path takes a read lock and
//! clones a header value; only a refresh takes the (async) refresh lock,
//! so concurrent requests trigger one exchange, not one each.

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Full, Limited};
use switchyard_providers::vertex_auth::{AccessToken, ServiceAccount};
use tokio::time::Instant;

use crate::mask::mask_credential;
use crate::runtime::HttpClient;
use crate::translate::now_secs;

const REFRESH_MARGIN: Duration = Duration::from_secs(60);
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// `Debug` shows the account and the cached token masked (`ya2…abcd`).
pub struct VertexAuth {
    pub account: ServiceAccount,
    cached: RwLock<Option<(HeaderValue, Instant)>>,
    refresh: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for VertexAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self
            .cached
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|(v, until)| {
                let token = v.to_str().unwrap_or("");
                let token = token.strip_prefix("Bearer ").unwrap_or(token);
                (
                    mask_credential(token),
                    until.saturating_duration_since(Instant::now()),
                )
            });
        f.debug_struct("VertexAuth")
            .field("account", &self.account)
            .field("cached_token", &cached)
            .finish_non_exhaustive()
    }
}

impl VertexAuth {
    pub fn new(account: ServiceAccount) -> Self {
        VertexAuth {
            account,
            cached: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> Option<HeaderValue> {
        let guard = self.cached.read().unwrap_or_else(PoisonError::into_inner);
        match &*guard {
            Some((v, until)) if Instant::now() + REFRESH_MARGIN < *until => Some(v.clone()),
            _ => None,
        }
    }

    /// `Bearer <access token>`, exchanging the service-account assertion
    /// when the cached token is missing or about to expire.
    pub async fn authorization(&self, client: &HttpClient) -> Result<HeaderValue, String> {
        if let Some(v) = self.current() {
            return Ok(v);
        }
        let _single = self.refresh.lock().await;
        if let Some(v) = self.current() {
            return Ok(v);
        }
        let body = self.account.token_request_body(now_secs())?;
        let uri: http::Uri = self
            .account
            .token_uri
            .parse()
            .map_err(|_| format!("token_uri `{}` is not a URL", self.account.token_uri))?;
        let mut req = Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = uri;
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        let exchange = async {
            let resp = client
                .request(req)
                .await
                .map_err(|e| format!("token exchange failed: {e}"))?;
            let status = resp.status();
            let bytes = Limited::new(resp.into_body(), 1024 * 1024)
                .collect()
                .await
                .map_err(|e| format!("token exchange failed: {e}"))?
                .to_bytes();
            if !status.is_success() {
                let text: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
                return Err(format!(
                    "token endpoint answered HTTP {}: {text}",
                    status.as_u16()
                ));
            }
            serde_json::from_slice::<AccessToken>(&bytes)
                .map_err(|e| format!("token endpoint answer is not a token ({e})"))
        };
        let token = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange)
            .await
            .map_err(|_| "token exchange timed out".to_string())??;
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.access_token))
            .map_err(|_| "access token is not a valid header".to_string())?;
        value.set_sensitive(true);
        let until = Instant::now() + Duration::from_secs(token.expires_in);
        *self.cached.write().unwrap_or_else(PoisonError::into_inner) = Some((value.clone(), until));
        tracing::debug!(account = %self.account.client_email, expires_in = token.expires_in, "vertex access token refreshed");
        Ok(value)
    }
}
