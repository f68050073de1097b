-- Reading what people change in the calendars flowcal writes to.

-- One row per account whose calendar holds entries flowcal made: when it is read next, where the
-- read goes on from (the service's sync token for that calendar) and how the last one went.
-- Bounded by the accounts; removed with its account.
CREATE TABLE calendar_reads (
    account_id BIGINT PRIMARY KEY REFERENCES calendar_accounts(id) ON DELETE CASCADE,
    -- The calendar the token belongs to: a token of another calendar is not used.
    calendar TEXT,
    token TEXT,
    due_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX calendar_reads_due ON calendar_reads(due_at);

-- Where the entry starts as flowcal last wrote it (a date, or an instant with its zone), to
-- tell a move in the calendar from flowcal's own change.
ALTER TABLE exports ADD COLUMN written_start TEXT;
-- A move in the calendar that waits for the user's decision: the start the calendar has, which
-- delivery keeps until the user uses it or keeps flowcal's.
ALTER TABLE exports ADD COLUMN held_start TEXT;
-- A read finds the account's entries in the calendar by state (without it, SQLite went through
-- every synced export of every account: 52 ms per account at 100,000 exports).
CREATE INDEX exports_account_state ON exports(account_id, state, id);
-- Sync health: the last read and the last delivery that succeeded, the failure of the reads
-- since (cleared by a success), and when the access lapses where the provider says so
-- (Google's refresh_token_expires_in).
ALTER TABLE calendar_accounts ADD COLUMN last_read_at BIGINT;
ALTER TABLE calendar_accounts ADD COLUMN read_error TEXT;
ALTER TABLE calendar_accounts ADD COLUMN read_error_at BIGINT;
ALTER TABLE calendar_accounts ADD COLUMN last_delivered_at BIGINT;
ALTER TABLE calendar_accounts ADD COLUMN refresh_expires_at BIGINT;

-- Push channels (where public_url is https): the service notifies flowcal when the account's
-- calendar changes, and the notification only makes the read due. One per account at most;
-- the secret every notification carries is kept as its SHA-256.
CREATE TABLE calendar_channels (
    account_id BIGINT PRIMARY KEY REFERENCES calendar_accounts(id) ON DELETE CASCADE,
    -- Google: the channel id flowcal chose; Graph: the subscription id.
    channel_id TEXT NOT NULL,
    resource_id TEXT,
    calendar TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX calendar_channels_channel ON calendar_channels(channel_id);
