//! The CSV formats a library brings its readers and items in: one reading
//! of each file, used by the kiosk's import (`store::import`) and by
//! kiosk-central's (`central::import`), so a row means the same on both
//! sides. A header row names the columns.
//!
//! Patrons: `barcode,name,category,expires,pin` required; `email`,
//! `blocked` (reason text), `fines` (money, e.g. 12.50), `language`
//! (`zh-CN` or `en`, the reader's preferred language) optional.
//! Items: `barcode,title,author,isbn,item_type,rfid_uid,parts` required;
//! `location`, `status` optional. Other columns are ignored (ILS exports
//! carry many). A bad row is reported with its line number and skipped;
//! good rows are kept.
//!
//! A leaf beside `domain`: it reads files and knows the domain's barcode
//! and status rules, nothing of the store or the server.

use crate::domain::barcode::normalize;
use crate::domain::ItemStatus;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub error: String,
}

struct Table {
    header: HashMap<String, usize>,
    rows: Vec<(u64, csv::StringRecord)>,
    /// Rows that are not one row of the header's shape: a field count
    /// other than the header's, or a field running over a line break (a
    /// quote left open swallows the rows after it).
    bad: Vec<RowError>,
}

/// A CSV file that cannot be read at all (not a row of it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct CsvError {
    pub file: String,
    pub message: String,
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
    let width = header.len();
    let (mut rows, mut bad) = (vec![], vec![]);
    for rec in rdr.records() {
        let r = rec.map_err(|e| err(e.to_string()))?;
        let line = r.position().map(|p| p.line()).unwrap_or(0);
        let breaks: u64 = r.iter().map(|f| f.matches('\n').count() as u64).sum();
        if breaks > 0 {
            bad.push(RowError {
                line,
                error: format!(
                    "a quote (\") opened on this line is not closed where the field ends: \
                     lines {line} to {} were read as one row and skipped",
                    line + breaks
                ),
            });
        } else if r.len() != width {
            bad.push(RowError {
                line,
                error: format!(
                    "this row has {} field(s) but the header has {width}: \
                     a missing or extra comma (or quote)",
                    r.len()
                ),
            });
        } else {
            rows.push((line, r));
        }
    }
    Ok(Table { header, rows, bad })
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

/// Columns a patron CSV must have (more are allowed), here and in
/// kiosk-central's import.
pub const PATRON_COLUMNS: &[&str] = &["barcode", "name", "category", "expires", "pin"];

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
    let mut t = read(path, PATRON_COLUMNS)?;
    let (mut good, mut bad) = (vec![], std::mem::take(&mut t.bad));
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
        if expires.is_empty() {
            bad.push(fail(
                "expires is empty: give the card's last valid day (YYYY-MM-DD)".into(),
            ));
            continue;
        }
        if NaiveDate::parse_from_str(expires, "%Y-%m-%d").is_err() {
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
    bad.sort_by_key(|e| e.line);
    Ok((good, bad))
}

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
    let mut t = read(path, ITEM_COLUMNS)?;
    let (mut good, mut bad) = (vec![], std::mem::take(&mut t.bad));
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
    bad.sort_by_key(|e| e.line);
    Ok((good, bad))
}

/// A cell as a spreadsheet should show it: text that would start a formula
/// (`=`, `+`, `-`, `@`, a tab or a carriage return — `=HYPERLINK(…)` in a
/// reader's comment, say) gets a leading `'` so that Excel, LibreOffice
/// and WPS show it as text instead of running it. Numbers, negative ones
/// included, are left as they are.
pub fn cell(text: &str) -> std::borrow::Cow<'_, str> {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && text.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A CSV writer for exports people open in a spreadsheet: every cell goes
/// through [`cell`]. Every CSV export of the kiosk and kiosk-central uses it.
pub struct SafeWriter<W: std::io::Write>(csv::Writer<W>);

impl<W: std::io::Write> SafeWriter<W> {
    pub fn from_writer(w: W) -> SafeWriter<W> {
        SafeWriter(csv::Writer::from_writer(w))
    }

    pub fn write_record<I, T>(&mut self, record: I) -> csv::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        self.0
            .write_record(record.into_iter().map(|f| cell(f.as_ref()).into_owned()))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }

    pub fn into_inner(self) -> Result<W, String> {
        self.0.into_inner().map_err(|e| e.to_string())
    }
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

    fn patrons_of(text: &str) -> (Vec<PatronRow>, Vec<RowError>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("patrons.csv");
        std::fs::write(&p, text).unwrap();
        read_patrons(&p).unwrap()
    }

    const HEAD: &str = "barcode,name,category,expires,pin\n";

    #[test]
    fn a_quote_left_open_swallows_no_reader_silently() {
        let (good, bad) = patrons_of(&format!(
            "{HEAD}P1,Ann,adult,2030-01-01,\nP2,\"Zhang, Wei,adult,2030-01-01,\nP3,Li,adult,2030-01-01,\nP4,Wu,adult,2030-01-01,\n"
        ));
        // P1 is good; P2's open quote runs to the end of the file: one
        // bad row naming where it starts and how far it ran, never a
        // reader called "Zhang, Wei,adult,…P3,Li…".
        assert_eq!(good.len(), 1, "{good:?}");
        assert_eq!(good[0].barcode, "P1");
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].line, 3);
        assert!(bad[0].error.contains("lines 3 to 5"), "{}", bad[0].error);
    }

    #[test]
    fn a_row_shorter_or_longer_than_the_header_is_reported_by_line() {
        let (good, bad) = patrons_of(&format!(
            "{HEAD}P1,Ann\nP2,Bob,adult,2030-01-01,,extra\nP3,Cy,adult,2030-01-01,\n"
        ));
        assert_eq!(
            good.iter().map(|p| p.barcode.as_str()).collect::<Vec<_>>(),
            ["P3"]
        );
        assert_eq!(bad.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 3]);
        assert!(bad[0].error.contains("2 field(s) but the header has 5"));
    }

    #[test]
    fn a_card_needs_its_last_valid_day() {
        let (good, bad) = patrons_of(&format!("{HEAD}P1,Ann,adult,,\n"));
        assert!(good.is_empty());
        assert_eq!(bad.len(), 1);
        assert!(
            bad[0].error.contains("expires is empty"),
            "{}",
            bad[0].error
        );
    }

    #[test]
    fn an_items_row_of_the_wrong_width_is_skipped_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("items.csv");
        std::fs::write(
            &p,
            "barcode,title,author,isbn,item_type,rfid_uid,parts\nB1,Dune,Herbert,,book,,1\nB2,\"Open,Author,,book,,1\nB3,Ok,A,,book,,1\n",
        )
        .unwrap();
        let (good, bad) = read_items(&p).unwrap();
        assert_eq!(
            good.iter().map(|i| i.barcode.as_str()).collect::<Vec<_>>(),
            ["B1"]
        );
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 3);
    }

    #[test]
    fn formulas_become_text_and_numbers_stay_numbers() {
        assert_eq!(
            cell("=HYPERLINK(\"http://x\",\"click\")"),
            "'=HYPERLINK(\"http://x\",\"click\")"
        );
        assert_eq!(cell("+1+1"), "'+1+1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("\t=1"), "'\t=1");
        assert_eq!(cell("-12.50"), "-12.50");
        assert_eq!(cell("三体"), "三体");
        assert_eq!(cell(""), "");
        let mut w = SafeWriter::from_writer(vec![]);
        w.write_record(["=1+2", "ok", "-3"]).unwrap();
        let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert_eq!(text, "'=1+2,ok,-3\n");
    }
}
