-- Waiting timers: a token at a timer catch event, a boundary timer of an open task, or a
-- model's start timer. A row lives only while its timer waits: firing or cancelling it
-- deletes it in the transaction that moves the instance on (a cycle's row waits again with
-- its next due_at), so the table holds no history (that is in events) and stays as small as
-- the work that is waiting.
-- Workers claim due rows with a lease, as they do exports.
CREATE TABLE timers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- An instance's timer...
    instance_id INTEGER REFERENCES instances(id),
    -- ...the task a boundary timer is attached to...
    task_id INTEGER REFERENCES tasks(id),
    -- ...or a start timer: the model version it was armed for and its key (one per key).
    model_id INTEGER REFERENCES models(id),
    model_key TEXT,
    -- The timer event's BPMN id.
    node TEXT NOT NULL,
    armed_at INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    fired INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER,
    CHECK ((instance_id IS NULL) <> (model_id IS NULL))
);
CREATE INDEX timers_due ON timers(due_at);
CREATE INDEX timers_instance ON timers(instance_id);
CREATE UNIQUE INDEX timers_start ON timers(model_key);
