-- +goose Up

-- Trigram matching for account and tag search (typo-tolerant and prefix). pg_trgm is a
-- trusted extension: the database owner may create it without being a superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX users_username_trgm_idx ON users USING gin (lower(username) gin_trgm_ops);
CREATE INDEX users_display_name_trgm_idx ON users USING gin (lower(display_name) gin_trgm_ops);

-- Hashtags: name is the folded key that matching uses (text.FoldTag), display the name as
-- first written.
CREATE TABLE tags (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 400),
    display    text        NOT NULL CHECK (char_length(display) BETWEEN 1 AND 400),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tags_name_prefix_idx ON tags (name text_pattern_ops);
CREATE INDEX tags_name_trgm_idx ON tags USING gin (name gin_trgm_ops);

-- The posts of each tag (not boosts), kept by the search consumer of the event log.
-- listed marks public posts: only those are on tag timelines, the hashtag stream, trends,
-- featured-tag counts and the home timelines of the tag's followers; the others are found
-- by an account's statuses ?tagged=, as far as the reader may see them.
CREATE TABLE post_tags (
    tag_id    bigint  NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    post_id   bigint  NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id bigint  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    listed    boolean NOT NULL,
    PRIMARY KEY (tag_id, post_id)
);
CREATE INDEX post_tags_post_idx ON post_tags (post_id);
CREATE INDEX post_tags_author_idx ON post_tags (author_id, tag_id, post_id DESC);

-- How many listed posts each account wrote with a tag on each day (UTC, the day of the
-- post's event): the tags' history and the trends. Counted once per post, by the search
-- consumer, when the post is created.
CREATE TABLE tag_uses (
    tag_id     bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    day        date   NOT NULL,
    account_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    uses       bigint NOT NULL,
    PRIMARY KEY (tag_id, day, account_id)
);
CREATE INDEX tag_uses_day_idx ON tag_uses (day, tag_id);

CREATE TABLE tag_follows (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tag_id     bigint      NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, tag_id)
);
CREATE INDEX tag_follows_tag_idx ON tag_follows (tag_id);

CREATE TABLE featured_tags (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tag_id     bigint      NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, tag_id)
);

-- The text-search configuration for a post in ISO 639-1 language code (NULL or one
-- Postgres has no stemmer for: simple, which only folds case).
CREATE FUNCTION search_config(code text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE code
        WHEN 'ar' THEN 'arabic' WHEN 'hy' THEN 'armenian' WHEN 'eu' THEN 'basque'
        WHEN 'ca' THEN 'catalan' WHEN 'da' THEN 'danish' WHEN 'nl' THEN 'dutch'
        WHEN 'en' THEN 'english' WHEN 'fi' THEN 'finnish' WHEN 'fr' THEN 'french'
        WHEN 'de' THEN 'german' WHEN 'el' THEN 'greek' WHEN 'hi' THEN 'hindi'
        WHEN 'hu' THEN 'hungarian' WHEN 'id' THEN 'indonesian' WHEN 'ga' THEN 'irish'
        WHEN 'it' THEN 'italian' WHEN 'lt' THEN 'lithuanian' WHEN 'ne' THEN 'nepali'
        WHEN 'no' THEN 'norwegian' WHEN 'nb' THEN 'norwegian' WHEN 'nn' THEN 'norwegian'
        WHEN 'pt' THEN 'portuguese' WHEN 'ro' THEN 'romanian' WHEN 'ru' THEN 'russian'
        WHEN 'sr' THEN 'serbian' WHEN 'es' THEN 'spanish' WHEN 'sv' THEN 'swedish'
        WHEN 'ta' THEN 'tamil' WHEN 'tr' THEN 'turkish' WHEN 'yi' THEN 'yiddish'
        ELSE 'simple' END::regconfig
$$;

-- The lexeme of a bucket of 10,000 post ids: U+0001 (which no post may hold) and the
-- bucket's number. A search ANDs its query with the buckets of the newest ids, so that the
-- document index itself leaves out older matches and a common word costs only its newest.
CREATE FUNCTION search_bucket(bucket bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT chr(1) || bucket::text $$;

-- The search document of post id: its content warning and its text, in its language's
-- configuration, and the lexeme of its id's bucket (search_bucket), which no text has.
CREATE FUNCTION search_document(code text, spoiler_text text, body text, id bigint) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector(search_config(code), spoiler_text || ' ' || body)
        || array_to_tsvector(ARRAY[search_bucket(id / 10000)])
$$;

-- The query that matches the documents of the buckets from lo to hi.
CREATE FUNCTION search_buckets(lo bigint, hi bigint) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT string_agg(quote_literal(search_bucket(b)), ' | ')::tsquery FROM generate_series(lo, hi) b
$$;

-- The full-text index of posts that are not boosts: one row per live post, kept by the
-- search consumer of the event log (created, edited, deleted). The columns besides the
-- document are the post's, so that results are filtered (from:, is:, has:, language:) and
-- ranked without the posts table; a result is still checked against posts before it is
-- shown.
CREATE TABLE post_search (
    post_id    bigint PRIMARY KEY REFERENCES posts (id) ON DELETE CASCADE,
    author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    visibility text        NOT NULL,
    created_at timestamptz NOT NULL,
    reply      boolean     NOT NULL,
    sensitive  boolean     NOT NULL,
    has_link   boolean     NOT NULL,
    language   text,
    config     regconfig   NOT NULL,
    document   tsvector    NOT NULL
);
-- fastupdate off: a search scans the whole pending list of a GIN index, which costs more
-- than the consumer's batches save by deferring their index entries.
CREATE INDEX post_search_document_idx ON post_search USING gin (document) WITH (fastupdate = off);
CREATE INDEX post_search_author_idx ON post_search (author_id, post_id DESC);

-- The configurations the index holds posts in: a query is parsed in each of them (and in
-- simple), so that a word finds its inflections in every language present.
CREATE TABLE search_configs (config regconfig PRIMARY KEY);
INSERT INTO search_configs VALUES ('simple');

-- The query for search text q: websearch_to_tsquery syntax ("quoted phrases", or, -not),
-- parsed in every configuration of search_configs and OR-ed, so that an English post is
-- found by an English inflection and a German one by a German inflection of the words.
-- +goose StatementBegin
CREATE FUNCTION search_query(q text) RETURNS tsquery
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    result tsquery := websearch_to_tsquery('simple', q);
    c regconfig;
BEGIN
    FOR c IN SELECT config FROM search_configs WHERE config <> 'simple'::regconfig ORDER BY config::text LOOP
        result := result || websearch_to_tsquery(c, q);
    END LOOP;
    RETURN result;
END
$$;
-- +goose StatementEnd

-- An existing instance's posts are indexed by the search consumer's backfill (the tag
-- parser and the link finder are the application's), from next_post_id down, newest
-- first; it deletes the row when it is done.
CREATE TABLE search_backfill (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    next_post_id bigint NOT NULL
);
INSERT INTO search_backfill (next_post_id) SELECT max(id) FROM posts HAVING max(id) IS NOT NULL;

-- The search consumer has no row yet: EnsureConsumers registers it at the start of the
-- retained log, from where it applies every post event again (upserts: idempotent) and
-- counts tag uses.

-- +goose Down
DELETE FROM consumers WHERE name = 'search';
DROP TABLE search_backfill;
DROP FUNCTION search_query(text);
DROP TABLE search_configs;
DROP TABLE post_search;
DROP FUNCTION search_document(text, text, text, bigint);
DROP FUNCTION search_buckets(bigint, bigint);
DROP FUNCTION search_bucket(bigint);
DROP FUNCTION search_config(text);
DROP TABLE featured_tags;
DROP TABLE tag_follows;
DROP TABLE tag_uses;
DROP TABLE post_tags;
DROP TABLE tags;
DROP INDEX users_display_name_trgm_idx;
DROP INDEX users_username_trgm_idx;
