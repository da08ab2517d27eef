//! Every T-SQL statement the adapter sends, as constants, each parsed by a unit test with
//! sqlparser's `MsSqlDialect` (the test also fails if a constant here is missing from [`ALL`]).
//!
//! Values are always parameters (`@P1`, `@P2`, ... in the order of the `&[&dyn ToSql]` slice;
//! tiberius sends them through `sp_executesql`), never spliced into the text. Ids are
//! `BINARY(16)` (the UUID's bytes in RFC order, so byte order is time order for UUIDv7); lists of
//! ids are one JSON array of hex strings, bound to one parameter and read with `OPENJSON`, so a
//! list of any length is one statement text and never meets the 2,100-parameter limit. (The
//! hex is cast to `VARCHAR` first: `CONVERT`'s hex styles are documented for `char`/`varchar`,
//! and `OPENJSON` yields `NVARCHAR`.)
//!
//! A write and its outbox row go in one batch: `SET XACT_ABORT ON` makes any error roll the
//! whole transaction back and end the batch, so a failure never leaves a half-written change or
//! an open transaction on a pooled connection. In those batches `@P1`..`@P4` are always the
//! outbox row (id, kind, payload, occurred_at).

/// Pooled connections are checked with this before each use; one left inside a transaction is
/// thrown away (closing it rolls the transaction back).
pub const OPEN_TRANSACTIONS: &str = "SELECT @@TRANCOUNT AS open_transactions";

pub const PING: &str = "SELECT 1 AS ok";

// ---- users ---------------------------------------------------------------------------------

/// `@P1`..`@P4` outbox row, `@P5` id, `@P6` username, `@P7` username key (ASCII lower case),
/// `@P8` e-mail (lower case), `@P9` display name, `@P10` password hash, `@P11` created at,
/// `@P12` display-name key (Rust's lower case). The bio starts empty (the column's default).
pub const CREATE_USER: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
BEGIN TRANSACTION;
INSERT INTO users (id, username, username_key, email, display_name, display_name_key,
                   password_hash, created_at)
VALUES (@P5, @P6, @P7, @P8, @P9, @P12, @P10, @P11);
INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P13);
COMMIT TRANSACTION;";

/// After a unique violation whose message did not name one of our indexes (a server whose
/// messages are in another language): which of the two is taken. `@P1` username key,
/// `@P2` e-mail.
pub const WHICH_IS_TAKEN: &str = "\
SELECT
    CASE WHEN EXISTS (SELECT 1 FROM users WHERE username_key = @P1) THEN 1 ELSE 0 END
        AS username_taken,
    CASE WHEN EXISTS (SELECT 1 FROM users WHERE email = @P2) THEN 1 ELSE 0 END
        AS email_taken";

pub const USER_BY_ID: &str = "\
SELECT id, username, email, display_name, bio, created_at FROM users WHERE id = @P1";

/// `@P1` the username key (ASCII lower case).
pub const USER_BY_USERNAME_KEY: &str = "\
SELECT id, username, email, display_name, bio, created_at FROM users WHERE username_key = @P1";

/// `@P1` the login folded like a username key, `@P2` folded like an e-mail address.
pub const CREDENTIALS: &str = "\
SELECT TOP (1) id, password_hash FROM users WHERE username_key = @P1 OR email = @P2";

/// `@P1` the user's id.
pub const CREDENTIALS_BY_ID: &str = "SELECT id, password_hash FROM users WHERE id = @P1";

/// `@P1` a JSON array of ids as 32 hex digits.
pub const SUMMARIES: &str = "\
SELECT id, username, display_name FROM users
WHERE id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)";

/// `@P1` a JSON array of username keys (ASCII lower case). `OPENJSON`'s values carry the
/// database's default collation: `COLLATE` makes the comparison the column's binary one.
pub const SUMMARIES_BY_USERNAME_KEY: &str = "\
SELECT id, username, display_name FROM users
WHERE username_key IN (
    SELECT names.value COLLATE Latin1_General_100_BIN2 FROM OPENJSON(@P1) AS names
)";

/// `@P1` the user, `@P2` the new display name and `@P3` its key (Rust's lower case), `@P4` the
/// new bio; a NULL leaves its column as it is. Answers the user as it is then, or no row for
/// an unknown user. (`OUTPUT` without `INTO` is refused on a table with triggers; `users` has
/// none.)
pub const UPDATE_PROFILE: &str = "\
UPDATE users SET display_name = COALESCE(@P2, display_name),
                 display_name_key = COALESCE(@P3, display_name_key),
                 bio = COALESCE(@P4, bio)
OUTPUT inserted.id, inserted.username, inserted.email, inserted.display_name, inserted.bio,
       inserted.created_at
WHERE id = @P1";

/// Users whose username key or display-name key starts with the query, ordered by username
/// key: `@P1` the `LIKE` pattern of the query (lower case, its `%`, `_` and `[` bracketed,
/// then `%`: see `like_prefix` in users.rs), `@P2` the username key to start strictly after
/// (`''` for the first page), `@P3` the page size.
///
/// A prefix `LIKE` rather than SQLite's range `[q, q + U+10FFFF)`: under the columns' binary
/// collation it matches the query code unit for code unit, as SQLite's range does, where a
/// range would not: SQL Server compares strings as if padded with spaces (a query `'ann '`
/// would also find `ann`), and its upper bound would depend on whether the collation orders
/// supplementary characters by UTF-16 code unit or by code point. It stays one index range
/// per half: with a pattern in a parameter the plan seeks the range of the pattern's literal
/// prefix (`LikeRangeStart`/`LikeRangeEnd`, computed at run time) and applies the `LIKE` to
/// the rows in it. The parameter's collation yields to the columns' (a column's collation
/// takes precedence over a parameter's), so the seek is on the binary keys as they are stored.
pub const SEARCH_USERS: &str = "\
SELECT TOP (@P3) u.id, u.username, u.display_name
FROM users AS u
WHERE u.id IN (
    SELECT k.id FROM users AS k WHERE k.username_key LIKE @P1
    UNION
    SELECT d.id FROM users AS d WHERE d.display_name_key LIKE @P1
)
  AND u.username_key > @P2
ORDER BY u.username_key";

/// `@P1` the user, `@P2` the new password hash, `@P3` now. Revokes every live session of the
/// user at `@P3` and forgets their refresh tokens in the same transaction, sessions before
/// tokens as every writer of both takes them (see [`ROTATE_REFRESH_TOKEN`]). Answers one row:
/// `changed` (0 for an unknown user, else 1).
pub const SET_PASSWORD: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @changed INT;
BEGIN TRANSACTION;
UPDATE users SET password_hash = @P2 WHERE id = @P1;
SET @changed = @@ROWCOUNT;
IF @changed > 0
BEGIN
    UPDATE sessions SET revoked_at = @P3 WHERE user_id = @P1 AND revoked_at IS NULL;
    DELETE FROM refresh_tokens
    WHERE session_id IN (SELECT id FROM sessions WHERE user_id = @P1);
END;
COMMIT TRANSACTION;
SELECT @changed AS changed;";

/// Erases a user, in one transaction with its `user.deleted` event: `@P1`..`@P4` outbox row
/// (written only when the user existed), `@P5` the user's id, `@P6` the same id as text as it
/// appears in event payloads (hyphenated, lower case), `@P7` now. The steps of the SQLite
/// adapter's `ERASURE` list, then its session revocation, the user row and the event:
///
/// - the user's row is locked first (`UPDLOCK, HOLDLOCK`), so that a second erasure waits and
///   then finds it gone;
/// - the user's posts are deleted next, as [`DELETE_POST`] deletes a post first: their rows
///   stay locked until the commit, so a like, repost, reply or notification in flight for one
///   of them waits and then finds it gone, and the key-range lock (`HOLDLOCK`) on the author's
///   range of `ix_posts_author_id` makes a post the user creates meanwhile wait and then fail
///   the foreign key; their ids and parents are kept in `@posts` for the steps that follow;
/// - counts on others' posts before the rows they count: a like or repost of the user takes
///   one off its post's count, and each parent loses the user's replies to it (a parent of the
///   user's own is deleted already, which the SQLite list leaves out by `author_id <> ?1`);
/// - the likes, reposts, mentions and tags of the posts, the user's likes and reposts, the
///   mentions of the user, and the notifications it received or caused or that name its posts
///   (three deletes rather than one `OR`, so that each seeks its index);
/// - its idempotency claims;
/// - its blocks and mutes, and those of others on it (two deletes, each seeking an index);
/// - its sessions revoked at `@P7` and all their refresh tokens forgotten (the SQLite list
///   deletes the tokens, then `revoke_all` revokes the sessions and deletes them again; here
///   sessions before tokens, as every writer of both takes them: see [`ROTATE_REFRESH_TOKEN`]);
/// - the payloads of sent or given-up outbox events that name the user replaced by a marker
///   (a scan of the outbox, as in SQLite; `CHARINDEX` under a binary collation, exact and
///   case-sensitive as SQLite's `instr`); pending ones, this event among them, are kept;
/// - the user row, whose posts are gone (the foreign key `fk_posts_author`), and the event.
///
/// Answers one row: `found` (0 for an unknown user, else 1).
pub const DELETE_USER: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @found INT;
DECLARE @posts TABLE (id BINARY(16) NOT NULL PRIMARY KEY, in_reply_to BINARY(16) NULL);
BEGIN TRANSACTION;
SET @found = (SELECT COUNT(*) FROM users WITH (UPDLOCK, HOLDLOCK) WHERE id = @P5);
IF @found > 0
BEGIN
    DELETE FROM posts WITH (HOLDLOCK)
    OUTPUT deleted.id, deleted.in_reply_to INTO @posts (id, in_reply_to)
    WHERE author_id = @P5;
    UPDATE posts SET like_count = like_count - 1
    WHERE id IN (SELECT post_id FROM likes WHERE user_id = @P5);
    UPDATE posts SET repost_count = repost_count - 1
    WHERE id IN (SELECT post_id FROM reposts WHERE user_id = @P5);
    UPDATE p SET reply_count = p.reply_count - r.replies
    FROM posts AS p
    JOIN (
        SELECT in_reply_to, COUNT_BIG(*) AS replies FROM @posts
        WHERE in_reply_to IS NOT NULL
        GROUP BY in_reply_to
    ) AS r ON r.in_reply_to = p.id;
    DELETE FROM likes WHERE user_id = @P5;
    DELETE FROM reposts WHERE user_id = @P5;
    DELETE FROM likes WHERE post_id IN (SELECT id FROM @posts);
    DELETE FROM reposts WHERE post_id IN (SELECT id FROM @posts);
    DELETE FROM post_mentions WHERE post_id IN (SELECT id FROM @posts);
    DELETE FROM post_mentions WHERE user_id = @P5;
    DELETE FROM post_tags WHERE post_id IN (SELECT id FROM @posts);
    DELETE FROM notifications WHERE recipient = @P5;
    DELETE FROM notifications WHERE actor_id = @P5;
    DELETE FROM notifications WHERE post_id IN (SELECT id FROM @posts);
    DELETE FROM idempotency_keys WHERE user_id = @P5;
    DELETE FROM restrictions WHERE user_id = @P5;
    DELETE FROM restrictions WHERE other_id = @P5;
    UPDATE sessions SET revoked_at = @P7 WHERE user_id = @P5 AND revoked_at IS NULL;
    DELETE FROM refresh_tokens
    WHERE session_id IN (SELECT id FROM sessions WHERE user_id = @P5);
    UPDATE outbox SET payload = N'{\"redacted\":true}'
    WHERE (sent_at IS NOT NULL OR given_up_at IS NOT NULL)
      AND CHARINDEX(@P6, payload COLLATE Latin1_General_100_BIN2) > 0;
    DELETE FROM users WHERE id = @P5;
    INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P8);
END;
COMMIT TRANSACTION;
SELECT @found AS found;";

// ---- sessions (see sessions.rs) ------------------------------------------------------------

/// `@P1` the session, `@P2` its user, `@P3` the first refresh token's hash (`BINARY(32)`),
/// `@P4` when the token expires, `@P5` now.
pub const START_SESSION: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
BEGIN TRANSACTION;
INSERT INTO sessions (id, user_id, created_at) VALUES (@P1, @P2, @P5);
INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (@P3, @P1, @P4);
COMMIT TRANSACTION;";

/// What [`ROTATE_REFRESH_TOKEN`] answers in `outcome`.
pub const ROTATION_UNKNOWN: i32 = 0;
pub const ROTATION_ROTATED: i32 = 1;
pub const ROTATION_REUSED: i32 = 2;

/// `@P1` the presented token's hash, `@P2` the next token's hash, `@P3` when the next token
/// expires, `@P4` now. Answers one row: `outcome` ([`ROTATION_ROTATED`] with `session_id` and
/// `user_id`; [`ROTATION_REUSED`] with `session_id`, now revoked; or [`ROTATION_UNKNOWN`]).
///
/// The spend is one conditional `UPDATE` (unspent, unexpired, its session not revoked): it
/// reads the token's row under an update lock and re-checks it once the lock is granted, so of
/// two requests with the same token exactly one spends it (read-committed snapshot or not) and
/// the other finds it spent, a reuse, which revokes the session and forgets its live token.
/// Before that, the session's row is locked (`UPDLOCK`, held to the commit): every writer of
/// both tables takes a session before its tokens (logout, password change, erasure), so that
/// none of them deadlocks with a rotation, and a logout either waits for the rotation and then
/// forgets the new token too, or comes first and the rotation finds the session revoked. (The
/// token's session never changes, so it can be read before the lock.)
pub const ROTATE_REFRESH_TOKEN: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @session BINARY(16);
DECLARE @user BINARY(16);
DECLARE @locked INT;
DECLARE @outcome INT = 0;
BEGIN TRANSACTION;
SET @session = (SELECT session_id FROM refresh_tokens WHERE hash = @P1);
SET @locked = (SELECT COUNT(*) FROM sessions WITH (UPDLOCK) WHERE id = @session);
UPDATE refresh_tokens SET spent_at = @P4
WHERE hash = @P1 AND spent_at IS NULL AND expires_at > @P4
  AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL);
IF @@ROWCOUNT > 0
BEGIN
    INSERT INTO refresh_tokens (hash, session_id, expires_at) VALUES (@P2, @session, @P3);
    SET @user = (SELECT user_id FROM sessions WHERE id = @session);
    SET @outcome = 1;
END
ELSE IF EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = @P1 AND spent_at IS NOT NULL)
BEGIN
    UPDATE sessions SET revoked_at = @P4 WHERE id = @session AND revoked_at IS NULL;
    DELETE FROM refresh_tokens WHERE session_id = @session AND spent_at IS NULL;
    SET @outcome = 2;
END;
COMMIT TRANSACTION;
SELECT @outcome AS outcome, @session AS session_id, @user AS user_id;";

/// Ends the session of the token `@P1` (spent or not) at `@P2` and forgets its live token; a
/// token no session knows changes nothing. The session before its tokens (see
/// [`ROTATE_REFRESH_TOKEN`]).
pub const END_SESSION: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @session BINARY(16);
BEGIN TRANSACTION;
SET @session = (SELECT session_id FROM refresh_tokens WHERE hash = @P1);
UPDATE sessions SET revoked_at = @P2 WHERE id = @session AND revoked_at IS NULL;
DELETE FROM refresh_tokens WHERE session_id = @session AND spent_at IS NULL;
COMMIT TRANSACTION;";

/// `@P1` the earliest revocation time. Served by `ix_sessions_revoked_at`.
pub const REVOKED_SESSIONS: &str = "SELECT id FROM sessions WHERE revoked_at >= @P1";

// ---- posts ---------------------------------------------------------------------------------

/// The error number [`CREATE_POST`] throws when the post replied to is gone.
pub const PARENT_GONE_ERROR: u32 = 50001;

/// `@P1`..`@P4` outbox row, `@P5` id, `@P6` author id, `@P7` content, `@P8` created at,
/// `@P9` the post replied to and `@P10` its author (both NULL for a post that replies to
/// nothing), `@P11` a JSON array of the mentioned users' ids, `@P12` a JSON array of the tags,
/// each in order of appearance (the array index is the position). Answers the stored post with
/// its author, read inside the transaction (its mentions and tags are read as for any post).
///
/// A reply first counts itself in its parent's replies: the update holds the parent's row
/// until the commit, so the parent cannot be deleted in between; when no row was updated the
/// parent is gone and the batch throws [`PARENT_GONE_ERROR`] (`XACT_ABORT` rolls it all back).
/// An unknown author fails the foreign key (error 547), a taken id the primary key (2627):
/// nothing is stored.
///
/// With an idempotency key (`@P13`, NULL for none; `@P14` the request's fingerprint, `@P15`
/// the oldest claim time still live) the key is claimed first: an expired claim is dropped,
/// a live one is read under a key-range lock (`UPDLOCK, HOLDLOCK`, so that of two posts with
/// one key the second waits for the first's commit and then finds its claim) and answered as
/// `claimed_post` and `same_request` (1 when its fingerprint is this request's), with nothing
/// written. The post row answered otherwise carries a NULL `claimed_post`.
pub const CREATE_POST: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @claimed_post BINARY(16) = NULL;
DECLARE @claimed_fingerprint BINARY(32) = NULL;
BEGIN TRANSACTION;
IF @P13 IS NOT NULL
BEGIN
    DELETE FROM idempotency_keys
    WHERE user_id = @P6 AND idem_key = @P13 AND created_at <= @P15;
    SELECT @claimed_post = post_id, @claimed_fingerprint = fingerprint
    FROM idempotency_keys WITH (UPDLOCK, HOLDLOCK)
    WHERE user_id = @P6 AND idem_key = @P13;
    IF @claimed_post IS NULL
        INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, post_id, created_at)
        VALUES (@P6, @P13, @P14, @P5, @P8);
END;
IF @claimed_post IS NOT NULL
BEGIN
    COMMIT TRANSACTION;
    SELECT @claimed_post AS claimed_post,
        CASE WHEN @claimed_fingerprint = @P14 THEN 1 ELSE 0 END AS same_request;
    RETURN;
END;
IF @P9 IS NOT NULL
BEGIN
    UPDATE posts SET reply_count = reply_count + 1 WHERE id = @P9;
    IF @@ROWCOUNT = 0
        THROW 50001, N'the post replied to is gone', 1;
END;
INSERT INTO posts (id, author_id, content, created_at, in_reply_to, reply_to_author)
VALUES (@P5, @P6, @P7, @P8, @P9, @P10);
INSERT INTO post_mentions (post_id, position, user_id)
SELECT @P5, CAST(m.[key] AS INT), CONVERT(BINARY(16), CAST(m.value AS VARCHAR(32)), 2)
FROM OPENJSON(@P11) AS m;
INSERT INTO post_tags (tag, post_id, position)
SELECT t.value, @P5, CAST(t.[key] AS INT) FROM OPENJSON(@P12) AS t;
INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P16);
SELECT p.id, p.author_id, p.content, p.created_at, p.in_reply_to, u.username, u.display_name,
    CAST(NULL AS BINARY(16)) AS claimed_post
FROM posts AS p JOIN users AS u ON u.id = p.author_id
WHERE p.id = @P5;
COMMIT TRANSACTION;";

/// Deletes up to `@P2` idempotency claims made before `@P1` (by
/// `ix_idempotency_keys_created_at`); answers how many.
pub const PRUNE_IDEMPOTENCY_KEYS: &str = "\
SET NOCOUNT ON;
DELETE k FROM idempotency_keys AS k
JOIN (
    SELECT TOP (@P2) user_id, idem_key FROM idempotency_keys
    WHERE created_at < @P1 ORDER BY created_at
) AS old ON old.user_id = k.user_id AND old.idem_key = k.idem_key;
SELECT @@ROWCOUNT AS pruned;";

pub const POST_BY_ID: &str = "\
SELECT p.id, p.author_id, p.content, p.created_at, p.in_reply_to, u.username, u.display_name
FROM posts AS p JOIN users AS u ON u.id = p.author_id
WHERE p.id = @P1";

/// `@P1`..`@P4` outbox row (written only when a post was deleted), `@P5` the post id. Deletes
/// the post's likes, reposts, mentions, tags and notifications with it and takes it off its parent's
/// replies (a parent already gone updates nothing); its own replies stay. Answers one row: how
/// many posts were deleted (0 or 1). The post's row stays locked until the commit, so an
/// [`ADD_NOTIFICATION`] for it waits and then finds it gone.
pub const DELETE_POST: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @deleted INT;
DECLARE @parent BINARY(16);
BEGIN TRANSACTION;
SET @parent = (SELECT in_reply_to FROM posts WHERE id = @P5);
DELETE FROM posts WHERE id = @P5;
SET @deleted = @@ROWCOUNT;
IF @deleted > 0
BEGIN
    UPDATE posts SET reply_count = reply_count - 1 WHERE id = @parent;
    DELETE FROM likes WHERE post_id = @P5;
    DELETE FROM reposts WHERE post_id = @P5;
    DELETE FROM post_mentions WHERE post_id = @P5;
    DELETE FROM post_tags WHERE post_id = @P5;
    DELETE FROM notifications WHERE post_id = @P5;
    INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P6);
END;
COMMIT TRANSACTION;
SELECT @deleted AS deleted;";

/// `@P1` a JSON array of ids as 32 hex digits.
pub const POSTS_BY_IDS: &str = "\
SELECT p.id, p.author_id, p.content, p.created_at, p.in_reply_to, u.username, u.display_name
FROM posts AS p JOIN users AS u ON u.id = p.author_id
WHERE p.id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)";

/// The mentions of posts with the mentioned users' names, each post's in order of appearance.
/// `@P1` a JSON array of post ids.
pub const MENTIONS_OF_POSTS: &str = "\
SELECT m.post_id, m.user_id, u.username
FROM post_mentions AS m JOIN users AS u ON u.id = m.user_id
WHERE m.post_id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)
ORDER BY m.post_id, m.position";

/// The tags of posts, each post's in order of appearance. `@P1` a JSON array of post ids.
/// Served by `ix_post_tags_post_id`.
pub const TAGS_OF_POSTS: &str = "\
SELECT t.post_id, t.tag FROM post_tags AS t
WHERE t.post_id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)
ORDER BY t.post_id, t.position";

/// Keyset page: `@P1` a JSON array of author ids, `@P2` the id to start strictly below
/// (`0xFF..FF` for the newest), `@P3` the page size. Served by `ix_posts_author_id`.
pub const POST_IDS_BY_AUTHORS: &str = "\
SELECT TOP (@P3) id FROM posts
WHERE author_id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)
  AND id < @P2
ORDER BY id DESC";

pub const COUNT_BY_AUTHOR: &str = "SELECT COUNT_BIG(*) AS n FROM posts WHERE author_id = @P1";

/// The home feed's keyset page, newest entry first: `@P1` the authors (JSON array), `@P2` the
/// entry key to start strictly below (`0xFF..FF` for the newest), `@P3` the reader, `@P4` the
/// audience (JSON array), `@P5` the page size. Rows `(entry_id, post_id, via)`:
///
/// - the authors' posts (`via` NULL, the entry key is the post's id) that reply to nothing, are
///   the reader's, or reply to a post whose author is in the audience;
/// - the authors' reposts (not the reader's; rows without an entry key stay out) of posts the
///   feed does not show as themselves (author in the audience and the reply rule above) and
///   that no one in the audience but the reader reposted earlier (a smaller entry key); `via`
///   the reposter.
///
/// Each branch takes its own first `@P5` rows before the union is cut to `@P5`, which is the
/// same page and lets each seek its index (`ix_posts_author_id`, `ix_reposts_by_user_entry`;
/// the earlier-repost probe `ix_reposts_by_post_entry`).
pub const HOME_FEED: &str = "\
SELECT TOP (@P5) feed.entry_id, feed.post_id, feed.via
FROM (
    SELECT originals.entry_id, originals.post_id, originals.via
    FROM (
        SELECT TOP (@P5) p.id AS entry_id, p.id AS post_id, CAST(NULL AS BINARY(16)) AS via
        FROM posts AS p
        WHERE p.author_id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)
          AND p.id < @P2
          AND (p.in_reply_to IS NULL
               OR p.author_id = @P3
               OR p.reply_to_author IN (
                   SELECT CONVERT(BINARY(16), CAST(aud.value AS VARCHAR(32)), 2) FROM OPENJSON(@P4) AS aud
               ))
        ORDER BY p.id DESC
    ) AS originals
    UNION ALL
    SELECT reposted.entry_id, reposted.post_id, reposted.via
    FROM (
        SELECT TOP (@P5) r.entry_id, r.post_id, r.user_id AS via
        FROM reposts AS r JOIN posts AS p ON p.id = r.post_id
        WHERE r.user_id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)
          AND r.user_id <> @P3
          AND r.entry_id IS NOT NULL
          AND r.entry_id < @P2
          AND NOT (p.author_id IN (
                       SELECT CONVERT(BINARY(16), CAST(aud.value AS VARCHAR(32)), 2) FROM OPENJSON(@P4) AS aud
                   )
                   AND (p.in_reply_to IS NULL
                        OR p.author_id = @P3
                        OR p.reply_to_author IN (
                            SELECT CONVERT(BINARY(16), CAST(aud.value AS VARCHAR(32)), 2) FROM OPENJSON(@P4) AS aud
                        )))
          AND NOT EXISTS (
              SELECT 1 FROM reposts AS e
              WHERE e.post_id = r.post_id
                AND e.entry_id IS NOT NULL
                AND e.entry_id < r.entry_id
                AND e.user_id <> @P3
                AND e.user_id IN (
                    SELECT CONVERT(BINARY(16), CAST(aud.value AS VARCHAR(32)), 2) FROM OPENJSON(@P4) AS aud
                ))
        ORDER BY r.entry_id DESC
    ) AS reposted
) AS feed
ORDER BY feed.entry_id DESC";

/// A user feed's keyset page, newest entry first: `@P1` the author, `@P2` the entry key to
/// start strictly below (`0xFF..FF` for the newest), `@P3` the page size. Rows
/// `(entry_id, post_id, via)`: the author's posts, replies included (`via` NULL, the entry key
/// is the post's id), and their reposts of others' posts (rows without an entry key stay out;
/// `via` the author). Each branch takes its own first `@P3` rows, as in [`HOME_FEED`]
/// (`ix_posts_author_id`, `ix_reposts_by_user_entry`).
pub const USER_FEED: &str = "\
SELECT TOP (@P3) feed.entry_id, feed.post_id, feed.via
FROM (
    SELECT originals.entry_id, originals.post_id, originals.via
    FROM (
        SELECT TOP (@P3) p.id AS entry_id, p.id AS post_id, CAST(NULL AS BINARY(16)) AS via
        FROM posts AS p
        WHERE p.author_id = @P1 AND p.id < @P2
        ORDER BY p.id DESC
    ) AS originals
    UNION ALL
    SELECT reposted.entry_id, reposted.post_id, reposted.via
    FROM (
        SELECT TOP (@P3) r.entry_id, r.post_id, r.user_id AS via
        FROM reposts AS r JOIN posts AS p ON p.id = r.post_id
        WHERE r.user_id = @P1
          AND r.entry_id IS NOT NULL
          AND r.entry_id < @P2
          AND p.author_id <> @P1
        ORDER BY r.entry_id DESC
    ) AS reposted
) AS feed
ORDER BY feed.entry_id DESC";

/// Keyset page of a tag, newest first: `@P1` the tag (lower case), `@P2` the id to start
/// strictly below (`0xFF..FF` for the newest), `@P3` the page size. Served by `pk_post_tags`.
pub const POST_IDS_BY_TAG: &str = "\
SELECT TOP (@P3) post_id FROM post_tags
WHERE tag = @P1 AND post_id < @P2
ORDER BY post_id DESC";

/// Keyset page of a post's direct replies, oldest first: `@P1` the post, `@P2` the id to start
/// strictly above (`0x00..00` for the oldest), `@P3` the page size. Served by
/// `ix_posts_in_reply_to`.
pub const REPLY_IDS: &str = "\
SELECT TOP (@P3) id FROM posts
WHERE in_reply_to = @P1 AND id > @P2
ORDER BY id";

/// `(parent, reply)` for the direct replies to the posts of `@P1` (JSON array), oldest reply
/// first, at most `@P2` of them.
pub const REPLIES_OF: &str = "\
SELECT TOP (@P2) in_reply_to, id FROM posts
WHERE in_reply_to IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)
ORDER BY id";

/// The counts of the posts of `@P1` (JSON array), and whether the reader `@P2` likes and
/// reposted each (never, for a NULL reader).
pub const POST_STATS: &str = "\
SELECT p.id, p.reply_count, p.like_count, p.repost_count,
    p.author_id, u.username, u.display_name,
    CASE WHEN EXISTS (SELECT 1 FROM likes AS l WHERE l.post_id = p.id AND l.user_id = @P2)
        THEN 1 ELSE 0 END AS liked,
    CASE WHEN EXISTS (SELECT 1 FROM reposts AS r WHERE r.post_id = p.id AND r.user_id = @P2)
        THEN 1 ELSE 0 END AS reposted
FROM posts AS p JOIN users AS u ON u.id = p.author_id
WHERE p.id IN (SELECT CONVERT(BINARY(16), CAST(ids.value AS VARCHAR(32)), 2) FROM OPENJSON(@P1) AS ids)";

/// `@P1`..`@P4` outbox row (written only for a new like), `@P5` the post, `@P6` the user,
/// `@P7` liked at. The post's row is locked (`UPDLOCK`) until the commit, so it cannot be
/// deleted in between and the likes and unlikes of one post take turns. Answers one row:
/// `found` (the post exists, 0 or 1) and `liked` (the like is new, 0 or 1).
pub const LIKE: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @found INT;
DECLARE @liked INT = 0;
BEGIN TRANSACTION;
SET @found = (SELECT COUNT(*) FROM posts WITH (UPDLOCK) WHERE id = @P5);
IF @found > 0
BEGIN
    INSERT INTO likes (post_id, user_id, liked_at)
    SELECT @P5, @P6, @P7
    WHERE NOT EXISTS (
        SELECT 1 FROM likes WITH (UPDLOCK, HOLDLOCK) WHERE post_id = @P5 AND user_id = @P6
    );
    SET @liked = @@ROWCOUNT;
    IF @liked > 0
    BEGIN
        UPDATE posts SET like_count = like_count + 1 WHERE id = @P5;
        INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P8);
    END;
END;
COMMIT TRANSACTION;
SELECT @found AS found, @liked AS liked;";

/// `@P1` the post, `@P2` the user (no outbox row). Locks the post's row as [`LIKE`] does.
/// Answers one row: `found` (the post exists, 0 or 1) and `removed` (a like was removed, 0 or
/// 1).
pub const UNLIKE: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @found INT;
DECLARE @removed INT = 0;
BEGIN TRANSACTION;
SET @found = (SELECT COUNT(*) FROM posts WITH (UPDLOCK) WHERE id = @P1);
IF @found > 0
BEGIN
    DELETE FROM likes WHERE post_id = @P1 AND user_id = @P2;
    SET @removed = @@ROWCOUNT;
    IF @removed > 0
        UPDATE posts SET like_count = like_count - 1 WHERE id = @P1;
END;
COMMIT TRANSACTION;
SELECT @found AS found, @removed AS removed;";

/// Keyset page of a post's likers, newest like first: `@P1` the post, strictly after the like
/// (`@P2` liked at, `@P3` user); the first page passes the latest `DATETIME2` and `0xFF..FF`.
/// `@P4` the page size. Served by `ix_likes_newest_first`.
pub const LIKERS: &str = "\
SELECT TOP (@P4) user_id, liked_at FROM likes
WHERE post_id = @P1 AND (liked_at < @P2 OR (liked_at = @P2 AND user_id < @P3))
ORDER BY liked_at DESC, user_id DESC";

/// `@P1`..`@P4` outbox row (written only for a new repost), `@P5` the post, `@P6` the user,
/// `@P7` reposted at, `@P8` the repost's entry key (its place in feeds). Locks the post's row as
/// [`LIKE`] does. Answers one row: `found` (the post exists, 0 or 1) and `reposted` (the repost
/// is new, 0 or 1); a repost that exists keeps its entry key.
pub const REPOST: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @found INT;
DECLARE @reposted INT = 0;
BEGIN TRANSACTION;
SET @found = (SELECT COUNT(*) FROM posts WITH (UPDLOCK) WHERE id = @P5);
IF @found > 0
BEGIN
    INSERT INTO reposts (post_id, user_id, reposted_at, entry_id)
    SELECT @P5, @P6, @P7, @P8
    WHERE NOT EXISTS (
        SELECT 1 FROM reposts WITH (UPDLOCK, HOLDLOCK) WHERE post_id = @P5 AND user_id = @P6
    );
    SET @reposted = @@ROWCOUNT;
    IF @reposted > 0
    BEGIN
        UPDATE posts SET repost_count = repost_count + 1 WHERE id = @P5;
        INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P9);
    END;
END;
COMMIT TRANSACTION;
SELECT @found AS found, @reposted AS reposted;";

/// `@P1`..`@P4` outbox row (written only when a repost was removed, unlike [`UNLIKE`]), `@P5`
/// the post, `@P6` the user. Locks the post's row as [`LIKE`] does. Answers one row: `found`
/// (the post exists, 0 or 1) and `removed` (a repost was removed, 0 or 1).
pub const UNREPOST: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @found INT;
DECLARE @removed INT = 0;
BEGIN TRANSACTION;
SET @found = (SELECT COUNT(*) FROM posts WITH (UPDLOCK) WHERE id = @P5);
IF @found > 0
BEGIN
    DELETE FROM reposts WHERE post_id = @P5 AND user_id = @P6;
    SET @removed = @@ROWCOUNT;
    IF @removed > 0
    BEGIN
        UPDATE posts SET repost_count = repost_count - 1 WHERE id = @P5;
        INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P7);
    END;
END;
COMMIT TRANSACTION;
SELECT @found AS found, @removed AS removed;";

/// Keyset page of a post's reposters, newest repost first: `@P1` the post, strictly after the
/// repost (`@P2` reposted at, `@P3` user); the first page passes the latest `DATETIME2` and
/// `0xFF..FF`. `@P4` the page size. Served by `ix_reposts_newest_first`.
pub const REPOSTERS: &str = "\
SELECT TOP (@P4) user_id, reposted_at FROM reposts
WHERE post_id = @P1 AND (reposted_at < @P2 OR (reposted_at = @P2 AND user_id < @P3))
ORDER BY reposted_at DESC, user_id DESC";

/// The entry key of a repost: `@P1` the post, `@P2` the user. No row when there is no such
/// repost or it has no entry key (made before entry keys).
pub const REPOST_ENTRY: &str = "\
SELECT entry_id FROM reposts
WHERE post_id = @P1 AND user_id = @P2 AND entry_id IS NOT NULL";

// ---- notifications (see notifications.rs) -------------------------------------------------

/// The error number of a duplicate key in a unique index: [`ADD_NOTIFICATION`] losing a race
/// to `ux_notifications_once` (a primary key, the id, would be 2627).
pub const DUPLICATE_IN_UNIQUE_INDEX_ERROR: u32 = 2601;

/// `@P1` id, `@P2` recipient, `@P3` kind, `@P4` actor, `@P5` the post, or for none the nil
/// id's 16 zero bytes (`NO_POST` in notifications.rs, never a post's id: see
/// 0003_notifications.sql), `@P6` created at. Answers one row: `added` (1 when stored, else 0).
///
/// One `INSERT`: the post's, the recipient's and the actor's existence is checked where the
/// row is written (an erasure holds its user row locked until it commits). The post's row is
/// read under a shared lock held to the end of the statement (`REPEATABLEREAD`, a locking read
/// even under read-committed snapshot), so a [`DELETE_POST`] in flight either waits for this
/// insert and then deletes the new row with the post's other notifications, or has deleted the
/// post first and this finds it gone. The duplicate probe takes a key-range update lock
/// (`UPDLOCK, HOLDLOCK`) on `ux_notifications_once`, so two concurrent adds of one notification
/// take turns and the second finds the first; the unique index is the last guard (error
/// [`DUPLICATE_IN_UNIQUE_INDEX_ERROR`], read as "not stored"). `kind` is cast to the column's
/// type so that the probe seeks (an `NVARCHAR` parameter would convert the column instead).
pub const ADD_NOTIFICATION: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
INSERT INTO notifications (id, recipient, kind, actor_id, post_id, created_at)
SELECT @P1, @P2, CAST(@P3 AS VARCHAR(20)), @P4, @P5, @P6
WHERE (@P5 = 0x00000000000000000000000000000000
       OR EXISTS (SELECT 1 FROM posts WITH (REPEATABLEREAD) WHERE id = @P5))
  AND EXISTS (SELECT 1 FROM users WITH (REPEATABLEREAD) WHERE id = @P2)
  AND EXISTS (SELECT 1 FROM users WITH (REPEATABLEREAD) WHERE id = @P4)
  AND NOT EXISTS (
      SELECT 1 FROM notifications WITH (UPDLOCK, HOLDLOCK)
      WHERE recipient = @P2 AND kind = CAST(@P3 AS VARCHAR(20)) AND actor_id = @P4
        AND post_id = @P5
  );
SELECT @@ROWCOUNT AS added;";

/// Keyset page of a recipient's notifications, newest first, with their actors (an inner join:
/// those whose actor is gone are left out): `@P1` the recipient, `@P2` the id to start strictly
/// below (`0xFF..FF` for the newest), `@P3` the page size. Served by
/// `ix_notifications_newest_first`.
pub const NOTIFICATIONS: &str = "\
SELECT TOP (@P3) n.id, n.kind, n.actor_id, n.post_id, n.created_at, n.is_read,
    u.username, u.display_name
FROM notifications AS n JOIN users AS u ON u.id = n.actor_id
WHERE n.recipient = @P1 AND n.id < @P2 AND NOT EXISTS (
    SELECT 1 FROM restrictions AS r
    WHERE (r.user_id = n.recipient AND r.other_id = n.actor_id)
       OR (r.user_id = n.actor_id AND r.other_id = n.recipient AND r.kind = 'block')
)
ORDER BY n.id DESC";

/// `@P1` the recipient. Counts as [`NOTIFICATIONS`] lists: those whose actor is gone are left
/// out.
pub const UNREAD_NOTIFICATIONS: &str = "\
SELECT COUNT_BIG(*) AS unread
FROM notifications AS n JOIN users AS u ON u.id = n.actor_id
WHERE n.recipient = @P1 AND n.is_read = 0 AND NOT EXISTS (
    SELECT 1 FROM restrictions AS r
    WHERE (r.user_id = n.recipient AND r.other_id = n.actor_id)
       OR (r.user_id = n.actor_id AND r.other_id = n.recipient AND r.kind = 'block')
)";

/// `@P1` the recipient, `@P2` the newest id to mark (`0xFF..FF` for all).
pub const MARK_NOTIFICATIONS_READ: &str = "\
UPDATE notifications SET is_read = 1
WHERE recipient = @P1 AND id <= @P2 AND is_read = 0";

// ---- blocks and mutes (see blocks.rs) ------------------------------------------------------

/// `@P1`..`@P4` outbox row (NULLs for none; written only when the restriction is new), `@P5`
/// the user, `@P6` the kind (`block` or `mute`), `@P7` the other user, `@P8` since when. The
/// key's range is locked (`UPDLOCK, HOLDLOCK`) so that two equal requests take turns and the
/// second adds nothing; the foreign keys refuse a user erased meanwhile. Answers one row:
/// `added` (0 or 1).
pub const RESTRICT: &str = "\
SET NOCOUNT ON;
SET XACT_ABORT ON;
DECLARE @added INT = 0;
BEGIN TRANSACTION;
INSERT INTO restrictions (user_id, kind, other_id, created_at)
SELECT @P5, @P6, @P7, @P8
WHERE EXISTS (SELECT 1 FROM users WHERE id = @P5)
  AND EXISTS (SELECT 1 FROM users WHERE id = @P7)
  AND NOT EXISTS (
    SELECT 1 FROM restrictions WITH (UPDLOCK, HOLDLOCK)
    WHERE user_id = @P5 AND kind = @P6 AND other_id = @P7
  );
SET @added = @@ROWCOUNT;
IF @added > 0 AND @P1 IS NOT NULL
    INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P9);
COMMIT TRANSACTION;
SELECT @added AS added;";

/// `@P1` the user, `@P2` the kind, `@P3` the other user. Answers one row: `removed` (0 or 1).
pub const LIFT_RESTRICTION: &str = "\
SET NOCOUNT ON;
DELETE FROM restrictions WHERE user_id = @P1 AND kind = @P2 AND other_id = @P3;
SELECT @@ROWCOUNT AS removed;";

/// Keyset page of a user's blocks or mutes, newest first: `@P1` the user, `@P2` the kind,
/// strictly after (`@P3` since, `@P4` other user); the first page passes the latest
/// `DATETIME2` and `0xFF..FF`. `@P5` the page size. Served by `ix_restrictions_newest_first`.
pub const RESTRICTED: &str = "\
SELECT TOP (@P5) other_id AS user_id, created_at FROM restrictions
WHERE user_id = @P1 AND kind = @P2
  AND (created_at < @P3 OR (created_at = @P3 AND other_id < @P4))
ORDER BY created_at DESC, other_id DESC";

/// The blocks and mutes between `@P1` and `@P2`, either way: `mine` (1 when `@P1` made it)
/// and `kind`.
pub const STANDING: &str = "\
SELECT CASE WHEN user_id = @P1 THEN 1 ELSE 0 END AS mine, kind FROM restrictions
WHERE (user_id = @P1 AND other_id = @P2) OR (user_id = @P2 AND other_id = @P1)";

/// Whom `@P1` does not see: `other` and `kind` for everyone `@P1` blocks or mutes, and
/// everyone who blocks `@P1` (as `block`).
pub const HIDDEN_FROM: &str = "\
SELECT other_id AS other, kind FROM restrictions WHERE user_id = @P1
UNION ALL
SELECT user_id AS other, kind FROM restrictions WHERE other_id = @P1 AND kind = 'block'";

// ---- outbox and processed events -----------------------------------------------------------

/// `@P1`..`@P4` the outbox row.
pub const ENQUEUE: &str = "\
INSERT INTO outbox (id, kind, payload, occurred_at, trace_context)
    VALUES (@P1, @P2, @P3, @P4, @P5)";

/// Unsent events, oldest first, neither given up on nor waiting out a back-off. Due times are
/// the database server's clock (`SYSUTCDATETIME()`), one clock for every instance. `@P1` the
/// page size.
pub const PENDING: &str = "\
SELECT TOP (@P1) payload, attempts, trace_context FROM outbox
WHERE sent_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= SYSUTCDATETIME()
ORDER BY id";

/// When the oldest event neither sent nor given up was written (NULL when none): a seek of
/// `ix_outbox_sent_at`'s NULL range, where unsent rows sort.
pub const OLDEST_UNSENT: &str = "\
SELECT MIN(occurred_at) AS oldest FROM outbox WHERE sent_at IS NULL AND given_up_at IS NULL";

pub const MARK_SENT: &str = "\
UPDATE outbox SET sent_at = SYSUTCDATETIME(), last_error = NULL WHERE id = @P1";

/// `@P1` id, `@P2` the error, `@P3` give up (bit). The back-off before the next try is 1, 2, 4,
/// ... seconds, capped at a minute (`attempts` on the right is the value before this failure),
/// as in the SQLite adapter.
pub const MARK_FAILED: &str = "\
UPDATE outbox SET
    attempts = attempts + 1,
    last_error = @P2,
    next_attempt_at = DATEADD(SECOND,
        CASE WHEN attempts >= 6 THEN 60 ELSE POWER(2, attempts) END, SYSUTCDATETIME()),
    given_up_at = CASE WHEN @P3 = 1 THEN SYSUTCDATETIME() ELSE NULL END
WHERE id = @P1";

/// For operators and the contract tests: rows parked after repeated failures.
pub const GIVEN_UP_COUNT: &str = "\
SELECT COUNT_BIG(*) AS n FROM outbox WHERE given_up_at IS NOT NULL";

/// `@P1` consumer, `@P2` event id.
pub const IS_PROCESSED: &str = "\
SELECT 1 AS found FROM processed_events WHERE consumer = @P1 AND event_id = @P2";

/// Idempotent: the key-range lock (`UPDLOCK, HOLDLOCK`) keeps two concurrent marks of one event
/// from both inserting. `@P1` consumer, `@P2` event id.
pub const MARK_PROCESSED: &str = "\
INSERT INTO processed_events (consumer, event_id)
SELECT @P1, @P2
WHERE NOT EXISTS (
    SELECT 1 FROM processed_events WITH (UPDLOCK, HOLDLOCK)
    WHERE consumer = @P1 AND event_id = @P2
)";

/// Deletes up to `@P2` outbox rows sent before `@P1` (by `ix_outbox_sent_at`); answers how
/// many.
pub const PRUNE_SENT: &str = "\
SET NOCOUNT ON;
DELETE FROM outbox WHERE id IN (
    SELECT TOP (@P2) id FROM outbox WHERE sent_at IS NOT NULL AND sent_at < @P1 ORDER BY sent_at
);
SELECT @@ROWCOUNT AS pruned;";

/// Forgets up to `@P2` events processed before `@P1` (by `ix_processed_events_processed_at`);
/// answers how many.
pub const PRUNE_PROCESSED: &str = "\
SET NOCOUNT ON;
DELETE p FROM processed_events AS p
JOIN (
    SELECT TOP (@P2) consumer, event_id FROM processed_events
    WHERE processed_at < @P1 ORDER BY processed_at
) AS old ON old.consumer = p.consumer AND old.event_id = p.event_id;
SELECT @@ROWCOUNT AS pruned;";

// ---- migrations (see migrate.rs) -----------------------------------------------------------

/// Takes the migration lock for this session (released by [`RELEASE_MIGRATION_LOCK`] or when
/// the connection closes) and answers the mode now held: `Exclusive`, or `NoLock` when
/// `@P1` milliseconds passed first. (`sp_getapplock`'s return code says the same, but
/// `EXEC @status = ...` is beyond sqlparser; `APPLOCK_MODE` reads it back instead.)
pub const TAKE_MIGRATION_LOCK: &str = "\
EXEC sp_getapplock @Resource = N'rookery.schema_migrations', @LockMode = N'Exclusive',
    @LockOwner = N'Session', @LockTimeout = @P1;
SELECT APPLOCK_MODE(N'public', N'rookery.schema_migrations', N'Session') AS mode";

pub const RELEASE_MIGRATION_LOCK: &str = "\
EXEC sp_releaseapplock @Resource = N'rookery.schema_migrations', @LockOwner = N'Session'";

/// `OPENJSON` needs compatibility level 130 (SQL Server 2016) or more.
pub const COMPATIBILITY_LEVEL: &str = "\
SELECT CAST(compatibility_level AS INT) AS level FROM sys.databases WHERE name = DB_NAME()";

pub const CREATE_MIGRATIONS_TABLE: &str = "\
IF OBJECT_ID(N'schema_migrations', N'U') IS NULL
    CREATE TABLE schema_migrations (
        version    BIGINT        NOT NULL CONSTRAINT pk_schema_migrations PRIMARY KEY,
        name       NVARCHAR(200) NOT NULL,
        checksum   BINARY(32)    NOT NULL,
        applied_at DATETIME2(3)  NOT NULL
            CONSTRAINT df_schema_migrations_applied_at DEFAULT SYSUTCDATETIME()
    )";

pub const APPLIED_MIGRATIONS: &str = "\
SELECT version, name, checksum FROM schema_migrations ORDER BY version";

pub const BEGIN_MIGRATION: &str = "SET XACT_ABORT ON; BEGIN TRANSACTION";

/// `@P1` version, `@P2` name, `@P3` SHA-256 of the file.
pub const RECORD_MIGRATION: &str = "\
INSERT INTO schema_migrations (version, name, checksum) VALUES (@P1, @P2, @P3)";

pub const COMMIT_MIGRATION: &str = "COMMIT TRANSACTION";

/// Every statement above, by name, for the parse test.
#[cfg(test)]
pub const ALL: &[(&str, &str)] = &[
    ("OPEN_TRANSACTIONS", OPEN_TRANSACTIONS),
    ("PING", PING),
    ("CREATE_USER", CREATE_USER),
    ("WHICH_IS_TAKEN", WHICH_IS_TAKEN),
    ("USER_BY_ID", USER_BY_ID),
    ("USER_BY_USERNAME_KEY", USER_BY_USERNAME_KEY),
    ("CREDENTIALS", CREDENTIALS),
    ("CREDENTIALS_BY_ID", CREDENTIALS_BY_ID),
    ("SUMMARIES", SUMMARIES),
    ("SUMMARIES_BY_USERNAME_KEY", SUMMARIES_BY_USERNAME_KEY),
    ("UPDATE_PROFILE", UPDATE_PROFILE),
    ("SEARCH_USERS", SEARCH_USERS),
    ("SET_PASSWORD", SET_PASSWORD),
    ("DELETE_USER", DELETE_USER),
    ("START_SESSION", START_SESSION),
    ("ROTATE_REFRESH_TOKEN", ROTATE_REFRESH_TOKEN),
    ("END_SESSION", END_SESSION),
    ("REVOKED_SESSIONS", REVOKED_SESSIONS),
    ("CREATE_POST", CREATE_POST),
    ("POST_BY_ID", POST_BY_ID),
    ("PRUNE_IDEMPOTENCY_KEYS", PRUNE_IDEMPOTENCY_KEYS),
    ("DELETE_POST", DELETE_POST),
    ("POSTS_BY_IDS", POSTS_BY_IDS),
    ("MENTIONS_OF_POSTS", MENTIONS_OF_POSTS),
    ("TAGS_OF_POSTS", TAGS_OF_POSTS),
    ("POST_IDS_BY_AUTHORS", POST_IDS_BY_AUTHORS),
    ("HOME_FEED", HOME_FEED),
    ("USER_FEED", USER_FEED),
    ("POST_IDS_BY_TAG", POST_IDS_BY_TAG),
    ("REPLY_IDS", REPLY_IDS),
    ("REPLIES_OF", REPLIES_OF),
    ("COUNT_BY_AUTHOR", COUNT_BY_AUTHOR),
    ("POST_STATS", POST_STATS),
    ("LIKE", LIKE),
    ("UNLIKE", UNLIKE),
    ("LIKERS", LIKERS),
    ("REPOST", REPOST),
    ("UNREPOST", UNREPOST),
    ("REPOSTERS", REPOSTERS),
    ("REPOST_ENTRY", REPOST_ENTRY),
    ("ADD_NOTIFICATION", ADD_NOTIFICATION),
    ("NOTIFICATIONS", NOTIFICATIONS),
    ("UNREAD_NOTIFICATIONS", UNREAD_NOTIFICATIONS),
    ("MARK_NOTIFICATIONS_READ", MARK_NOTIFICATIONS_READ),
    ("RESTRICT", RESTRICT),
    ("LIFT_RESTRICTION", LIFT_RESTRICTION),
    ("RESTRICTED", RESTRICTED),
    ("STANDING", STANDING),
    ("HIDDEN_FROM", HIDDEN_FROM),
    ("ENQUEUE", ENQUEUE),
    ("PENDING", PENDING),
    ("OLDEST_UNSENT", OLDEST_UNSENT),
    ("MARK_SENT", MARK_SENT),
    ("MARK_FAILED", MARK_FAILED),
    ("GIVEN_UP_COUNT", GIVEN_UP_COUNT),
    ("IS_PROCESSED", IS_PROCESSED),
    ("MARK_PROCESSED", MARK_PROCESSED),
    ("PRUNE_SENT", PRUNE_SENT),
    ("PRUNE_PROCESSED", PRUNE_PROCESSED),
    ("TAKE_MIGRATION_LOCK", TAKE_MIGRATION_LOCK),
    ("RELEASE_MIGRATION_LOCK", RELEASE_MIGRATION_LOCK),
    ("COMPATIBILITY_LEVEL", COMPATIBILITY_LEVEL),
    ("CREATE_MIGRATIONS_TABLE", CREATE_MIGRATIONS_TABLE),
    ("APPLIED_MIGRATIONS", APPLIED_MIGRATIONS),
    ("BEGIN_MIGRATION", BEGIN_MIGRATION),
    ("RECORD_MIGRATION", RECORD_MIGRATION),
    ("COMMIT_MIGRATION", COMMIT_MIGRATION),
];
