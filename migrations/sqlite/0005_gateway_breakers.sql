-- The circuit breaker of each SMS gateway as the sending process last saw it change, so that
-- `tocsin status` (another process) can show it.
CREATE TABLE gateway_breakers (
    gateway     TEXT PRIMARY KEY,           -- the gateway's configured name, e.g. "twilio"
    state       TEXT NOT NULL CHECK (state IN ('closed', 'open', 'half-open')),
    since       INTEGER NOT NULL,           -- when it changed to this state (or was first used)
    last_error  TEXT                        -- the last unavailable answer seen, number masked;
                                            -- kept when the breaker closes again
);
