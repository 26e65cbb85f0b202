//! The OpenAI error shape: `{"error":{"message","type","code","param"}}`.

use serde::Serialize;

/// The `type` of an OpenAI-style error, chosen so that SDKs map it to the
/// right exception class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400, 404, 413: the request itself is wrong.
    InvalidRequest,
    /// 401: missing or wrong client credential.
    Authentication,
    /// 403: a known client that is not allowed.
    Permission,
    /// 429: a limit was hit.
    RateLimit,
    /// 502, 503: the upstream could not be reached or has no usable credential.
    Upstream,
    /// 504: the upstream did not answer in time.
    Timeout,
    /// 500: a bug in the gateway.
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Upstream => "upstream_error",
            ErrorKind::Timeout => "timeout_error",
            ErrorKind::Internal => "internal_error",
        }
    }
}

/// A gateway-made error, ready to be serialised into the OpenAI shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    pub message: String,
    pub kind: ErrorKind,
    /// A stable machine-readable code, e.g. `model_not_found`.
    pub code: &'static str,
    /// The request parameter at fault, if any.
    pub param: Option<&'static str>,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    code: &'static str,
    param: Option<&'static str>,
}

impl ErrorBody {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        ErrorBody {
            message: message.into(),
            kind,
            code,
            param: None,
        }
    }

    pub fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    /// `{"error":{...}}` as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let env = Envelope {
            error: Inner {
                message: &self.message,
                kind: self.kind.as_str(),
                code: self.code,
                param: self.param,
            },
        };
        // Serialising plain strings into a Vec cannot fail.
        serde_json::to_vec(&env).unwrap_or_default()
    }

    /// The same error as one SSE event (`data: {...}\n\n`), for failures
    /// after a stream has started.
    pub fn to_sse_event(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.message.len() + 96);
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&self.to_json());
        out.extend_from_slice(b"\n\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_openai() {
        let e = ErrorBody::new(ErrorKind::InvalidRequest, "missing_model", "say \"model\"")
            .with_param("model");
        let v: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(v["error"]["message"], "say \"model\"");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "missing_model");
        assert_eq!(v["error"]["param"], "model");
        let sse = e.to_sse_event();
        assert!(sse.starts_with(b"data: {\"error\""));
        assert!(sse.ends_with(b"\n\n"));
    }
}
