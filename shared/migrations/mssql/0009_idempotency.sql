-- Idempotency-Key on POST /posts (DESIGN 4.4): one claim per (author, key), with the
-- fingerprint of the request that made it and the post it created. The SQLite adapter's
-- 20261130000008_idempotency.sql, in T-SQL (`key` is reserved here: `idem_key`). Claims live
-- 24 hours; the index on their time lets the pruner delete expired ones in batches.

CREATE TABLE idempotency_keys (
    user_id     BINARY(16)    NOT NULL,
    idem_key    VARCHAR(255)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    fingerprint BINARY(32)    NOT NULL,
    post_id     BINARY(16)    NOT NULL,
    created_at  DATETIME2(3)  NOT NULL,
    CONSTRAINT pk_idempotency_keys PRIMARY KEY (user_id, idem_key)
);

CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at);
