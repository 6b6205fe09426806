-- The press room: each update's public reference, and what its CAP alert says.

-- Printed on every message, page and feed of the update (`ZNA-20260113-7KQ4`), so that a
-- reader can check it on the public site. Updates drafted before this migration get one of
-- the same shape, under the prefix REF and the day they were drafted (UTC).
ALTER TABLE updates ADD COLUMN reference TEXT;
UPDATE updates SET reference = 'REF-' || strftime('%Y%m%d', created_at / 1000, 'unixepoch') || '-'
    || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (abs(random()) % 32) + 1, 1)
    || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (abs(random()) % 32) + 1, 1)
    || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (abs(random()) % 32) + 1, 1)
    || substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (abs(random()) % 32) + 1, 1);
CREATE UNIQUE INDEX updates_reference ON updates (reference);

-- CAP 1.2's urgency, severity, certainty and responseType as the update file set them
-- (NULL: the default of the update's kind, `domain::CapFields::resolve`).
ALTER TABLE updates ADD COLUMN cap_urgency TEXT;
ALTER TABLE updates ADD COLUMN cap_severity TEXT;
ALTER TABLE updates ADD COLUMN cap_certainty TEXT;
ALTER TABLE updates ADD COLUMN cap_response_type TEXT;
