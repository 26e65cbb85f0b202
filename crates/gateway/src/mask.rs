//! Credentials never appear whole in logs, errors, metrics or `Debug`
//! output. The masking itself lives in `switchyard-providers`, below the
//! config and routing crates, so their `Debug` impls mask the same way.

pub use switchyard_providers::mask_credential;
