-- Whether the account's calendar is flowcal's own (1), one the user picked (0), or not known
-- (NULL: chosen before this was recorded). A deleted own calendar is made again; a deleted
-- calendar the user picked is reported, and choosing "own" again leaves a picked one.
ALTER TABLE calendar_accounts ADD COLUMN calendar_own BIGINT;
