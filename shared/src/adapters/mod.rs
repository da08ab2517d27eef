//! Adapters: each implements one or more ports over one technology, and only translates.

pub mod folder_mailer;
pub mod in_process_bus;
pub mod memory_feed;
pub mod sqlite;
