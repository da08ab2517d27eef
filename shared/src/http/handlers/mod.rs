//! One module per resource; each handler turns a request into domain values, calls one use
//! case and turns its result into a response.

pub mod account;
pub mod auth;
pub mod blocks;
pub mod feed;
pub mod follow;
pub mod interact;
pub mod meta;
pub mod notifications;
pub mod posts;
pub mod users;
