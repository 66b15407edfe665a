//! CSV exports for staff: the transaction journal, loans, and circulation
//! statistics for a range of local dates (inclusive), each with a header row.
//!
//! Read-only: an export never changes the database. The loans and
//! statistics exports must never name a reader (no barcode, no name): staff
//! statistics need counts, not who borrowed what. Dates are compared on the
//! date part of the stored RFC 3339 text, which carries the kiosk's local
//! offset, so a day is the library's day, not UTC's.

use super::{Result, Store, StoreError};
use chrono::NaiveDate;
use rusqlite::{params, Connection};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// One row per journal entry.
    Transactions,
    /// One row per loan that went out in the range, without the reader.
    Loans,
    /// Long-format `metric,key,value` table.
    Stats,
}

/// A day-by-day table longer than a century is a typo in a date, not a
/// report anyone wants: refuse it rather than write millions of zero rows.
const MAX_STATS_DAYS: i64 = 36_600;

/// How many titles `top_titles` lists.
const TOP_TITLES: i64 = 20;

/// The range as text bounds for the stored instants: `lo <= at < hi`
/// is "the date part of `at` is in from..=to", and lets SQLite use an index.
struct Range {
    from: NaiveDate,
    to: NaiveDate,
    lo: String,
    hi: String,
}

impl Range {
    fn new(from: NaiveDate, to: NaiveDate) -> Range {
        Range {
            from,
            to,
            lo: from.format("%Y-%m-%d").to_string(),
            // '~' sorts after every digit: no upper bound past the last date.
            hi: to
                .succ_opt()
                .map_or_else(|| "~".to_string(), |d| d.format("%Y-%m-%d").to_string()),
        }
    }
}

fn csv_error(e: csv::Error) -> StoreError {
    StoreError::Input(format!("writing the CSV export failed: {e}"))
}

fn io_error(e: std::io::Error) -> StoreError {
    StoreError::Input(format!("writing the CSV export failed: {e}"))
}

/// Opens the file an export goes into: always a new file (`create_new`,
/// so never an existing file and never through a symbolic link, dangling
/// or not), never the kiosk's database `db` or its `-wal`, `-shm` or
/// `-journal` (even when they do not exist at the moment), readable by its
/// owner only (exports name readers).
pub fn create_file(path: &Path, db: &Path) -> Result<std::fs::File> {
    let refuse = |why: String| StoreError::Input(format!("{}: {why}", path.display()));
    let place = |p: &Path| -> Option<PathBuf> {
        let name = p.file_name()?;
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Some(std::fs::canonicalize(dir).ok()?.join(name))
    };
    if let (Some(target), Some(db)) = (place(path), place(db)) {
        let db = db.to_string_lossy().into_owned();
        let own = [
            db.clone(),
            format!("{db}-wal"),
            format!("{db}-shm"),
            format!("{db}-journal"),
        ];
        if own.iter().any(|o| Path::new(o) == target) {
            return Err(refuse(
                "that is the kiosk's own database (or one of its files); choose another name"
                    .into(),
            ));
        }
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    open.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => refuse(
            "a file (or link) of that name exists already; an export never replaces one".into(),
        ),
        _ => refuse(format!("cannot be created: {e}")),
    })
}

/// Writes CSV with a header row for the dates from..=to (local dates,
/// compared on the date part of the stored RFC 3339 text).
pub fn export(
    store: &Store,
    what: What,
    from: NaiveDate,
    to: NaiveDate,
    w: &mut dyn Write,
) -> Result<()> {
    export_from(store.conn(), what, from, to, w)
}

impl super::figures::Reader {
    /// An export into the new file `path` ([`create_file`]: never an
    /// existing file, a link or the database's own files; 0600), on a
    /// read-only connection of its own (call it on a blocking thread). A
    /// file that could not be written to the end is removed again, so no
    /// half export is left looking whole.
    pub(crate) fn export_to_new_file(
        &self,
        path: &Path,
        what: What,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<()> {
        let file = create_file(path, &self.path())?;
        let written = (|| {
            let conn = self.open()?;
            let mut w = std::io::BufWriter::new(file);
            export_from(&conn, what, from, to, &mut w)?;
            let file = w.into_inner().map_err(|e| io_error(e.into_error()))?;
            file.sync_all().map_err(io_error)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(path);
        }
        written
    }
}

fn export_from(
    conn: &Connection,
    what: What,
    from: NaiveDate,
    to: NaiveDate,
    w: &mut dyn Write,
) -> Result<()> {
    if to < from {
        return Err(StoreError::Input(format!(
            "the export range ends on {to}, before it starts on {from}"
        )));
    }
    let range = Range::new(from, to);
    let mut out = crate::csvfmt::SafeWriter::from_writer(w);
    match what {
        What::Transactions => transactions(conn, &range, &mut out)?,
        What::Loans => loans(conn, &range, &mut out)?,
        What::Stats => stats(conn, &range, &mut out)?,
    }
    out.flush().map_err(io_error)
}

type Out<'a> = crate::csvfmt::SafeWriter<&'a mut dyn Write>;

fn transactions(conn: &Connection, range: &Range, out: &mut Out) -> Result<()> {
    out.write_record([
        "id",
        "kiosk_id",
        "seq",
        "at",
        "kind",
        "patron",
        "item",
        "decision",
        "reason",
        "due",
        "offline",
        "sync_status",
        "sync_reason",
    ])
    .map_err(csv_error)?;
    let mut st = conn.prepare(
        "SELECT id, kiosk_id, seq, at, kind, COALESCE(patron, ''), COALESCE(item, ''), decision,
                COALESCE(reason, ''), COALESCE(due, ''), offline, sync_status, COALESCE(sync_reason, '')
         FROM journal WHERE at >= ?1 AND at < ?2 ORDER BY rowid_",
    )?;
    let mut rows = st.query(params![range.lo, range.hi])?;
    while let Some(r) = rows.next()? {
        let text = |i: usize| r.get::<_, String>(i);
        out.write_record([
            text(0)?,
            text(1)?,
            r.get::<_, i64>(2)?.to_string(),
            text(3)?,
            text(4)?,
            text(5)?,
            text(6)?,
            text(7)?,
            text(8)?,
            text(9)?,
            r.get::<_, i64>(10)?.to_string(),
            text(11)?,
            text(12)?,
        ])
        .map_err(csv_error)?;
    }
    Ok(())
}

/// The local date at the start of a stored date or instant.
fn day_of(text: &str, what: &str) -> Result<NaiveDate> {
    text.get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| StoreError::Corrupt(format!("{what} {text:?} is not a date")))
}

fn loans(conn: &Connection, range: &Range, out: &mut Out) -> Result<()> {
    out.write_record([
        "item",
        "title",
        "item_type",
        "patron_category",
        "checked_out",
        "due",
        "returned",
        "renewals",
        "overdue_days",
    ])
    .map_err(csv_error)?;
    // Deliberately no patron barcode or name in this query.
    let mut st = conn.prepare(
        "SELECT i.barcode, i.title, i.item_type, p.category, l.checked_out, l.due, l.returned, l.renewals
         FROM loans l JOIN items i ON i.id = l.item_id JOIN patrons p ON p.id = l.patron_id
         WHERE l.checked_out >= ?1 AND l.checked_out < ?2
         ORDER BY l.checked_out, l.id",
    )?;
    let mut rows = st.query(params![range.lo, range.hi])?;
    while let Some(r) = rows.next()? {
        let due: String = r.get(5)?;
        let returned: Option<String> = r.get(6)?;
        // Calendar days late: returned loans up to their return, current
        // ones up to the end of the range (what staff see "as of" then).
        let until = match &returned {
            Some(t) => day_of(t, "loan return")?,
            None => range.to,
        };
        let overdue = (until - day_of(&due, "loan due date")?).num_days().max(0);
        out.write_record([
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            due,
            returned.unwrap_or_default(),
            r.get::<_, i64>(7)?.to_string(),
            overdue.to_string(),
        ])
        .map_err(csv_error)?;
    }
    Ok(())
}

/// `(key, count)` rows of a grouping query over the range.
fn counts(conn: &Connection, sql: &str, range: &Range) -> Result<Vec<(String, i64)>> {
    let mut st = conn.prepare(sql)?;
    let rows = st
        .query_map(params![range.lo, range.hi], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn write_rows(out: &mut Out, metric: &str, rows: &[(String, i64)]) -> Result<()> {
    for (key, value) in rows {
        out.write_record([metric, key, &value.to_string()])
            .map_err(csv_error)?;
    }
    Ok(())
}

/// Every day of the range, zeros included, so a chart has no gaps.
fn per_day(out: &mut Out, metric: &str, rows: Vec<(String, i64)>, range: &Range) -> Result<()> {
    let by_day: HashMap<String, i64> = rows.into_iter().collect();
    for day in range.from.iter_days().take_while(|d| *d <= range.to) {
        let key = day.format("%Y-%m-%d").to_string();
        let n = by_day.get(&key).copied().unwrap_or(0);
        out.write_record([metric, &key, &n.to_string()])
            .map_err(csv_error)?;
    }
    Ok(())
}

/// Every hour 00..23, zeros included.
fn per_hour(out: &mut Out, metric: &str, rows: Vec<(String, i64)>) -> Result<()> {
    let by_hour: HashMap<String, i64> = rows.into_iter().collect();
    for hour in 0..24 {
        let key = format!("{hour:02}");
        let n = by_hour.get(&key).copied().unwrap_or(0);
        out.write_record([metric, &key, &n.to_string()])
            .map_err(csv_error)?;
    }
    Ok(())
}

fn stats(conn: &Connection, range: &Range, out: &mut Out) -> Result<()> {
    let days = (range.to - range.from).num_days() + 1;
    if days > MAX_STATS_DAYS {
        return Err(StoreError::Input(format!(
            "statistics cover at most {MAX_STATS_DAYS} days; {} to {} is {days}",
            range.from, range.to
        )));
    }
    out.write_record(["metric", "key", "value"])
        .map_err(csv_error)?;
    const OUT: &str = "FROM loans l WHERE l.checked_out >= ?1 AND l.checked_out < ?2";
    const BACK: &str = "FROM loans l WHERE l.returned >= ?1 AND l.returned < ?2";
    let grouped = |key: &str, from: &str| {
        counts(
            conn,
            &format!("SELECT {key}, count(*) {from} GROUP BY 1"),
            range,
        )
    };
    per_day(
        out,
        "loans_per_day",
        grouped("substr(l.checked_out, 1, 10)", OUT)?,
        range,
    )?;
    per_day(
        out,
        "returns_per_day",
        grouped("substr(l.returned, 1, 10)", BACK)?,
        range,
    )?;
    per_hour(
        out,
        "loans_per_hour",
        grouped("substr(l.checked_out, 12, 2)", OUT)?,
    )?;
    per_hour(
        out,
        "returns_per_hour",
        grouped("substr(l.returned, 12, 2)", BACK)?,
    )?;
    // Most frequent first; ties by key so the file is stable.
    let ranked = |key: &str, join: &str, limit: &str| {
        counts(
            conn,
            &format!(
                "SELECT {key}, count(*) FROM loans l {join}
                 WHERE l.checked_out >= ?1 AND l.checked_out < ?2
                 GROUP BY 1 ORDER BY 2 DESC, 1 {limit}"
            ),
            range,
        )
    };
    let by_type = ranked("i.item_type", "JOIN items i ON i.id = l.item_id", "")?;
    write_rows(out, "loans_by_item_type", &by_type)?;
    let by_category = ranked("p.category", "JOIN patrons p ON p.id = l.patron_id", "")?;
    write_rows(out, "loans_by_category", &by_category)?;
    let titles = ranked(
        "i.title",
        "JOIN items i ON i.id = l.item_id",
        &format!("LIMIT {TOP_TITLES}"),
    )?;
    write_rows(out, "top_titles", &titles)?;
    let readers = counts(
        conn,
        &format!("SELECT 'count', count(DISTINCT l.patron_id) {OUT}"),
        range,
    )?;
    write_rows(out, "active_readers", &readers)?;
    let refusals = counts(
        conn,
        "SELECT COALESCE(reason, ''), count(*) FROM journal
         WHERE decision = 'refused' AND at >= ?1 AND at < ?2
         GROUP BY 1 ORDER BY 2 DESC, 1",
        range,
    )?;
    write_rows(out, "refusals_by_reason", &refusals)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, FixedOffset};

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const ADA: &str = "20001000000012";
    const BEN: &str = "20001000000020";
    const CAT: &str = "20001000000038";

    /// Two readers, one blocked reader, four items; loans and returns at
    /// fixed times in Beijing from 1 to 21 November 2026.
    fn library() -> Store {
        let mut store = Store::open_in_memory("k1").unwrap();
        let c = store.conn();
        for (b, name, category, blocked) in [
            (ADA, "张伟", "adult", None),
            (BEN, "Emma Smith", "child", None),
            (CAT, "李娜", "adult", Some("lost card")),
        ] {
            c.execute(
                "INSERT INTO patrons (barcode, name, category, expires, blocked_reason, updated_at)
                 VALUES (?1, ?2, ?3, '2030-01-01', ?4, 'x')",
                params![b, name, category, blocked],
            )
            .unwrap();
        }
        for (b, title, isbn, ty) in [
            ("I1", "Alpha", Some("9780000000002"), "book"),
            ("I2", "Beta", None, "book"),
            ("I3", "Gamma", None, "dvd"),
            ("I4", "Alpha", Some("9780000000002"), "book"),
        ] {
            c.execute(
                "INSERT INTO items (barcode, title, author, isbn, item_type, updated_at)
                 VALUES (?1, ?2, 'A', ?3, ?4, 'x')",
                params![b, title, isbn, ty],
            )
            .unwrap();
        }
        let out = |s: &mut Store, p: &str, i: &str, t: &str| {
            s.checkout(p, i, None, at(t)).unwrap().result.is_ok()
        };
        let back =
            |s: &mut Store, i: &str, t: &str| s.checkin(i, None, at(t)).unwrap().result.is_ok();
        assert!(out(&mut store, ADA, "I4", "2026-11-01T23:30:00+08:00")); // seq 1, before the range
        assert!(out(&mut store, ADA, "I1", "2026-11-02T09:15:00+08:00")); // 2, first day
        assert!(out(&mut store, BEN, "I2", "2026-11-02T14:30:00+08:00")); // 3
        assert!(!out(&mut store, CAT, "I3", "2026-11-03T10:05:00+08:00")); // 4, blocked
        assert!(!out(&mut store, ADA, "NOPE", "2026-11-03T10:06:00+08:00")); // 5, unknown
        assert!(back(&mut store, "I1", "2026-11-05T16:45:00+08:00")); // 6
        assert!(out(&mut store, BEN, "I1", "2026-11-05T17:00:00+08:00")); // 7
        assert!(back(&mut store, "I2", "2026-11-20T11:00:00+08:00")); // 8, 4 days late
        assert!(out(&mut store, ADA, "I3", "2026-11-20T20:00:00+08:00")); // 9, last day
        assert!(back(&mut store, "I4", "2026-11-21T00:10:00+08:00")); // 10, after the range
        assert!(!out(&mut store, CAT, "I2", "2026-11-21T09:00:00+08:00")); // 11, after
        store
    }

    fn export_rows(store: &Store, what: What, from: &str, to: &str) -> (String, Vec<Vec<String>>) {
        let mut buf = Vec::new();
        export(store, what, day(from), day(to), &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        (text, rows)
    }

    fn row(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn transactions_are_the_journal_entries_of_the_days_asked_for() {
        let store = library();
        let (_, rows) = export_rows(&store, What::Transactions, "2026-11-02", "2026-11-20");
        assert_eq!(
            rows[0],
            row(&[
                "id",
                "kiosk_id",
                "seq",
                "at",
                "kind",
                "patron",
                "item",
                "decision",
                "reason",
                "due",
                "offline",
                "sync_status",
                "sync_reason"
            ])
        );
        let seqs: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
        assert_eq!(seqs, ["2", "3", "4", "5", "6", "7", "8", "9"]);
        let r = &rows[1];
        assert_eq!(r[0].len(), 36, "a UUID");
        assert_eq!(
            &r[1..],
            &row(&[
                "k1",
                "2",
                "2026-11-02T09:15:00.000+08:00",
                "checkout",
                ADA,
                "I1",
                "accepted",
                "",
                "2026-11-16",
                "0",
                "pending",
                ""
            ])[..]
        );
        assert_eq!(
            &rows[3][4..10],
            &row(&["checkout", CAT, "I3", "refused", "patron_blocked", ""])[..]
        );
        assert_eq!(
            &rows[4][4..9],
            &row(&["checkout", ADA, "NOPE", "refused", "unknown_item"])[..]
        );
        assert_eq!(
            &rows[5][4..8],
            &row(&["checkin", ADA, "I1", "accepted"])[..]
        );
        assert_eq!(rows[8][3], "2026-11-20T20:00:00.000+08:00");
        // One day: just that day's entries.
        let (_, rows) = export_rows(&store, What::Transactions, "2026-11-21", "2026-11-21");
        let seqs: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
        assert_eq!(seqs, ["10", "11"]);
        let (text, rows) = export_rows(&store, What::Transactions, "2026-10-01", "2026-10-31");
        assert_eq!(rows.len(), 1);
        assert!(text.starts_with("id,kiosk_id,seq,at,kind"));
    }

    #[test]
    fn loans_have_no_reader_and_count_overdue_days() {
        let store = library();
        let (text, rows) = export_rows(&store, What::Loans, "2026-11-02", "2026-11-20");
        assert_eq!(
            rows,
            vec![
                row(&[
                    "item",
                    "title",
                    "item_type",
                    "patron_category",
                    "checked_out",
                    "due",
                    "returned",
                    "renewals",
                    "overdue_days"
                ]),
                row(&[
                    "I1",
                    "Alpha",
                    "book",
                    "adult",
                    "2026-11-02T09:15:00.000+08:00",
                    "2026-11-16",
                    "2026-11-05T16:45:00.000+08:00",
                    "0",
                    "0"
                ]),
                row(&[
                    "I2",
                    "Beta",
                    "book",
                    "child",
                    "2026-11-02T14:30:00.000+08:00",
                    "2026-11-16",
                    "2026-11-20T11:00:00.000+08:00",
                    "0",
                    "4"
                ]),
                row(&[
                    "I1",
                    "Alpha",
                    "book",
                    "child",
                    "2026-11-05T17:00:00.000+08:00",
                    "2026-11-19",
                    "",
                    "0",
                    "1"
                ]),
                row(&[
                    "I3",
                    "Gamma",
                    "dvd",
                    "adult",
                    "2026-11-20T20:00:00.000+08:00",
                    "2026-12-04",
                    "",
                    "0",
                    "0"
                ]),
            ]
        );
        for who in [ADA, BEN, CAT, "张伟", "Emma Smith", "李娜"] {
            assert!(!text.contains(who), "{who} in {text}");
        }
        // Current loans are late as of the end of the range.
        let (_, rows) = export_rows(&store, What::Loans, "2026-11-05", "2026-11-25");
        assert_eq!(rows[1][0], "I1");
        assert_eq!(rows[1][8], "6");
        assert_eq!(rows.len(), 3, "{rows:?}");
    }

    #[test]
    fn stats_count_every_day_and_hour_of_the_range() {
        let store = library();
        let (_, rows) = export_rows(&store, What::Stats, "2026-11-02", "2026-11-20");
        assert_eq!(rows[0], row(&["metric", "key", "value"]));
        let metric = |m: &str| -> Vec<(String, String)> {
            rows.iter()
                .filter(|r| r[0] == m)
                .map(|r| (r[1].clone(), r[2].clone()))
                .collect()
        };
        let nonzero = |m: &str| -> Vec<(String, String)> {
            metric(m).into_iter().filter(|(_, v)| v != "0").collect()
        };
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let loans_per_day = metric("loans_per_day");
        assert_eq!(loans_per_day.len(), 19);
        assert_eq!(loans_per_day[0], ("2026-11-02".into(), "2".into()));
        assert_eq!(loans_per_day[1], ("2026-11-03".into(), "0".into()));
        assert_eq!(loans_per_day[18], ("2026-11-20".into(), "1".into()));
        assert_eq!(
            nonzero("loans_per_day"),
            pairs(&[
                ("2026-11-02", "2"),
                ("2026-11-05", "1"),
                ("2026-11-20", "1")
            ])
        );
        assert_eq!(metric("returns_per_day").len(), 19);
        assert_eq!(
            nonzero("returns_per_day"),
            pairs(&[("2026-11-05", "1"), ("2026-11-20", "1")])
        );
        let hours = metric("loans_per_hour");
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[0].0, "00");
        assert_eq!(hours[23].0, "23");
        assert_eq!(
            nonzero("loans_per_hour"),
            pairs(&[("09", "1"), ("14", "1"), ("17", "1"), ("20", "1")])
        );
        assert_eq!(
            nonzero("returns_per_hour"),
            pairs(&[("11", "1"), ("16", "1")])
        );
        assert_eq!(
            metric("loans_by_item_type"),
            pairs(&[("book", "3"), ("dvd", "1")])
        );
        assert_eq!(
            metric("loans_by_category"),
            pairs(&[("adult", "2"), ("child", "2")])
        );
        assert_eq!(
            metric("top_titles"),
            pairs(&[("Alpha", "2"), ("Beta", "1"), ("Gamma", "1")])
        );
        assert_eq!(metric("active_readers"), pairs(&[("count", "2")]));
        assert_eq!(
            metric("refusals_by_reason"),
            pairs(&[("patron_blocked", "1"), ("unknown_item", "1")])
        );
        assert_eq!(rows.len(), 1 + 19 + 19 + 24 + 24 + 2 + 2 + 3 + 1 + 2);

        // The day after: the late return and the refused checkout only.
        let (_, rows) = export_rows(&store, What::Stats, "2026-11-21", "2026-11-21");
        let find = |m: &str, k: &str| {
            rows.iter()
                .find(|r| r[0] == m && r[1] == k)
                .map(|r| r[2].clone())
        };
        assert_eq!(find("loans_per_day", "2026-11-21").as_deref(), Some("0"));
        assert_eq!(find("returns_per_day", "2026-11-21").as_deref(), Some("1"));
        assert_eq!(find("returns_per_hour", "00").as_deref(), Some("1"));
        assert_eq!(find("active_readers", "count").as_deref(), Some("0"));
        assert_eq!(
            find("refusals_by_reason", "patron_blocked").as_deref(),
            Some("1")
        );
        assert_eq!(find("top_titles", "Alpha"), None);
    }

    #[test]
    fn a_backwards_or_huge_range_is_refused() {
        let store = library();
        let mut buf = Vec::new();
        let e = export(
            &store,
            What::Loans,
            day("2026-11-23"),
            day("2026-11-01"),
            &mut buf,
        );
        assert!(matches!(e, Err(StoreError::Input(_))));
        let e = export(
            &store,
            What::Stats,
            day("1900-01-01"),
            day("2026-11-01"),
            &mut buf,
        );
        assert!(matches!(e, Err(StoreError::Input(_))));
        assert!(buf.is_empty());
    }

    #[test]
    fn demo_data_exports_cleanly() {
        let mut store = Store::open_in_memory("k1").unwrap();
        let now = at("2026-11-22T10:00:00+08:00");
        crate::store::demo::generate(&mut store, 60, 500, 3, now).unwrap();
        let (_, rows) = export_rows(&store, What::Loans, "2026-01-01", "2026-11-22");
        assert!(rows.len() > 20);
        let (_, rows) = export_rows(&store, What::Stats, "2026-08-24", "2026-11-22");
        let total: i64 = rows
            .iter()
            .filter(|r| r[0] == "returns_per_day")
            .map(|r| r[2].parse::<i64>().unwrap())
            .sum();
        let returned: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM loans WHERE returned IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(total, returned);
    }

    #[test]
    fn a_title_that_reads_as_a_formula_is_exported_as_text() {
        let store = library();
        store
            .conn()
            .execute(
                "UPDATE items SET title = '=HYPERLINK(\"http://evil.example\",\"Alpha\")' WHERE title = 'Alpha'",
                [],
            )
            .unwrap();
        for what in [What::Loans, What::Stats] {
            let (text, rows) = export_rows(&store, what, "2026-11-01", "2026-11-21");
            assert!(text.contains("'=HYPERLINK"), "{what:?}: {text}");
            assert!(
                rows.iter().flatten().all(|c| !c.starts_with('=')),
                "{what:?}: a cell starts a formula"
            );
        }
    }
}
