-- Failed password sign-ins per login, for rate limiting (PostgreSQL): after too many within a
-- window, the login is refused until locked_until, whatever the password.
CREATE TABLE sign_in_failures (
    login TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);
