//! Routing decisions, kept free of I/O: which route serves a requested model
//! ([`RouteTable`], [`Glob`]) and which upstream model name it becomes
//! ([`ModelMapper`]).

mod glob;
mod mapping;
mod table;

pub use glob::Glob;
pub use mapping::{MappingError, ModelMapper};
pub use table::RouteTable;
