//! The kiosk's cache of the central system, and the journal's face on the
//! wire: applying pulled change pages (one transaction per page, cursor
//! included), reading the outbox as `protocol::Entry`, and journaling
//! decisions under an id the sync engine chose (online answers, offline
//! fallbacks).
//!
//! This file must never decide a loan: decisions come from `domain` via
//! `store::circ`, or from the upstream. It never rewrites a journal entry;
//! it only appends and lets `mark_synced` move the sync columns forward.

use super::journal::{EntryKind, EntryRef, JournalEntry, SyncStatus};
use super::{Result, Store, StoreError};
use crate::protocol::{
    Change, ChangesPage, DecideResponse, Entry, HoldRecord, ItemRecord, LoanRecord, PatronRecord,
    PolicyRecord, Record, ResolutionRecord,
};
use chrono::{DateTime, FixedOffset, SecondsFormat};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use uuid::Uuid;

/// `sync_state` key of the pull cursor (opaque, from the server).
pub const CURSOR_KEY: &str = "pull.cursor";
/// `sync_state` key: when the last pull reached the end of the feed.
pub const PULLED_AT_KEY: &str = "pull.completed_at";
/// Set once a pulled page carried policies: from then on the upstream's
/// policy table is the kiosk's, and `Store::configure` keeps it.
pub const POLICIES_PULLED_KEY: &str = "pull.policies";
/// `sync_state` key prefix (then the kiosk id): what the journal's seqs
/// gain on the wire (`Store::seq_base`).
pub const SEQ_BASE_KEY: &str = "sync.seq_base:";
/// `sync_state` key prefix (then the kiosk id): the server's `max_seq`
/// when this database first asked (`Store::learn_position`).
pub const POSITION_KEY: &str = "sync.position:";

/// `sync_state` key prefix (then the card number): when the upstream last
/// vouched for that reader's record (an online lookup or loan), as UTC
/// RFC 3339 with milliseconds, so that the values sort by time. SIP2 has
/// no change feed: this is what keeps such a reader's record fresh for
/// `[offline] max_cache_age_hours` (`sync::fresh`).
pub const CONFIRMED_KEY: &str = "reader.confirmed:";

/// What one page did to the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub upserts: usize,
    pub deletes: usize,
    /// Records the cache could not hold (e.g. a loan of an unknown item);
    /// logged, and fixed by a later page or the nightly full pull.
    pub skipped: usize,
    /// Of `skipped`: records of a type this kiosk does not know (a newer
    /// server's, `Record::Unknown`); logged, the rest of the page applied.
    pub unknown: usize,
    /// Loans and holds whose item or reader has not arrived yet, kept
    /// aside (not skipped) and applied when it does; how many wait after
    /// this page.
    pub parked: usize,
}

/// `sync_state` key prefix of a record kept aside (`park`): then
/// `entity:key`, the record as JSON in the value.
pub const PARKED_KEY: &str = "pull.parked:";

fn stamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

const ITEM_STATUSES: &[&str] = &[
    "available",
    "on_loan",
    "on_hold_shelf",
    "not_for_loan",
    "lost",
    "missing",
    "withdrawn",
];
const HOLD_STATUSES: &[&str] = &["waiting", "ready", "fulfilled", "cancelled", "expired"];

fn id_of(tx: &Transaction, table: &str, barcode: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached(&format!("SELECT id FROM {table} WHERE barcode = ?1"))?
        .query_row([barcode], |r| r.get(0))
        .optional()?)
}

/// One statement through the connection's statement cache: a first pull
/// runs the same few statements a million times, and preparing each one
/// anew cost more than running it.
fn exec(tx: &Transaction, sql: &str, params: impl rusqlite::Params) -> Result<usize> {
    Ok(tx.prepare_cached(sql)?.execute(params)?)
}

/// A journal entry as sent upstream.
pub fn to_wire(e: &JournalEntry) -> Result<Entry> {
    let id = Uuid::parse_str(&e.id)
        .map_err(|_| StoreError::Corrupt(format!("journal entry id {:?}", e.id)))?;
    Ok(Entry {
        id,
        kiosk_id: e.kiosk_id.clone(),
        seq: e.seq,
        at: e.at.clone(),
        kind: e.entry_kind(),
        patron: e.patron.clone(),
        item: e.item.clone(),
        decision: e.decision.clone(),
        reason: e.reason.clone(),
        due: e.due.clone(),
        detail: e.detail.clone(),
        offline: e.offline,
    })
}

impl Store {
    /// The outbox (pending and sent entries, oldest first) as wire entries
    /// with their current sync status.
    pub fn outbox_wire(&self, limit: usize) -> Result<Vec<(Entry, SyncStatus)>> {
        self.outbox(limit)?
            .iter()
            .map(|e| {
                let st = SyncStatus::parse(&e.sync_status).ok_or_else(|| {
                    StoreError::Corrupt(format!("entry {} sync status {:?}", e.id, e.sync_status))
                })?;
                let mut wire = to_wire(e)?;
                wire.seq += self.seq_base(&e.kiosk_id)?;
                Ok((wire, st))
            })
            .collect()
    }

    /// What this database adds to its journal's seqs on the wire for
    /// `kiosk`: 0, unless the journal was started anew while the server
    /// already held seqs of this kiosk (docs/sync.md, "A lost kiosk
    /// database"). The journal's own seqs never change.
    pub fn seq_base(&self, kiosk: &str) -> Result<i64> {
        Ok(self
            .sync_state(&format!("{SEQ_BASE_KEY}{kiosk}"))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// Whether this database has learned where its kiosk's sequence
    /// stands on the server (`learn_position`).
    pub fn knows_position(&self) -> Result<bool> {
        Ok(self
            .sync_state(&format!("{POSITION_KEY}{}", self.kiosk_id))?
            .is_some())
    }

    /// Records what the server said of this kiosk's sequence (`max_seq`,
    /// the highest seq it holds; None when the upstream has no sequences)
    /// before the first push of this database. If nothing of this
    /// journal has reached the server yet and the server holds seqs
    /// already (the database was lost, re-imaged or restored from before
    /// them), every entry of this journal goes out after them: the wire
    /// seq is the journal's seq plus the server's `max_seq`. Returns the
    /// base now in force.
    pub fn learn_position(&mut self, max_seq: Option<i64>) -> Result<i64> {
        let kiosk = self.kiosk_id.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let reached: i64 = tx.query_row(
            "SELECT count(*) FROM journal WHERE kiosk_id = ?1 AND sync_status <> 'pending'",
            [&kiosk],
            |r| r.get(0),
        )?;
        let base_key = format!("{SEQ_BASE_KEY}{kiosk}");
        let mut base: i64 = tx
            .query_row(
                "SELECT value FROM sync_state WHERE key = ?1",
                [&base_key],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let server = max_seq.unwrap_or(0).max(0);
        if reached == 0 && server > 0 && base == 0 {
            base = server;
            set_state(&tx, &base_key, &base.to_string())?;
            tracing::warn!(kiosk = %kiosk, server_max_seq = server, "this journal is new but the server holds seqs of this kiosk (database lost or restored?): carrying on after them");
        } else if reached > 0 && server > 0 {
            let own: i64 = tx.query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM journal WHERE kiosk_id = ?1",
                [&kiosk],
                |r| r.get(0),
            )?;
            if server > own + base {
                tracing::warn!(kiosk = %kiosk, server_max_seq = server, journal_max_seq = own + base, "the server holds later seqs of this kiosk than this journal; entries it refuses are reported");
            }
        }
        set_state(
            &tx,
            &format!("{POSITION_KEY}{kiosk}"),
            &max_seq.map_or("unknown".to_string(), |m| m.to_string()),
        )?;
        tx.commit()?;
        Ok(base)
    }

    /// How many entries the upstream turned into conflicts that staff
    /// have not closed yet (what the staff screen and `sync status` show).
    pub fn conflict_count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM journal j WHERE j.sync_status = 'conflict'
               AND NOT EXISTS (SELECT 1 FROM conflict_resolutions r WHERE r.entry_id = j.id)",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// The sequence number the next journal entry of this kiosk will get,
    /// as the server sees it (`seq_base` added).
    pub fn next_seq(&self) -> Result<i64> {
        let local: i64 = self.conn.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE kiosk_id = ?1",
            [&self.kiosk_id],
            |r| r.get(0),
        )?;
        Ok(local + self.seq_base(&self.kiosk_id)?)
    }

    /// Loans `patron` got from this kiosk offline that the upstream has not
    /// confirmed yet (the offline loan limit counts these).
    pub fn offline_loans(&self, patron: &str) -> Result<u32> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM journal WHERE kind = 'checkout' AND decision = 'accepted'
               AND offline = 1 AND patron = ?1 AND sync_status IN ('pending','sent')",
            [patron],
            |r| r.get(0),
        )?;
        Ok(n as u32)
    }

    /// Appends `entry` under its own id (a decision the sync engine made or
    /// received) with the given sync status. Journaling the same id again
    /// returns the existing entry: a retried call never makes a second one.
    pub fn journal_entry(
        &mut self,
        entry: &Entry,
        status: SyncStatus,
        now: DateTime<FixedOffset>,
    ) -> Result<EntryRef> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let r = insert_entry(&tx, &self.kiosk_id, entry, status, now)?;
        tx.commit()?;
        Ok(r)
    }

    /// Journals the upstream's authoritative decision on `entry` under the
    /// entry's id, already acknowledged, and mirrors its effect on the cache
    /// (loan made, returned or renewed) until the next pull confirms it.
    pub fn journal_decided(
        &mut self,
        entry: &Entry,
        answer: &DecideResponse,
        now: DateTime<FixedOffset>,
    ) -> Result<EntryRef> {
        if answer.id != entry.id {
            return Err(StoreError::Input(format!(
                "decision for {} answered for {}",
                entry.id, answer.id
            )));
        }
        // What the kiosk asked (e.g. the hold level), then what the
        // upstream said (title, route, queue position…) over it.
        let detail = match (&entry.detail, &answer.detail) {
            (serde_json::Value::Object(asked), serde_json::Value::Object(said)) => {
                let mut all = asked.clone();
                all.extend(said.clone());
                serde_json::Value::Object(all)
            }
            (asked, serde_json::Value::Null) => asked.clone(),
            (_, said) => said.clone(),
        };
        let decided = Entry {
            decision: answer.decision.clone(),
            reason: answer.reason.clone(),
            due: answer.due.clone().or_else(|| entry.due.clone()),
            detail,
            offline: false,
            ..entry.clone()
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let r = insert_entry(&tx, &self.kiosk_id, &decided, SyncStatus::Acknowledged, now)?;
        if decided.decision == "accepted" {
            mirror_effect(&tx, &decided, now)?;
        }
        tx.commit()?;
        Ok(r)
    }

    /// Runs `f` (one `store::circ` call) so that the journal entry it
    /// appends is journaled with `offline = 1` under `id`: the id the sync
    /// engine already offered the upstream, so a decision the upstream
    /// applied before timing out and this offline one are one entry.
    /// Only the first entry `f` appends takes the id; a call that appends
    /// nothing leaves no trace of it.
    pub fn with_offline_journal<T>(
        &mut self,
        id: Uuid,
        f: impl FnOnce(&mut Store) -> Result<T>,
    ) -> Result<T> {
        self.offline_id = Some(id);
        let out = f(self);
        self.offline_id = None;
        out
    }

    /// Applies one page of changes and stores its cursor, in ONE
    /// transaction: after a crash the cache and the cursor agree, and the
    /// page is simply fetched again.
    pub fn apply_changes(
        &mut self,
        page: &ChangesPage,
        now: DateTime<FixedOffset>,
    ) -> Result<Applied> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut applied = Applied::default();
        let mut reload = false;
        let mut policies = false;
        // Readers or items arrived: loans and holds kept aside for them
        // are tried again after the page.
        let mut arrived = false;
        for change in &page.changes {
            let done = match change {
                Change::Upsert {
                    record: Record::Unknown { kind },
                } => {
                    tracing::warn!(record_type = %kind, cursor = %page.cursor, "the change feed sent a record of a type this kiosk does not know; skipped");
                    applied.unknown += 1;
                    false
                }
                Change::Upsert { record } => {
                    reload |= matches!(record, Record::Policy(_) | Record::ClosedDay { .. });
                    policies |= matches!(record, Record::Policy(_));
                    arrived |= matches!(record, Record::Patron(_) | Record::Item(_));
                    // The newest change of a record replaces one kept aside.
                    if let Some(k) = parked_key(record) {
                        unpark(&tx, &k)?;
                    }
                    if refs_missing(&tx, record)? {
                        park(&tx, record)?;
                        true
                    } else {
                        let ok = upsert(&tx, record, now)?;
                        applied.upserts += ok as usize;
                        ok
                    }
                }
                Change::Delete { entity, key } => {
                    reload |= entity == "policy" || entity == "closed_day";
                    policies |= entity == "policy";
                    unpark(&tx, &format!("{PARKED_KEY}{entity}:{key}"))?;
                    let ok = delete(&tx, entity, key, now)?;
                    applied.deletes += ok as usize;
                    ok
                }
            };
            if !done {
                applied.skipped += 1;
            }
        }
        if arrived {
            applied.upserts += apply_parked(&tx, now)?;
        }
        applied.parked = tx.query_row(
            "SELECT count(*) FROM sync_state WHERE key >= ?1 AND key < ?2",
            params![PARKED_KEY, parked_end()],
            |r| r.get::<_, i64>(0),
        )? as usize;
        set_state(&tx, CURSOR_KEY, &page.cursor)?;
        if policies {
            set_state(&tx, POLICIES_PULLED_KEY, "1")?;
        }
        if !page.more {
            set_state(&tx, PULLED_AT_KEY, &stamp(now))?;
        }
        tx.commit()?;
        if reload {
            self.policies = self.load_policies()?;
            let weekdays: Vec<u8> = self
                .settings
                .calendar
                .closed_weekdays
                .iter()
                .copied()
                .collect();
            self.settings.calendar = self.load_calendar(&weekdays)?;
        }
        Ok(applied)
    }

    /// The upstream vouched for `patron`'s record at `now` (see
    /// [`CONFIRMED_KEY`]).
    pub fn confirm_reader(&self, patron: &str, now: DateTime<FixedOffset>) -> Result<()> {
        let at = now.to_utc().to_rfc3339_opts(SecondsFormat::Millis, true);
        self.set_sync_state(&format!("{CONFIRMED_KEY}{patron}"), &at)
    }

    /// The upstream no longer vouches for `patron` (it refused them, or
    /// does not know the card).
    pub fn forget_reader(&self, patron: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM sync_state WHERE key = ?1",
            [format!("{CONFIRMED_KEY}{patron}")],
        )?;
        Ok(())
    }

    /// When the upstream last vouched for `patron`, if it ever did.
    pub fn reader_confirmed_at(&self, patron: &str) -> Result<Option<DateTime<FixedOffset>>> {
        Ok(self
            .sync_state(&format!("{CONFIRMED_KEY}{patron}"))?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok()))
    }

    /// Forgets every confirmation older than `before` (they no longer
    /// make anyone fresh); how many.
    pub fn forget_confirmations_before(&self, before: DateTime<FixedOffset>) -> Result<usize> {
        let mut end = CONFIRMED_KEY.to_string();
        end.pop();
        end.push(';');
        let before = before.to_utc().to_rfc3339_opts(SecondsFormat::Millis, true);
        Ok(self.conn.execute(
            "DELETE FROM sync_state WHERE key >= ?1 AND key < ?2 AND value < ?3",
            params![CONFIRMED_KEY, end, before],
        )?)
    }

    /// Forgets the pull cursor: the next pull fetches everything (the
    /// nightly full sync).
    pub fn reset_cursor(&mut self) -> Result<()> {
        self.conn
            .execute("DELETE FROM sync_state WHERE key = ?1", [CURSOR_KEY])?;
        Ok(())
    }
}

/// The end of the range of parked keys (`PARKED_KEY` with its last
/// character raised by one).
fn parked_end() -> String {
    let mut end = PARKED_KEY.to_string();
    end.pop();
    end.push(';');
    end
}

/// Where a loan or hold is kept aside; None for other records.
fn parked_key(record: &Record) -> Option<String> {
    match record {
        Record::Loan(l) => Some(format!("{PARKED_KEY}loan:{}", l.item)),
        Record::Hold(h) => Some(format!("{PARKED_KEY}hold:{}", h.id)),
        _ => None,
    }
}

/// A loan or hold whose item or reader is not in the cache yet: the feed
/// brings records in the order they last changed, so a loan can come
/// before its item (an item edited after it was lent). Such a record is
/// kept aside rather than dropped, and the cursor may move past it.
fn refs_missing(tx: &Transaction, record: &Record) -> Result<bool> {
    Ok(match record {
        Record::Loan(l) => {
            id_of(tx, "items", &l.item)?.is_none() || id_of(tx, "patrons", &l.patron)?.is_none()
        }
        Record::Hold(h) => {
            id_of(tx, "patrons", &h.patron)?.is_none()
                || match &h.item {
                    Some(b) => id_of(tx, "items", b)?.is_none(),
                    None => false,
                }
        }
        _ => false,
    })
}

fn park(tx: &Transaction, record: &Record) -> Result<()> {
    let Some(key) = parked_key(record) else {
        return Ok(());
    };
    let json = serde_json::to_string(record)
        .map_err(|e| StoreError::Corrupt(format!("a parked record: {e}")))?;
    set_state(tx, &key, &json)
}

fn unpark(tx: &Transaction, key: &str) -> Result<()> {
    exec(tx, "DELETE FROM sync_state WHERE key = ?1", [key])?;
    Ok(())
}

/// Applies the records kept aside whose item and reader are now cached;
/// returns how many.
fn apply_parked(tx: &Transaction, now: DateTime<FixedOffset>) -> Result<usize> {
    let parked: Vec<(String, String)> = tx
        .prepare_cached("SELECT key, value FROM sync_state WHERE key >= ?1 AND key < ?2")?
        .query_map(params![PARKED_KEY, parked_end()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut n = 0;
    for (key, json) in parked {
        let record: Record = match serde_json::from_str(&json) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "a parked record does not parse; dropped");
                unpark(tx, &key)?;
                continue;
            }
        };
        if refs_missing(tx, &record)? {
            continue;
        }
        unpark(tx, &key)?;
        n += upsert(tx, &record, now)? as usize;
    }
    Ok(n)
}

fn set_state(tx: &Transaction, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn insert_entry(
    tx: &Transaction,
    kiosk_id: &str,
    e: &Entry,
    status: SyncStatus,
    now: DateTime<FixedOffset>,
) -> Result<EntryRef> {
    let id = e.id.to_string();
    if let Some(seq) = tx
        .query_row("SELECT seq FROM journal WHERE id = ?1", [&id], |r| {
            r.get::<_, i64>(0)
        })
        .optional()?
    {
        return Ok(EntryRef { id: e.id, seq });
    }
    if e.decision != "accepted" && e.decision != "refused" {
        return Err(StoreError::Input(format!(
            "entry {id}: decision {:?} is neither accepted nor refused",
            e.decision
        )));
    }
    let seq: i64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE kiosk_id = ?1",
        [kiosk_id],
        |r| r.get(0),
    )?;
    let base: i64 = tx
        .query_row(
            "SELECT value FROM sync_state WHERE key = ?1",
            [format!("{SEQ_BASE_KEY}{kiosk_id}")],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if seq + base != e.seq {
        tracing::warn!(entry_id = %id, offered = e.seq, journaled = seq, "entry journaled under another sequence number than offered upstream");
    }
    let sync_at = (status != SyncStatus::Pending).then(|| stamp(now));
    tx.execute(
        "INSERT INTO journal (id, kiosk_id, seq, at, kind, patron, item, decision, reason, due,
                              detail, offline, sync_status, sync_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            id,
            kiosk_id,
            seq,
            e.at,
            e.kind.as_str(),
            e.patron,
            e.item,
            e.decision,
            e.reason,
            e.due,
            e.detail.to_string(),
            e.offline,
            status.as_str(),
            sync_at,
        ],
    )?;
    Ok(EntryRef { id: e.id, seq })
}

/// What an accepted online decision changes in the cache, so the kiosk's
/// view is right should the upstream vanish before the next pull.
fn mirror_effect(tx: &Transaction, e: &Entry, now: DateTime<FixedOffset>) -> Result<()> {
    if e.kind == EntryKind::FeePaid {
        let paid = e.detail.get("amount_cents").and_then(|a| a.as_i64());
        if let (Some(patron), Some(paid)) = (e.patron.as_deref(), paid.filter(|p| *p > 0)) {
            tx.execute(
                "UPDATE patrons SET fines_owed_cents = MAX(0, fines_owed_cents - ?2) WHERE barcode = ?1",
                params![patron, paid],
            )?;
        }
        return Ok(());
    }
    let Some(item) = e.item.as_deref() else {
        return Ok(());
    };
    let Some(item_id) = id_of(tx, "items", item)? else {
        return Ok(());
    };
    match e.kind {
        EntryKind::Checkout => {
            let (Some(patron), Some(due)) = (e.patron.as_deref(), e.due.as_deref()) else {
                return Ok(());
            };
            let Some(patron_id) = id_of(tx, "patrons", patron)? else {
                return Ok(());
            };
            tx.execute(
                "UPDATE loans SET returned = ?2 WHERE item_id = ?1 AND returned IS NULL",
                params![item_id, stamp(now)],
            )?;
            tx.execute(
                "INSERT INTO loans (item_id, patron_id, checked_out, due) VALUES (?1, ?2, ?3, ?4)",
                params![item_id, patron_id, e.at, due],
            )?;
            tx.execute(
                "UPDATE items SET status = 'on_loan', updated_at = ?2 WHERE id = ?1",
                params![item_id, stamp(now)],
            )?;
        }
        EntryKind::Checkin => {
            tx.execute(
                "UPDATE loans SET returned = ?2 WHERE item_id = ?1 AND returned IS NULL",
                params![item_id, stamp(now)],
            )?;
            tx.execute(
                "UPDATE items SET status = 'available', updated_at = ?2 WHERE id = ?1",
                params![item_id, stamp(now)],
            )?;
        }
        EntryKind::Renew => {
            if let Some(due) = e.due.as_deref() {
                tx.execute(
                    "UPDATE loans SET due = ?2, renewals = renewals + 1
                     WHERE item_id = ?1 AND returned IS NULL",
                    params![item_id, due],
                )?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Inserts or replaces one record; false when the cache cannot hold it.
fn upsert(tx: &Transaction, record: &Record, now: DateTime<FixedOffset>) -> Result<bool> {
    match record {
        Record::Patron(p) => upsert_patron(tx, p, now),
        Record::Item(i) => upsert_item(tx, i, now),
        Record::Loan(l) => upsert_loan(tx, l),
        Record::Hold(h) => upsert_hold(tx, h, now),
        Record::Policy(p) => upsert_policy(tx, p),
        Record::Resolution(r) => resolve(tx, r),
        // A newer server's kind of record (`apply_changes` counts it).
        Record::Unknown { .. } => Ok(false),
        Record::ClosedDay { day } => {
            if chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
                tracing::warn!(day = %day, "closed day is not a date; skipped");
                return Ok(false);
            }
            exec(
                tx,
                "INSERT INTO calendar (day, reason) VALUES (?1, 'central') ON CONFLICT DO NOTHING",
                [day],
            )?;
            Ok(true)
        }
    }
}

fn upsert_patron(tx: &Transaction, p: &PatronRecord, now: DateTime<FixedOffset>) -> Result<bool> {
    exec(
        tx,
        "INSERT INTO patrons (barcode, name, category, expires, pin_hash, email, blocked_reason,
                              fines_owed_cents, updated_at, language)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(barcode) DO UPDATE SET name = excluded.name, category = excluded.category,
           expires = excluded.expires, pin_hash = excluded.pin_hash, email = excluded.email,
           blocked_reason = excluded.blocked_reason,
           fines_owed_cents = excluded.fines_owed_cents, updated_at = excluded.updated_at,
           -- An upstream that does not say (an older server, SIP2) keeps
           -- what the kiosk knows (its own import).
           language = coalesce(excluded.language, patrons.language)",
        params![
            p.barcode,
            p.name,
            p.category,
            p.expires,
            p.pin_hash,
            p.email,
            p.blocked,
            p.fines_owed_cents.max(0),
            stamp(now),
            // Only a language the kiosk speaks; anything else says nothing.
            p.language
                .as_deref()
                .and_then(crate::domain::Lang::parse)
                .map(|l| l.tag()),
        ],
    )?;
    Ok(true)
}

fn upsert_item(tx: &Transaction, i: &ItemRecord, now: DateTime<FixedOffset>) -> Result<bool> {
    if !ITEM_STATUSES.contains(&i.status.as_str()) {
        tracing::warn!(item = %i.barcode, status = %i.status, "item status unknown to the kiosk; skipped");
        return Ok(false);
    }
    let uid = i.rfid_uid.as_ref().map(|u| u.to_uppercase());
    if let Some(uid) = &uid {
        // A tag moved to another item upstream: the old item lets go of it.
        exec(
            tx,
            "UPDATE items SET rfid_uid = NULL WHERE rfid_uid = ?1 AND barcode <> ?2",
            params![uid, i.barcode],
        )?;
    }
    exec(
        tx,
        "INSERT INTO items (barcode, rfid_uid, title, author, isbn, item_type, parts, status,
                            location, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(barcode) DO UPDATE SET rfid_uid = excluded.rfid_uid, title = excluded.title,
           author = excluded.author, isbn = excluded.isbn, item_type = excluded.item_type,
           parts = excluded.parts, status = excluded.status, location = excluded.location,
           updated_at = excluded.updated_at",
        params![
            i.barcode,
            uid,
            i.title,
            i.author,
            i.isbn,
            i.item_type,
            i.parts.max(1),
            i.status,
            i.location.clone().unwrap_or_default(),
            stamp(now)
        ],
    )?;
    Ok(true)
}

fn upsert_loan(tx: &Transaction, l: &LoanRecord) -> Result<bool> {
    let (Some(item_id), Some(patron_id)) = (
        id_of(tx, "items", &l.item)?,
        id_of(tx, "patrons", &l.patron)?,
    ) else {
        tracing::warn!(item = %l.item, patron = %crate::privacy::mask(&l.patron), "loan of an item or reader not in the cache; skipped");
        return Ok(false);
    };
    let updated = exec(
        tx,
        "UPDATE loans SET patron_id = ?2, checked_out = ?3, due = ?4, renewals = ?5
         WHERE item_id = ?1 AND returned IS NULL",
        params![item_id, patron_id, l.checked_out, l.due, l.renewals],
    )?;
    if updated == 0 {
        exec(
            tx,
            "INSERT INTO loans (item_id, patron_id, checked_out, due, renewals)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![item_id, patron_id, l.checked_out, l.due, l.renewals],
        )?;
    }
    Ok(true)
}

fn upsert_hold(tx: &Transaction, h: &HoldRecord, now: DateTime<FixedOffset>) -> Result<bool> {
    if !HOLD_STATUSES.contains(&h.status.as_str()) {
        tracing::warn!(hold = h.id, status = %h.status, "hold status unknown to the kiosk; skipped");
        return Ok(false);
    }
    let Some(patron_id) = id_of(tx, "patrons", &h.patron)? else {
        tracing::warn!(hold = h.id, patron = %crate::privacy::mask(&h.patron), "hold of a reader not in the cache; skipped");
        return Ok(false);
    };
    let item_id = match &h.item {
        Some(b) => match id_of(tx, "items", b)? {
            Some(id) => Some(id),
            None => return Ok(false),
        },
        None => None,
    };
    let ready_item_id = match &h.ready_item {
        Some(b) => id_of(tx, "items", b)?,
        None => None,
    };
    let closed =
        matches!(h.status.as_str(), "fulfilled" | "cancelled" | "expired").then(|| stamp(now));
    // Holds are keyed by the server's id; the kiosk places holds only
    // online (the offline policy refuses them), so ids do not collide.
    exec(
        tx,
        "INSERT INTO holds (id, patron_id, item_id, title_key, placed, status, ready_item_id,
                            pickup_code, pickup_by, closed)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(id) DO UPDATE SET patron_id = excluded.patron_id, item_id = excluded.item_id,
           title_key = excluded.title_key, placed = excluded.placed, status = excluded.status,
           ready_item_id = excluded.ready_item_id, pickup_code = excluded.pickup_code,
           pickup_by = excluded.pickup_by, closed = COALESCE(holds.closed, excluded.closed)",
        params![
            h.id,
            patron_id,
            item_id,
            h.title_key,
            h.placed,
            h.status,
            ready_item_id,
            h.pickup_code,
            h.pickup_by,
            closed
        ],
    )?;
    Ok(true)
}

/// Staff closed a conflict at the centre: recorded beside the journal
/// entry (which never changes). Another kiosk's entry is not ours to
/// record; the first resolution stands.
fn resolve(tx: &Transaction, r: &ResolutionRecord) -> Result<bool> {
    let id = r.entry.to_string();
    let ours = tx
        .prepare_cached("SELECT 1 FROM journal WHERE id = ?1")?
        .query_row([&id], |_| Ok(()))
        .optional()?
        .is_some();
    if ours {
        let n = exec(
            tx,
            "INSERT INTO conflict_resolutions (entry_id, resolved, resolved_by, note)
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT(entry_id) DO NOTHING",
            params![id, r.resolved, r.resolved_by, r.note],
        )?;
        if n > 0 {
            tracing::info!(entry_id = %id, "conflict closed at the centre");
        }
    }
    Ok(true)
}

fn upsert_policy(tx: &Transaction, p: &PolicyRecord) -> Result<bool> {
    exec(
        tx,
        "INSERT INTO policies (category, item_type, loan_days, loan_hours, max_loans,
           max_renewals, renewal_days, fine_per_day_cents, fine_cap_cents,
           block_fines_cents, block_overdue_count, max_holds, loanable)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)
         ON CONFLICT(category, item_type) DO UPDATE SET loan_days = excluded.loan_days,
           loan_hours = excluded.loan_hours, max_loans = excluded.max_loans,
           max_renewals = excluded.max_renewals, renewal_days = excluded.renewal_days,
           fine_per_day_cents = excluded.fine_per_day_cents,
           fine_cap_cents = excluded.fine_cap_cents, block_fines_cents = excluded.block_fines_cents,
           block_overdue_count = excluded.block_overdue_count, max_holds = excluded.max_holds,
           loanable = excluded.loanable",
        params![
            p.category,
            p.item_type,
            p.loan_days,
            p.loan_hours,
            p.max_loans,
            p.max_renewals,
            p.renewal_days,
            p.fine_per_day_cents,
            p.fine_cap_cents,
            p.block_fines_cents,
            p.block_overdue,
            p.max_holds,
            p.loanable
        ],
    )?;
    Ok(true)
}

/// Removes one record; false when the entity is unknown or the key
/// malformed (a missing record is already removed: true).
fn delete(tx: &Transaction, entity: &str, key: &str, now: DateTime<FixedOffset>) -> Result<bool> {
    match entity {
        "patron" => {
            let Some(id) = id_of(tx, "patrons", key)? else {
                return Ok(true);
            };
            // The cache follows the server: the reader's rows go with them.
            for sql in [
                "DELETE FROM pin_failures WHERE patron_id = ?1",
                "DELETE FROM holds WHERE patron_id = ?1",
                "DELETE FROM loans WHERE patron_id = ?1",
                "DELETE FROM fees WHERE patron_id = ?1",
                "DELETE FROM patrons WHERE id = ?1",
            ] {
                exec(tx, sql, [id])?;
            }
        }
        "item" => {
            let Some(id) = id_of(tx, "items", key)? else {
                return Ok(true);
            };
            for sql in [
                "UPDATE holds SET ready_item_id = NULL WHERE ready_item_id = ?1",
                "DELETE FROM holds WHERE item_id = ?1",
                "DELETE FROM loans WHERE item_id = ?1",
                "UPDATE fees SET item_id = NULL WHERE item_id = ?1",
                "DELETE FROM items WHERE id = ?1",
            ] {
                exec(tx, sql, [id])?;
            }
        }
        "loan" => {
            if let Some(id) = id_of(tx, "items", key)? {
                exec(
                    tx,
                    "UPDATE loans SET returned = ?2 WHERE item_id = ?1 AND returned IS NULL",
                    params![id, stamp(now)],
                )?;
            }
        }
        "hold" => {
            let Ok(id) = key.parse::<i64>() else {
                tracing::warn!(key = %key, "hold key is not a number; skipped");
                return Ok(false);
            };
            exec(tx, "DELETE FROM holds WHERE id = ?1", [id])?;
        }
        "policy" => {
            let Some((category, item_type)) = key.split_once('|') else {
                tracing::warn!(key = %key, "policy key is not category|item_type; skipped");
                return Ok(false);
            };
            exec(
                tx,
                "DELETE FROM policies WHERE category = ?1 AND item_type = ?2",
                params![category, item_type],
            )?;
        }
        "closed_day" => {
            exec(tx, "DELETE FROM calendar WHERE day = ?1", [key])?;
        }
        other => {
            tracing::warn!(entity = %other, "delete of an entity the kiosk does not cache; skipped");
            return Ok(false);
        }
    }
    Ok(true)
}

impl Store {
    /// After the upstream answered conflicts, the cache goes back to what
    /// the upstream has, as far as the kiosk can tell alone:
    /// - a checkout it did not apply made no loan there, so the loan this
    ///   kiosk opened for it leaves the cache too (marked returned, the
    ///   item back to `available` if it was `on_loan`; a pulled change of
    ///   the item or loan corrects either). Without this the kiosk would
    ///   show the reader a loan the library does not have.
    /// - a renewal it did not apply left the due date where it was: the
    ///   loan gets back the due date it had before (`previous_due` in the
    ///   entry's detail) and one renewal less, if it still has the due
    ///   date this renewal gave it.
    ///
    /// kiosk-central also queues the item, its loan and the reader of
    /// every conflict in its change feed again, so the pull that follows
    /// brings its own view of each (docs/sync.md). Idempotent; returns the
    /// loans changed.
    pub fn forget_refused_loans(
        &mut self,
        entries: &[&Entry],
        now: DateTime<FixedOffset>,
    ) -> Result<usize> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut closed = 0;
        for e in entries {
            if e.decision != "accepted" || !matches!(e.kind, EntryKind::Checkout | EntryKind::Renew)
            {
                continue;
            }
            let (Some(item), Some(patron)) = (e.item.as_deref(), e.patron.as_deref()) else {
                continue;
            };
            let (Some(item_id), Some(patron_id)) =
                (id_of(&tx, "items", item)?, id_of(&tx, "patrons", patron)?)
            else {
                continue;
            };
            if e.kind == EntryKind::Renew {
                let (Some(before), Some(due)) =
                    (e.detail["previous_due"].as_str(), e.due.as_deref())
                else {
                    continue;
                };
                let n = exec(
                    &tx,
                    "UPDATE loans SET due = ?3, renewals = max(renewals - 1, 0)
                     WHERE item_id = ?1 AND patron_id = ?2 AND returned IS NULL AND due = ?4",
                    params![item_id, patron_id, before, due],
                )?;
                if n > 0 {
                    tracing::info!(entry_id = %e.id, item = %item, "renewal refused upstream; due date restored in the cache");
                }
                closed += n;
                continue;
            }
            let n = exec(
                &tx,
                "UPDATE loans SET returned = ?3 WHERE item_id = ?1 AND patron_id = ?2
                 AND returned IS NULL",
                params![item_id, patron_id, stamp(now)],
            )?;
            if n > 0 {
                exec(
                    &tx,
                    "UPDATE items SET status = 'available', updated_at = ?2
                     WHERE id = ?1 AND status = 'on_loan'",
                    params![item_id, stamp(now)],
                )?;
                tracing::info!(entry_id = %e.id, item = %item, "loan refused upstream; closed in the cache");
            }
            closed += n;
        }
        tx.commit()?;
        Ok(closed)
    }
}
