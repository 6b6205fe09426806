-- Why `tocsin serve` could not start a scheduled update (planning refused: the configuration,
-- the example hospital details …), so that the update's page and `tocsin status` say it and
-- the update's log says it once, not at every look of the scheduler. Cleared when the update
-- starts (planned), is scheduled again or has its approval revoked.

ALTER TABLE updates ADD COLUMN start_refused TEXT;     -- the reason, as the error said it
                                                       -- (NULL: none)
ALTER TABLE updates ADD COLUMN start_refused_at INTEGER; -- when that reason was first met
                                                         -- (Unix ms)
