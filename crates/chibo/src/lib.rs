//! What the `chibo` package shares beyond its command: the demo province's generator, which
//! `chibo demo` submits and `chibo-bench` (crates/bench) drives a server with, and the bearer
//! credential every client call carries.

mod bearer;
pub mod demo;

pub use bearer::Bearer;
