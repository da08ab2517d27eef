-- Trace context (issue 16): the W3C traceparent of the request that wrote the event, handed
-- to the message's headers when it is published. The SQLite adapter's
-- 20261130000009_trace_context.sql, in T-SQL. NULL for rows written before.
ALTER TABLE outbox ADD trace_context VARCHAR(55) NULL;
