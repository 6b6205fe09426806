-- The console's accounts: who may sign in, their sessions, and the audit log of every action
-- taken through the console or the CLI.
--
-- No password and no session or setup token is stored in clear: a password only as its
-- Argon2id PHC string, a token only as the hex of its SHA-256 (a token is 32 random bytes,
-- so a fast hash is enough: there is nothing to guess).

CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,   -- lower case (domain::UserName): what people
                                              -- sign in with, and what an update's author and
                                              -- approver are compared by
    role              TEXT NOT NULL CHECK (role IN ('author', 'approver', 'admin')),
    password_hash     TEXT,                   -- Argon2id PHC string; NULL until the person
                                              -- sets one through their setup token
    setup_hash        TEXT UNIQUE,            -- hex SHA-256 of the one-time setup token;
                                              -- NULL once used, or when none was issued
    setup_expires_at  INTEGER,                -- the setup token is refused from then on
    created_at        INTEGER NOT NULL,
    disabled_at       INTEGER                 -- a disabled user cannot sign in, and their
                                              -- sessions ended when it was set
);

-- A signed-in browser. The cookie holds the token; only its hash is kept here.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,           -- hex SHA-256 of the session token
    user_id       INTEGER NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,           -- refused from then on, whatever its use
    last_seen_at  INTEGER NOT NULL,           -- the last request that presented it
    ended_at      INTEGER,                    -- signed out, or its user disabled
    ip            TEXT                        -- the remote address it was opened from
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Who did what, when and from where: appended, never changed.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    user_id   INTEGER REFERENCES users(id),   -- NULL: the CLI (its login name is in detail)
                                              -- or someone not signed in (a failed login)
    action    TEXT NOT NULL,                  -- e.g. user.add, user.disable, login.failed,
                                              -- audit.export
    target    TEXT,                           -- what it acted on: a user name, an update id
    detail    TEXT,                           -- anything else, never a password or token
    remote    TEXT                            -- the remote address, or 'cli'
);
CREATE INDEX audit_log_at ON audit_log (at);
