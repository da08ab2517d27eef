-- Reposts (DESIGN 4.2): one per (post, user), counted in posts.repost_count in the same
-- transaction; newest first for the reposts page.
CREATE TABLE reposts (
    post_id     TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    reposted_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX reposts_newest_first ON reposts (post_id, reposted_at DESC, user_id DESC);
CREATE INDEX reposts_by_user ON reposts (user_id, reposted_at DESC);
