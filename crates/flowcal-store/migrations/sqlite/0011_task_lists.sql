-- My tasks with its usual filter (open tasks): each way in (the assignee's, the unclaimed
-- ones of a role) read in order from an index that also holds the state, so a page and the
-- bounded count of a list read index entries only, never the rows of other states.
DROP INDEX tasks_assignee_deadline;
DROP INDEX tasks_role_deadline;
DROP INDEX tasks_assignee_started;
DROP INDEX tasks_role_started;
CREATE INDEX tasks_assignee_state_deadline ON tasks(assignee, state, deadline_sort, id);
CREATE INDEX tasks_role_state_deadline ON tasks(role, state, deadline_sort, id) WHERE assignee IS NULL;
CREATE INDEX tasks_assignee_state_started ON tasks(assignee, state, started_at, id);
CREATE INDEX tasks_role_state_started ON tasks(role, state, started_at, id) WHERE assignee IS NULL;

-- A task page shows the user's entries of its instance, in order: found by instance and
-- user together, however many entries the user keeps in other instances.
DROP INDEX exports_instance;
CREATE INDEX exports_instance_user ON exports(instance_id, user_id, id);
