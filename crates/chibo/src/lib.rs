//! What the `chibo` package shares beyond its command: the demo province's generator, which
//! `chibo demo` submits and `chibo-bench` (crates/bench) drives a server with, and the bearer
//! credential every client call carries, and the offline check of a data directory that `chibo
//! verify --data` makes and `chibo-bench verify` measures.

mod bearer;
pub mod demo;
pub mod offline;

pub use bearer::Bearer;
