-- kiosk-central schema, version 3: indexes for what every pushed entry
-- asks. Applied after schema.sql + schema_2.sql on a new database, alone
-- on a version-2 one. Same dialect rules as schema.sql.

-- A reader's current loans (limits, overdue count): without it every
-- checkout read the reader's whole loan history.
CREATE INDEX loans_open_patron ON loans (patron) WHERE returned IS NULL;

-- The hold waiting on the shelf for a copy (every return and checkout).
CREATE INDEX holds_ready_item ON holds (ready_item) WHERE status = 'ready';
