//! What Rookery's test suites share, as a crate of its own (no `#[path]` includes): where the
//! real services are ([`services`]), and a server started in process with request helpers
//! ([`app`]). A dev-dependency of the shared crate and of the root package.

pub mod app;
pub mod services;

pub use app::{Backend, Reply, TestApp, eventually};
pub use services::{host_port, service_url};
