-- flowcal core schema (SQLite). Times are milliseconds since the Unix epoch, UTC.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    time_zone TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    password_hash TEXT,
    calendar_export INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles(role);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    version INTEGER NOT NULL,
    name TEXT NOT NULL,
    bpmn TEXT NOT NULL,
    created_by INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    UNIQUE (key, version)
);

CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id INTEGER NOT NULL REFERENCES models(id),
    title TEXT NOT NULL,
    starter TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    joins TEXT NOT NULL,
    stuck TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ended_at INTEGER
);
-- Only stuck instances are looked up by status.
CREATE INDEX instances_incident ON instances(id) WHERE status = 'incident';

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id INTEGER NOT NULL REFERENCES instances(id),
    step TEXT NOT NULL,
    name TEXT NOT NULL,
    assignee TEXT,
    role TEXT,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    deadline_date TEXT,
    deadline_at INTEGER,
    deadline_zone TEXT,
    ended_at INTEGER,
    ended_by TEXT
);
-- Indexes on columns that completing a task does not change, so that a
-- state change rewrites no index page.
CREATE INDEX tasks_assignee ON tasks(assignee);
CREATE INDEX tasks_role ON tasks(role);
CREATE INDEX tasks_instance ON tasks(instance_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id INTEGER NOT NULL REFERENCES instances(id),
    task_id INTEGER REFERENCES tasks(id),
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX events_instance ON events(instance_id);
