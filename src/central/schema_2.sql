-- kiosk-central schema, version 2: staff close conflicts; readers' mail
-- languages. Applied after schema.sql on a new database, alone on a
-- version-1 one. Same dialect rules as schema.sql.

-- Staff closing a conflict: the entry stays as it was (never applied, never
-- deleted); this row says who closed it, when and how.
CREATE TABLE conflict_resolutions (
    entry_id TEXT PRIMARY KEY,
    resolved TEXT NOT NULL,
    resolved_by TEXT NOT NULL,
    note TEXT NOT NULL
);

-- The language a reader reads mail in (zh-CN, en), from the `language`
-- column of the patrons CSV; reminders use it, else [reminders] language.
CREATE TABLE patron_languages (
    barcode TEXT PRIMARY KEY,
    language TEXT NOT NULL
);
