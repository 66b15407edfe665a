//! Reading the kiosk's import CSVs (`store::import` documents the columns)
//! into protocol records for the server. A bad row is reported with its
//! line and skipped; PINs are hashed (argon2id) before they are stored.

use crate::domain::barcode::normalize;
use crate::domain::ItemStatus;
use crate::store::import::{parse_money, RowError, ITEM_COLUMNS, PATRON_COLUMNS};
use crate::sync::protocol::{ItemRecord, PatronRecord};
use chrono::NaiveDate;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

struct Table {
    header: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
}

impl Table {
    fn get<'a>(&self, r: &'a csv::StringRecord, col: &str) -> &'a str {
        self.header.get(col).and_then(|i| r.get(*i)).unwrap_or("")
    }
    fn opt(&self, r: &csv::StringRecord, col: &str) -> Option<String> {
        Some(self.get(r, col).to_string()).filter(|s| !s.is_empty())
    }
}

fn read(path: &Path, required: &[&str]) -> Result<Table, ImportError> {
    let err = |message: String| ImportError::File {
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
            "the header row lacks the column(s) {missing:?} (needed: {})",
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

/// In an imported `PatronRecord`, "leave the stored balance alone".
pub const KEEP_FINES: i64 = i64::MIN;

pub fn patrons(path: &Path) -> Result<(Vec<PatronRecord>, Vec<RowError>), ImportError> {
    let t = read(path, PATRON_COLUMNS)?;
    let (mut good, mut bad) = (vec![], vec![]);
    for (line, r) in &t.rows {
        let fail = |error: String| RowError { line: *line, error };
        let barcode = normalize(t.get(r, "barcode"));
        let name = t.get(r, "name");
        let expires = t.get(r, "expires");
        let pin = t.get(r, "pin");
        if barcode.is_empty() {
            bad.push(fail("barcode is empty".into()));
        } else if name.is_empty() {
            bad.push(fail("name is empty".into()));
        } else if !expires.is_empty() && NaiveDate::parse_from_str(expires, "%Y-%m-%d").is_err() {
            bad.push(fail(format!(
                "expires {expires:?} is not a date (YYYY-MM-DD)"
            )));
        } else if !pin.is_empty()
            && !pin.starts_with("$argon2")
            && !(4..=32).contains(&pin.chars().count())
        {
            bad.push(fail("pin must be 4 to 32 characters".into()));
        } else {
            let Some(fines) = parse_money(t.get(r, "fines")) else {
                bad.push(fail(format!(
                    "fines {:?} is not an amount like 12.50",
                    t.get(r, "fines")
                )));
                continue;
            };
            good.push(PatronRecord {
                barcode,
                name: name.into(),
                category: t.opt(r, "category").unwrap_or_else(|| "default".into()),
                expires: t.opt(r, "expires"),
                // Hashed below, on every core (argon2 is slow on purpose).
                pin_hash: t.opt(r, "pin"),
                email: t.opt(r, "email"),
                blocked: t.opt(r, "blocked"),
                // No `fines` column: keep what the server has.
                fines_owed_cents: if t.header.contains_key("fines") {
                    fines
                } else {
                    KEEP_FINES
                },
            });
        }
    }
    hash_pins(&mut good);
    Ok((good, bad))
}

fn hash_pins(rows: &mut [PatronRecord]) {
    let hash = |p: &mut PatronRecord| {
        if let Some(pin) = p.pin_hash.take() {
            p.pin_hash = Some(if pin.starts_with("$argon2") {
                pin
            } else {
                crate::store::hash_pin(&pin)
            });
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = rows.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for part in rows.chunks_mut(chunk) {
            s.spawn(move || part.iter_mut().for_each(hash));
        }
    });
}

pub fn items(path: &Path) -> Result<(Vec<ItemRecord>, Vec<RowError>), ImportError> {
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
            "" => ItemStatus::Available,
            s => match ItemStatus::parse(s) {
                Some(ItemStatus::OnLoan) | Some(ItemStatus::OnHoldShelf) | None => {
                    bad.push(fail(format!(
                        "status {s:?}: use available, not_for_loan, lost, missing or withdrawn"
                    )));
                    continue;
                }
                Some(st) => st,
            },
        };
        let isbn = normalize(t.get(r, "isbn"));
        good.push(ItemRecord {
            barcode,
            rfid_uid: Some(uid).filter(|u| !u.is_empty()),
            title: title.into(),
            author: t.get(r, "author").into(),
            isbn: Some(isbn).filter(|i| !i.is_empty()),
            item_type: t.opt(r, "item_type").unwrap_or_else(|| "default".into()),
            parts,
            status: status.as_str().into(),
            location: t.opt(r, "location"),
        });
    }
    Ok((good, bad))
}

/// (card number, `zh-CN` | `en`).
pub type PatronLanguage = (String, String);

/// The optional `language` column of a patrons CSV: (barcode, `zh-CN` |
/// `en`) for the rows that name one; a value that is neither is a row
/// error. No such column: nothing.
pub fn patron_languages(path: &Path) -> Result<(Vec<PatronLanguage>, Vec<RowError>), ImportError> {
    let t = read(path, &["barcode"])?;
    let (mut good, mut bad) = (vec![], vec![]);
    if !t.header.contains_key("language") {
        return Ok((good, bad));
    }
    for (line, r) in &t.rows {
        let barcode = normalize(t.get(r, "barcode"));
        let Some(lang) = t.opt(r, "language") else {
            continue;
        };
        if barcode.is_empty() {
            continue;
        }
        match crate::domain::Lang::parse(&lang) {
            Some(l) => good.push((barcode, l.tag().to_string())),
            None => bad.push(RowError {
                line: *line,
                error: format!("language {lang:?}: use zh-CN or en"),
            }),
        }
    }
    Ok((good, bad))
}
