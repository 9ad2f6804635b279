-- +goose Up

-- Who may see a post, its content warning, the post it answers and the post it boosts.
-- A boost (reblog) is a post row of its own with no text: it has an author, an id in the
-- timelines and a visibility of its own, like Mastodon's. Unboosting deletes that row.
ALTER TABLE posts
    ADD COLUMN visibility text NOT NULL DEFAULT 'public'
        CHECK (visibility IN ('public', 'unlisted', 'private', 'direct')),
    ADD COLUMN spoiler_text text NOT NULL DEFAULT '' CHECK (char_length(spoiler_text) <= 500),
    ADD COLUMN sensitive boolean NOT NULL DEFAULT false,
    ADD COLUMN in_reply_to_id bigint REFERENCES posts (id) ON DELETE SET NULL,
    ADD COLUMN in_reply_to_account_id bigint REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN reblog_of_id bigint REFERENCES posts (id) ON DELETE CASCADE,
    ADD COLUMN edited_at timestamptz;
ALTER TABLE posts DROP CONSTRAINT posts_body_check;
ALTER TABLE posts ADD CONSTRAINT posts_body_check CHECK (
    (reblog_of_id IS NULL AND char_length(body) BETWEEN 1 AND 500)
    OR (reblog_of_id IS NOT NULL AND body = '' AND in_reply_to_id IS NULL AND visibility <> 'direct'));
CREATE INDEX posts_replies_idx ON posts (in_reply_to_id, id) WHERE in_reply_to_id IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX posts_reblog_once_idx ON posts (reblog_of_id, author_id) WHERE reblog_of_id IS NOT NULL;
-- The public timeline: public posts that are not boosts.
CREATE INDEX posts_public_idx ON posts (id DESC)
    WHERE deleted_at IS NULL AND visibility = 'public' AND reblog_of_id IS NULL;

-- Whether viewer (0: nobody logged in) may see a post by author with visibility and id:
-- public and unlisted posts anyone may; private ones their author, the author's followers
-- and the accounts they mention; direct ones their author and the accounts they mention.
-- The same rule as core.MaySee, which decides it for the live streams; the visibility
-- matrix test holds both to it. Mention rows of private and direct posts are written in
-- the post's own transaction, so this is exact from the commit on.
CREATE FUNCTION may_see(viewer bigint, author bigint, visibility text, post bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT visibility IN ('public', 'unlisted')
        OR (viewer <> 0 AND (viewer = author
            OR (visibility = 'private'
                AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = viewer AND f.followee_id = author))
            OR EXISTS (SELECT 1 FROM mentions m WHERE m.post_id = post AND m.user_id = viewer)))
$$;

-- Whether a mention is in its account's mentions_received count: set by the mentions
-- consumer with the notification, so that a post's deletion counts off exactly what was
-- counted (mention rows of private and direct posts are written before that, with the post).
ALTER TABLE mentions ADD COLUMN counted boolean NOT NULL DEFAULT false;
UPDATE mentions SET counted = true;

-- Per-post counters, maintained by the counters consumer from the event log.
CREATE TABLE post_stats (
    post_id    bigint PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    replies    bigint NOT NULL DEFAULT 0,
    favourites bigint NOT NULL DEFAULT 0,
    reblogs    bigint NOT NULL DEFAULT 0
);

CREATE TABLE favourites (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, post_id)
);
CREATE INDEX favourites_post_idx ON favourites (post_id, id);
CREATE INDEX favourites_user_idx ON favourites (user_id, id);

CREATE TABLE bookmarks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, post_id)
);
CREATE INDEX bookmarks_user_idx ON bookmarks (user_id, id);

CREATE TABLE pins (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, post_id)
);

-- Earlier versions of edited posts, for GET /api/v1/statuses/:id/history.
CREATE TABLE post_edits (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    post_id      bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    body         text        NOT NULL,
    spoiler_text text        NOT NULL,
    sensitive    boolean     NOT NULL,
    language     text,
    created_at   timestamptz NOT NULL
);
CREATE INDEX post_edits_post_idx ON post_edits (post_id, id);

-- A follow gets an id, so that its notification can depend on it.
ALTER TABLE follows ADD COLUMN id bigint NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE;

-- Notifications of favourites, boosts and follows. Each depends on the row that caused it:
-- unfavouriting, unboosting or unfollowing deletes it with that row, and doing it again
-- makes a new row and so a new notification — one per favourite, boost or follow that
-- stands, as Mastodon does.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_post_id_recipient_id_key;
ALTER TABLE notifications
    ALTER COLUMN post_id DROP NOT NULL,
    ADD COLUMN favourite_id bigint UNIQUE REFERENCES favourites (id) ON DELETE CASCADE,
    ADD COLUMN reblog_id bigint UNIQUE REFERENCES posts (id) ON DELETE CASCADE,
    ADD COLUMN follow_id bigint UNIQUE REFERENCES follows (id) ON DELETE CASCADE,
    ADD CONSTRAINT notifications_kind_check CHECK (
        (kind = 'mention' AND post_id IS NOT NULL)
        OR (kind = 'favourite' AND post_id IS NOT NULL AND favourite_id IS NOT NULL)
        OR (kind = 'reblog' AND post_id IS NOT NULL AND reblog_id IS NOT NULL)
        OR (kind = 'follow' AND post_id IS NULL AND follow_id IS NOT NULL));
-- One mention notification per post and recipient: the mentions consumer's exactly-once key.
CREATE UNIQUE INDEX notifications_mention_once_idx ON notifications (post_id, recipient_id) WHERE kind = 'mention';

-- The interactions consumer (favourite, boost and follow notifications) starts at the head:
-- no event before this migration is a favourite, a boost or a follow it would notify.
INSERT INTO consumers (name, xid, event_id)
SELECT c.name, coalesce(e.xid, '0'), coalesce(e.id, 0)
FROM (VALUES ('interactions')) AS c (name)
LEFT JOIN (SELECT xid, id FROM events ORDER BY xid DESC, id DESC LIMIT 1) AS e ON true;

-- +goose Down
DELETE FROM consumers WHERE name = 'interactions';
DELETE FROM notifications WHERE kind <> 'mention';
DROP INDEX notifications_mention_once_idx;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications
    DROP COLUMN follow_id,
    DROP COLUMN reblog_id,
    DROP COLUMN favourite_id,
    ALTER COLUMN post_id SET NOT NULL,
    ADD CONSTRAINT notifications_kind_check CHECK (kind IN ('mention')),
    ADD CONSTRAINT notifications_kind_post_id_recipient_id_key UNIQUE (kind, post_id, recipient_id);
ALTER TABLE follows DROP COLUMN id;
ALTER TABLE mentions DROP COLUMN counted;
DROP TABLE post_edits;
DROP TABLE pins;
DROP TABLE bookmarks;
DROP TABLE favourites;
DROP TABLE post_stats;
DROP FUNCTION may_see(bigint, bigint, text, bigint);
DELETE FROM posts WHERE reblog_of_id IS NOT NULL;
DROP INDEX posts_public_idx;
ALTER TABLE posts DROP CONSTRAINT posts_body_check;
ALTER TABLE posts ADD CONSTRAINT posts_body_check CHECK (char_length(body) BETWEEN 1 AND 500);
ALTER TABLE posts
    DROP COLUMN edited_at,
    DROP COLUMN reblog_of_id,
    DROP COLUMN in_reply_to_account_id,
    DROP COLUMN in_reply_to_id,
    DROP COLUMN sensitive,
    DROP COLUMN spoiler_text,
    DROP COLUMN visibility;
