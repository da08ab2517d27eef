-- A repost's place in feeds (DESIGN 4.2): a time-ordered key minted when the repost is made,
-- compared with post ids (a post's own place) in the feeds' order. Rows from before this
-- migration have none ('') and stay out of feeds.
ALTER TABLE reposts ADD COLUMN entry_id TEXT NOT NULL DEFAULT '';

-- A user feed's reposts, and "did someone in the audience repost this post earlier".
CREATE INDEX reposts_by_user_entry ON reposts (user_id, entry_id);
CREATE INDEX reposts_by_post_entry ON reposts (post_id, entry_id);
