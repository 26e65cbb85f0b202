//! One configured provider, compiled for the request path: endpoint,
//! credentials as ready-made header values, model mapper, deadlines; and
//! what is done with it: [`attempt`] (one provider's attempts),
//! [`classify`] (what a failure means), [`headers`] (what is sent).

pub mod attempt;
pub mod classify;
mod client;
mod h1;

pub use h1::set_shard as set_runtime_shard;
pub mod headers;

pub use client::{BodyError, UpstreamBody, UpstreamClient};

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use switchyard_config::ProviderConfig;
use switchyard_providers::{AuthScheme, Endpoint, lookup};
use switchyard_routing::{
    CredentialKey, HealthStore, ModelMapper, Pool, RetryPolicy, credential_key,
};

use crate::body::APPLICATION_JSON;
use crate::mask::mask_credential;
use crate::runtime::BuildError;

/// One API token of one provider.
pub struct Credential {
    /// The header carrying it, marked sensitive so it is never logged.
    pub header: Option<(HeaderName, HeaderValue)>,
    /// For logs and errors.
    pub masked: Arc<str>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked)
    }
}

/// `Debug` masks credentials and custom header values (see below).
pub struct Upstream {
    pub id: Arc<str>,
    pub id_header: HeaderValue,
    pub endpoint: Endpoint,
    pub credentials: Vec<Credential>,
    pub mapper: ModelMapper,
    pub timeout: Duration,
    pub first_byte_timeout: Duration,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Health and selection of `credentials` (same indexes).
    pub pool: Pool,
    /// What each credential's health is known by (same indexes): the
    /// provider id and a hash of the token, never the token.
    pub keys: Vec<CredentialKey>,
    pub retry: Option<RetryPolicy>,
    /// Bedrock with IAM keys: every request is signed (SigV4).
    pub aws: Option<AwsKeys>,
    /// `protocol: original`: same-dialect bodies are sent untouched.
    pub original: bool,
    /// The provider has the Responses API: Responses clients are passed
    /// through (`responsesApi`, else its type's default).
    pub responses: bool,
    /// Vertex AI with a service account: OAuth tokens, cached.
    pub vertex: Option<crate::vertex::VertexAuth>,
}

/// Custom header values print masked: any of them may carry a key.
struct MaskedHeaders<'a>(&'a [(HeaderName, HeaderValue)]);

impl std::fmt::Debug for MaskedHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.0
                    .iter()
                    .map(|(n, v)| (n, mask_credential(v.to_str().unwrap_or("<opaque>")))),
            )
            .finish()
    }
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured in full: a new field does not compile until it is
        // printed here, masked if it holds a secret.
        let Upstream {
            id,
            id_header,
            endpoint,
            credentials,
            mapper,
            timeout,
            first_byte_timeout,
            headers,
            pool,
            keys,
            retry,
            aws,
            original,
            responses,
            vertex,
        } = self;
        f.debug_struct("Upstream")
            .field("id", id)
            .field("id_header", id_header)
            .field("endpoint", endpoint)
            .field("credentials", credentials)
            .field("mapper", mapper)
            .field("timeout", timeout)
            .field("first_byte_timeout", first_byte_timeout)
            .field("headers", &MaskedHeaders(headers))
            .field("pool", pool)
            .field("keys", keys)
            .field("retry", retry)
            .field("aws", aws)
            .field("original", original)
            .field("responses", responses)
            .field("vertex", vertex)
            .finish()
    }
}

/// IAM credentials for SigV4; never printed.
pub struct AwsKeys {
    pub access_key: String,
    secret_key: String,
    session_token: Option<String>,
    region: String,
}

impl std::fmt::Debug for AwsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AwsKeys({}, {})",
            mask_credential(&self.access_key),
            self.region
        )
    }
}

fn auth_header(
    scheme: AuthScheme,
    token: &str,
) -> Result<Option<(HeaderName, HeaderValue)>, String> {
    let (name, value) = match scheme {
        AuthScheme::Bearer | AuthScheme::OptionalBearer => {
            (http::header::AUTHORIZATION, format!("Bearer {token}"))
        }
        AuthScheme::RawAuthorization => (http::header::AUTHORIZATION, token.to_string()),
        AuthScheme::Header(h) => (HeaderName::from_static(h), token.to_string()),
    };
    let mut v = HeaderValue::from_str(&value)
        .map_err(|_| "contains characters not allowed in an HTTP header".to_string())?;
    v.set_sensitive(true);
    Ok(Some((name, v)))
}

impl Upstream {
    pub fn from_config(
        p: &ProviderConfig,
        store: &dyn HealthStore,
    ) -> Result<Upstream, BuildError> {
        let fail = |m: String| BuildError(format!("provider `{}`: {m}", p.id));
        let kind = lookup(&p.kind).ok_or_else(|| fail(format!("unknown type `{}`", p.kind)))?;
        let endpoint =
            Endpoint::build(kind, &p.endpoint_options()).map_err(|e| fail(e.to_string()))?;
        let aws = match (&p.aws_access_key, &p.aws_secret_key) {
            (Some(a), Some(k)) => Some(AwsKeys {
                access_key: a.clone(),
                secret_key: k.clone(),
                session_token: p.aws_session_token.clone(),
                region: p.aws_region.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        let vertex = match &p.vertex_auth_key {
            Some(k) => Some(crate::vertex::VertexAuth::new(
                switchyard_providers::vertex_auth::ServiceAccount::from_json(k)
                    .map_err(|e| fail(format!("vertexAuthKey: {e}")))?,
            )),
            None => None,
        };
        let mut credentials = Vec::with_capacity(p.api_tokens.len().max(1));
        for (i, t) in p.api_tokens.iter().enumerate() {
            let header =
                auth_header(kind.auth, t).map_err(|m| fail(format!("apiTokens[{i}] {m}")))?;
            credentials.push(Credential {
                header,
                masked: mask_credential(t).into(),
            });
        }
        if let Some(aws) = &aws {
            credentials.push(Credential {
                header: None,
                masked: mask_credential(&aws.access_key).into(),
            });
        } else if let Some(v) = &vertex {
            credentials.push(Credential {
                header: None,
                masked: v.account.client_email.as_str().into(),
            });
        } else if credentials.is_empty() && !kind.token_required() {
            credentials.push(Credential {
                header: None,
                masked: "(none)".into(),
            });
        }
        if credentials.is_empty() {
            return Err(fail("no apiTokens".into()));
        }
        let mapper = ModelMapper::new(&p.model_mapping).map_err(|e| fail(e.to_string()))?;
        let mut headers = Vec::with_capacity(p.headers.len());
        for (k, v) in &p.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| fail(format!("invalid header name `{k}`")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| fail(format!("invalid value for header `{k}`")))?;
            headers.push((name, value));
        }
        if kind.name == "claude" && !headers.iter().any(|(n, _)| n == "anthropic-version") {
            let v = p
                .claude_version
                .as_deref()
                .unwrap_or(DEFAULT_ANTHROPIC_VERSION);
            let v = HeaderValue::from_str(v)
                .map_err(|_| fail(format!("invalid claudeVersion `{v}`")))?;
            headers.push((HeaderName::from_static("anthropic-version"), v));
        }
        let id_header = HeaderValue::from_str(&p.id).map_err(|_| fail("invalid id".into()))?;
        let tokens = health_keys(p);
        let keys = tokens.iter().map(|t| credential_key(&p.id, t)).collect();
        let health = tokens.iter().map(|t| store.credential(&p.id, t)).collect();
        let pool = Pool::new(health, p.health_policy().map_err(fail)?, p.selection());
        let retry = p.retry_policy().map_err(fail)?;
        Ok(Upstream {
            id: Arc::from(p.id.as_str()),
            id_header,
            endpoint,
            credentials,
            mapper,
            timeout: p.timeout,
            first_byte_timeout: p.first_byte_deadline().min(p.timeout),
            headers,
            pool,
            keys,
            retry,
            aws,
            original: p.protocol.as_deref() == Some("original"),
            responses: p
                .responses_api
                .unwrap_or_else(|| kind.supports(switchyard_providers::Api::Responses)),
            vertex,
        })
    }
}

/// What each credential of `p` is known by in the health store, in
/// credential order: the token, the AWS access key or the service
/// account. Health is keyed by the provider's id and a hash of this, so a token
/// shared by two endpoints has two records, and a reload that keeps a
/// credential keeps its record.
pub fn health_keys(p: &ProviderConfig) -> Vec<String> {
    if let (Some(access), Some(_)) = (&p.aws_access_key, &p.aws_secret_key) {
        vec![access.clone()]
    } else if let Some(key) = &p.vertex_auth_key {
        vec![switchyard_providers::vertex_auth::key_client_email(key).unwrap_or_default()]
    } else if p.api_tokens.is_empty() {
        vec![String::new()]
    } else {
        p.api_tokens.clone()
    }
}

/// The `anthropic-version` sent when `claudeVersion` is not set.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

impl Upstream {
    /// The upstream request for one attempt with credential `idx`. Live
    /// requests and health checks both come through here, so a check
    /// always uses this endpoint's origin, path, auth scheme, headers and
    /// that one token.
    pub fn request(
        &self,
        idx: usize,
        uri: http::Uri,
        body: bytes::Bytes,
    ) -> http::Request<bytes::Bytes> {
        let signed = self.aws.as_ref().map(|aws| {
            switchyard_providers::SigV4 {
                access_key: &aws.access_key,
                secret_key: &aws.secret_key,
                session_token: aws.session_token.as_deref(),
                region: &aws.region,
                service: "bedrock",
            }
            .sign(
                "POST",
                uri.authority().map_or("", |a| a.as_str()),
                uri.path(),
                uri.query().unwrap_or(""),
                &[("content-type", "application/json")],
                &body,
                std::time::SystemTime::now(),
            )
        });
        let mut req = http::Request::new(body);
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = uri;
        // Room for what is added here and by the attempt (forwarded
        // headers, host): one allocation instead of a few growths (8 makes
        // room for 12; 16 would be 24 entries, 2.3 KiB held per attempt).
        *req.headers_mut() = http::HeaderMap::with_capacity(8);
        let h = req.headers_mut();
        h.insert(http::header::CONTENT_TYPE, APPLICATION_JSON.clone());
        if let Some((name, value)) = self.credentials.get(idx).and_then(|c| c.header.as_ref()) {
            h.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.headers {
            h.insert(name.clone(), value.clone());
        }
        if let Some(sig) = signed {
            let mut put = |name: &'static str, v: &str| {
                if let Ok(mut v) = HeaderValue::from_str(v) {
                    v.set_sensitive(name == "authorization" || name == "x-amz-security-token");
                    h.insert(HeaderName::from_static(name), v);
                }
            };
            put("authorization", &sig.authorization);
            put("x-amz-date", &sig.x_amz_date);
            put("x-amz-content-sha256", &sig.x_amz_content_sha256);
            if let Some(t) = &sig.x_amz_security_token {
                put("x-amz-security-token", t);
            }
        }
        req
    }

    /// The dialect spoken with this provider for a client of `client`: its
    /// own, or Anthropic where the provider has an Anthropic-compatible
    /// endpoint and the client is a Claude client, or Responses where it
    /// has the Responses API and the client speaks it (no translation).
    pub fn dialect_for(
        &self,
        client: switchyard_providers::Dialect,
    ) -> switchyard_providers::Dialect {
        use switchyard_providers::Dialect;
        if client == Dialect::Anthropic && self.endpoint.kind.anthropic_base.is_some() {
            Dialect::Anthropic
        } else if client == Dialect::Responses && self.responses {
            Dialect::Responses
        } else {
            self.endpoint.dialect()
        }
    }

    /// [`Upstream::request`] plus what needs I/O first: a Vertex AI access
    /// token. Errors say why no request could be made.
    pub async fn prepared_request(
        &self,
        client: &crate::runtime::HttpClient,
        idx: usize,
        uri: http::Uri,
        body: bytes::Bytes,
    ) -> Result<http::Request<bytes::Bytes>, String> {
        let mut req = self.request(idx, uri, body);
        if let Some(v) = &self.vertex {
            let auth = v.authorization(client).await?;
            req.headers_mut().insert(http::header::AUTHORIZATION, auth);
        }
        Ok(req)
    }

    pub fn masked(&self, idx: usize) -> &str {
        self.credentials.get(idx).map_or("(none)", |c| &*c.masked)
    }

    /// The masked credential, shared (for records that outlive the request).
    pub fn masked_shared(&self, idx: usize) -> Arc<str> {
        self.credentials
            .get(idx)
            .map_or_else(|| Arc::from("(none)"), |c| c.masked.clone())
    }
}
