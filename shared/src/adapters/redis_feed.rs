//! Redis feeds (redis, connection manager).
