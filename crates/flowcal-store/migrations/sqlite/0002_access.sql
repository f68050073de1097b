-- Proxy access (SQLite): connectivity settings, OAuth flows, calendar accounts, identities, audit.
-- Values named *sealed* are encrypted by the application (fc1:<key id>:…); the database never sees them in clear.

-- A reminder before each calendar entry, in minutes (NULL: none).
ALTER TABLE users ADD COLUMN reminder_minutes INTEGER;

-- Settings made through the admin API; they win over the configuration file. value: JSON.
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Providers registered through the admin API. config: JSON without the secret.
CREATE TABLE oauth_providers (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    client_secret_sealed TEXT,
    updated_at INTEGER NOT NULL
);

-- Authorization requests in flight. Consumed (deleted) by the first callback that names them.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    provider TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    binding_hash TEXT NOT NULL,
    verifier_sealed TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX oauth_states_expiry ON oauth_states(expires_at);

CREATE TABLE calendar_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    external_id TEXT NOT NULL,
    display TEXT NOT NULL,
    url TEXT,
    calendar TEXT,
    status TEXT NOT NULL,
    credentials_sealed TEXT NOT NULL,
    access_expires_at INTEGER,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (user_id, provider, external_id)
);

-- Accounts at an OpenID provider linked to flowcal users, for signing in. Linked by subject, never by e-mail.
CREATE TABLE user_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (provider, subject)
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    user_id INTEGER,
    account_id INTEGER,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_log_user ON audit_log(user_id, id);
