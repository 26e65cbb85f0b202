//! Where shared state is kept. The logic (sliding windows, reserve and
//! settle, budgets, health transitions) lives in `switchyard-limits` and
//! `switchyard-routing`; a store only does atomic primitives:
//! - in memory, for one instance (the default);
//! - in Redis, so every instance counts in one place (`redis:` in the
//!   configuration).
//!
//! [`Counters`] is the store the gateway's limiter counts in, whichever it is.

mod counters;

pub use counters::Counters;
