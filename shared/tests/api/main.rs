//! Integration tests: the real server, started in this process on a free port over a fresh data
//! folder, driven over HTTP.

mod accounts;
mod blocks;
mod conversations;
mod errors;
mod idempotency;
mod limits;
mod openapi;
mod operability;
mod restart;
mod safety;
mod story;
mod tokens;
