//! What the `chibo` package shares beyond its command: the demo province's generator, which
//! `chibo demo` submits and `chibo-bench` (crates/bench) drives a server with.

pub mod demo;
