-- Retention (DESIGN 4.4): sent outbox rows and processed-event ids are pruned after a
-- retention period, each by an index on its time. Plain indexes (see 0001_initial.sql): the
-- unsent rows' NULLs sort together at one end.
CREATE INDEX ix_outbox_sent_at ON outbox (sent_at);
CREATE INDEX ix_processed_events_processed_at ON processed_events (processed_at);
