-- Conversations and reactions (DESIGN 4.1, 4.2): replies, mentions, tags and likes, and the
-- counts a post view shows, kept in the transaction of the write that changes them so that
-- they are exact as soon as it has answered.

-- A reply names its parent and the parent's author (the home-feed rule for replies needs the
-- author even after the parent is deleted). No foreign key: deleting a post keeps its replies.
ALTER TABLE posts ADD COLUMN in_reply_to TEXT;
ALTER TABLE posts ADD COLUMN reply_to_author TEXT;
ALTER TABLE posts ADD COLUMN reply_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN like_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN repost_count INTEGER NOT NULL DEFAULT 0;

CREATE INDEX posts_by_parent ON posts (in_reply_to, id) WHERE in_reply_to IS NOT NULL;

-- Each mentioned user once per post, in order of first appearance.
CREATE TABLE post_mentions (
    post_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    user_id  TEXT NOT NULL,
    PRIMARY KEY (post_id, position)
) STRICT, WITHOUT ROWID;

-- Each tag (lower case) once per post; the primary key serves the tag pages, newest first.
CREATE TABLE post_tags (
    tag      TEXT NOT NULL,
    post_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (tag, post_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX post_tags_by_post ON post_tags (post_id, position);

CREATE TABLE likes (
    post_id  TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    liked_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX likes_newest_first ON likes (post_id, liked_at DESC, user_id DESC);
