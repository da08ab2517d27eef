-- Users, posts, follow edges, outbox and processed events: the embedded source of truth.
-- Times are Unix milliseconds; ids are UUIDv7 text, whose text order is their time order.

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    username      TEXT NOT NULL,
    username_key  TEXT NOT NULL UNIQUE,   -- lower-cased: uniqueness ignores case
    email         TEXT NOT NULL UNIQUE,   -- stored lower-cased
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE posts (
    id         TEXT PRIMARY KEY NOT NULL,
    author_id  TEXT NOT NULL REFERENCES users (id),
    content    TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX posts_by_author ON posts (author_id, id DESC);

CREATE TABLE graph_nodes (
    user_id TEXT PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE follows (
    follower_id TEXT NOT NULL,
    followee_id TEXT NOT NULL,
    since       INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX follows_by_followee ON follows (followee_id, since DESC, follower_id DESC);
CREATE INDEX follows_by_follower_since ON follows (follower_id, since DESC, followee_id DESC);
CREATE INDEX follows_by_followee_id ON follows (followee_id, follower_id);

-- Follower counts, kept in the same transaction as the edges, so that "authors with at least N
-- followers" (hybrid fan-out) is an index range scan, not a count per followee.
CREATE TABLE follower_counts (
    user_id   TEXT PRIMARY KEY NOT NULL,
    followers INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL,       -- the whole event envelope, as JSON
    occurred_at     INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         INTEGER,
    given_up_at     INTEGER
) STRICT;

CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL AND given_up_at IS NULL;

CREATE TABLE processed_events (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at INTEGER NOT NULL,
    PRIMARY KEY (consumer, event_id)
) STRICT, WITHOUT ROWID;
