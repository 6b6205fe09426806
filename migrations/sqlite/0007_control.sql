-- A broadcast a person can stop and redo, and counts that are never rounder than the truth.
--
-- SQLite cannot change a CHECK constraint in place, so `updates` and `deliveries` are
-- rebuilt. sqlx runs every migration inside a transaction, where foreign keys cannot be
-- turned off; they are deferred instead: dropping a table counts its children's rows as
-- violations, and inserting the same rows into the new table of the same name settles them
-- before the commit. (Renaming a table would rewrite the children's references to the new
-- name, so the rows go through a copy.)
PRAGMA defer_foreign_keys = ON;

CREATE TABLE deliveries_copy AS SELECT * FROM deliveries;
DROP TABLE deliveries;
CREATE TABLE updates_copy AS SELECT * FROM updates;
DROP TABLE updates;

CREATE TABLE updates (
    id           INTEGER PRIMARY KEY,
    incident_id  TEXT NOT NULL REFERENCES incidents(id),
    kind         TEXT NOT NULL CHECK (kind IN ('alert', 'update', 'cancel', 'allclear')),
    follows      INTEGER REFERENCES updates(id),
    audiences    TEXT NOT NULL,
    channels     TEXT NOT NULL,
    appointments TEXT NOT NULL CHECK (appointments IN ('cancelled', 'postponed', 'as-planned')),
    state        TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'sending', 'sent', 'halted', 'discarded')),
                                            -- halted: a person stopped it while it was sent;
                                            -- discarded: a draft that will never be sent
    author       TEXT NOT NULL,
    approved_by  TEXT,
    approved_at  INTEGER,
    planned_at   INTEGER,
    created_at   INTEGER NOT NULL,
    paused_at    INTEGER,                   -- a run stopped with deliveries left (a channel's
    paused_reason TEXT,                     -- configuration refused, an outage outlasted the
                                            -- patience, the mass-rejection guard): `serve` does
                                            -- not resume it; `update send`/`retry` do
    halted_by    TEXT,
    halted_at    INTEGER
);
INSERT INTO updates (id, incident_id, kind, follows, audiences, channels, appointments,
                     state, author, approved_by, approved_at, planned_at, created_at)
    SELECT id, incident_id, kind, follows, audiences, channels, appointments,
           state, author, approved_by, approved_at, planned_at, created_at FROM updates_copy;
DROP TABLE updates_copy;

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    update_id        INTEGER NOT NULL REFERENCES updates(id),
    contact_id       INTEGER NOT NULL REFERENCES contacts(id),
    channel          TEXT NOT NULL,
    address          TEXT,
    language         TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'undeliverable', 'skipped', 'uncertain', 'cancelled')),
                                            -- uncertain: handed over, and the server's answer
                                            -- never recorded (a crash, a connection lost after
                                            -- the data); cancelled: the update was halted first
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,               -- when it is due; NULL once nothing is left to do,
                                            -- or while `pending` is held back by a stopped run
    lease_until      INTEGER,
    gateway_id       TEXT,
    last_error       TEXT,
    updated_at       INTEGER NOT NULL,
    fallback_at      INTEGER,
    handed_over_at   INTEGER,               -- the channel's point of no return was recorded
                                            -- (SMTP: the data, all but its final dot); with the
                                            -- state still `sending`, the server's answer is due
    UNIQUE (update_id, contact_id, channel)
);
INSERT INTO deliveries (id, update_id, contact_id, channel, address, language, state,
                            attempts, next_attempt_at, lease_until, gateway_id, last_error,
                            updated_at, fallback_at, handed_over_at)
    SELECT id, update_id, contact_id, channel, address, language, state,
           attempts, next_attempt_at, lease_until, gateway_id, last_error,
           updated_at, fallback_at, CASE WHEN state IN ('sent', 'delivered') THEN updated_at END
    FROM deliveries_copy;
DROP TABLE deliveries_copy;
CREATE INDEX deliveries_due ON deliveries (update_id, state, next_attempt_at);
CREATE INDEX deliveries_gateway ON deliveries (gateway_id) WHERE gateway_id IS NOT NULL;
CREATE INDEX deliveries_fallback_due ON deliveries (update_id, state, updated_at)
    WHERE channel = 'sms' AND fallback_at IS NULL
      AND state IN ('sent', 'failed', 'undeliverable');

-- What people did to an update, and when: approved, approval revoked, discarded, halted,
-- deliveries sent again, a run paused or resumed. Append-only.
CREATE TABLE update_events (
    id         INTEGER PRIMARY KEY,
    update_id  INTEGER NOT NULL REFERENCES updates(id),
    at         INTEGER NOT NULL,
    action     TEXT NOT NULL,               -- approved, revoked, discarded, halted, retried, paused, resumed
    by_whom    TEXT,                        -- the person who asked; NULL for the dispatcher
    detail     TEXT
);
CREATE INDEX update_events_update ON update_events (update_id, id);
