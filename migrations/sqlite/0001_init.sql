-- Tocsin's schema on SQLite. Times are Unix epoch milliseconds (INTEGER), UTC.

-- The crisis: opened by the first update that names it.
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,           -- slug chosen by the spokesperson, e.g. "cyberattack-2026-01"
    title       TEXT NOT NULL,              -- English title of the first update, for listings
    opened_at   INTEGER NOT NULL,
    closed_at   INTEGER                     -- set by an all-clear
);

-- One message in time within an incident.
CREATE TABLE updates (
    id           INTEGER PRIMARY KEY,
    incident_id  TEXT NOT NULL REFERENCES incidents(id),
    kind         TEXT NOT NULL CHECK (kind IN ('alert', 'update', 'cancel', 'allclear')),
    follows      INTEGER REFERENCES updates(id),
    audiences    TEXT NOT NULL,             -- comma-separated audience names
    channels     TEXT NOT NULL,             -- comma-separated channel names
    appointments TEXT NOT NULL CHECK (appointments IN ('cancelled', 'postponed', 'as-planned')),
                                            -- what this update says of the patients' bookings
    state        TEXT NOT NULL CHECK (state IN ('draft', 'approved', 'sending', 'sent')),
    author       TEXT NOT NULL,
    approved_by  TEXT,
    approved_at  INTEGER,
    planned_at   INTEGER,                   -- set in the transaction that created its deliveries
    created_at   INTEGER NOT NULL
);

-- The spokesperson's text, one row per language.
CREATE TABLE update_texts (
    update_id  INTEGER NOT NULL REFERENCES updates(id),
    language   TEXT NOT NULL CHECK (language IN ('nl', 'fr', 'en')),
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    sms        TEXT NOT NULL,
    PRIMARY KEY (update_id, language)
);

-- A person to reach.
CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY,
    external_id       TEXT NOT NULL UNIQUE,  -- the id in the source export (patient number, RIZIV, ...)
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
    updated_at        INTEGER NOT NULL
);
CREATE INDEX contacts_role ON contacts (role, id);

-- A contact who asked not to be reached on a channel.
CREATE TABLE contact_optouts (
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    channel     TEXT NOT NULL,
    reason      TEXT,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (contact_id, channel)
);

-- A patient's booking.
CREATE TABLE appointments (
    id            INTEGER PRIMARY KEY,
    external_id   TEXT NOT NULL UNIQUE,
    patient_id    INTEGER NOT NULL REFERENCES contacts(id),
    gp_id         INTEGER REFERENCES contacts(id),
    starts_at     INTEGER NOT NULL,
    campus        TEXT NOT NULL,
    department    TEXT NOT NULL,
    practitioner  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('booked', 'cancelled'))
);
CREATE INDEX appointments_patient ON appointments (patient_id, starts_at);

-- One (update, contact, channel): what we told whom, and where it stands.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    update_id        INTEGER NOT NULL REFERENCES updates(id),
    contact_id       INTEGER NOT NULL REFERENCES contacts(id),
    channel          TEXT NOT NULL,
    address          TEXT,                   -- NULL when skipped for want of one
    language         TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'undeliverable', 'skipped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,                -- when it is due: pending, failed-and-retrying, or
                                            -- sending (= lease_until); NULL once nothing is left to do
    lease_until      INTEGER,                -- while sending: after this the claim has expired
    gateway_id       TEXT,                   -- e-mail Message-ID, SMS gateway id, Telegram message id
    last_error       TEXT,
    updated_at       INTEGER NOT NULL,
    UNIQUE (update_id, contact_id, channel)
);
-- The dispatcher's claim query reads only due rows of one update.
CREATE INDEX deliveries_due ON deliveries (update_id, state, next_attempt_at);
CREATE INDEX deliveries_gateway ON deliveries (gateway_id) WHERE gateway_id IS NOT NULL;

-- What we told whom: the rendered message of a delivery, kept apart from its state row so
-- that the rows every claim and outcome rewrites stay a few dozen bytes. None when skipped.
CREATE TABLE delivery_messages (
    delivery_id  INTEGER PRIMARY KEY REFERENCES deliveries(id),
    subject      TEXT,                       -- e-mail only
    body         TEXT NOT NULL,              -- the rendered text as sent
    body_html    TEXT                        -- e-mail's HTML part
);

-- Append-only: every transition of every delivery.
CREATE TABLE delivery_events (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES deliveries(id),
    at           INTEGER NOT NULL,
    from_state   TEXT,                       -- NULL for the planning event
    to_state     TEXT NOT NULL,
    detail       TEXT                        -- gateway response, error, reason for skipping
);
CREATE INDEX delivery_events_delivery ON delivery_events (delivery_id, id);
