-- kiosk-central schema, version 4: one entry per (kiosk, seq). Applied
-- after schema.sql … schema_3.sql on a new database, alone on a version-3
-- one. Same dialect rules as schema.sql.

-- Before version 4 `/v1/decide` could record a second entry under a seq a
-- kiosk had already used (a kiosk whose database was lost starts again at
-- seq 1). The later of two such entries is kept for staff as a
-- `sequence_reused` conflict (it was applied: staff check what it did),
-- so the index below can hold.
UPDATE entries SET status = 'conflict', code = 'sequence_reused',
    message = 'this seq was recorded twice before schema version 4; the earlier entry keeps it'
WHERE (code IS NULL OR code <> 'sequence_reused')
  AND EXISTS (
    SELECT 1 FROM entries o
    WHERE o.kiosk_id = entries.kiosk_id AND o.seq = entries.seq
      AND (o.code IS NULL OR o.code <> 'sequence_reused')
      AND (o.received < entries.received OR (o.received = entries.received AND o.id < entries.id)));

-- The guard: a kiosk's seq names one entry. Entries refused as
-- `sequence_reused` are kept beside it for staff, never applied.
CREATE UNIQUE INDEX entries_kiosk_seq_once ON entries (kiosk_id, seq)
    WHERE code IS NULL OR code <> 'sequence_reused';
