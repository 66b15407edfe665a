//! The import CSVs (`csvfmt` documents the columns and reads them, for
//! the kiosk and the server alike) turned into protocol records for the
//! server. A bad row is reported with its line and skipped; PINs are
//! hashed (argon2id) before they are stored. Imports `csvfmt`, `domain`,
//! `protocol`, `privacy`.

use crate::csvfmt::{read_items, read_patrons, CsvError, RowError};
use crate::domain::ItemStatus;
use crate::protocol::{ItemRecord, PatronRecord};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

impl From<CsvError> for ImportError {
    fn from(e: CsvError) -> ImportError {
        ImportError::File {
            file: e.file,
            message: e.message,
        }
    }
}

/// In an imported `PatronRecord`, "leave the stored balance alone".
pub const KEEP_FINES: i64 = i64::MIN;

pub fn patrons(path: &Path) -> Result<(Vec<PatronRecord>, Vec<RowError>), ImportError> {
    let (rows, bad) = read_patrons(path)?;
    let mut good: Vec<PatronRecord> = rows
        .into_iter()
        .map(|p| PatronRecord {
            barcode: p.barcode,
            name: p.name,
            category: p.category,
            expires: p.expires,
            // Hashed below, on every core (argon2 is slow on purpose).
            pin_hash: p.pin,
            email: p.email,
            blocked: p.blocked.filter(|b| !b.is_empty()),
            // No `fines` column: keep what the server has.
            fines_owed_cents: p.fines.unwrap_or(KEEP_FINES),
            // Stored apart (`patron_languages`), from the same file.
            language: None,
        })
        .collect();
    hash_pins(&mut good);
    Ok((good, bad))
}

fn hash_pins(rows: &mut [PatronRecord]) {
    let hash = |p: &mut PatronRecord| {
        if let Some(pin) = p.pin_hash.take() {
            p.pin_hash = Some(if pin.starts_with("$argon2") {
                pin
            } else {
                crate::privacy::hash_pin(&pin)
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
    let (rows, bad) = read_items(path)?;
    let good = rows
        .into_iter()
        .map(|i| ItemRecord {
            barcode: i.barcode,
            rfid_uid: i.rfid_uid,
            title: i.title,
            author: i.author,
            isbn: i.isbn,
            item_type: i.item_type,
            parts: i.parts,
            status: i.status.unwrap_or(ItemStatus::Available).as_str().into(),
            location: Some(i.location).filter(|l| !l.is_empty()),
        })
        .collect();
    Ok((good, bad))
}

/// (card number, `zh-CN` | `en`).
pub type PatronLanguage = (String, String);

/// The optional `language` column of a patrons CSV: (barcode, `zh-CN` |
/// `en`) for the good rows that name one. A value that is neither makes
/// its row an error, reported by `patrons` (not again here).
pub fn patron_languages(path: &Path) -> Result<(Vec<PatronLanguage>, Vec<RowError>), ImportError> {
    let (rows, _) = read_patrons(path)?;
    let good = rows
        .into_iter()
        .filter_map(|p| Some((p.barcode, p.language?)))
        .collect();
    Ok((good, vec![]))
}
