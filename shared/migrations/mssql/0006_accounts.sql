-- Accounts and tokens (DESIGN 4.3): bios, user search, sessions with hashed refresh tokens,
-- and the indexes that let an account be erased without scanning other users' rows. The
-- SQLite adapter's 20261130000005_accounts.sql, in T-SQL.
--
-- The new columns are NOT NULL with a default, so existing users get an empty bio and key.
-- bio: at most 160 characters, so 320 UTF-16 units (see 0001_initial.sql).
-- display_name_key: the display name in lower case (Rust's Unicode lower-casing, written by
-- the adapter), under a binary collation as username_key, so that a search by prefix seeks
-- an index and matches exactly as SQLite's does, whatever the database's default collation.
-- Lower-casing 50 characters may add a combining mark (U+0130 becomes i and U+0307); 100
-- UTF-16 units hold either that or 50 characters outside the BMP.
ALTER TABLE users ADD bio NVARCHAR(320) NOT NULL CONSTRAINT df_users_bio DEFAULT N'';
ALTER TABLE users ADD display_name_key NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL
    CONSTRAINT df_users_display_name_key DEFAULT N'';
GO

-- LOWER() maps one character to one, by display_name's collation (the database's default),
-- so a key of a name written before this migration may differ from Rust's lower case (U+0130,
-- or letters an older collation's tables do not fold) until the name is next changed; the
-- adapter writes the key from then on.
UPDATE users SET display_name_key = LOWER(display_name);

-- The display-name half of a user search (the username half is ux_users_username_key).
CREATE INDEX ix_users_display_name_key ON users (display_name_key, username_key);

-- A login session. No foreign key to users: a revoked session outlives its user, so that the
-- access tokens it issued stay refused after an erasure.
CREATE TABLE sessions (
    id         BINARY(16)   NOT NULL CONSTRAINT pk_sessions PRIMARY KEY,
    user_id    BINARY(16)   NOT NULL,
    created_at DATETIME2(3) NOT NULL,
    revoked_at DATETIME2(3) NULL
);

-- A user's sessions (a password change or an erasure revokes them all).
CREATE INDEX ix_sessions_user_id ON sessions (user_id);

-- The sessions revoked since a time. A plain index, not one filtered on revoked_at IS NOT
-- NULL (see 0001_initial.sql): the live sessions' NULLs sort together at one end.
CREATE INDEX ix_sessions_revoked_at ON sessions (revoked_at);

-- Every refresh token a session went through, by the SHA-256 of the token (32 bytes, as
-- schema_migrations keeps its checksums): spent ones stay, so that presenting one again is
-- recognised as reuse.
CREATE TABLE refresh_tokens (
    hash       BINARY(32)   NOT NULL CONSTRAINT pk_refresh_tokens PRIMARY KEY,
    session_id BINARY(16)   NOT NULL
        CONSTRAINT fk_refresh_tokens_session REFERENCES sessions (id),
    expires_at DATETIME2(3) NOT NULL,
    spent_at   DATETIME2(3) NULL
);

CREATE INDEX ix_refresh_tokens_session_id ON refresh_tokens (session_id);

-- An erasure's likes given, notifications caused and mentions received.
CREATE INDEX ix_likes_user_id ON likes (user_id);
CREATE INDEX ix_notifications_actor_id ON notifications (actor_id);
CREATE INDEX ix_post_mentions_user_id ON post_mentions (user_id);
