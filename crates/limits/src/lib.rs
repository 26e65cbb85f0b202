//! Rate limits as pure logic: sliding windows of sub-buckets ([`Per`]),
//! reserve before the upstream call and settle after it ([`Limiter`]), over
//! a [`LimitStore`] that does only atomic primitives ([`MemoryStore`] here;
//! the Redis store is in `switchyard-store`). No I/O, no clock: every call takes `now`.
//!
//! See `docs/limits.md` for the windows and a worked example.

mod budget;
mod format;
mod limiter;
mod memory;
mod store;
mod window;

pub use budget::{Budget, BudgetState, to_micro_usd};
pub use format::format_reset;
pub use limiter::{
    Demand, HEADER_NAMES, Limiter, RateHeaders, RateInfo, Reason, Rejection, Reservation,
    ReserveError, Rule,
};
pub use memory::MemoryStore;
pub use store::{Adjust, Check, LimitStore, StoreError, Usage};
pub use window::{Kind, Limit, Per, Slot};
