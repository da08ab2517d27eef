-- Conversations and reactions (DESIGN 4.1, 4.2): replies, mentions, tags and likes, and the
-- counts a post view shows, kept in the transaction of the write that changes them so that
-- they are exact as soon as it has answered. The SQLite adapter's
-- 20261130000001_conversations.sql, in T-SQL.

-- A reply names its parent and the parent's author (the home-feed rule for replies needs the
-- author even after the parent is deleted). No foreign key: deleting a post keeps its replies.
-- The counts are NOT NULL with a default, so existing posts get 0.
ALTER TABLE posts ADD in_reply_to BINARY(16) NULL;
ALTER TABLE posts ADD reply_to_author BINARY(16) NULL;
ALTER TABLE posts ADD reply_count BIGINT NOT NULL CONSTRAINT df_posts_reply_count DEFAULT 0;
ALTER TABLE posts ADD like_count BIGINT NOT NULL CONSTRAINT df_posts_like_count DEFAULT 0;
ALTER TABLE posts ADD repost_count BIGINT NOT NULL CONSTRAINT df_posts_repost_count DEFAULT 0;
GO

-- A post's direct replies, oldest first. A plain index, not a filtered one (see
-- 0001_initial.sql): most posts reply to nothing, and their NULLs sort together at one end.
CREATE INDEX ix_posts_in_reply_to ON posts (in_reply_to, id);

-- Each mentioned user once per post, in order of first appearance.
CREATE TABLE post_mentions (
    post_id  BINARY(16) NOT NULL,
    position INT        NOT NULL,
    user_id  BINARY(16) NOT NULL,
    CONSTRAINT pk_post_mentions PRIMARY KEY (post_id, position)
);

-- Each tag (lower case) once per post; the primary key serves the tag pages, newest first.
-- Tags are at most 50 characters before lower-casing, which may add a combining mark (U+0130
-- becomes i and U+0307); 100 UTF-16 units hold either that or 50 characters outside the BMP. A
-- binary collation compares them exactly as the SQLite adapter does, whatever the database's
-- default collation.
CREATE TABLE post_tags (
    tag      NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
    post_id  BINARY(16)    NOT NULL,
    position INT           NOT NULL,
    CONSTRAINT pk_post_tags PRIMARY KEY (tag, post_id)
);

CREATE INDEX ix_post_tags_post_id ON post_tags (post_id, position);

CREATE TABLE likes (
    post_id  BINARY(16)   NOT NULL,
    user_id  BINARY(16)   NOT NULL,
    liked_at DATETIME2(3) NOT NULL,
    CONSTRAINT pk_likes PRIMARY KEY (post_id, user_id)
);

-- A post's likers, newest like first.
CREATE INDEX ix_likes_newest_first ON likes (post_id, liked_at DESC, user_id DESC);
