-- Idempotency-Key on POST /posts (DESIGN 4.4): one claim per (author, key), with the
-- fingerprint of the request that made it and the post it created. Claims live 24 hours;
-- the index on their time lets the pruner delete expired ones in batches.
CREATE TABLE idempotency_keys (
    user_id     TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    fingerprint BLOB    NOT NULL,
    post_id     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
