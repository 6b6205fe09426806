-- Rendered e-mails are mostly the same text for every recipient of an update in one language
-- (the update's body, the fixed phrases, the HTML frame). Storing each in full made planning
-- write ~4 KB per e-mail — twice, through the WAL — and that, not rendering, bounded its speed.
--
-- A long message is now stored LZ4-compressed against a dictionary: the full text of the first
-- message of its (update, channel, language), kept here. Typical e-mails shrink from ~4 KB to
-- ~250 bytes. Short messages (SMS) and every message written before this migration stay plain
-- text, with `dictionary_id` NULL. `tocsin update preview` and the dispatcher unpack them.
CREATE TABLE message_dictionaries (
    id     INTEGER PRIMARY KEY,
    bytes  BLOB NOT NULL
);

-- NULL: body and body_html are plain text. Otherwise both are LZ4 blocks (size-prefixed)
-- against that dictionary.
ALTER TABLE delivery_messages ADD COLUMN dictionary_id INTEGER REFERENCES message_dictionaries(id);
