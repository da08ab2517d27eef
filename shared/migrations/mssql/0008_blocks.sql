-- Blocks and mutes (DESIGN 4.4): one row per (user, kind, other). The SQLite adapter's
-- 20261130000007_blocks.sql, in T-SQL. Foreign keys to users, so that a block racing an
-- erasure fails instead of outliving the user (the erasure deletes both sides' rows first).

CREATE TABLE restrictions (
    user_id    BINARY(16)   NOT NULL CONSTRAINT fk_restrictions_user REFERENCES users (id),
    kind       VARCHAR(5)   NOT NULL CONSTRAINT ck_restrictions_kind CHECK (kind IN ('block', 'mute')),
    other_id   BINARY(16)   NOT NULL CONSTRAINT fk_restrictions_other REFERENCES users (id),
    created_at DATETIME2(3) NOT NULL,
    CONSTRAINT pk_restrictions PRIMARY KEY (user_id, kind, other_id)
);

-- Who blocks a user (the other side of a block hides too).
CREATE INDEX ix_restrictions_by_other ON restrictions (other_id, kind, user_id);

-- A user's blocks or mutes, newest first, for GET /me/blocks and GET /me/mutes.
CREATE INDEX ix_restrictions_newest_first ON restrictions (user_id, kind, created_at DESC, other_id DESC);
