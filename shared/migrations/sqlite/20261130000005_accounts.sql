-- Accounts and tokens (DESIGN 4.3): bios, user search, sessions with hashed refresh tokens,
-- and the indexes that let an account be erased without scanning other users' rows.

ALTER TABLE users ADD COLUMN bio TEXT NOT NULL DEFAULT '';
-- The display name in lower case (Rust's Unicode lower-casing, written by the adapter), so a
-- search by prefix is an index range. lower() here folds ASCII only; the names written before
-- this migration are ASCII-folded until they are next changed.
ALTER TABLE users ADD COLUMN display_name_key TEXT NOT NULL DEFAULT '';
UPDATE users SET display_name_key = lower(display_name);
CREATE INDEX users_by_display_name ON users (display_name_key, username_key);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL,            -- no foreign key: a revoked session outlives its user
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- Every refresh token a session went through, by SHA-256 hash: spent ones stay until they
-- expire, so that presenting one again is recognised as reuse.
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE INDEX likes_by_user ON likes (user_id);
CREATE INDEX notifications_by_actor ON notifications (actor_id);
CREATE INDEX post_mentions_by_user ON post_mentions (user_id);
