-- kiosk-central schema, version 7: retention of readers' history
-- ([privacy] history_retention_days, engine::retention). Applied after
-- schema.sql .. schema_6.sql on a new database, alone on a version-6 one.
-- Same dialect rules as schema.sql.

-- 1: the entry's reader was taken out (card, identifying details, card
-- numbers in its message); retention never reads it again.
ALTER TABLE entries ADD COLUMN anonymised BIGINT NOT NULL DEFAULT 0;

-- The entries retention still has to look at, oldest first.
CREATE INDEX entries_not_anonymised ON entries (at) WHERE anonymised = 0;

-- Past loans that still name their reader, by the day they were returned.
CREATE INDEX loans_returned_named ON loans (returned)
    WHERE returned IS NOT NULL AND patron <> '';
