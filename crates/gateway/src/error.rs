//! Errors the gateway itself produces, each with its status, OpenAI-shaped
//! body and a message that says what to do.

use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use switchyard_limits::{Kind, Limit, Per, Reason, Rejection};
use switchyard_protocol::{ErrorBody, ErrorKind, RequestError};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{0}")]
    BadRequest(#[from] RequestError),
    #[error("The request cannot be translated for the provider that serves this model: {0}")]
    Translation(switchyard_protocol::canonical::ConvertError),
    #[error(
        "The request body is larger than the {limit}-byte limit (server.maxBodyBytes). Send a smaller body or raise the limit."
    )]
    BodyTooLarge { limit: usize },
    #[error("The request body could not be read: {0}")]
    BodyRead(String),
    #[error(
        "The request body did not arrive within {}s (server.bodyReadTimeout). Send the whole body promptly, or raise the limit.", after.as_secs()
    )]
    BodyReadTimeout { after: Duration },
    #[error("No route serves the model `{model}`. {served}")]
    NoRoute { model: String, served: String },
    #[error(
        "Provider `{provider}` (type {kind}) does not offer the {api} API. Route this model to a provider whose type does ({}).",
        offered_by(api)
    )]
    UnsupportedApi {
        provider: String,
        kind: &'static str,
        api: &'static str,
    },
    #[error("{0}")]
    Form(switchyard_protocol::multipart::FormError),
    #[error(
        "No provider has id `{id}` (from the x-switchyard-provider header). Configured providers: {known}."
    )]
    UnknownProvider { id: String, known: String },
    #[error(
        "The {api} API has no model to route by: name the provider in an `x-switchyard-provider` header, or set `filesProvider` in the gateway's config."
    )]
    NoProviderNamed { api: &'static str },
    #[error(
        "Could not connect to provider `{provider}` at {origin}: {cause}. Check that the provider is up and that its baseUrl/host is right."
    )]
    UpstreamConnect {
        provider: String,
        origin: String,
        cause: String,
    },
    #[error("Provider `{provider}` at {origin} failed before answering: {cause}.")]
    UpstreamBroken {
        provider: String,
        origin: String,
        cause: String,
    },
    #[error("Provider `{provider}` did not answer within {}ms ({which}). Retry later, or raise {which} for this provider.", after.as_millis())]
    UpstreamTimeout {
        provider: String,
        after: Duration,
        which: &'static str,
    },
    #[error("{detail} Retry after {}s, or add working apiTokens.", (retry_after.as_secs_f64().ceil() as u64).max(1))]
    NoCredential {
        detail: String,
        retry_after: Duration,
    },
    #[error(
        "No handler for {method} {path}. {}",
        crate::pipeline::endpoint::served_sentence()
    )]
    UnknownEndpoint { method: String, path: String },
    #[error(
        "{path} is {api}, which this gateway does not serve. {}",
        crate::pipeline::endpoint::served_sentence()
    )]
    NotServed { path: String, api: &'static str },
    #[error(
        "The model `{model}` does not exist or is not available to this key. GET /v1/models lists the models you can use."
    )]
    ModelNotFound { model: String },
    #[error(
        "No stored response `{id}`. This gateway keeps the responses it made through providers without a Responses API of their own, for a limited time and unless the request said `store: false`; a provider's own responses are retrieved from that provider."
    )]
    ResponseNotFound { id: String },
    #[error("{path} does not accept {method}; use {allowed}.")]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: &'static str,
    },
    #[error(
        "No API key. Send your consumer key as `Authorization: Bearer <key>` (or in {where_})."
    )]
    MissingApiKey { where_: String },
    #[error(
        "The API key is not valid for this gateway. Check that you send the consumer key your gateway operator gave you (not a provider's key)."
    )]
    InvalidApiKey,
    #[error(
        "Consumer `{consumer}` may not use route `{route}`. Ask the gateway operator to add it to the route's `allow` list, or use a model another route serves."
    )]
    PermissionDenied { consumer: String, route: String },
    #[error(
        "Consumer `{consumer}` may not use the model `{model}`. GET /v1/models lists the models this key may use."
    )]
    ModelNotAllowed { consumer: String, model: String },
    #[error("{}", rate_limited_message(rule, rejection, *tokens))]
    RateLimited {
        /// The deciding rule's name, or `consumer` for a consumer's own
        /// limits (the `{rule}` metric label).
        rule: Arc<str>,
        rejection: Box<Rejection>,
        /// Tokens the request tried to reserve.
        tokens: u64,
    },
    #[error(
        "Consumer `{consumer}` has used its budget of ${budget_usd:.2} per {period}: ${spent_usd:.4} spent this period. Requests are refused until the period renews in {}s; ask the gateway operator to raise the budget.", renews_in.as_secs()
    )]
    QuotaExceeded {
        consumer: String,
        budget_usd: f64,
        spent_usd: f64,
        period: String,
        renews_in: Duration,
    },
    #[error(
        "The rate limiter cannot count this request: its store is unavailable ({0}) and `redis.onError` is `deny`. Retry in a few seconds; the operator can check Redis or set `onError: allow`."
    )]
    LimiterUnavailable(String),
    #[error("Internal error: {0}. This is a bug in the gateway; please report it.")]
    Internal(String),
}

/// The provider types whose catalog entry offers `api` (by its name).
fn offered_by(api: &str) -> String {
    let types: Vec<&str> = switchyard_providers::CATALOG
        .iter()
        .filter(|k| {
            switchyard_providers::Api::ALL
                .iter()
                .any(|a| a.name() == api && k.supports(*a))
        })
        .map(|k| k.name)
        .collect();
    if types.is_empty() {
        "none".into()
    } else {
        types.join(", ")
    }
}

fn limit_name(l: &Limit) -> String {
    let kind = match l.kind {
        Kind::Requests => "requests",
        Kind::Tokens => "tokens",
        Kind::Spend => "usd",
    };
    let per = match l.per {
        Per::Second => "Second",
        Per::Minute => "Minute",
        Per::Hour => "Hour",
        Per::Day => "Day",
    };
    format!("{kind}Per{per}: {}", l.amount)
}

fn rate_limited_message(rule: &str, r: &Rejection, tokens: u64) -> String {
    let whose = if rule == "consumer" {
        "your consumer's limit".to_string()
    } else {
        format!("rate limit rule `{rule}`")
    };
    match r.reason {
        Reason::NeverFits => format!(
            "This request needs {tokens} tokens (prompt estimate plus max_tokens or the output reserve), more than {whose} allows in a whole window ({}), so it can never be admitted. Ask for fewer tokens (lower max_tokens, shorten the prompt) or ask the operator to raise the limit.",
            limit_name(&r.limit)
        ),
        Reason::Exceeded => format!(
            "Rate limit reached: {whose} ({}) has no room for this request now. Retry after {}s (see the Retry-After and x-ratelimit-* headers).",
            limit_name(&r.limit),
            r.retry_after_secs().unwrap_or(1).max(1)
        ),
    }
}

impl GatewayError {
    pub fn status(&self) -> StatusCode {
        use GatewayError::*;
        match self {
            BadRequest(_)
            | BodyRead(_)
            | UnsupportedApi { .. }
            | Translation(_)
            | Form(_)
            | NoProviderNamed { .. } => StatusCode::BAD_REQUEST,
            BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyReadTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            NoRoute { .. }
            | UnknownEndpoint { .. }
            | ModelNotFound { .. }
            | ResponseNotFound { .. }
            | UnknownProvider { .. } => StatusCode::NOT_FOUND,
            NotServed { .. } => StatusCode::NOT_IMPLEMENTED,
            MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            UpstreamConnect { .. } | UpstreamBroken { .. } => StatusCode::BAD_GATEWAY,
            UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            NoCredential { .. } | LimiterUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            RateLimited { .. } | QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            MissingApiKey { .. } | InvalidApiKey => StatusCode::UNAUTHORIZED,
            PermissionDenied { .. } | ModelNotAllowed { .. } => StatusCode::FORBIDDEN,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind_and_code(&self) -> (ErrorKind, &'static str, Option<&'static str>) {
        use GatewayError::*;
        match self {
            BadRequest(RequestError::InvalidJson(_)) => {
                (ErrorKind::InvalidRequest, "invalid_json", None)
            }
            BadRequest(RequestError::MissingModel) => {
                (ErrorKind::InvalidRequest, "missing_model", Some("model"))
            }
            BadRequest(RequestError::InvalidField { field, .. }) => {
                (ErrorKind::InvalidRequest, "invalid_type", Some(field))
            }
            BodyRead(_) => (ErrorKind::InvalidRequest, "body_unreadable", None),
            BodyReadTimeout { .. } => (ErrorKind::InvalidRequest, "request_timeout", None),
            Translation(_) => (ErrorKind::InvalidRequest, "untranslatable_request", None),
            BodyTooLarge { .. } => (ErrorKind::InvalidRequest, "request_too_large", None),
            NoRoute { .. } => (ErrorKind::InvalidRequest, "model_not_found", Some("model")),
            UnsupportedApi { .. } => (ErrorKind::InvalidRequest, "unsupported_api", None),
            Form(_) => (ErrorKind::InvalidRequest, "invalid_form", None),
            UnknownProvider { .. } => (ErrorKind::InvalidRequest, "provider_not_found", None),
            NoProviderNamed { .. } => (ErrorKind::InvalidRequest, "missing_provider", None),
            UnknownEndpoint { .. } => (ErrorKind::InvalidRequest, "unknown_url", None),
            NotServed { .. } => (ErrorKind::InvalidRequest, "unsupported_api", None),
            ModelNotFound { .. } => (ErrorKind::InvalidRequest, "model_not_found", Some("model")),
            ResponseNotFound { .. } => (ErrorKind::InvalidRequest, "response_not_found", None),
            MethodNotAllowed { .. } => (ErrorKind::InvalidRequest, "method_not_allowed", None),
            UpstreamConnect { .. } => (ErrorKind::Upstream, "upstream_unreachable", None),
            UpstreamBroken { .. } => (ErrorKind::Upstream, "upstream_error", None),
            UpstreamTimeout { .. } => (ErrorKind::Timeout, "upstream_timeout", None),
            NoCredential { .. } => (ErrorKind::Upstream, "no_healthy_credential", None),
            MissingApiKey { .. } | InvalidApiKey => {
                (ErrorKind::Authentication, "invalid_api_key", None)
            }
            PermissionDenied { .. } => (ErrorKind::Permission, "permission_denied", None),
            ModelNotAllowed { .. } => (ErrorKind::Permission, "model_not_allowed", Some("model")),
            RateLimited { .. } => (ErrorKind::RateLimit, "rate_limit_exceeded", None),
            QuotaExceeded { .. } => (ErrorKind::RateLimit, "insufficient_quota", None),
            LimiterUnavailable(_) => (ErrorKind::Upstream, "limiter_unavailable", None),
            Internal(_) => (ErrorKind::Internal, "internal_error", None),
        }
    }

    /// The error's code, as in its body (`model_not_found`, ...).
    pub fn code(&self) -> &'static str {
        self.kind_and_code().1
    }

    pub fn body(&self) -> ErrorBody {
        let (kind, code, param) = self.kind_and_code();
        ErrorBody {
            message: self.to_string(),
            kind,
            code,
            param,
        }
    }

    /// Seconds for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            GatewayError::NoCredential { retry_after, .. } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
            GatewayError::RateLimited { rejection, .. } => {
                rejection.retry_after_secs().map(|s| s.max(1))
            }
            GatewayError::QuotaExceeded { renews_in, .. } => {
                Some(renews_in.as_secs_f64().ceil().max(1.0) as u64)
            }
            _ => None,
        }
    }

    /// Whether another attempt (another credential, another provider) could
    /// succeed where this one failed.
    pub fn is_upstream_failure(&self) -> bool {
        matches!(
            self,
            GatewayError::UpstreamConnect { .. }
                | GatewayError::UpstreamBroken { .. }
                | GatewayError::UpstreamTimeout { .. }
        )
    }
}
