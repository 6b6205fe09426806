-- Imports from the hospital's exports (CSV, FHIR R4).

-- A number that takes no SMS (landline), kept for the call centre. E.164.
ALTER TABLE contacts ADD COLUMN phone TEXT;

-- What a later export changed, field by field: a new phone number, a cancelled appointment.
CREATE TABLE import_changes (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL,              -- the imported file
    entity      TEXT NOT NULL CHECK (entity IN ('contact', 'appointment')),
    external_id TEXT NOT NULL,
    field       TEXT NOT NULL,
    old_value   TEXT,
    new_value   TEXT
);
CREATE INDEX import_changes_entity ON import_changes (entity, external_id);
