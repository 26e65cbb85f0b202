//! The provider catalog: for each provider `type`, where it lives, which
//! path serves each API and how a credential is presented.
//!
//! The catalog is a static table ([`CATALOG`]); [`Endpoint`] combines a
//! catalog entry with a provider's overrides (`baseUrl`, `providerDomain`,
//! `providerBasePath`, vendor fields) into the concrete origin and paths the
//! gateway calls. Nothing here does I/O.

mod catalog;
mod endpoint;
mod known_models;
mod mask;
mod sigv4;
pub mod vertex_auth;

pub use catalog::{Api, AuthScheme, CATALOG, Dialect, ProviderKind, lookup, type_names};
pub use endpoint::{Endpoint, EndpointError, EndpointOptions, Scheme};
pub use known_models::catalog_models;
pub use mask::mask_credential;
pub use sigv4::{SigV4, SignedHeaders, percent_decode};
