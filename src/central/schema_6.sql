-- kiosk-central schema, version 6: tokens with roles, and readers' choice
-- to keep their loan history. Same dialect rules as schema.sql.

-- One row per token (its SHA-256, hex). role 'kiosk': kiosk_id is set,
-- offline_pins 1 lets the feed carry PIN hashes to it. role 'staff':
-- staff_name is set. Tokens of older servers stay in kiosks.token_hash
-- (argon2) and work as kiosk tokens without PIN hashes.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    kiosk_id TEXT,
    staff_name TEXT,
    offline_pins BIGINT NOT NULL DEFAULT 0,
    created TEXT NOT NULL
);
CREATE INDEX tokens_kiosk ON tokens (kiosk_id);

-- 1: the reader asked to keep their loan history (retention leaves their
-- card number on past loans). The reader portal sets it.
ALTER TABLE patrons ADD COLUMN keep_history BIGINT NOT NULL DEFAULT 0;
