//! Patron and item import from CSV (a header row names the columns).
//!
//! Patrons: `barcode,name,category,expires,pin` required; `email`,
//! `blocked` (reason text), `fines` (money, e.g. 12.50), `language`
//! (`zh-CN` or `en`, the reader's preferred language) optional.
//! Items: `barcode,title,author,isbn,item_type,rfid_uid,parts` required;
//! `location`, `status` optional. Other columns are ignored (ILS exports
//! carry many). A second import updates rows by barcode. A bad row is
//! reported with its line number and skipped; good rows are kept.
//! Never overwrites circulation state: an item on loan keeps its status,
//! and an empty `pin` keeps the reader's existing PIN.
//!
//! `read_patrons` and `read_items` are the one reading of these files:
//! kiosk-central's import (`central::import`) uses them too, so a row
//! means the same on both sides.

use super::{Result, Store, StoreError};
use crate::domain::barcode::normalize;
use crate::domain::ItemStatus;
use crate::privacy::hash_pin;
use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ImportReport {
    pub file: String,
    pub inserted: u64,
    pub updated: u64,
    pub errors: Vec<RowError>,
}

struct Table {
    header: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

/// A CSV file that cannot be read at all (not a row of it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct CsvError {
    pub file: String,
    pub message: String,
}

impl From<CsvError> for StoreError {
    fn from(e: CsvError) -> StoreError {
        StoreError::Input(e.to_string())
    }
}

fn read(path: &Path, required: &[&str]) -> std::result::Result<Table, CsvError> {
    let err = |message: String| CsvError {
        file: path.display().to_string(),
        message,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| err(e.to_string()))?;
    let header: HashMap<String, usize> = rdr
        .headers()
        .map_err(|e| err(e.to_string()))?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim_start_matches('\u{feff}').to_lowercase(), i))
        .collect();
    let missing: Vec<_> = required
        .iter()
        .filter(|c| !header.contains_key(**c))
        .collect();
    if !missing.is_empty() {
        return Err(err(format!(
            "the header row lacks the column(s) {:?} (needed: {})",
            missing,
            required.join(",")
        )));
    }
    let mut rows = vec![];
    for rec in rdr.records() {
        let r = rec.map_err(|e| err(e.to_string()))?;
        rows.push((r.position().map(|p| p.line()).unwrap_or(0), r));
    }
    Ok(Table { header, rows })
}

impl Table {
    fn get<'a>(&self, r: &'a csv::StringRecord, col: &str) -> &'a str {
        self.header.get(col).and_then(|i| r.get(*i)).unwrap_or("")
    }
    fn opt(&self, r: &csv::StringRecord, col: &str) -> Option<String> {
        Some(self.get(r, col).to_string()).filter(|s| !s.is_empty())
    }
}

/// Parses money like "12.5" or "12.50" into cents.
pub fn parse_money(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 2 || whole.is_empty() && frac.is_empty() {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    (whole >= 0).then_some(whole * 100 + frac)
}

/// One good row of a patrons CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatronRow {
    pub line: u64,
    pub barcode: String,
    pub name: String,
    /// `default` when empty.
    pub category: String,
    pub expires: Option<String>,
    /// As written: a PIN, or an argon2 hash already.
    pub pin: Option<String>,
    pub email: Option<String>,
    /// None: no `blocked` column (leave it as it is); `Some("")`: not
    /// blocked.
    pub blocked: Option<String>,
    /// None: no `fines` column (leave the balance as it is).
    pub fines: Option<i64>,
    /// `zh-CN` or `en`; None when the column is missing or empty.
    pub language: Option<String>,
}

/// Reads and checks a patrons CSV: the good rows, and the bad ones with
/// their line and why (skipped).
pub fn read_patrons(path: &Path) -> std::result::Result<(Vec<PatronRow>, Vec<RowError>), CsvError> {
    let t = read(path, PATRON_COLUMNS)?;
    let (mut good, mut bad) = (vec![], vec![]);
    for (line, r) in &t.rows {
        let fail = |error: String| RowError { line: *line, error };
        let barcode = normalize(t.get(r, "barcode"));
        let name = t.get(r, "name").to_string();
        if barcode.is_empty() {
            bad.push(fail("barcode is empty".into()));
            continue;
        }
        if name.is_empty() {
            bad.push(fail("name is empty".into()));
            continue;
        }
        let expires = t.get(r, "expires");
        if !expires.is_empty() && NaiveDate::parse_from_str(expires, "%Y-%m-%d").is_err() {
            bad.push(fail(format!(
                "expires {expires:?} is not a date (YYYY-MM-DD)"
            )));
            continue;
        }
        let pin = t.get(r, "pin");
        if !pin.is_empty()
            && !pin.starts_with("$argon2")
            && !(4..=32).contains(&pin.chars().count())
        {
            bad.push(fail("pin must be 4 to 32 characters".into()));
            continue;
        }
        let fines = match t.header.contains_key("fines") {
            false => None,
            true => match parse_money(t.get(r, "fines")) {
                Some(c) => Some(c),
                None => {
                    bad.push(fail(format!(
                        "fines {:?} is not an amount like 12.50",
                        t.get(r, "fines")
                    )));
                    continue;
                }
            },
        };
        let language = match t.opt(r, "language") {
            None => None,
            Some(l) => match crate::domain::Lang::parse(&l) {
                Some(l) => Some(l.tag().to_string()),
                None => {
                    bad.push(fail(format!("language {l:?}: use zh-CN or en")));
                    continue;
                }
            },
        };
        good.push(PatronRow {
            line: *line,
            barcode,
            name,
            category: t.opt(r, "category").unwrap_or_else(|| "default".into()),
            expires: t.opt(r, "expires"),
            pin: t.opt(r, "pin"),
            email: t.opt(r, "email"),
            blocked: t
                .header
                .contains_key("blocked")
                .then(|| t.get(r, "blocked").to_string()),
            fines,
            language,
        });
    }
    Ok((good, bad))
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

/// Columns a patron CSV must have (more are allowed), here and in
/// kiosk-central's import.
pub const PATRON_COLUMNS: &[&str] = &["barcode", "name", "category", "expires", "pin"];
/// Columns an item CSV must have (more are allowed).
pub const ITEM_COLUMNS: &[&str] = &[
    "barcode",
    "title",
    "author",
    "isbn",
    "item_type",
    "rfid_uid",
    "parts",
];

/// One good row of an items CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub line: u64,
    pub barcode: String,
    pub title: String,
    pub author: String,
    pub isbn: Option<String>,
    /// `default` when empty.
    pub item_type: String,
    /// Upper-case hex, separators removed.
    pub rfid_uid: Option<String>,
    pub parts: u8,
    /// None: no status given (a new item is available; a known one keeps
    /// its status). Never on loan or on the hold shelf: circulation sets
    /// those.
    pub status: Option<ItemStatus>,
    /// Empty when not given.
    pub location: String,
}

/// Reads and checks an items CSV: the good rows, and the bad ones with
/// their line and why (skipped).
pub fn read_items(path: &Path) -> std::result::Result<(Vec<ItemRow>, Vec<RowError>), CsvError> {
    let t = read(path, ITEM_COLUMNS)?;
    let (mut good, mut bad) = (vec![], vec![]);
    for (line, r) in &t.rows {
        let fail = |error: String| RowError { line: *line, error };
        let barcode = normalize(t.get(r, "barcode"));
        let title = t.get(r, "title");
        if barcode.is_empty() {
            bad.push(fail("barcode is empty".into()));
            continue;
        }
        if title.is_empty() {
            bad.push(fail("title is empty".into()));
            continue;
        }
        let parts = match t.get(r, "parts") {
            "" => 1,
            p => match p.parse::<u8>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    bad.push(fail(format!("parts {p:?} must be a number from 1 to 255")));
                    continue;
                }
            },
        };
        let uid = t
            .get(r, "rfid_uid")
            .replace([':', ' ', '-'], "")
            .to_uppercase();
        if !uid.is_empty() && (!uid.chars().all(|c| c.is_ascii_hexdigit()) || uid.len() % 2 != 0) {
            bad.push(fail(format!("rfid_uid {uid:?} is not a hexadecimal UID")));
            continue;
        }
        let status = match t.get(r, "status") {
            "" => None,
            s => match ItemStatus::parse(s) {
                Some(ItemStatus::OnLoan) | Some(ItemStatus::OnHoldShelf) | None => {
                    bad.push(fail(format!(
                        "status {s:?}: use available, not_for_loan, lost, missing or withdrawn"
                    )));
                    continue;
                }
                Some(st) => Some(st),
            },
        };
        good.push(ItemRow {
            line: *line,
            barcode,
            title: title.to_string(),
            author: t.get(r, "author").to_string(),
            isbn: Some(normalize(t.get(r, "isbn"))).filter(|i| !i.is_empty()),
            item_type: t.opt(r, "item_type").unwrap_or_else(|| "default".into()),
            rfid_uid: Some(uid).filter(|u| !u.is_empty()),
            parts,
            status,
            location: t.get(r, "location").to_string(),
        });
    }
    Ok((good, bad))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_to_cents() {
        assert_eq!(parse_money("12.5"), Some(1250));
        assert_eq!(parse_money("12.50"), Some(1250));
        assert_eq!(parse_money("0.05"), Some(5));
        assert_eq!(parse_money("7"), Some(700));
        assert_eq!(parse_money(""), Some(0));
        assert_eq!(parse_money("1.234"), None);
        assert_eq!(parse_money("-1"), None);
        assert_eq!(parse_money("abc"), None);
        assert_eq!(parse_money("."), None);
    }
}
