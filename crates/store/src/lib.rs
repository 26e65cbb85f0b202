//! Where shared state is kept. The logic (sliding windows, reserve and
//! settle, budgets, health transitions) lives in `switchyard-limits` and
//! `switchyard-routing`; a store only does atomic primitives:
//! - in memory, for one instance (the default);
//! - in Redis, so every instance counts in one place (`redis:` in the
//!   configuration).
//!
//! [`Counters`] is the store the gateway's limiter counts in, whichever it is.
//! [`RedisHealth`] shares credential health between instances (the
//! transitions themselves are `switchyard-routing`'s).

mod counters;
pub mod health;

pub use counters::Counters;
pub use health::RedisHealth;
