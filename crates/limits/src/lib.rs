//! Rate limits as pure logic: sliding windows of sub-buckets ([`Per`]) over
//! a [`LimitStore`] that does only atomic primitives ([`MemoryStore`] here;
//! a Redis store later). No I/O, no clock: every call takes `now`.

mod format;
mod memory;
mod store;
mod window;

pub use format::format_reset;
pub use memory::MemoryStore;
pub use store::{Adjust, Check, LimitStore, Usage};
pub use window::{Kind, Limit, Per, Slot};
