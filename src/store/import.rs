//! Patron and item import into the kiosk's database, from the CSV formats
//! of [`crate::csvfmt`] (the same reading kiosk-central uses). A second
//! import updates rows by barcode. A bad row is reported with its line
//! number and skipped; good rows are kept. Never overwrites circulation
//! state: an item on loan keeps its status, and an empty `pin` keeps the
//! reader's existing PIN.

use super::{Result, Store, StoreError};
use crate::csvfmt::{read_items, read_patrons, CsvError, ItemRow, RowError};
use crate::privacy::hash_pin;
use chrono::{DateTime, FixedOffset};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ImportReport {
    pub file: String,
    pub inserted: u64,
    pub updated: u64,
    pub errors: Vec<RowError>,
}

impl From<CsvError> for StoreError {
    fn from(e: CsvError) -> StoreError {
        StoreError::Input(e.to_string())
    }
}

pub fn patrons(store: &mut Store, path: &Path, now: DateTime<FixedOffset>) -> Result<ImportReport> {
    let (good, errors) = read_patrons(path)?;
    let mut report = ImportReport {
        file: path.display().to_string(),
        errors,
        ..Default::default()
    };
    // argon2 is deliberately slow: hash on every core before the transaction.
    let hashes = hash_all(good.iter().map(|p| p.pin.clone()).collect());
    let stamp = now.to_rfc3339();
    let tx = store.conn.transaction()?;
    for (p, hash) in good.iter().zip(hashes) {
        let existing: Option<(i64, i64)> = tx
            .query_row(
                "SELECT id, fines_owed_cents FROM patrons WHERE barcode = ?1",
                [&p.barcode],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match existing {
            None => {
                tx.execute(
                    "INSERT INTO patrons (barcode, name, category, expires, pin_hash, email, blocked_reason, fines_owed_cents, updated_at, language)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![p.barcode, p.name, p.category, p.expires, hash, p.email,
                        p.blocked.clone().filter(|b| !b.is_empty()), p.fines.unwrap_or(0), stamp, p.language],
                )?;
                let id = tx.last_insert_rowid();
                imported_fee(&tx, id, p.fines.unwrap_or(0), &stamp)?;
                report.inserted += 1;
            }
            Some((id, owed)) => {
                tx.execute(
                    "UPDATE patrons SET name = ?2, category = ?3, expires = ?4,
                       pin_hash = COALESCE(?5, pin_hash), email = COALESCE(?6, email),
                       blocked_reason = CASE WHEN ?7 IS NULL THEN blocked_reason ELSE NULLIF(?7, '') END,
                       updated_at = ?8, language = COALESCE(?9, language) WHERE id = ?1",
                    params![id, p.name, p.category, p.expires, hash, p.email, p.blocked, stamp, p.language],
                )?;
                if let Some(f) = p.fines {
                    // The ILS's balance is the truth: record the difference.
                    imported_fee(&tx, id, f - owed, &stamp)?;
                    tx.execute(
                        "UPDATE patrons SET fines_owed_cents = ?2 WHERE id = ?1",
                        params![id, f],
                    )?;
                }
                report.updated += 1;
            }
        }
    }
    tx.commit()?;
    Ok(report)
}

fn imported_fee(tx: &rusqlite::Transaction, patron: i64, cents: i64, stamp: &str) -> Result<()> {
    if cents != 0 {
        tx.execute(
            "INSERT INTO fees (patron_id, kind, amount_cents, created) VALUES (?1, 'imported', ?2, ?3)",
            params![patron, cents, stamp],
        )?;
    }
    Ok(())
}

fn hash_all(pins: Vec<Option<String>>) -> Vec<Option<String>> {
    let hash = |p: &Option<String>| {
        p.as_ref().map(|p| {
            if p.starts_with("$argon2") {
                p.clone()
            } else {
                hash_pin(p)
            }
        })
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if pins.iter().filter(|p| p.is_some()).count() < 4 || threads == 1 {
        return pins.iter().map(hash).collect();
    }
    let chunk = pins.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = pins
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(hash).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("hashing thread"))
            .collect()
    })
}

pub fn items(store: &mut Store, path: &Path, now: DateTime<FixedOffset>) -> Result<ImportReport> {
    let (rows, errors) = read_items(path)?;
    let mut report = ImportReport {
        file: path.display().to_string(),
        errors,
        ..Default::default()
    };
    let stamp = now.to_rfc3339();
    let mut tx = store.conn.transaction()?;
    for row in &rows {
        let err = |e: String| RowError {
            line: row.line,
            error: e,
        };
        let ItemRow {
            barcode,
            title,
            author,
            isbn,
            item_type,
            rfid_uid: uid,
            parts,
            location,
            ..
        } = row;
        let status = row.status.map(|s| s.as_str());
        let sp = tx.savepoint()?;
        let existing: Option<i64> = sp
            .query_row("SELECT id FROM items WHERE barcode = ?1", [barcode], |r| {
                r.get(0)
            })
            .optional()?;
        let res = match existing {
            None => sp.execute(
                "INSERT INTO items (barcode, rfid_uid, title, author, isbn, item_type, parts, status, location, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, COALESCE(?8, 'available'), ?9, ?10)",
                params![barcode, uid, title, author, isbn, item_type, parts, status, location, stamp],
            ),
            Some(id) => sp.execute(
                "UPDATE items SET rfid_uid = ?2, title = ?3, author = ?4, isbn = ?5, item_type = ?6, parts = ?7,
                   status = CASE WHEN ?8 IS NOT NULL AND status NOT IN ('on_loan','on_hold_shelf') THEN ?8 ELSE status END,
                   location = CASE WHEN ?9 = '' THEN location ELSE ?9 END, updated_at = ?10 WHERE id = ?1",
                params![id, uid, title, author, isbn, item_type, parts, status, location, stamp],
            ),
        };
        match res {
            Ok(_) => {
                sp.commit()?;
                if existing.is_some() {
                    report.updated += 1;
                } else {
                    report.inserted += 1;
                }
            }
            Err(rusqlite::Error::SqliteFailure(e, msg))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                drop(sp);
                report.errors.push(err(format!(
                    "conflicts with another item ({})",
                    msg.unwrap_or_default().replace(
                        "UNIQUE constraint failed: items.rfid_uid",
                        "the RFID UID is already used"
                    )
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit()?;
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}
