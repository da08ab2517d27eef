//! Adapters: each implements one or more ports over one technology, and only translates.

pub mod cached_views;
pub mod cypher;
pub mod folder_mailer;
pub mod in_process_bus;
pub mod memory_feed;
pub mod memory_limiter;
pub mod memory_slots;
#[cfg(feature = "mssql")]
pub mod mssql;
pub mod rabbitmq;
pub mod redis;
pub mod smtp_mailer;
#[cfg(feature = "sqlite")]
pub mod sqlite;
