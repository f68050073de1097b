-- Sign-in limiting per address as well as per login; failures keep no raw login.
-- One counter per login (address = ''), per address (login_hash = '') and per (login, address).
-- login_hash is the SHA-256 of the login typed: a failed login may be junk, megabytes long,
-- or a password typed in the wrong field. address is an IPv4 address or an IPv6 /64.
-- Rows whose window has passed and whose lock has ended are purged.
DROP TABLE sign_in_failures;
CREATE TABLE sign_in_failures (
    login_hash TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (login_hash, address)
);
CREATE INDEX sign_in_failures_first_at ON sign_in_failures (first_at);
