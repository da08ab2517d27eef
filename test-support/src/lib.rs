//! What Rookery's test suites share, as a crate of its own (no `#[path]` includes): where the
//! real services are ([`services`]), a server started in process with request helpers
//! ([`app`]), secrets put into the test Secrets Manager ([`secrets`]), a fixed token key ([`keys`]), and what
//! the tests read of template.yaml ([`template`]). A dev-dependency of the
//! shared crate and of the root package.

pub mod app;
pub mod keys;
pub mod secrets;
pub mod services;
pub mod telemetry;
pub mod template;

pub use app::{Backend, Reply, TestApp, eventually};
pub use services::{host_port, service_url};
