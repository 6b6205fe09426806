-- Delivery receipts from SMS gateways (`tocsin serve`).

-- Every receipt that named a known delivery, once: a gateway that calls back twice with the
-- same report (a retry, a replay) finds its row here and changes nothing. A receipt for an
-- unknown delivery is not stored.
CREATE TABLE receipts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES deliveries(id),
    gateway      TEXT NOT NULL,              -- the gateway's configured name, e.g. "kannel"
    message_id   TEXT,                       -- the gateway's message id, if the receipt gave one
    status       TEXT NOT NULL,              -- the gateway's own report: "delivered", "type=16", ...
    state        TEXT NOT NULL CHECK (state IN ('sent', 'delivered', 'failed', 'undeliverable')),
                                             -- what the report means for the delivery
    code         TEXT,                       -- the gateway's error code (Twilio ErrorCode, Vonage err-code)
    text         TEXT,                       -- the gateway's text (Kannel's %A, ...)
    received_at  INTEGER NOT NULL,
    UNIQUE (delivery_id, gateway, status)    -- one report of each kind per delivery
);
