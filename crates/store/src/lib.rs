//! Where shared state is kept. The logic (sliding windows, reserve and
//! settle, budgets, health transitions) lives in `switchyard-limits` and
//! `switchyard-routing`; a store only does atomic primitives:
//! - in memory, for one instance (the default);
//! - in Redis, so every instance counts in one place (`redis:` in the
//!   configuration).
//!
//! [`Counters`] is the store the gateway's limiter counts in, whichever it
//! is: [`Counters::redis`] over the process's [`RedisConn`] (or
//! [`Counters::from_config`], which makes one), memory without `redis:`,
//! then [`Counters::into_limiter`] (Unix-millisecond timeline, which
//! instances sharing a Redis need). Errors surface as
//! `ReserveError::Store` from `Limiter::reserve` and `StoreError` from
//! `Limiter::settle`, only under `onError: deny`; under `allow`
//! ([`Fallback`]) the instance counts locally while Redis is away.
//!
//! [`RedisHealth`] shares credential health between instances (the
//! transitions themselves are `switchyard-routing`'s), over the same
//! [`RedisConn`] as the limit store: build one per process and hand a clone
//! to both ([`Counters::redis`], [`RedisHealth::new`]).
//!
//! Choices in the Redis store ([`redis`]):
//! - `redis-rs` with its `ConnectionManager`: one multiplexed connection
//!   per process, reconnecting by itself; made lazily so the gateway starts
//!   while Redis is down. Every call is bounded by `redis.timeout`; after a
//!   connection failure calls fail fast but for one probe per 500 ms, so an
//!   outage costs no latency and Redis is used again within about a second
//!   of coming back.
//! - Two Lua scripts (check-and-charge, adjust), one `EVALSHA` per
//!   operation (reloaded by redis-rs after a Redis restart): Redis runs a
//!   script alone, so no instance sees half a reservation.
//! - Keys `<prefix>:rl:{<key>}:<slot>`, the limit key percent-encoded where
//!   it holds `%`, `{`, `}` or control characters; TTLs are relative
//!   (`PEXPIRE`), so nothing depends on Redis's clock.
//! - [`RedisConn`] is shared: every command of every store goes through
//!   [`RedisConn::call`] (timeout, fail-fast, error metric by operation,
//!   log); [`RedisConn::prefix`] is the key prefix they all use.
//! - Errors: `switchyard_store_errors_total{store="redis",op}`; one warning
//!   per 10 s while Redis fails, one info line when it answers; no message,
//!   log or `Debug` holds the URL's password.

mod blobs;
mod counters;
mod fallback;
pub mod health;
pub mod redis;
#[cfg(feature = "testing")]
pub mod testing;

pub use crate::redis::{RedisConn, RedisLimits};
pub use blobs::RedisBlobs;
pub use counters::{Counters, unix_ms_now};
pub use fallback::Fallback;
pub use health::RedisHealth;
