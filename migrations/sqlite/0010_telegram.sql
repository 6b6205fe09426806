-- Telegram subscriptions: people follow the incident through the hospital's bot.
--
-- A chat is bound to a known contact by a deep link (`/start TOKEN`): the contact's
-- `telegram_chat_id` becomes that chat, and their personal messages go there. A chat that
-- starts the bot without a token follows the public updates only: it becomes a contact of
-- role 'public' of its own (deliveries are per contact), with no other address. The
-- hospital's public channels are contacts of role 'public' too.
--
-- SQLite cannot change a CHECK constraint in place, so `contacts` is rebuilt, through a copy
-- with deferred foreign keys as in 0008.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE contacts_copy AS SELECT * FROM contacts;
DROP TABLE contacts;
CREATE TABLE contacts (
    id                 INTEGER PRIMARY KEY,
    external_id        TEXT NOT NULL,         -- the export's id as people read it; the keys
                                              -- are in contact_identities
    role               TEXT NOT NULL CHECK (role IN ('patient', 'gp', 'journalist', 'staff',
                                                     'public')),
                                              -- public: a Telegram chat that follows the
                                              -- public updates, or a public channel
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    language           TEXT,                  -- as exported; normalised at render time
    mobile             TEXT,                  -- E.164
    email              TEXT,
    telegram_chat_id   TEXT,
    organisation       TEXT,                  -- newsroom of a journalist, practice of a GP
    birth_date         TEXT,                  -- ISO 8601 date
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    phone              TEXT,                  -- E.164, takes no SMS: for the call centre
    telegram_language  TEXT                   -- nl, fr or en: chosen in the bot (/language);
                                              -- only the Telegram messages follow it
);
INSERT INTO contacts SELECT id, external_id, role, first_name, last_name, language, mobile,
    email, telegram_chat_id, organisation, birth_date, created_at, updated_at, phone, NULL
    FROM contacts_copy;
DROP TABLE contacts_copy;
CREATE INDEX contacts_role ON contacts (role, id);
CREATE INDEX contacts_telegram ON contacts (telegram_chat_id) WHERE telegram_chat_id IS NOT NULL;

-- Every chat that ever started the bot, and where its subscription stands.
CREATE TABLE telegram_chats (
    chat_id        TEXT PRIMARY KEY,
    contact_id     INTEGER NOT NULL REFERENCES contacts(id),
                                              -- the patient, GP or journalist a deep link bound
                                              -- it to, or its own 'public' contact
    personal       INTEGER NOT NULL CHECK (personal IN (0, 1)),
                                              -- 1: bound by a deep link (personal messages)
    language       TEXT NOT NULL CHECK (language IN ('nl', 'fr', 'en')),
    subscribed_at  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    ended_at       INTEGER,                   -- /stop, or Telegram said the chat is gone
                                              -- (blocked, deactivated, not found)
    ended_reason   TEXT
);
CREATE INDEX telegram_chats_contact ON telegram_chats (contact_id);

-- A deep link binds once: its MAC is kept when it is used, with the chat it bound.
CREATE TABLE telegram_links_used (
    mac         TEXT PRIMARY KEY,             -- hex of the token's MAC
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    chat_id     TEXT NOT NULL,
    used_at     INTEGER NOT NULL
);

-- Keys Tocsin makes itself and keeps with its data (the deep links' HMAC key), so that a
-- link issued by one process is valid in another.
CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);
