//! The append-only transaction journal, which is also the sync outbox.
//!
//! An entry is written in the same SQLite transaction as the change it
//! records. Its UUIDv7 and per-kiosk sequence never change; only the sync
//! columns move (pending → sent → acknowledged | conflict). Triggers in
//! schema.sql refuse deletes and rewrites whatever code asks.

use super::{Result, Store, StoreError};
use chrono::{DateTime, FixedOffset};
use rusqlite::{params, Connection, Row, Transaction};
use serde::Serialize;
use uuid::Uuid;

/// The kind of an entry: one type from the journal to the wire.
pub use crate::protocol::EntryKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    Pending,
    Sent,
    Acknowledged,
    Conflict,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncStatus::Pending => "pending",
            SyncStatus::Sent => "sent",
            SyncStatus::Acknowledged => "acknowledged",
            SyncStatus::Conflict => "conflict",
        }
    }

    pub fn parse(s: &str) -> Option<SyncStatus> {
        [
            SyncStatus::Pending,
            SyncStatus::Sent,
            SyncStatus::Acknowledged,
            SyncStatus::Conflict,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// What a circulation call appends.
pub(crate) struct NewEntry<'a> {
    pub kind: EntryKind,
    pub patron: Option<&'a str>,
    pub item: Option<&'a str>,
    /// None = accepted; Some(code) = refused for that reason.
    pub refusal: Option<&'static str>,
    pub due: Option<String>,
    pub detail: serde_json::Value,
    pub offline: bool,
}

impl<'a> NewEntry<'a> {
    /// An accepted entry with no due date and an empty detail.
    pub fn new(kind: EntryKind, patron: Option<&'a str>, item: Option<&'a str>) -> Self {
        NewEntry {
            kind,
            patron,
            item,
            refusal: None,
            due: None,
            detail: serde_json::json!({}),
            offline: false,
        }
    }

    pub fn refused(mut self, r: &crate::domain::Refusal) -> Self {
        self.refusal = Some(r.code());
        self
    }

    pub fn due(mut self, due: Option<String>) -> Self {
        self.due = due;
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Records a decision: its refusal code, or what `detail` says of the
    /// accepted result.
    pub fn decided<T>(
        self,
        result: &Result<T, crate::domain::Refusal>,
        detail: impl FnOnce(&T) -> serde_json::Value,
    ) -> Self {
        match result {
            Ok(t) => self.detail(detail(t)),
            Err(r) => self.refused(r),
        }
    }
}

/// Identifies a committed entry to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRef {
    pub id: Uuid,
    pub seq: i64,
}

/// A journal entry as read back (CLI `kiosk journal`, sync).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEntry {
    pub id: String,
    pub kiosk_id: String,
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub patron: Option<String>,
    pub item: Option<String>,
    pub decision: String,
    pub reason: Option<String>,
    pub due: Option<String>,
    pub detail: serde_json::Value,
    pub offline: bool,
    pub sync_status: String,
    pub sync_reason: Option<String>,
    /// A conflict staff closed at the centre (pulled); None while open,
    /// and for every other entry.
    pub resolution: Option<Resolution>,
}

impl JournalEntry {
    /// `kind` as the type every other room uses (the field stays the
    /// stored text: screens and `kiosk journal` show it as it is).
    pub fn entry_kind(&self) -> EntryKind {
        EntryKind::parse(&self.kind)
    }
}

/// How staff closed a conflict (`kiosk-central conflicts resolve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// RFC 3339
    pub resolved: String,
    pub resolved_by: String,
    pub note: String,
}

/// Who appends: this kiosk, and for one `store::circ` call run by
/// `Store::with_offline_journal`, the id its first entry must take (an
/// offline decision journaled under the id the upstream was offered).
pub(crate) struct Author {
    pub kiosk_id: String,
    pub offline_id: std::cell::Cell<Option<Uuid>>,
}

/// Appends inside the caller's transaction, so the entry commits with the
/// change it records or not at all.
/// `Store::open_conflicts` on any connection to a kiosk database (the
/// touch screen reads it on a read-only one, off the UI thread).
pub fn open_conflicts(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<JournalEntry>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM journal j WHERE sync_status = 'conflict'
           AND NOT EXISTS (SELECT 1 FROM conflict_resolutions r WHERE r.entry_id = j.id)
         ORDER BY rowid_ DESC LIMIT ?1"
    ))?;
    let rows = st.query_map([limit as i64], entry)?;
    rows.collect()
}

pub(crate) fn append(
    tx: &Transaction,
    author: &Author,
    now: DateTime<FixedOffset>,
    mut e: NewEntry,
) -> Result<EntryRef> {
    let kiosk_id = author.kiosk_id.as_str();
    let id = match author.offline_id.take() {
        Some(id) => {
            e.offline = true;
            id
        }
        None => Uuid::now_v7(),
    };
    let seq: i64 = tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE kiosk_id = ?1",
        [kiosk_id],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO journal (id, kiosk_id, seq, at, kind, patron, item, decision, reason, due, detail, offline)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            id.to_string(),
            kiosk_id,
            seq,
            now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
            e.kind.as_str(),
            e.patron,
            e.item,
            if e.refusal.is_some() { "refused" } else { "accepted" },
            e.refusal,
            e.due,
            e.detail.to_string(),
            e.offline,
        ],
    )?;
    Ok(EntryRef { id, seq })
}

const COLUMNS: &str = "id, kiosk_id, seq, at, kind, patron, item, decision, reason, due, detail, offline, sync_status, sync_reason";

fn entry(r: &Row) -> rusqlite::Result<JournalEntry> {
    let detail: String = r.get(10)?;
    Ok(JournalEntry {
        id: r.get(0)?,
        kiosk_id: r.get(1)?,
        seq: r.get(2)?,
        at: r.get(3)?,
        kind: r.get(4)?,
        patron: r.get(5)?,
        item: r.get(6)?,
        decision: r.get(7)?,
        reason: r.get(8)?,
        due: r.get(9)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        offline: r.get(11)?,
        sync_status: r.get(12)?,
        sync_reason: r.get(13)?,
        resolution: None,
    })
}

/// `entry` plus the resolution columns of `JOURNAL_SELECT`.
fn entry_resolved(r: &Row) -> rusqlite::Result<JournalEntry> {
    let mut e = entry(r)?;
    if let Some(resolved) = r.get::<_, Option<String>>(14)? {
        e.resolution = Some(Resolution {
            resolved,
            resolved_by: r.get(15)?,
            note: r.get(16)?,
        });
    }
    Ok(e)
}

impl Store {
    /// Entries in journal order, optionally only those with one status.
    /// Conflicts carry how staff closed them, once the pull brought it.
    pub fn journal(&self, status: Option<SyncStatus>) -> Result<Vec<JournalEntry>> {
        let select = format!(
            "SELECT {COLUMNS}, r.resolved, r.resolved_by, r.note FROM journal
             LEFT JOIN conflict_resolutions r ON r.entry_id = journal.id"
        );
        let sql = match status {
            Some(_) => format!("{select} WHERE sync_status = ?1 ORDER BY rowid_"),
            None => format!("{select} ORDER BY rowid_"),
        };
        let mut st = self.conn.prepare(&sql)?;
        let rows: rusqlite::Result<Vec<JournalEntry>> = match status {
            Some(s) => st.query_map([s.as_str()], entry_resolved)?.collect(),
            None => st.query_map([], entry_resolved)?.collect(),
        };
        Ok(rows?)
    }

    /// The last `limit` conflicts staff have not closed yet, newest first
    /// (the staff screen's list; `sync_reason` says why).
    pub fn open_conflicts(&self, limit: usize) -> Result<Vec<JournalEntry>> {
        Ok(open_conflicts(&self.conn, limit)?)
    }

    /// The next `limit` entries still to be delivered upstream, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<JournalEntry>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM journal WHERE sync_status IN ('pending','sent') ORDER BY rowid_ LIMIT ?1"
        ))?;
        let rows: rusqlite::Result<Vec<JournalEntry>> =
            st.query_map([limit as i64], entry)?.collect();
        Ok(rows?)
    }

    /// Moves entries along pending → sent → acknowledged | conflict. An
    /// entry never moves back, and a final status is never overwritten.
    pub fn mark_synced(
        &mut self,
        ids: &[(String, SyncStatus, Option<String>)],
        now: DateTime<FixedOffset>,
    ) -> Result<usize> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            let mut st = tx.prepare(
                "UPDATE journal SET sync_status = ?2, sync_reason = ?3, sync_at = ?4
                 WHERE id = ?1 AND (
                   (sync_status = 'pending' AND ?2 IN ('sent','acknowledged','conflict')) OR
                   (sync_status = 'sent' AND ?2 IN ('acknowledged','conflict')))",
            )?;
            for (id, status, reason) in ids {
                if *status == SyncStatus::Pending {
                    return Err(StoreError::Input(format!(
                        "entry {id}: cannot move back to pending"
                    )));
                }
                changed += st.execute(params![id, status.as_str(), reason, now.to_rfc3339()])?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }
}
