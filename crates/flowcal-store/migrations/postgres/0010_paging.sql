-- Paging: every list is read a page at a time by keyset, (sort key, id) > (last key, last id)
-- ORDER BY sort key, id, from an index that holds the rows in that order.

-- One sortable deadline per task, kept with the deadline columns: deadline_at (ms) for an
-- instant, the start of the day in UTC (ms) for a date, 9223372036854775807 (the largest
-- BIGINT: after every deadline) for none.
ALTER TABLE tasks ADD COLUMN deadline_sort BIGINT NOT NULL DEFAULT 9223372036854775807;
UPDATE tasks SET deadline_sort = CASE
    WHEN deadline_date IS NOT NULL THEN (CAST(deadline_date AS DATE) - DATE '1970-01-01') * CAST(86400000 AS BIGINT)
    WHEN deadline_at IS NOT NULL THEN deadline_at
    ELSE 9223372036854775807 END;

-- My tasks: the assignee's, and the unclaimed ones of a role, by deadline or by creation.
CREATE INDEX tasks_assignee_deadline ON tasks(assignee, deadline_sort, id);
CREATE INDEX tasks_role_deadline ON tasks(role, deadline_sort, id) WHERE assignee IS NULL;
CREATE INDEX tasks_assignee_started ON tasks(assignee, started_at, id);
CREATE INDEX tasks_role_started ON tasks(role, started_at, id) WHERE assignee IS NULL;
-- Who ended a task sees its instance (the instances list).
CREATE INDEX tasks_ended_by ON tasks(ended_by, instance_id);
CREATE INDEX instances_starter ON instances(starter, id);

-- Delivery health: failed exports, the latest change first.
CREATE INDEX exports_failed ON exports(updated_at, id) WHERE state = 'failed';

-- Retention deletes audit entries by age.
CREATE INDEX audit_log_at ON audit_log(at);
