//! Retention of readers' history on the kiosk (`[store]
//! history_retention_days`): returned loans and closed holds from before
//! the cut-off are deleted, and journal entries the upstream has
//! acknowledged lose their reader — the reader column, the keys of their
//! detail that name a reader (`borrower`, `hold_for`, `pickup_code`, …:
//! [`crate::privacy::IDENTIFYING`]) and any reader's card written into the
//! detail's texts or the upstream's message (`sync_reason`), masked to its
//! last four characters. Entries in conflict keep their reader column (a
//! trigger keeps it until the entry is acknowledged) but their texts, and
//! the note staff wrote when they closed the conflict, are scrubbed the
//! same way. Fees stay: they are accounts, not history. The server does
//! the same on its side (`central::engine::retention`).

use super::{Result, Retention, Store};
use crate::privacy::{card_like, scrub_detail, scrub_text};
use chrono::{DateTime, FixedOffset};
use rusqlite::{params, OptionalExtension, Transaction};
use std::collections::{BTreeSet, HashMap};

/// `sync_state` keys: the cut-off of the last run (acknowledged entries
/// before it are scrubbed already) and when it ran (an entry acknowledged
/// since then is looked at again, however old).
const SCRUBBED_TO_KEY: &str = "retention.scrubbed_to";
const RAN_AT_KEY: &str = "retention.ran_at";

/// One past entry that may still name a reader.
struct Past {
    id: String,
    patron: Option<String>,
    detail: String,
    reason: Option<String>,
    acknowledged: bool,
}

impl Store {
    /// Drops reader history older than `days` (see the module doc). A
    /// second run with the same `now` changes nothing.
    pub fn apply_retention(&mut self, days: u32, now: DateTime<FixedOffset>) -> Result<Retention> {
        let cutoff = (now - chrono::Duration::days(days as i64)).to_rfc3339();
        let tx = self.conn.transaction()?;
        let loans = tx.execute(
            "DELETE FROM loans WHERE returned IS NOT NULL AND returned < ?1",
            [&cutoff],
        )?;
        let holds = tx.execute(
            "DELETE FROM holds WHERE status IN ('fulfilled','cancelled','expired') AND closed < ?1",
            [&cutoff],
        )?;
        // Acknowledged entries between the last run's cut-off and this
        // one (all of them the first time), and every past conflict (staff
        // may have closed it with a note since).
        let state = |key: &str| -> Result<String> {
            Ok(tx
                .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?
                .unwrap_or_default())
        };
        let (since, last_run) = (state(SCRUBBED_TO_KEY)?, state(RAN_AT_KEY)?);
        let past: Vec<Past> = {
            let mut st = tx.prepare(
                "SELECT id, patron, detail, sync_reason, sync_status FROM journal
                 WHERE at < ?1 AND ((sync_status = 'acknowledged'
                                     AND (at >= ?2 OR sync_at IS NULL OR sync_at >= ?3))
                                    OR sync_status = 'conflict')",
            )?;
            let rows = st
                .query_map([&cutoff, &since, &last_run], |r| {
                    Ok(Past {
                        id: r.get(0)?,
                        patron: r.get(1)?,
                        detail: r.get(2)?,
                        reason: r.get(3)?,
                        acknowledged: r.get::<_, String>(4)? == "acknowledged",
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            rows
        };
        let mut known = HashMap::new();
        let mut journal = 0;
        for e in past {
            if scrub(&tx, &e, &mut known)? {
                journal += 1;
            }
        }
        tx.execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
            params![SCRUBBED_TO_KEY, cutoff],
        )?;
        tx.execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![
                RAN_AT_KEY,
                now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
            ],
        )?;
        tx.commit()?;
        Ok(Retention {
            loans_deleted: loans,
            holds_deleted: holds,
            journal_anonymized: journal,
        })
    }
}

/// Takes the reader out of one past entry; whether anything changed.
fn scrub(tx: &Transaction, e: &Past, known: &mut HashMap<String, bool>) -> Result<bool> {
    let parsed: Option<serde_json::Value> = serde_json::from_str(&e.detail).ok();
    let note: Option<String> = if e.acknowledged {
        None
    } else {
        tx.query_row(
            "SELECT note FROM conflict_resolutions WHERE entry_id = ?1",
            [&e.id],
            |r| r.get(0),
        )
        .optional()?
    };
    // The entry's reader, and any reader's card written into its texts.
    let mut words = BTreeSet::new();
    for text in [
        &parsed,
        &e.reason.clone().map(Into::into),
        &note.clone().map(Into::into),
    ]
    .into_iter()
    .flatten()
    {
        card_like(text, &mut words);
    }
    let mut cards: Vec<String> = e.patron.iter().cloned().collect();
    for w in words {
        let is_card = match known.get(&w) {
            Some(b) => *b,
            None => {
                let b = tx
                    .query_row("SELECT 1 FROM patrons WHERE barcode = ?1", [&w], |_| Ok(()))
                    .optional()?
                    .is_some();
                known.insert(w.clone(), b);
                b
            }
        };
        if is_card {
            cards.push(w);
        }
    }
    let detail = match parsed {
        Some(d) => scrub_detail(d, &cards).to_string(),
        None => e.detail.clone(),
    };
    let reason = e.reason.as_deref().map(|r| scrub_text(r, &cards));
    let mut changed = false;
    if e.acknowledged && (e.patron.is_some() || detail != e.detail || reason != e.reason) {
        tx.execute(
            "UPDATE journal SET patron = NULL, detail = ?2, sync_reason = ?3 WHERE id = ?1",
            params![e.id, detail, reason],
        )?;
        changed = true;
    } else if !e.acknowledged && (detail != e.detail || reason != e.reason) {
        // In conflict: the reader column stays (see the module doc).
        tx.execute(
            "UPDATE journal SET detail = ?2, sync_reason = ?3 WHERE id = ?1",
            params![e.id, detail, reason],
        )?;
        changed = true;
    }
    if let Some(note) = note {
        let scrubbed = scrub_text(&note, &cards);
        if scrubbed != note {
            tx.execute(
                "UPDATE conflict_resolutions SET note = ?2 WHERE entry_id = ?1",
                params![e.id, scrubbed],
            )?;
            changed = true;
        }
    }
    Ok(changed)
}
