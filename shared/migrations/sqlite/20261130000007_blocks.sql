-- Blocks and mutes (DESIGN 4.4): one row per (user, kind, other). Readers filter by them in
-- bulk: everything a reader hides is one range of the primary key plus one of the index on
-- `other_id` (who blocks the reader).
CREATE TABLE restrictions (
    user_id    TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('block', 'mute')),
    other_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind, other_id)
) STRICT, WITHOUT ROWID;

-- Who blocks a user (the other side of a block hides too).
CREATE INDEX restrictions_by_other ON restrictions (other_id, kind, user_id);

-- A user's blocks or mutes, newest first, for `GET /me/blocks` and `GET /me/mutes`.
CREATE INDEX restrictions_newest_first ON restrictions (user_id, kind, created_at DESC, other_id DESC);
