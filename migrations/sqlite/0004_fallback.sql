-- The fallback channel: a patient whose SMS ended undeliverable, failed for good, or got no
-- delivery receipt in time is sent the e-mail version (`[policy.*] fallback`).

-- When the fallback sweep dealt with this SMS delivery (planned the fallback, or found none
-- to plan): set once, in the transaction that plans it, so a second sweep plans nothing.
ALTER TABLE deliveries ADD COLUMN fallback_at INTEGER;

-- The sweep reads only SMS deliveries that may call for a fallback and were not dealt with
-- yet: a delivered one leaves this index. `updated_at` is when a `sent` one was handed over
-- (a `sent` receipt is an event and leaves it alone).
CREATE INDEX deliveries_fallback_due ON deliveries (update_id, state, updated_at)
    WHERE channel = 'sms' AND fallback_at IS NULL
      AND state IN ('sent', 'failed', 'undeliverable');
