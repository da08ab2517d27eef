-- Hybrid fan-out asks, on every home-feed read, which of the reader's followees have at least
-- FANOUT_THRESHOLD followers. Walking the reader's follows made that read grow with the number
-- of followees; with this index the query starts from the few users above the threshold and
-- probes the follows' primary key for each, so its cost no longer depends on the reader.
CREATE INDEX follower_counts_by_followers ON follower_counts (followers, user_id);
