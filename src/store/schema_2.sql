-- The kiosk database, migration 2 (PRAGMA user_version = 2), applied after
-- schema.sql by src/store/mod.rs. Same conventions as schema.sql; never
-- edit a statement here once it has shipped.

-- Conflicts staff closed at the centre (pulled as `resolution` records).
-- The journal entry itself never changes (it stays `conflict`); this row
-- says who closed it, when and how, so the kiosk stops counting it open.
CREATE TABLE conflict_resolutions (
    entry_id    TEXT PRIMARY KEY REFERENCES journal(id),
    resolved    TEXT NOT NULL,
    resolved_by TEXT NOT NULL,
    note        TEXT NOT NULL
);

-- The reader's preferred language (zh-CN or en), from the `language`
-- column of the patrons CSV; NULL = the kiosk's default.
ALTER TABLE patrons ADD COLUMN language TEXT;
