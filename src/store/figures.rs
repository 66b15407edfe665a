//! Read-only figures for the touch screen's staff menu (today's loans and
//! returns per hour and per item type, the outbox, the open conflicts),
//! the item of a journal entry, and `Reader`: a read-only view of the
//! kiosk database that a blocking thread opens on its own connection, so
//! a count over a large journal or the loan history never holds up a
//! scan. Nothing here writes. May import `domain` types only.

use super::{history, AlsoBorrowed, JournalEntry, Location, Result, Store};
use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::time::Duration;

impl Store {
    /// Everything the staff menu shows from the database, on this
    /// connection (`Reader::figures` reads the same on one of its own).
    pub fn figures(&self, day: NaiveDate, conflicts: usize) -> Result<DbFigures> {
        Ok(read(&self.conn, day, conflicts)?)
    }

    /// The item of a journal entry (a decision names its entry, not
    /// always its item).
    pub(crate) fn entry_item(&self, entry_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT item FROM journal WHERE id = ?1", [entry_id], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()?
            .flatten())
    }

    /// A read-only view of this database for another thread.
    pub(crate) fn reader(&self) -> Reader {
        Reader {
            location: self.location.clone(),
        }
    }
}

/// A read-only view of a kiosk database: each call opens a read-only
/// connection of its own (call it on a blocking thread).
#[derive(Debug, Clone)]
pub(crate) struct Reader {
    location: Location,
}

impl Reader {
    /// The database's file (its in-memory name for a test's database).
    pub(super) fn path(&self) -> std::path::PathBuf {
        match &self.location {
            Location::File(p) => p.clone(),
            Location::Memory(name) => name.into(),
        }
    }

    pub(super) fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = match &self.location {
            Location::File(path) => Connection::open_with_flags(path, flags)?,
            Location::Memory(uri) => Connection::open_with_flags(uri, flags)?,
        };
        conn.busy_timeout(Duration::from_secs(2))?;
        Ok(conn)
    }

    /// `Store::figures`, read in one transaction on a connection of its own.
    pub(crate) fn figures(&self, day: NaiveDate, conflicts: usize) -> Result<DbFigures> {
        Ok(read(&self.open()?, day, conflicts)?)
    }

    /// `Store::also_borrowed` on a connection of its own.
    pub(crate) fn also_borrowed(
        &self,
        patron: &str,
        items: &[String],
        limit: u32,
    ) -> Result<Vec<AlsoBorrowed>> {
        history::also_borrowed(&self.open()?, patron, items, limit)
    }
}

/// Accepted loans and returns of one item type on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeCount {
    /// The library's own code (`items.item_type`); "" for items no longer
    /// in the catalogue.
    pub item_type: String,
    pub loans: u32,
    pub returns: u32,
}

/// What the staff menu reads from the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbFigures {
    pub outbox: i64,
    pub journal: i64,
    pub current_loans: i64,
    /// When the last sync succeeded (RFC 3339), None if never.
    pub last_sync: Option<String>,
    /// Accepted (loans, returns) per local hour of the day, 24 entries.
    pub hourly: Vec<(u32, u32)>,
    /// Per item type, busiest first.
    pub by_type: Vec<TypeCount>,
    /// The last open conflicts, newest first.
    pub conflicts: Vec<JournalEntry>,
}

/// The journal's `at` is RFC 3339 text with the kiosk's local offset, so
/// a day is a text range on it (the `journal_at` index serves it) and its
/// hour digits are the library's local hour.
fn day_range(day: NaiveDate) -> (String, String) {
    let next = day.succ_opt().unwrap_or(day);
    (
        day.format("%Y-%m-%d").to_string(),
        next.format("%Y-%m-%d").to_string(),
    )
}

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Accepted (loans, returns) per local hour of `day`, 24 entries.
fn hourly(conn: &Connection, day: NaiveDate) -> rusqlite::Result<Vec<(u32, u32)>> {
    let mut out = vec![(0u32, 0u32); 24];
    let mut st = conn.prepare_cached(
        "SELECT CAST(substr(at, 12, 2) AS INTEGER), kind, count(*) FROM journal
         WHERE at >= ?1 AND at < ?2 AND decision = 'accepted'
           AND kind IN ('checkout', 'checkin')
         GROUP BY 1, 2",
    )?;
    let (from, to) = day_range(day);
    let rows = st.query_map([from, to], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (hour, kind, n) = row?;
        if let Some(slot) = usize::try_from(hour).ok().and_then(|h| out.get_mut(h)) {
            if kind == "checkout" {
                slot.0 = count(n);
            } else {
                slot.1 = count(n);
            }
        }
    }
    Ok(out)
}

/// Accepted loans and returns of `day` per item type, busiest first (ties
/// by name). An item gone from the catalogue counts under "".
fn by_item_type(conn: &Connection, day: NaiveDate) -> rusqlite::Result<Vec<TypeCount>> {
    let mut st = conn.prepare_cached(
        "SELECT coalesce(i.item_type, ''),
                sum(j.kind = 'checkout'), sum(j.kind = 'checkin')
         FROM journal j LEFT JOIN items i ON i.barcode = j.item
         WHERE j.at >= ?1 AND j.at < ?2 AND j.decision = 'accepted'
           AND j.kind IN ('checkout', 'checkin')
         GROUP BY 1",
    )?;
    let (from, to) = day_range(day);
    let mut out: Vec<TypeCount> = st
        .query_map([from, to], |r| {
            Ok(TypeCount {
                item_type: r.get(0)?,
                loans: count(r.get(1)?),
                returns: count(r.get(2)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    out.sort_by(|a, b| {
        (b.loans + b.returns)
            .cmp(&(a.loans + a.returns))
            .then_with(|| a.item_type.cmp(&b.item_type))
    });
    Ok(out)
}

/// Everything the staff menu shows from the database, read in one
/// transaction so the figures agree with each other.
fn read(conn: &Connection, day: NaiveDate, conflicts: usize) -> rusqlite::Result<DbFigures> {
    // A deferred transaction only reads: one snapshot, no write lock.
    conn.execute_batch("BEGIN")?;
    let result = (|| {
        let one = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
        Ok(DbFigures {
            outbox: one("SELECT count(*) FROM journal WHERE sync_status IN ('pending','sent')")?,
            journal: one("SELECT count(*) FROM journal")?,
            current_loans: one("SELECT count(*) FROM loans WHERE returned IS NULL")?,
            // Written by the sync engine after each successful exchange.
            last_sync: conn
                .query_row(
                    "SELECT value FROM sync_state WHERE key = 'sync.last_success'",
                    [],
                    |r| r.get(0),
                )
                .optional()?,
            hourly: hourly(conn, day)?,
            by_type: by_item_type(conn, day)?,
            conflicts: super::journal::open_conflicts(conn, conflicts)?,
        })
    })();
    let _ = conn.execute_batch("COMMIT");
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};

    fn at(day: u32, hour: u32) -> chrono::DateTime<FixedOffset> {
        FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, day, hour, 15, 0)
            .unwrap()
    }

    #[test]
    fn figures_count_today_by_hour_and_item_type() {
        let mut s = Store::open_in_memory("k1").unwrap();
        crate::store::demo::generate(&mut s, 20, 200, 3, at(20, 9)).unwrap();
        let (cards, items) = crate::store::demo::loanable_pairs(&s, 4).unwrap();
        let type_of = |b: &str| -> String {
            s.conn()
                .query_row("SELECT item_type FROM items WHERE barcode = ?1", [b], |r| {
                    r.get(0)
                })
                .unwrap()
        };
        let types: Vec<String> = items.iter().map(|i| type_of(i)).collect();
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let before = s.figures(day, 5).unwrap();
        // Yesterday: not today's figures.
        s.checkout(&cards[0], &items[0], None, at(21, 10)).unwrap();
        s.checkin(&items[0], None, at(21, 11)).unwrap();
        // Today: three loans at 10 h and 14 h, one return at 14 h, one
        // refusal (a second loan of the same item) that does not count.
        s.checkout(&cards[0], &items[0], None, at(22, 10)).unwrap();
        s.checkout(&cards[0], &items[1], None, at(22, 10)).unwrap();
        s.checkout(&cards[1], &items[2], None, at(22, 14)).unwrap();
        let refused = s.checkout(&cards[1], &items[0], None, at(22, 14)).unwrap();
        assert!(refused.result.is_err());
        s.checkin(&items[1], None, at(22, 14)).unwrap();
        let f = s.figures(day, 5).unwrap();
        assert_eq!(f.hourly.len(), 24);
        assert_eq!(f.hourly[10], (2, 0));
        assert_eq!(f.hourly[14], (1, 1));
        assert_eq!(f.hourly.iter().map(|h| h.0 + h.1).sum::<u32>(), 4);
        // Per type: the same four, under the items' own types.
        let mut want = std::collections::BTreeMap::<String, (u32, u32)>::new();
        for (i, (l, r)) in [(0, (1, 0)), (1, (1, 1)), (2, (1, 0))] {
            let e = want.entry(types[i].clone()).or_default();
            e.0 += l;
            e.1 += r;
        }
        let got: std::collections::BTreeMap<String, (u32, u32)> = f
            .by_type
            .iter()
            .map(|t| (t.item_type.clone(), (t.loans, t.returns)))
            .collect();
        assert_eq!(got, want);
        // Busiest first.
        assert!(f
            .by_type
            .windows(2)
            .all(|w| w[0].loans + w[0].returns >= w[1].loans + w[1].returns));
        // Two of today's loans are still out; seven entries were written
        // (yesterday's two, today's five with the refusal), none synced.
        assert_eq!(f.current_loans, before.current_loans + 2);
        assert_eq!(f.journal, before.journal + 7);
        assert_eq!(f.outbox, before.outbox + 7);
        assert_eq!(f.last_sync, None);
        assert!(f.conflicts.is_empty());
        // Another day has none of it.
        let other = s.figures(day.succ_opt().unwrap(), 5).unwrap();
        assert!(other.by_type.is_empty());
        assert!(other.hourly.iter().all(|h| *h == (0, 0)));
    }

    #[test]
    fn a_read_only_connection_reads_the_same_figures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.db");
        let mut s = Store::open(&path, "k1").unwrap();
        crate::store::demo::generate(&mut s, 10, 50, 3, at(20, 9)).unwrap();
        let (cards, items) = crate::store::demo::loanable_pairs(&s, 2).unwrap();
        s.checkout(&cards[0], &items[0], None, at(22, 9)).unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let here = s.figures(day, 5).unwrap();
        let there = s.reader().figures(day, 5).unwrap();
        assert_eq!(here, there);
        assert_eq!(there.hourly[9], (1, 0));
        let missing = Store::open(&dir.path().join("missing.db"), "k1")
            .unwrap()
            .reader();
        std::fs::remove_file(dir.path().join("missing.db")).unwrap();
        assert!(missing.figures(day, 5).is_err());
    }

    #[test]
    fn an_in_memory_store_is_reached_again_by_reopen_and_its_reader_only() {
        let mut s = Store::open_in_memory("k1").unwrap();
        crate::store::demo::generate(&mut s, 10, 50, 3, at(20, 9)).unwrap();
        let (cards, items) = crate::store::demo::loanable_pairs(&s, 1).unwrap();
        let mut other = s.reopen().unwrap();
        assert_eq!(other.kiosk_id(), "k1");
        assert_eq!(other.settings(), s.settings());
        // A loan committed on the other connection is this one's too.
        let o = other
            .checkout(&cards[0], &items[0], None, at(22, 9))
            .unwrap();
        assert!(o.result.is_ok());
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let here = s.figures(day, 5).unwrap();
        assert_eq!(here.hourly[9], (1, 0));
        assert_eq!(s.reader().figures(day, 5).unwrap(), here);
        // Another in-memory store is another database.
        let fresh = Store::open_in_memory("k1").unwrap();
        assert_eq!(fresh.figures(day, 5).unwrap().journal, 0);
    }
}
