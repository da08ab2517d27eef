-- A repost's place in feeds (DESIGN 4.2): a time-ordered key (UUIDv7, BINARY(16) as the ids)
-- minted when the repost is made, compared with post ids (a post's own place) in the feeds'
-- order. Rows from before this migration have none (NULL) and stay out of feeds. The SQLite
-- adapter's 20261130000004_repost_entries.sql, in T-SQL.
ALTER TABLE reposts ADD entry_id BINARY(16) NULL;
GO

-- A user feed's reposts (and the home feed's, per author), and "did someone in the audience
-- repost this post earlier". The clustered key (post_id, user_id) rides along in both.
CREATE INDEX ix_reposts_by_user_entry ON reposts (user_id, entry_id);
CREATE INDEX ix_reposts_by_post_entry ON reposts (post_id, entry_id);
