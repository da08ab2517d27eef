-- Retention (DESIGN 4.4): sent outbox rows and processed-event ids are pruned after a
-- retention period, each by an index on its time.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX processed_events_by_time ON processed_events (processed_at);
