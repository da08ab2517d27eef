-- Trace context (issue 16): the W3C traceparent of the request that wrote the event, handed
-- to the message's headers when it is published. NULL for rows written before (or outside any
-- trace): their consumers start a trace of their own.
ALTER TABLE outbox ADD COLUMN trace_context TEXT;
