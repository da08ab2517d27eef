-- Notifications (DESIGN 4.2): at most one per (recipient, kind, actor, post), newest first. The
-- SQLite adapter's 20261130000002_notifications.sql, in T-SQL.
--
-- post_id is NOT NULL: a notification without a post (a follow) stores 16 zero bytes, the nil
-- UUID, which is never a UUIDv7 and so never a post's id (SQLite stores '' for the same
-- reason). The uniqueness then holds for follows too with a plain unique index, and the
-- adapter's duplicate probe is one equality seek on it. NULL with a unique index filtered on
-- post_id IS NOT NULL would need a second index for the follows, and filtered indexes make
-- every write to the table depend on the session's SET options (see 0001_initial.sql).
--
-- No foreign keys, as in SQLite: deleting a post deletes its notifications in the same
-- transaction (the adapter's DELETE_POST), and a notification whose actor is gone is left out
-- of what is read. kind is one of the domain's names (follow, like, repost, reply, mention),
-- compared exactly under a binary collation. The read flag is is_read: READ is a reserved word
-- in T-SQL.

CREATE TABLE notifications (
    id         BINARY(16)   NOT NULL CONSTRAINT pk_notifications PRIMARY KEY,
    recipient  BINARY(16)   NOT NULL,
    kind       VARCHAR(20)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    actor_id   BINARY(16)   NOT NULL,
    post_id    BINARY(16)   NOT NULL,
    created_at DATETIME2(3) NOT NULL,
    is_read    BIT          NOT NULL CONSTRAINT df_notifications_is_read DEFAULT 0
);

-- The adapter reads a duplicate in this index (error 2601) as "already notified".
CREATE UNIQUE INDEX ux_notifications_once ON notifications (recipient, kind, actor_id, post_id);

-- A recipient's notifications, newest first (the keyset pages and marking read up to one).
CREATE INDEX ix_notifications_newest_first ON notifications (recipient, id DESC)
    INCLUDE (kind, actor_id, post_id, created_at, is_read);

-- The unread count. A plain index, not one filtered on is_read = 0 (see above).
CREATE INDEX ix_notifications_unread ON notifications (recipient, is_read) INCLUDE (actor_id);

-- A deleted post's notifications. The follows' zero post_id sort together at one end.
CREATE INDEX ix_notifications_post_id ON notifications (post_id);
