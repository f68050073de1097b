-- iCal subscription feeds (SQLite). A user's feed token is stored only as its SHA-256;
-- NULL: no feed. feed_version grows (and feed_changed_at moves) in every transaction that
-- changes what the user's feed shows, so a poll can be answered 304 without rendering.
ALTER TABLE users ADD COLUMN feed_token_hash TEXT;
ALTER TABLE users ADD COLUMN feed_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN feed_changed_at INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX users_feed_token ON users(feed_token_hash);
-- Indexes for finding the users a change concerns.
CREATE INDEX exports_instance ON exports(instance_id);

-- What each feed entry looked like when last served: SEQUENCE grows when its content changes.
CREATE TABLE feed_entries (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, source)
);
