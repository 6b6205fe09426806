-- Four eyes: what each reviewer said of an update, and when it is to be sent.

-- Every verdict on an update, oldest first: an approval, or a draft sent back to its author
-- with a comment. Append-only: the history stays when the update is approved later, or its
-- approval revoked.
CREATE TABLE reviews (
    id         INTEGER PRIMARY KEY,
    update_id  INTEGER NOT NULL REFERENCES updates(id),
    at         INTEGER NOT NULL,
    by_whom    TEXT NOT NULL,               -- the reviewer's name (a console user, or --by)
    verdict    TEXT NOT NULL CHECK (verdict IN ('approved', 'returned')),
    comment    TEXT                         -- for the author; required when returned
);
CREATE INDEX reviews_update ON reviews (update_id, id);

-- When `tocsin serve` starts sending an approved update (Unix ms): set by the console's
-- "send now" (the moment of the request) or a time, and by `update send --at`. NULL: not
-- scheduled. Cleared when the approval is revoked.
ALTER TABLE updates ADD COLUMN send_at INTEGER;
