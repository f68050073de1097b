-- Calendar exports (SQLite). One row per (account, source) holds what the calendar should show;
-- it is also the outbox: a row whose state is 'pending' and whose not_before has come is a job.
CREATE TABLE exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES calendar_accounts(id) ON DELETE CASCADE,
    -- task:{id}:deadline or instance:{id}:item:{key}
    source TEXT NOT NULL,
    task_id INTEGER,
    instance_id INTEGER NOT NULL,
    event_key TEXT NOT NULL,
    -- 1: kept by auto-sync (follows the task), 0: by the button
    auto INTEGER NOT NULL DEFAULT 0,
    -- 'present' (keep the entry as the source says) or 'absent' (remove it)
    wanted TEXT NOT NULL,
    -- 'pending', 'synced', 'removed', 'failed', 'waiting' (for the user to reconnect)
    state TEXT NOT NULL,
    -- Grows with every change; a delivery records its result only for the version it delivered.
    version INTEGER NOT NULL DEFAULT 1,
    calendar TEXT,
    remote_id TEXT,
    etag TEXT,
    content_hash TEXT,
    sequence INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    not_before INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (account_id, source)
);
CREATE INDEX exports_due ON exports(state, not_before);
CREATE INDEX exports_user ON exports(user_id, id);

-- Auto-sync: every open task assigned to the user with a deadline is kept on this account's calendar.
ALTER TABLE users ADD COLUMN auto_sync_account INTEGER;
-- Completed tasks stay on the calendar as "✓ done" instead of being removed.
ALTER TABLE users ADD COLUMN auto_sync_keep_done INTEGER NOT NULL DEFAULT 0;
CREATE INDEX exports_source ON exports(source);
