-- Users, posts, the outbox and processed events: the SQL Server source of truth. (Follows live
-- in the graph.) Applied by `Mssql::migrate` in one transaction, under an application lock.
--
-- Ids are UUIDv7 stored as BINARY(16), the UUID's 16 bytes in RFC order: SQL Server compares
-- binary values byte by byte from the left, so id order is creation-time order and the keyset
-- pages sort and seek on the id itself. Never UNIQUEIDENTIFIER: SQL Server orders those by
-- their last six bytes first, which scrambles time order. New ids also land at the end of each
-- clustered primary key instead of splitting pages at random.
--
-- Text sizes: NVARCHAR(n) counts UTF-16 code units, so limits in characters (display name 50,
-- post 280, e-mail 254) get twice as many units, enough for characters outside the BMP. The
-- application validates the real limits.
--
-- Case-insensitive uniqueness is the application's lower-case key (username_key: ASCII lower
-- case; email: stored lower-cased) under a binary collation, so that it is exactly the SQLite
-- adapter's rule whatever the database's default collation: a case- or accent-insensitive
-- default would otherwise add its own equalities (e.g. 'é' = 'e').
--
-- Times are DATETIME2(3), UTC, as the domain's millisecond timestamps.

CREATE TABLE users (
    id            BINARY(16)    NOT NULL CONSTRAINT pk_users PRIMARY KEY,
    username      NVARCHAR(30)  NOT NULL,
    username_key  NVARCHAR(30)  COLLATE Latin1_General_100_BIN2 NOT NULL,
    email         NVARCHAR(508) COLLATE Latin1_General_100_BIN2 NOT NULL,
    display_name  NVARCHAR(100) NOT NULL,
    password_hash NVARCHAR(255) NOT NULL,
    created_at    DATETIME2(3)  NOT NULL
);

-- The adapter tells a taken username from a taken e-mail by these names (errors 2601/2627).
CREATE UNIQUE INDEX ux_users_username_key ON users (username_key);
CREATE UNIQUE INDEX ux_users_email ON users (email);

CREATE TABLE posts (
    id         BINARY(16)    NOT NULL CONSTRAINT pk_posts PRIMARY KEY,
    author_id  BINARY(16)    NOT NULL CONSTRAINT fk_posts_author REFERENCES users (id),
    content    NVARCHAR(560) NOT NULL,
    created_at DATETIME2(3)  NOT NULL
);

-- Users' posts newest first, and the keyset pages of several authors (home feed rebuilds).
CREATE INDEX ix_posts_author_id ON posts (author_id, id DESC);

CREATE TABLE outbox (
    id              BINARY(16)    NOT NULL CONSTRAINT pk_outbox PRIMARY KEY,
    kind            NVARCHAR(50)  NOT NULL,
    payload         NVARCHAR(MAX) NOT NULL,  -- the whole event envelope, as JSON
    occurred_at     DATETIME2(3)  NOT NULL,
    attempts        INT           NOT NULL CONSTRAINT df_outbox_attempts DEFAULT 0,
    next_attempt_at DATETIME2(3)  NOT NULL
        CONSTRAINT df_outbox_next_attempt_at DEFAULT '1970-01-01T00:00:00',
    last_error      NVARCHAR(MAX) NULL,
    sent_at         DATETIME2(3)  NULL,
    given_up_at     DATETIME2(3)  NULL
);

-- The relay's scan: unsent and not given up on (both NULL), oldest id first. A plain index,
-- not a filtered one: filtered indexes make every write to the table depend on the session's
-- SET options (QUOTED_IDENTIFIER, ANSI_NULLS, ...), which are the client's to choose.
CREATE INDEX ix_outbox_pending ON outbox (sent_at, given_up_at, id)
    INCLUDE (next_attempt_at, attempts);

CREATE TABLE processed_events (
    consumer     NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
    event_id     BINARY(16)    NOT NULL,
    processed_at DATETIME2(3)  NOT NULL
        CONSTRAINT df_processed_events_processed_at DEFAULT SYSUTCDATETIME(),
    CONSTRAINT pk_processed_events PRIMARY KEY (consumer, event_id)
);
