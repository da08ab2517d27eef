//! Rookery: a social-media backend shipped as AWS Lambda functions. This crate holds what every
//! function shares: the domain, the use cases, the ports and their adapters, and the HTTP glue.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod http;
pub mod lambda;
pub mod ports;
pub mod server;
pub mod services;
pub mod telemetry;
pub mod wiring;

/// mimalloc for every binary that links this crate (the server, the functions, the tests):
/// under load glibc's malloc spent a fifth of the server's CPU, mostly in its arena locks and
/// consolidation, for the many small short-lived allocations of a request.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
