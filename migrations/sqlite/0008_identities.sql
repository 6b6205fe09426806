-- Identities are (kind, system, value): two people are never merged because two numbers look
-- alike. Before this, every contact had one `external_id`, unique across patients, GPs and
-- journalists, so a patient number equal to a GP's RIZIV number made the GP that patient.
--
-- `contacts.external_id` stays as the id people read (and type), but is no longer a key:
-- SQLite cannot drop a UNIQUE constraint in place, so `contacts` is rebuilt, through a copy
-- with deferred foreign keys as in 0007.
PRAGMA defer_foreign_keys = ON;

-- Who a contact is, as each export names them. A contact may have several (a FHIR patient's
-- hospital number and national number); an identity belongs to one contact only.
CREATE TABLE contact_identities (
    kind        TEXT NOT NULL CHECK (kind IN ('patient', 'riziv', 'media', 'staff', 'fhir')),
                                            -- patient: this hospital's patient number;
                                            -- riziv: RIZIV/INAMI number (11 digits);
                                            -- media: the press list's id; fhir: an identifier
    system      TEXT NOT NULL DEFAULT '',   -- a FHIR identifier's system; '' for the others
    value       TEXT NOT NULL,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    PRIMARY KEY (kind, system, value)
);
CREATE INDEX contact_identities_value ON contact_identities (value);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

-- Today's ids go into the namespace of the contact's role: a patient's is a patient number,
-- a GP's a RIZIV number, a journalist's a press-list id.
INSERT INTO contact_identities (kind, system, value, contact_id)
    SELECT CASE role WHEN 'patient' THEN 'patient' WHEN 'gp' THEN 'riziv'
                     WHEN 'journalist' THEN 'media' ELSE 'staff' END,
           '', external_id, id
    FROM contacts;

CREATE TABLE contacts_copy AS SELECT * FROM contacts;
DROP TABLE contacts;
CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    external_id       TEXT NOT NULL,         -- the export's id as people read it; the keys are
                                             -- in contact_identities
    role              TEXT NOT NULL CHECK (role IN ('patient', 'gp', 'journalist', 'staff')),
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    language          TEXT,                  -- as exported; normalised at render time
    mobile            TEXT,                  -- E.164
    email             TEXT,
    telegram_chat_id  TEXT,
    organisation      TEXT,                  -- newsroom of a journalist, practice of a GP
    birth_date        TEXT,                  -- ISO 8601 date
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    phone             TEXT                   -- E.164, takes no SMS: for the call centre
);
INSERT INTO contacts SELECT id, external_id, role, first_name, last_name, language, mobile,
    email, telegram_chat_id, organisation, birth_date, created_at, updated_at, phone
    FROM contacts_copy;
DROP TABLE contacts_copy;
CREATE INDEX contacts_role ON contacts (role, id);

-- A GP's language, when unknown, follows their patients': read per page of GPs.
CREATE INDEX appointments_gp ON appointments (gp_id) WHERE gp_id IS NOT NULL;

-- A record that an export gave under a known identity, but that disagrees with that contact
-- on name and birth date (or on role, or whose identities name several contacts): nothing
-- was merged or overwritten; a person decides (`tocsin import conflicts`).
CREATE TABLE import_conflicts (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    source      TEXT NOT NULL,               -- the imported file
    contact_id  INTEGER REFERENCES contacts(id),  -- the known contact; NULL when the record's
                                             -- identities name several
    identity    TEXT NOT NULL,               -- the identity they share, as `kind:value`
    reason      TEXT NOT NULL,
    record      TEXT NOT NULL,               -- JSON: the record as imported ("contact") and
                                             -- its appointments ("appointments")
    state       TEXT NOT NULL CHECK (state IN ('open', 'accepted', 'rejected')),
    decided_by  TEXT,
    decided_at  INTEGER
);
CREATE INDEX import_conflicts_state ON import_conflicts (state, id);
