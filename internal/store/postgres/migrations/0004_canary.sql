-- A canary in progress, kept with its service (JSON of store.Canary; ''
-- when none), so a restart resumes the step it was on.
ALTER TABLE services ADD COLUMN canary TEXT NOT NULL DEFAULT '';
