//! Routing decisions, kept free of network I/O: which route serves a
//! requested model ([`RouteTable`], [`Glob`]), which upstream model name it
//! becomes ([`ModelMapper`]), which credential an attempt uses ([`Pool`]),
//! and the health of each credential ([`health`]), shared between
//! instances through a [`HealthShare`] ([`share`]).

mod glob;
pub mod health;
mod health_store;
mod mapping;
mod pool;
mod recovery;
mod retry;
pub mod share;
mod status;
mod table;

pub use glob::Glob;
pub use health::{CredentialHealth, HealthPolicy, HealthSnapshot, Recovery, Transition};
pub use health_store::{CredentialKey, HealthStore, MemoryHealthStore, credential_key};
pub use mapping::{MappingError, ModelMapper};
pub use pool::{Pool, Selection, Tried};
pub use retry::RetryPolicy;
pub use share::{HealthShare, LocalOnly, RemoteChange, RemoteOut};
pub use status::StatusSet;
pub use table::RouteTable;
