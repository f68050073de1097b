-- Failed password sign-ins per login, for rate limiting (SQLite): after too many within a
-- window, the login is refused until locked_until, whatever the password.
CREATE TABLE sign_in_failures (
    login TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0
);
