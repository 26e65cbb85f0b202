//! The gateway: HTTP server, upstream client and streaming relay.
//!
//! Request lifecycle (see `docs/request-lifecycle.md`):
//! 1. [`server`] accepts connections and hands each request to [`handler`].
//! 2. [`handler`] reads the body (bounded by `maxBodyBytes`), parses the
//!    model, picks the route ([`runtime`]) and maps the model.
//! 3. [`proxy`] builds the upstream request for that provider's endpoint,
//!    sends it with the provider's deadlines and turns failures into
//!    [`error::GatewayError`]s.
//! 4. [`body`] relays the answer: passthrough for JSON, event by event for
//!    SSE ([`relay`]).

pub mod admin;
pub mod body;
pub mod error;
pub mod handler;
pub mod health_check;
pub mod mask;
pub mod proxy;
pub mod relay;
pub mod runtime;
pub mod server;
pub mod telemetry;
pub mod translate;
pub mod upstream;
pub mod vertex;

pub use error::GatewayError;
pub use mask::mask_credential;
pub use runtime::{BuildError, Runtime};
pub use server::{Gateway, serve};
