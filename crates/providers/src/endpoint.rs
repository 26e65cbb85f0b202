//! A provider endpoint: a catalog entry plus the user's overrides, resolved
//! to the exact scheme, authority and paths to call.

use http::uri::{Authority, PathAndQuery, Scheme as HttpScheme, Uri};

use crate::catalog::{Api, AuthScheme, ProviderKind};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
}

/// The overrides a provider entry can carry, all optional.
#[derive(Clone, Debug, Default)]
pub struct EndpointOptions<'a> {
    pub base_url: Option<&'a str>,
    pub provider_domain: Option<&'a str>,
    pub provider_base_path: Option<&'a str>,
    pub azure_service_url: Option<&'a str>,
    pub openai_custom_url: Option<&'a str>,
    pub qwen_domain: Option<&'a str>,
    pub ollama_server_host: Option<&'a str>,
    pub ollama_server_port: Option<u16>,
    pub aws_region: Option<&'a str>,
    pub vertex_region: Option<&'a str>,
    pub vertex_project_id: Option<&'a str>,
}

/// A problem with the endpoint fields of a provider, phrased for the config
/// error report (the caller adds which provider and field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for EndpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for EndpointError {}

fn err(field: &'static str, message: impl Into<String>) -> EndpointError {
    EndpointError {
        field,
        message: message.into(),
    }
}

#[derive(Clone, Debug)]
enum Shape {
    /// `{base}{suffix}`.
    Plain,
    /// Azure's `{base}/deployments/{d}{suffix}?api-version=`; the deployment
    /// is fixed by the URL or taken from the (mapped) model.
    AzureDeployment {
        deployment: Option<String>,
        api_version: String,
    },
    /// Anthropic Messages: `{base}/messages`.
    Anthropic,
    /// Gemini: `{base}/models/{model}:generateContent`.
    Gemini,
    /// Bedrock: `{base}/model/{model}/converse`.
    Bedrock,
}

/// Where and how to reach one provider.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub kind: &'static ProviderKind,
    scheme: HttpScheme,
    authority: Authority,
    base_path: String,
    shape: Shape,
    /// Pre-built paths for APIs whose path does not depend on the model.
    fixed: [Option<PathAndQuery>; Api::ALL.len()],
    /// The provider's own Anthropic-compatible Messages path, if it has one.
    messages: Option<PathAndQuery>,
}

struct Url<'a> {
    scheme: Scheme,
    authority: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

fn parse_url<'a>(
    field: &'static str,
    s: &'a str,
    default_scheme: Option<Scheme>,
) -> Result<Url<'a>, EndpointError> {
    let s = s.trim();
    let (scheme, rest) = if let Some(r) = s.strip_prefix("http://") {
        (Scheme::Http, r)
    } else if let Some(r) = s.strip_prefix("https://") {
        (Scheme::Https, r)
    } else if s.contains("://") {
        return Err(err(
            field,
            format!("`{s}` must start with http:// or https://"),
        ));
    } else if let Some(d) = default_scheme {
        (d, s)
    } else {
        return Err(err(
            field,
            format!("`{s}` must start with http:// or https://"),
        ));
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() {
        return Err(err(field, format!("`{s}` has no host")));
    }
    if authority.parse::<Authority>().is_err() || authority.contains('@') {
        return Err(err(
            field,
            format!("`{authority}` is not a valid host[:port]"),
        ));
    }
    let rest = &rest[end..];
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    Ok(Url {
        scheme,
        authority,
        path: path.trim_end_matches('/'),
        query,
    })
}

fn join_path(prefix: &str, base: &str) -> String {
    let prefix = prefix.trim().trim_end_matches('/');
    let mut out = String::new();
    if !prefix.is_empty() {
        if !prefix.starts_with('/') {
            out.push('/');
        }
        out.push_str(prefix);
    }
    out.push_str(base);
    out
}

/// Percent-encode one path segment (RFC 3986 unreserved characters kept);
/// Bedrock model ids contain `:`, which AWS wants encoded.
pub fn encode_segment(s: &str) -> String {
    let mut enc = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    enc
}

const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
/// The first Azure API version with the Responses API.
const AZURE_RESPONSES_API_VERSION: &str = "2025-03-01-preview";

impl Endpoint {
    pub fn build(
        kind: &'static ProviderKind,
        o: &EndpointOptions<'_>,
    ) -> Result<Endpoint, EndpointError> {
        let mut scheme;
        let mut authority: String;
        let mut base_path: String = kind.base_path.to_string();
        let mut shape = Shape::Plain;

        // The catalog default, then vendor fields, then baseUrl: the most
        // explicit setting wins.
        match kind.origin {
            Some(origin) => {
                let u = parse_url("type", origin, None)?;
                scheme = u.scheme;
                authority = u.authority.to_string();
            }
            None => {
                scheme = Scheme::Https;
                authority = String::new();
            }
        }

        match kind.name {
            "azure" => {
                let Some(url) = o.azure_service_url else {
                    return Err(err(
                        "azureServiceUrl",
                        "is required for type azure, e.g. https://RESOURCE.openai.azure.com/openai/deployments/DEPLOYMENT/chat/completions?api-version=2024-10-21",
                    ));
                };
                let u = parse_url("azureServiceUrl", url, Some(Scheme::Https))?;
                scheme = u.scheme;
                authority = u.authority.to_string();
                let api_version = u
                    .query
                    .into_iter()
                    .flat_map(|q| q.split('&'))
                    .find_map(|kv| kv.strip_prefix("api-version="))
                    .filter(|v| !v.is_empty())
                    .unwrap_or(DEFAULT_AZURE_API_VERSION)
                    .to_string();
                if u.path.starts_with("/openai/v1") {
                    // The v1 API: model in the body, OpenAI paths.
                    base_path = "/openai/v1".into();
                } else if let Some(rest) = u.path.strip_prefix("/openai/deployments/") {
                    let d = rest.split('/').next().unwrap_or("");
                    if d.is_empty() {
                        return Err(err(
                            "azureServiceUrl",
                            format!("`{url}` names no deployment after /openai/deployments/"),
                        ));
                    }
                    shape = Shape::AzureDeployment {
                        deployment: Some(d.to_string()),
                        api_version,
                    };
                } else if u.path.is_empty() || u.path == "/openai" {
                    shape = Shape::AzureDeployment {
                        deployment: None,
                        api_version,
                    };
                } else {
                    return Err(err(
                        "azureServiceUrl",
                        format!(
                            "unexpected path `{}`; use https://RESOURCE.openai.azure.com[/openai/deployments/DEPLOYMENT/chat/completions]?api-version=VERSION",
                            u.path
                        ),
                    ));
                }
            }
            "openai" => {
                if let Some(url) = o.openai_custom_url {
                    let u = parse_url("openaiCustomUrl", url, Some(Scheme::Https))?;
                    scheme = u.scheme;
                    authority = u.authority.to_string();
                    let mut p = u.path;
                    for api in Api::ALL {
                        if let Some(stripped) = p.strip_suffix(api.suffix()) {
                            p = stripped;
                            break;
                        }
                    }
                    base_path = p.to_string();
                }
            }
            "qwen" => {
                if let Some(d) = o.qwen_domain {
                    authority = d.trim().to_string();
                }
            }
            "ollama" if o.ollama_server_host.is_some() || o.ollama_server_port.is_some() => {
                let host = o.ollama_server_host.unwrap_or("127.0.0.1").trim();
                let port = o.ollama_server_port.unwrap_or(11434);
                authority = format!("{host}:{port}");
                scheme = Scheme::Http;
            }
            "claude" => shape = Shape::Anthropic,
            "gemini" => shape = Shape::Gemini,
            "vertex" => {
                shape = Shape::Gemini;
                scheme = Scheme::Https;
                match (o.vertex_project_id, o.vertex_region) {
                    (Some(project), Some(region)) => {
                        let (project, region) = (project.trim(), region.trim());
                        authority = if region == "global" {
                            "aiplatform.googleapis.com".into()
                        } else {
                            format!("{region}-aiplatform.googleapis.com")
                        };
                        base_path =
                            format!("/v1/projects/{project}/locations/{region}/publishers/google");
                    }
                    (Some(_), None) => {
                        return Err(err(
                            "vertexRegion",
                            "is required with vertexProjectId, e.g. us-central1",
                        ));
                    }
                    // Express mode: an API key, no project.
                    _ => {
                        authority = "aiplatform.googleapis.com".into();
                        base_path = "/v1/publishers/google".into();
                    }
                }
            }
            "bedrock" => {
                shape = Shape::Bedrock;
                scheme = Scheme::Https;
                match o.aws_region {
                    Some(r) if !r.trim().is_empty() => {
                        authority = format!("bedrock-runtime.{}.amazonaws.com", r.trim());
                    }
                    _ if o.base_url.is_some() => {}
                    _ => {
                        return Err(err(
                            "awsRegion",
                            "is required for type bedrock, e.g. us-east-1",
                        ));
                    }
                }
            }
            _ => {}
        }

        if let Some(url) = o.base_url {
            let u = parse_url("baseUrl", url, None)?;
            scheme = u.scheme;
            authority = u.authority.to_string();
            // A baseUrl with a path replaces the catalog base path; one with
            // only an origin keeps the provider's own paths.
            if !u.path.is_empty() {
                base_path = u.path.to_string();
                if let Shape::AzureDeployment { .. } = shape {
                    base_path = join_path(u.path, "/openai");
                }
            }
        }
        if let Some(domain) = o.provider_domain {
            let d = domain.trim();
            if d.contains('/') || d.parse::<Authority>().is_err() {
                return Err(err(
                    "providerDomain",
                    format!("`{d}` must be a host name such as api.example.com"),
                ));
            }
            authority = d.to_string();
        }
        let mut messages_path = kind.anthropic_base.map(|b| format!("{b}/v1/messages"));
        if let Some(prefix) = o.provider_base_path {
            base_path = join_path(prefix, &base_path);
            messages_path = messages_path.map(|m| join_path(prefix, &m));
        }
        if authority.is_empty() {
            return Err(err(
                "baseUrl",
                format!(
                    "is required for type {}: say where the server is, e.g. http://127.0.0.1:8000",
                    kind.name
                ),
            ));
        }
        let authority: Authority = authority.parse().map_err(|_| {
            err(
                "baseUrl",
                format!("`{authority}` is not a valid host[:port]"),
            )
        })?;
        let mut ep = Endpoint {
            kind,
            scheme: match scheme {
                Scheme::Http => HttpScheme::HTTP,
                Scheme::Https => HttpScheme::HTTPS,
            },
            authority,
            base_path,
            shape,
            fixed: std::array::from_fn(|_| None),
            messages: match messages_path {
                Some(m) => Some(m.parse().map_err(|_| {
                    err("providerBasePath", format!("`{m}` is not a valid URL path"))
                })?),
                None => None,
            },
        };
        for (i, api) in Api::ALL.into_iter().enumerate() {
            if ep.model_independent(api) {
                let p = ep.path(api, "");
                ep.fixed[i] = Some(p.parse().map_err(|_| {
                    err("providerBasePath", format!("`{p}` is not a valid URL path"))
                })?);
            }
        }
        // Paths that embed a model: check one builds.
        let probe = ep.path_for(Api::ChatCompletions, "probe", true);
        probe.parse::<PathAndQuery>().map_err(|_| {
            err(
                "providerBasePath",
                format!("`{probe}` is not a valid URL path"),
            )
        })?;
        Ok(ep)
    }

    fn model_independent(&self, api: Api) -> bool {
        match &self.shape {
            Shape::Plain | Shape::Anthropic => true,
            Shape::Gemini | Shape::Bedrock => api != Api::ChatCompletions,
            Shape::AzureDeployment { deployment, .. } => {
                deployment.is_some()
                    || matches!(
                        api,
                        Api::Models | Api::Responses | Api::Files | Api::Batches
                    )
            }
        }
    }

    pub fn scheme(&self) -> Scheme {
        if self.scheme == HttpScheme::HTTP {
            Scheme::Http
        } else {
            Scheme::Https
        }
    }

    /// `host[:port]`, as sent in the `Host` header.
    pub fn authority(&self) -> &str {
        self.authority.as_str()
    }

    pub fn auth(&self) -> AuthScheme {
        self.kind.auth
    }

    /// The path and query for `api`; `model` is the model after mapping
    /// (it names the Azure deployment when the URL does not).
    pub fn path(&self, api: Api, model: &str) -> String {
        self.path_for(api, model, false)
    }

    /// The dialect this endpoint speaks.
    pub fn dialect(&self) -> crate::Dialect {
        self.kind.dialect
    }

    /// The URI of the provider's own Anthropic-compatible Messages endpoint,
    /// for Claude clients (no translation needed).
    pub fn messages_uri(&self) -> Option<Uri> {
        let pq = self.messages.clone()?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
            .ok()
    }

    /// The chat URI for `model`; native dialects use another path (and
    /// Gemini another verb) for streams.
    pub fn chat_uri(&self, model: &str, stream: bool) -> Result<Uri, http::Error> {
        if matches!(self.shape, Shape::Gemini | Shape::Bedrock) {
            let pq = PathAndQuery::try_from(self.path_for(Api::ChatCompletions, model, stream))?;
            return Uri::builder()
                .scheme(self.scheme.clone())
                .authority(self.authority.clone())
                .path_and_query(pq)
                .build();
        }
        self.uri(Api::ChatCompletions, model)
    }

    fn path_for(&self, api: Api, model: &str, stream: bool) -> String {
        match &self.shape {
            Shape::Plain => format!("{}{}", self.base_path, api.suffix()),
            Shape::Anthropic => match api {
                Api::Models => format!("{}/models", self.base_path),
                Api::CountTokens => format!("{}/messages/count_tokens", self.base_path),
                _ => format!("{}/messages", self.base_path),
            },
            Shape::Gemini => match api {
                Api::Models => format!("{}/models", self.base_path),
                _ if stream => format!(
                    "{}/models/{}:streamGenerateContent?alt=sse",
                    self.base_path,
                    encode_segment(model)
                ),
                _ => format!(
                    "{}/models/{}:generateContent",
                    self.base_path,
                    encode_segment(model)
                ),
            },
            Shape::Bedrock => {
                let verb = if stream {
                    "converse-stream"
                } else {
                    "converse"
                };
                format!("{}/model/{}/{verb}", self.base_path, encode_segment(model))
            }
            Shape::AzureDeployment {
                deployment,
                api_version,
            } => {
                if matches!(api, Api::Models | Api::Files | Api::Batches) {
                    // Resource-wide, not per deployment.
                    return format!(
                        "{}{}?api-version={api_version}",
                        self.base_path,
                        api.suffix()
                    );
                }
                if api == Api::Responses {
                    // Not per deployment (the model is in the body), and
                    // only in newer API versions.
                    let v = if api_version.as_str() < AZURE_RESPONSES_API_VERSION {
                        AZURE_RESPONSES_API_VERSION
                    } else {
                        api_version.as_str()
                    };
                    return format!("{}/responses?api-version={v}", self.base_path);
                }
                let enc = encode_segment(deployment.as_deref().unwrap_or(model));
                format!(
                    "{}/deployments/{enc}{}?api-version={api_version}",
                    self.base_path,
                    api.suffix()
                )
            }
        }
    }

    /// The full URI to call.
    pub fn uri(&self, api: Api, model: &str) -> Result<Uri, http::Error> {
        let idx = Api::ALL.iter().position(|a| *a == api).unwrap_or(0);
        let pq = match &self.fixed[idx] {
            Some(p) => p.clone(),
            None => PathAndQuery::try_from(self.path(api, model))?,
        };
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(pq)
            .build()
    }

    /// The URI for `api` with `tail` after the API's path and the client's
    /// `query` after the endpoint's own (`/files/{id}/content`,
    /// `/batches?limit=2`); `tail` and `query` are passed as the client
    /// sent them.
    pub fn uri_with(
        &self,
        api: Api,
        model: &str,
        tail: &str,
        query: Option<&str>,
    ) -> Result<Uri, http::Error> {
        if tail.is_empty() && query.is_none() {
            return self.uri(api, model);
        }
        let path = self.path(api, model);
        let (path, own) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path.as_str(), None),
        };
        let mut pq = String::with_capacity(path.len() + tail.len() + 64);
        pq.push_str(path);
        pq.push_str(tail);
        let queries: Vec<&str> = own
            .into_iter()
            .chain(query)
            .filter(|q| !q.is_empty())
            .collect();
        if !queries.is_empty() {
            pq.push('?');
            pq.push_str(&queries.join("&"));
        }
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(PathAndQuery::try_from(pq)?)
            .build()
    }

    /// `scheme://authority` for messages.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

#[cfg(test)]
mod tests;
