//! What a failed attempt means. One classifier decides for retries
//! (`retryOnStatus`), credential health (`failoverOnStatus`) and route
//! fallback (`onStatus`): an answer's status is looked up in the set, and a
//! transport failure (no connection, timeout, broken or unusable answer)
//! always counts, since another credential or provider may do better.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use switchyard_routing::StatusSet;

use super::Upstream;
use crate::error::GatewayError;
use crate::telemetry::FailureKind;

/// Why an attempt did not serve the request.
pub enum Failure {
    /// The provider answered with a non-2xx status; kept to relay as is if
    /// nothing else serves the request.
    Status {
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    },
    /// No usable answer, with its typed cause.
    Error {
        kind: FailureKind,
        error: GatewayError,
    },
}

impl Failure {
    pub fn error(kind: FailureKind, error: GatewayError) -> Failure {
        Failure::Error { kind, error }
    }

    /// Whether this failure is one `set` names: the status is in it, or
    /// the upstream failed without a usable answer.
    pub fn matches(&self, set: &StatusSet) -> bool {
        match self {
            Failure::Status { status, .. } => set.contains(status.as_u16()),
            Failure::Error { error, .. } => error.is_upstream_failure(),
        }
    }

    pub fn kind(&self) -> FailureKind {
        match self {
            Failure::Status { .. } => FailureKind::Status,
            Failure::Error { kind, .. } => *kind,
        }
    }

    /// For logs, health records and the access log.
    pub fn reason(&self) -> String {
        match self {
            Failure::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Failure::Error { error, .. } => error.to_string(),
        }
    }
}

/// A send that failed before any answer: could not connect, or the
/// connection broke.
pub fn send_error(up: &Upstream, e: super::client::SendError) -> Failure {
    match e {
        super::client::SendError::Connect(cause) => Failure::error(
            FailureKind::Connect,
            GatewayError::UpstreamConnect {
                provider: up.id.to_string(),
                origin: up.endpoint.origin(),
                cause,
            },
        ),
        super::client::SendError::Broken(cause) => broken(up, FailureKind::Broken, cause),
    }
}

/// The connection broke, or (`Translation`) the answer was unusable.
pub fn broken(up: &Upstream, kind: FailureKind, cause: String) -> Failure {
    Failure::error(
        kind,
        GatewayError::UpstreamBroken {
            provider: up.id.to_string(),
            origin: up.endpoint.origin(),
            cause,
        },
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn one_rule_for_statuses_and_transport_failures() {
        let set = StatusSet::parse(&["429", "5.*"]).unwrap();
        let status = |s: u16| Failure::Status {
            status: StatusCode::from_u16(s).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        };
        assert!(status(429).matches(&set));
        assert!(status(503).matches(&set));
        assert!(!status(400).matches(&set));
        let timeout = Failure::error(
            FailureKind::Timeout,
            GatewayError::UpstreamTimeout {
                provider: "p".into(),
                after: std::time::Duration::from_secs(1),
                which: "timeout",
            },
        );
        assert!(timeout.matches(&set));
        assert!(timeout.matches(&StatusSet::parse(&["418"]).unwrap()));
        assert_eq!(timeout.kind(), FailureKind::Timeout);
        let internal = Failure::error(FailureKind::Broken, GatewayError::Internal("x".into()));
        assert!(!internal.matches(&set));
    }
}
