//! The gateway: HTTP server, request pipeline, upstream attempts and
//! streaming relay, over a runtime whose configuration can be swapped live.
//!
//! - [`server`]: listeners, connection limit, graceful shutdown.
//! - [`pipeline`]: one request's phases, in order (identify, parse, route,
//!   authorize, admit, cache, attempts, finish); see
//!   `docs/request-lifecycle.md`.
//! - [`upstream`]: one provider: its requests, attempts and the failure
//!   classifier.
//! - [`relay`]: streamed answers, event by event, translated if need be.
//! - [`runtime`]: shared services plus the swapped configuration snapshot,
//!   and reloads.
//! - [`telemetry`]: what each request did, accounted when it ends.
//! - [`models`]: `GET /v1/models`, with each provider's own list fetched
//!   in the background.

pub mod admin;
pub mod body;
pub mod error;
pub mod health_check;
pub mod health_sync;
mod http1;
pub mod mask;
pub mod models;
pub mod pipeline;
pub mod relay;
pub mod responses;
pub mod runtime;
pub mod server;
pub mod telemetry;
pub mod translate;
pub mod upstream;
pub mod vertex;

pub use error::GatewayError;
pub use mask::mask_credential;
pub use runtime::{BuildError, ConfigSource, Runtime, Trigger};
pub use server::{Gateway, serve};
