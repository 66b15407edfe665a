-- The kiosk database: the one source of truth for its schema.
--
-- Embedded by src/store/mod.rs with include_str! and applied as migration 1
-- (PRAGMA user_version = 1). Later migrations are appended to the list in
-- src/store/mod.rs; never edit a statement here once it has shipped.
--
-- Conventions: dates are ISO-8601 text ('2026-12-06'), instants are RFC 3339
-- text with offset ('2026-11-22T14:05:09.123+08:00'), money is integer cents
-- (fen) in the kiosk's currency, booleans are 0/1.

-- Readers. Only what the kiosk needs to decide and to greet: no address,
-- no phone, no ID number. pin_hash is an argon2 PHC string or NULL.
CREATE TABLE patrons (
    id               INTEGER PRIMARY KEY,
    barcode          TEXT    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    category         TEXT    NOT NULL DEFAULT 'default',
    expires          TEXT,
    pin_hash         TEXT,
    email            TEXT,
    blocked_reason   TEXT,
    fines_owed_cents INTEGER NOT NULL DEFAULT 0 CHECK (fines_owed_cents >= 0),
    updated_at       TEXT    NOT NULL
);

-- Physical items (copies). parts > 1 marks a multi-part set (book + discs).
-- status: available | on_loan | on_hold_shelf | not_for_loan | lost | missing | withdrawn
CREATE TABLE items (
    id          INTEGER PRIMARY KEY,
    barcode     TEXT    NOT NULL UNIQUE,
    rfid_uid    TEXT    UNIQUE,
    title       TEXT    NOT NULL,
    author      TEXT    NOT NULL DEFAULT '',
    isbn        TEXT,
    item_type   TEXT    NOT NULL DEFAULT 'default',
    parts       INTEGER NOT NULL DEFAULT 1 CHECK (parts BETWEEN 1 AND 255),
    status      TEXT    NOT NULL DEFAULT 'available'
                CHECK (status IN ('available','on_loan','on_hold_shelf','not_for_loan','lost','missing','withdrawn')),
    location    TEXT    NOT NULL DEFAULT '',
    updated_at  TEXT    NOT NULL
);
CREATE INDEX items_isbn ON items(isbn) WHERE isbn IS NOT NULL;

-- Loans, current and past. An item has at most one current loan: the partial
-- unique index makes a double loan impossible whatever the code above does.
CREATE TABLE loans (
    id            INTEGER PRIMARY KEY,
    item_id       INTEGER NOT NULL REFERENCES items(id),
    patron_id     INTEGER NOT NULL REFERENCES patrons(id),
    checked_out   TEXT    NOT NULL,
    due           TEXT    NOT NULL,
    renewals      INTEGER NOT NULL DEFAULT 0 CHECK (renewals >= 0),
    returned      TEXT
);
CREATE UNIQUE INDEX loans_current_item ON loans(item_id) WHERE returned IS NULL;
CREATE INDEX loans_current_patron ON loans(patron_id) WHERE returned IS NULL;
CREATE INDEX loans_returned ON loans(returned) WHERE returned IS NOT NULL;

-- Holds (reservations). A title-level hold names the title by isbn_or_key and
-- is filled by any copy; an item-level hold names item_id.
-- status: waiting | ready | fulfilled | cancelled | expired
CREATE TABLE holds (
    id            INTEGER PRIMARY KEY,
    patron_id     INTEGER NOT NULL REFERENCES patrons(id),
    item_id       INTEGER REFERENCES items(id),
    title_key     TEXT    NOT NULL,
    placed        TEXT    NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'waiting'
                  CHECK (status IN ('waiting','ready','fulfilled','cancelled','expired')),
    ready_item_id INTEGER REFERENCES items(id),
    pickup_code   TEXT,
    pickup_by     TEXT,
    closed        TEXT
);
CREATE INDEX holds_open_title ON holds(title_key, placed) WHERE status IN ('waiting','ready');
CREATE INDEX holds_open_patron ON holds(patron_id) WHERE status IN ('waiting','ready');
CREATE INDEX holds_ready_item ON holds(ready_item_id) WHERE status = 'ready';

-- Fees charged and paid; patrons.fines_owed_cents is kept equal to the
-- balance by the store in the same transaction that writes a fee.
CREATE TABLE fees (
    id           INTEGER PRIMARY KEY,
    patron_id    INTEGER NOT NULL REFERENCES patrons(id),
    item_id      INTEGER REFERENCES items(id),
    kind         TEXT    NOT NULL CHECK (kind IN ('overdue','lost','imported','payment','waived')),
    amount_cents INTEGER NOT NULL,
    created      TEXT    NOT NULL
);
CREATE INDEX fees_patron ON fees(patron_id);

-- Days the library is closed (holidays); weekly closing days are in kiosk.toml.
CREATE TABLE calendar (
    day     TEXT PRIMARY KEY,
    reason  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Circulation policy rows keyed by (patron category, item type); 'default'
-- in either column is the fallback. Loaded from kiosk.toml [policy] at start
-- and later replaced by what the central server sends.
CREATE TABLE policies (
    category             TEXT    NOT NULL,
    item_type            TEXT    NOT NULL,
    loan_days            INTEGER NOT NULL DEFAULT 0,
    loan_hours           INTEGER NOT NULL DEFAULT 0,
    max_loans            INTEGER NOT NULL,
    max_renewals         INTEGER NOT NULL,
    renewal_days         INTEGER NOT NULL,
    fine_per_day_cents   INTEGER NOT NULL,
    fine_cap_cents       INTEGER NOT NULL,
    block_fines_cents    INTEGER NOT NULL,
    block_overdue_count  INTEGER NOT NULL,
    max_holds            INTEGER NOT NULL,
    loanable             INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (category, item_type)
) WITHOUT ROWID;

-- Wrong-PIN counting per card at this kiosk.
CREATE TABLE pin_failures (
    patron_id    INTEGER PRIMARY KEY REFERENCES patrons(id),
    failures     INTEGER NOT NULL,
    locked_until TEXT
);

-- The transaction journal: append-only. Every decision the kiosk takes is
-- written here in the same transaction as its effect, before the reader sees
-- it. seq is per kiosk and has no gaps; id is a UUIDv7 kept for life (the
-- central server deduplicates by it). Only the sync columns ever change, and
-- patron may be blanked by the retention rule once the entry is acknowledged.
-- sync_status: pending -> sent -> acknowledged | conflict (sync_reason says why)
-- kind 'security' records a tag whose security (AFI) could not be set after
-- a loan or return: refused, reason 'afi_write_failed', for staff to act on.
CREATE TABLE journal (
    rowid_      INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT    NOT NULL UNIQUE,
    kiosk_id    TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT    NOT NULL,
    kind        TEXT    NOT NULL
                CHECK (kind IN ('checkout','checkin','renew','hold_placed','hold_cancelled','feedback','fee_paid','security')),
    patron      TEXT,
    item        TEXT,
    decision    TEXT    NOT NULL CHECK (decision IN ('accepted','refused')),
    reason      TEXT,
    due         TEXT,
    detail      TEXT    NOT NULL DEFAULT '{}',
    offline     INTEGER NOT NULL DEFAULT 0,
    sync_status TEXT    NOT NULL DEFAULT 'pending'
                CHECK (sync_status IN ('pending','sent','acknowledged','conflict')),
    sync_reason TEXT,
    sync_at     TEXT,
    UNIQUE (kiosk_id, seq)
);
CREATE INDEX journal_outbox ON journal(rowid_) WHERE sync_status IN ('pending','sent');
CREATE INDEX journal_status ON journal(sync_status, rowid_);
CREATE INDEX journal_at ON journal(at);

CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
BEGIN
    SELECT RAISE(ABORT, 'the journal is append-only');
END;

CREATE TRIGGER journal_no_rewrite BEFORE UPDATE OF rowid_, id, kiosk_id, seq, at, kind, item, decision, reason, due, detail, offline ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal entries are immutable; only their sync status changes');
END;

CREATE TRIGGER journal_patron_only_blanked BEFORE UPDATE OF patron ON journal
WHEN NEW.patron IS NOT NULL OR OLD.sync_status <> 'acknowledged'
BEGIN
    SELECT RAISE(ABORT, 'a journal entry''s patron may only be blanked after acknowledgement');
END;

-- Sync bookkeeping: pull cursors, last contact, clock offset.
CREATE TABLE sync_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;
