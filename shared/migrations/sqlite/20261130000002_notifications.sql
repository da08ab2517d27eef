-- Notifications (DESIGN 4.2): at most one per (recipient, kind, actor, post), newest first.
-- post_id is '' for a follow, so that the uniqueness holds for those too (NULLs never clash).
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY NOT NULL,
    recipient  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    post_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read       INTEGER NOT NULL DEFAULT 0,
    UNIQUE (recipient, kind, actor_id, post_id)
) STRICT;

CREATE INDEX notifications_newest_first ON notifications (recipient, id DESC);
CREATE INDEX notifications_unread ON notifications (recipient) WHERE read = 0;
CREATE INDEX notifications_by_post ON notifications (post_id) WHERE post_id <> '';
