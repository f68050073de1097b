-- Work calendars: which days and hours are working time (the WorkCalendar JSON form), and
-- the holiday sources subscribed by URL or uploaded as iCalendar.
-- version grows with every change of a calendar (an edit, or a source refresh that changed
-- its holidays) and is drawn from work_calendar_serial, shared by all calendars: a calendar
-- deleted and made again never shows a version it had before, so a cache keyed on
-- (name, version) cannot mistake the new one for the old.
-- updated_at and updated_by are those of the last edit.
-- recomputed_version is the version whose open deadlines are all recomputed: behind
-- version, a recompute did not finish (a crash, a database error) and the worker
-- finishes it.
CREATE TABLE work_calendars (
    name TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT,
    recomputed_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE work_calendar_serial (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO work_calendar_serial (id, version) VALUES (1, 0);

-- A calendar's holiday sources, in order. url NULL: uploaded. body is the last good
-- iCalendar text (the upload, or the last fetch that succeeded), kept when a fetch fails;
-- holidays ([{"date":"YYYY-MM-DD","name":"..."}]) were read from it with the patterns
-- (JSON lists of strings). fetched_at: the last successful fetch (200 or 304);
-- checked_at: the last attempt. status: 'pending' | 'ok' | 'failed'.
CREATE TABLE work_calendar_sources (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    calendar TEXT NOT NULL REFERENCES work_calendars(name) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url TEXT,
    include_patterns TEXT NOT NULL,
    exclude_patterns TEXT NOT NULL,
    body TEXT,
    etag TEXT,
    last_modified TEXT,
    fetched_at INTEGER,
    checked_at INTEGER,
    status TEXT NOT NULL,
    error TEXT,
    holidays TEXT NOT NULL DEFAULT '[]',
    count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX work_calendar_sources_calendar ON work_calendar_sources(calendar, position);
-- The daily refresh takes the sources checked longest ago (never checked first).
CREATE INDEX work_calendar_sources_checked ON work_calendar_sources(checked_at);

-- The work calendars a model version names (on its process, steps or lanes), so that a
-- calendar's change finds the instances to recompute. No reference to work_calendars: a
-- model may name a calendar that does not exist yet.
CREATE TABLE model_calendars (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    calendar TEXT NOT NULL,
    PRIMARY KEY (model_id, calendar)
);
CREATE INDEX model_calendars_calendar ON model_calendars(calendar, model_id);

-- The work calendar an open task's deadline was computed in.
ALTER TABLE tasks ADD COLUMN deadline_calendar TEXT;

-- A calendar's change walks the live instances of each model naming it, by id: a partial
-- index, so the walk reads them in order (no sort of them all for every page) and never
-- reads the ended ones.
CREATE INDEX instances_live ON instances(model_id, id) WHERE status IN ('running', 'incident');
