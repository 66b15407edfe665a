-- The kiosk database, migration 3 (PRAGMA user_version = 3), applied after
-- schema_2.sql. Retention (store/retention.rs) takes readers out of past
-- entries' detail — the borrower or hold reader of a return, cards in an
-- upstream's message — once the upstream has the entry (acknowledged or in
-- conflict). Everything else about an entry stays immutable. Never edit a
-- statement here once it has shipped.

DROP TRIGGER journal_no_rewrite;
CREATE TRIGGER journal_no_rewrite BEFORE UPDATE OF rowid_, id, kiosk_id, seq, at, kind, item, decision, reason, due, offline ON journal
BEGIN
    SELECT RAISE(ABORT, 'journal entries are immutable; only their sync status changes');
END;

CREATE TRIGGER journal_detail_only_scrubbed BEFORE UPDATE OF detail ON journal
WHEN OLD.sync_status NOT IN ('acknowledged', 'conflict')
BEGIN
    SELECT RAISE(ABORT, 'a journal entry''s detail may only be scrubbed once the upstream has it');
END;
