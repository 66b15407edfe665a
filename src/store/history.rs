//! Reading the loan history for suggestions: "readers who borrowed these
//! also borrowed …", from this kiosk's own database (its loans and the
//! loans the central system sent down). The touch screen's receipt uses it
//! when the central system cannot be asked. Read-only; it must never write,
//! and it names titles, never readers.

use super::{Result, Store};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

/// A title other readers of the same items borrowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlsoBorrowed {
    /// One copy of the title (an available one if there is).
    pub item: String,
    pub title: String,
    pub author: String,
    /// How many other readers borrowed both.
    pub readers: u32,
}

impl Store {
    /// Titles that other readers who borrowed any of `items` (barcodes)
    /// also borrowed, most readers first, at most `limit`. Titles `patron`
    /// has ever borrowed (as far as the history kept here goes), and the
    /// titles of `items` themselves, are left out; so are copies that are
    /// lost, missing or withdrawn. A title is its ISBN, or its title and
    /// author when it has none, as for holds.
    pub fn also_borrowed(
        &self,
        patron: &str,
        items: &[String],
        limit: u32,
    ) -> Result<Vec<AlsoBorrowed>> {
        also_borrowed(self.conn(), patron, items, limit)
    }
}

/// `Store::also_borrowed` on any connection to a kiosk database (the
/// touch screen runs it on a read-only one, off the UI thread).
pub(crate) fn also_borrowed(
    conn: &Connection,
    patron: &str,
    items: &[String],
    limit: u32,
) -> Result<Vec<AlsoBorrowed>> {
    if items.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let items = serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
    // The title key in SQL, as `title_key` builds it in Rust (SQLite's
    // lower() folds ASCII only: titles in other scripts compare as
    // written).
    const KEY: &str = "COALESCE('isbn:' || NULLIF(trim(i.isbn), ''),
                 'title:' || lower(trim(i.title)) || '|' || lower(trim(i.author)))";
    // Every step reads the loans (a few hundred thousand rows at most
    // in a big library) or an item by its key: no scan of the
    // catalogue. A title is shown by a copy other readers borrowed, or
    // by an available copy with the same ISBN (indexed).
    let sql = format!(
        "WITH seed AS (SELECT i.id, {KEY} AS k FROM items i
                           WHERE i.barcode IN (SELECT value FROM json_each(?1))),
                  me AS (SELECT id FROM patrons WHERE barcode = ?2),
                  others AS (SELECT DISTINCT patron_id FROM loans
                             WHERE item_id IN (SELECT id FROM seed)
                               AND patron_id NOT IN (SELECT id FROM me)),
                  mine AS (SELECT DISTINCT {KEY} AS k FROM loans l JOIN items i ON i.id = l.item_id
                           WHERE l.patron_id IN (SELECT id FROM me)),
                  ranked AS (SELECT {KEY} AS k, count(DISTINCT l.patron_id) AS n,
                                    max(l.item_id) AS copy
                             FROM loans l JOIN items i ON i.id = l.item_id
                             WHERE l.patron_id IN (SELECT patron_id FROM others)
                             GROUP BY 1)
             SELECT r.n, i.barcode, i.title, i.author, i.isbn, i.status
             FROM ranked r JOIN items i ON i.id = r.copy
             WHERE r.k NOT IN (SELECT k FROM seed) AND r.k NOT IN (SELECT k FROM mine)
             ORDER BY r.n DESC, r.k
             LIMIT ?3"
    );
    let mut st = conn.prepare(&sql)?;
    type Row = (i64, String, String, String, Option<String>, String);
    let rows: Vec<Row> = st
        .query_map(
            rusqlite::params![items, patron, limit.saturating_mul(4)],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<_>>()?;
    let mut copy = conn.prepare_cached(
        "SELECT barcode FROM items WHERE isbn = ?1
               AND status NOT IN ('lost', 'missing', 'withdrawn')
             ORDER BY status <> 'available', barcode LIMIT 1",
    )?;
    let gone = |status: &str| matches!(status, "lost" | "missing" | "withdrawn");
    let mut out = Vec::new();
    for (n, barcode, title, author, isbn, status) in rows {
        let isbn = isbn.filter(|i| !i.trim().is_empty());
        let item = match isbn {
            Some(isbn) => copy
                .query_row([isbn.trim()], |r| r.get::<_, String>(0))
                .optional()?,
            None => (!gone(&status)).then_some(barcode),
        };
        // A title with no copy left to borrow is not worth suggesting.
        let Some(item) = item else { continue };
        out.push(AlsoBorrowed {
            item,
            title,
            author,
            readers: u32::try_from(n).unwrap_or(u32::MAX),
        });
        if out.len() >= limit as usize {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, FixedOffset};

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-11-02T10:00:00+08:00").unwrap()
    }

    /// Readers R1..R4 and items; each (reader, item) borrowed then returned
    /// (or kept, for the last one listed).
    fn library() -> Store {
        let s = Store::open_in_memory("k1").unwrap();
        let c = s.conn();
        for p in ["R1", "R2", "R3", "R4"] {
            c.execute(
                "INSERT INTO patrons (barcode, name, expires, updated_at)
                 VALUES (?1, ?1, '2099-12-31', '2026-01-01')",
                [p],
            )
            .unwrap();
        }
        for (b, title, isbn, status) in [
            ("A1", "Alpha", "", "available"),
            ("B1", "Beta", "978-2", "available"),
            ("B2", "Beta", "978-2", "available"), // same title, another copy
            ("C1", "Gamma", "978-1", "available"),
            ("D1", "Delta", "", "available"),
            ("L1", "Lost one", "", "lost"),
            ("M1", "Mine before", "", "available"),
        ] {
            c.execute(
                "INSERT INTO items (barcode, title, author, isbn, status, updated_at)
                 VALUES (?1, ?2, 'Au', NULLIF(?3, ''), ?4, '2026-01-01')",
                [b, title, isbn, status],
            )
            .unwrap();
        }
        let mut t = now();
        // R2 and R3 read Alpha; both also read Beta (two copies), R2 read
        // Gamma, R3 the lost one and "Mine before"; R4 read only Delta.
        for (r, i) in [
            ("R2", "A1"),
            ("R2", "B1"),
            ("R2", "C1"),
            ("R3", "A1"),
            ("R3", "B2"),
            ("R3", "L1"),
            ("R3", "M1"),
            ("R4", "D1"),
            // R1, who asks, read "Mine before" long ago.
            ("R1", "M1"),
        ] {
            t += Duration::hours(1);
            c.execute(
                "INSERT INTO loans (item_id, patron_id, checked_out, due, returned)
                 VALUES ((SELECT id FROM items WHERE barcode = ?1),
                         (SELECT id FROM patrons WHERE barcode = ?2), ?3, '2026-12-01', ?3)",
                [i, r, &t.to_rfc3339()],
            )
            .unwrap();
        }
        s
    }

    #[test]
    fn readers_of_the_same_items_suggest_titles_most_shared_first() {
        let s = library();
        let got = s.also_borrowed("R1", &["A1".to_string()], 10).unwrap();
        let titles: Vec<(&str, u32)> = got.iter().map(|a| (a.title.as_str(), a.readers)).collect();
        // Beta: two readers (one title, two copies); Gamma: one. Not the
        // lost copy, not what R1 read before, not Alpha itself, not Delta
        // (nobody who read Alpha read it).
        assert_eq!(titles, [("Beta", 2), ("Gamma", 1)], "{got:?}");
        assert_eq!(got[0].item, "B1", "an available copy, the first by barcode");
        // Gamma: its one copy, found by its ISBN.
        assert_eq!(got[1].item, "C1");
    }

    #[test]
    fn nothing_to_go_on_suggests_nothing() {
        let s = library();
        assert!(s.also_borrowed("R1", &[], 5).unwrap().is_empty());
        assert!(s
            .also_borrowed("R1", &["D1".to_string()], 5)
            .unwrap()
            .is_empty());
        assert!(s
            .also_borrowed("R1", &["NOPE".to_string()], 5)
            .unwrap()
            .is_empty());
        assert_eq!(
            s.also_borrowed("R1", &["A1".to_string()], 1).unwrap().len(),
            1
        );
        // An unknown reader still gets what others read.
        assert_eq!(
            s.also_borrowed("", &["A1".to_string()], 5).unwrap().len(),
            3
        );
    }
}
