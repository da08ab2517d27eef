-- Reposts (DESIGN 4.2): one per (post, user), counted in posts.repost_count in the same
-- transaction; newest first for the reposts page. The SQLite adapter's
-- 20261130000003_reposts.sql, in T-SQL.
--
-- No foreign keys, as for likes: deleting a post deletes its reposts in the same transaction
-- (the adapter's DELETE_POST).

CREATE TABLE reposts (
    post_id     BINARY(16)   NOT NULL,
    user_id     BINARY(16)   NOT NULL,
    reposted_at DATETIME2(3) NOT NULL,
    CONSTRAINT pk_reposts PRIMARY KEY (post_id, user_id)
);

-- A post's reposters, newest repost first.
CREATE INDEX ix_reposts_newest_first ON reposts (post_id, reposted_at DESC, user_id DESC);

-- A user's reposts, newest first.
CREATE INDEX ix_reposts_by_user ON reposts (user_id, reposted_at DESC);
