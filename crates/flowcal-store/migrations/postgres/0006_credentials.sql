-- Credentials over time: API tokens with names, last use and expiry; disabled users.
-- Personal API tokens may expire (NULL: never).
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
CREATE INDEX api_tokens_user ON api_tokens(user_id, id);
-- Ending every session of a user (password change, disabling) finds them by user.
CREATE INDEX sessions_user ON sessions(user_id);
-- A disabled user cannot sign in; their sessions, tokens and feed stop (NULL: active).
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
-- Deleting a user: asked for at deletion_requested_at (their calendar entries are being removed),
-- done at deleted_at. The row stays as a tombstone, so history and the audit log still name them.
ALTER TABLE users ADD COLUMN deletion_requested_at BIGINT;
ALTER TABLE users ADD COLUMN deleted_at BIGINT;
