-- Each SMS gateway's rate as a budget for the whole deployment: the next free slot of its
-- time, which every sending process reserves from (`channels::sms::slots`). A process takes a
-- span of slots in one statement, `start = max(next, now)`, `next = start + span`, then sends
-- each message at its slot.
CREATE TABLE rate_slots (
    gateway       TEXT PRIMARY KEY,         -- the gateway's configured name, e.g. "twilio"
    next_slot_us  INTEGER NOT NULL          -- its next free time, in microseconds since the
                                            -- Unix epoch (whole milliseconds would round a
                                            -- 5.125 ms spacing away)
);
