//! The pure half of the outbox drain: which entries go in the next batch,
//! and what the upstream's answer means for each of them. No IO, no clock:
//! the executor (`engine`) reads the outbox, asks here, and writes back.

use crate::protocol::{Entry, EntryResult, EntryStatus};
use crate::store::SyncStatus as EntryState;
use std::collections::HashMap;
use uuid::Uuid;

/// The next push.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// All entries of a push belong to one kiosk id (a kiosk renamed in
    /// kiosk.toml still delivers its old entries under the old id).
    pub kiosk_id: String,
    /// In sequence order, with the ids they were journaled under.
    pub entries: Vec<Entry>,
    /// Those still `pending`: marked `sent` before the request goes out.
    pub to_mark_sent: Vec<Uuid>,
    /// Entries already `sent` once whose answer never came back: resent
    /// as they are (the server answers `duplicate` if it applied them).
    pub resent: usize,
}

/// Plans the next batch from the outbox (pending and sent entries, as
/// read): the oldest kiosk id first, in `seq` order, at most `batch_size`.
pub fn plan_push(outbox: &[(Entry, EntryState)], batch_size: usize) -> Option<Batch> {
    let first = outbox.first()?;
    let kiosk_id = first.0.kiosk_id.clone();
    let mut mine: Vec<&(Entry, EntryState)> = outbox
        .iter()
        .filter(|(e, st)| {
            e.kiosk_id == kiosk_id && matches!(st, EntryState::Pending | EntryState::Sent)
        })
        .collect();
    mine.sort_by_key(|(e, _)| e.seq);
    mine.truncate(batch_size.max(1));
    Some(Batch {
        kiosk_id,
        to_mark_sent: mine
            .iter()
            .filter(|(_, st)| *st == EntryState::Pending)
            .map(|(e, _)| e.id)
            .collect(),
        resent: mine
            .iter()
            .filter(|(_, st)| *st == EntryState::Sent)
            .count(),
        entries: mine.into_iter().map(|(e, _)| e.clone()).collect(),
    })
}

/// What to record after a push answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Applied now or before (duplicate): done.
    pub acknowledged: Vec<Uuid>,
    /// Not applied as decided; `code: message` kept for staff.
    pub conflicts: Vec<(Uuid, String)>,
    /// Sent but not in the answer, or answered with a transient code
    /// (`sequence_gap`: the server kept nothing): stay `sent`, resent.
    pub unanswered: Vec<Uuid>,
    /// Answered ids that were not in the batch (ignored, logged).
    pub unexpected: Vec<Uuid>,
    /// What the upstream said with an acknowledgement (an ILS's screen
    /// message, "already checked in", a due date it changed): kept as the
    /// entry's `sync_reason` for staff.
    pub notes: HashMap<Uuid, String>,
}

impl Settled {
    /// Rows for `Store::mark_synced`.
    pub fn marks(&self) -> Vec<(String, EntryState, Option<String>)> {
        self.acknowledged
            .iter()
            .map(|id| {
                let note = self.notes.get(id).cloned();
                (id.to_string(), EntryState::Acknowledged, note)
            })
            .chain(
                self.conflicts
                    .iter()
                    .map(|(id, why)| (id.to_string(), EntryState::Conflict, Some(why.clone()))),
            )
            .collect()
    }

    pub fn progressed(&self) -> usize {
        self.acknowledged.len() + self.conflicts.len()
    }
}

/// Matches the answer to the batch by id (not by position: a server that
/// reorders or drops results must not move an answer onto another entry).
pub fn settle(batch: &[Entry], results: &[EntryResult]) -> Settled {
    let by_id: HashMap<Uuid, &EntryResult> = results.iter().map(|r| (r.id, r)).collect();
    let mut out = Settled::default();
    for e in batch {
        match by_id.get(&e.id) {
            None => out.unanswered.push(e.id),
            Some(r) => match r.status {
                EntryStatus::Applied | EntryStatus::Duplicate => {
                    out.acknowledged.push(e.id);
                    if let Some(m) = r.message.as_deref().filter(|m| !m.trim().is_empty()) {
                        out.notes.insert(e.id, m.to_string());
                    }
                }
                EntryStatus::Conflict if is_transient(r) => out.unanswered.push(e.id),
                EntryStatus::Conflict => out.conflicts.push((e.id, conflict_reason(r))),
            },
        }
    }
    let sent: std::collections::HashSet<Uuid> = batch.iter().map(|e| e.id).collect();
    out.unexpected = results
        .iter()
        .map(|r| r.id)
        .filter(|id| !sent.contains(id))
        .collect();
    out
}

/// Conflict codes of entries the server refused outright: recorded for
/// staff but never applied (their seq belongs to another entry of the
/// kiosk). A sync that meets one is not a success (`kiosk sync --once`
/// says so and exits non-zero).
pub const REFUSED_CODES: &[&str] = &["sequence_reused"];

/// Whether a conflict's `sync_reason` (`code: message`) is a refusal.
pub fn is_refused(reason: &str) -> bool {
    let code = reason.split(':').next().unwrap_or_default().trim();
    REFUSED_CODES.contains(&code)
}

/// Conflict codes the server answers without storing the entry: the
/// entry is not settled and goes again (docs/sync.md, "In seq order").
pub const TRANSIENT_CODES: &[&str] = &["sequence_gap"];

pub fn is_transient(r: &EntryResult) -> bool {
    r.code
        .as_deref()
        .is_some_and(|c| TRANSIENT_CODES.contains(&c))
}

/// `sync_reason` of a conflict: the stable code, then the server's words.
pub fn conflict_reason(r: &EntryResult) -> String {
    let code = r.code.as_deref().unwrap_or("conflict");
    match r.message.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => format!("{code}: {m}"),
        None => code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kiosk: &str, seq: i64) -> Entry {
        Entry {
            id: Uuid::now_v7(),
            kiosk_id: kiosk.into(),
            seq,
            at: "2026-11-23T10:00:00.000+08:00".into(),
            kind: crate::protocol::EntryKind::Checkin,
            patron: None,
            item: Some("3001".into()),
            decision: "accepted".into(),
            reason: None,
            due: None,
            detail: serde_json::json!({}),
            offline: false,
        }
    }

    #[test]
    fn batches_follow_seq_within_one_kiosk_and_count_resends() {
        let a = entry("k1", 2);
        let b = entry("k1", 1);
        let c = entry("old", 1);
        let d = entry("k1", 3);
        let outbox = vec![
            (b.clone(), EntryState::Sent),
            (c.clone(), EntryState::Pending),
            (a.clone(), EntryState::Pending),
            (d.clone(), EntryState::Pending),
        ];
        let p = plan_push(&outbox, 2).unwrap();
        assert_eq!(p.kiosk_id, "k1");
        assert_eq!(p.entries, vec![b.clone(), a.clone()]);
        assert_eq!(p.to_mark_sent, vec![a.id]);
        assert_eq!(p.resent, 1);
        assert!(plan_push(&[], 10).is_none());
        // batch_size 0 still makes progress
        assert_eq!(plan_push(&outbox, 0).unwrap().entries.len(), 1);
    }

    #[test]
    fn answers_are_matched_by_id_not_position() {
        let a = entry("k1", 1);
        let b = entry("k1", 2);
        let c = entry("k1", 3);
        let stray = Uuid::now_v7();
        let results = vec![
            EntryResult {
                id: b.id,
                status: EntryStatus::Conflict,
                code: Some("on_loan_elsewhere".into()),
                message: Some("on loan to another reader".into()),
            },
            EntryResult {
                id: a.id,
                status: EntryStatus::Duplicate,
                code: None,
                message: None,
            },
            EntryResult {
                id: stray,
                status: EntryStatus::Applied,
                code: None,
                message: None,
            },
        ];
        let gap = entry("k1", 4);
        let mut results = results;
        results.push(EntryResult {
            id: gap.id,
            status: EntryStatus::Conflict,
            code: Some("sequence_gap".into()),
            message: Some("waiting for seq 3".into()),
        });
        let s = settle(&[a.clone(), b.clone(), c.clone(), gap.clone()], &results);
        assert_eq!(s.acknowledged, vec![a.id]);
        assert_eq!(
            s.conflicts,
            vec![(b.id, "on_loan_elsewhere: on loan to another reader".into())]
        );
        assert_eq!(
            s.unanswered,
            vec![c.id, gap.id],
            "a gap is not a final conflict"
        );
        assert_eq!(s.unexpected, vec![stray]);
        assert_eq!(s.progressed(), 2);
        assert!(is_refused("sequence_reused: seq 1 was already used"));
        assert!(!is_refused(&s.conflicts[0].1));
        let marks = s.marks();
        assert_eq!(marks.len(), 2);
        assert_eq!(marks[1].1, EntryState::Conflict);
    }
}
