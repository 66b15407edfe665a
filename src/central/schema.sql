-- kiosk-central schema, version 1, for SQLite and PostgreSQL alike.
-- @ID@ is the auto-numbered primary key of each dialect. Only TEXT and
-- BIGINT columns; times are RFC 3339 text, booleans 0/1.

CREATE TABLE kiosks (
    kiosk_id TEXT PRIMARY KEY,
    token_hash TEXT UNIQUE,
    created TEXT NOT NULL,
    -- Highest seq applied, contiguous from 1.
    last_seq BIGINT NOT NULL DEFAULT 0,
    clock_offset_ms BIGINT,
    last_push TEXT,
    last_heartbeat TEXT,
    heartbeat TEXT
);

CREATE TABLE patrons (
    barcode TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    expires TEXT,
    pin_hash TEXT,
    email TEXT,
    blocked TEXT,
    fines_owed_cents BIGINT NOT NULL DEFAULT 0,
    updated TEXT NOT NULL
);

CREATE TABLE items (
    barcode TEXT PRIMARY KEY,
    rfid_uid TEXT UNIQUE,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    isbn TEXT,
    item_type TEXT NOT NULL,
    parts BIGINT NOT NULL DEFAULT 1,
    status TEXT NOT NULL,
    location TEXT,
    title_key TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX items_title_key ON items (title_key);

-- Current loans have returned IS NULL; returned ones stay as history.
CREATE TABLE loans (
    id @ID@,
    item TEXT NOT NULL,
    patron TEXT NOT NULL,
    checked_out TEXT NOT NULL,
    due TEXT NOT NULL,
    renewals BIGINT NOT NULL DEFAULT 0,
    returned TEXT,
    kiosk_id TEXT,
    entry_id TEXT
);
CREATE UNIQUE INDEX loans_current ON loans (item) WHERE returned IS NULL;
CREATE INDEX loans_patron ON loans (patron);
CREATE INDEX loans_checked_out ON loans (checked_out);

CREATE TABLE holds (
    id @ID@,
    patron TEXT NOT NULL,
    item TEXT,
    title_key TEXT NOT NULL,
    status TEXT NOT NULL,
    placed TEXT NOT NULL,
    ready_item TEXT,
    pickup_code TEXT,
    pickup_by TEXT,
    closed TEXT
);
CREATE INDEX holds_title ON holds (title_key, status);

CREATE TABLE fees (
    id @ID@,
    patron TEXT NOT NULL,
    item TEXT,
    kind TEXT NOT NULL,
    amount_cents BIGINT NOT NULL,
    created TEXT NOT NULL
);

CREATE TABLE policies (
    category TEXT NOT NULL,
    item_type TEXT NOT NULL,
    rule TEXT NOT NULL,
    PRIMARY KEY (category, item_type)
);

CREATE TABLE closed_days (day TEXT PRIMARY KEY);

-- Every entry received (push or decide), applied or in conflict; the id
-- makes applying at most once a constraint, not a convention.
CREATE TABLE entries (
    id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    patron TEXT,
    item TEXT,
    decision TEXT NOT NULL,
    reason TEXT,
    due TEXT,
    detail TEXT NOT NULL,
    offline BIGINT NOT NULL,
    -- applied | conflict
    status TEXT NOT NULL,
    code TEXT,
    message TEXT,
    via TEXT NOT NULL,
    received TEXT NOT NULL
);
CREATE INDEX entries_kiosk_seq ON entries (kiosk_id, seq);
CREATE INDEX entries_status ON entries (status);
CREATE INDEX entries_at ON entries (at);

-- The changes feed: one row per (entity, key), renumbered on every change,
-- so a kiosk's cursor (the last number it saw) finds all it missed.
CREATE TABLE changes (
    seq @ID@,
    entity TEXT NOT NULL,
    key TEXT NOT NULL,
    op TEXT NOT NULL,
    UNIQUE (entity, key)
);

CREATE TABLE reminders_sent (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    sent TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
