//! Reading the loan history for suggestions: "readers who borrowed these
//! also borrowed …", from this kiosk's own database (its loans and the
//! loans the central system sent down). The touch screen's receipt uses it
//! when the central system cannot be asked. Read-only; it must never write,
//! and it names titles, never readers.

use super::{Result, Store};
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
        if items.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let items = serde_json::to_string(items).unwrap_or_else(|_| "[]".into());
        // The title key in SQL, as `title_key` builds it in Rust (SQLite's
        // lower() folds ASCII only: titles in other scripts compare as
        // written).
        const KEY: &str = "COALESCE('isbn:' || NULLIF(trim(i.isbn), ''),
                 'title:' || lower(trim(i.title)) || '|' || lower(trim(i.author)))";
        let sql = format!(
            "WITH seed AS (SELECT i.id, {KEY} AS k FROM items i
                           WHERE i.barcode IN (SELECT value FROM json_each(?1))),
                  me AS (SELECT id FROM patrons WHERE barcode = ?2),
                  others AS (SELECT DISTINCT patron_id FROM loans
                             WHERE item_id IN (SELECT id FROM seed)
                               AND patron_id NOT IN (SELECT id FROM me)),
                  mine AS (SELECT DISTINCT {KEY} AS k FROM loans l JOIN items i ON i.id = l.item_id
                           WHERE l.patron_id IN (SELECT id FROM me)),
                  ranked AS (SELECT {KEY} AS k, count(DISTINCT l.patron_id) AS n
                             FROM loans l JOIN items i ON i.id = l.item_id
                             WHERE l.patron_id IN (SELECT patron_id FROM others)
                             GROUP BY 1)
             SELECT r.n,
                    (SELECT i.barcode || char(31) || i.title || char(31) || i.author
                     FROM items i WHERE {KEY} = r.k
                       AND i.status NOT IN ('lost', 'missing', 'withdrawn')
                     ORDER BY i.status <> 'available', i.barcode LIMIT 1) AS copy
             FROM ranked r
             WHERE r.k NOT IN (SELECT k FROM seed) AND r.k NOT IN (SELECT k FROM mine)
             ORDER BY r.n DESC, r.k
             LIMIT ?3"
        );
        let mut st = self.conn().prepare(&sql)?;
        let rows = st.query_map(
            rusqlite::params![items, patron, limit.saturating_mul(4)],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)),
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (n, copy) = row?;
            // A title with no copy left to borrow is not worth suggesting.
            let Some(copy) = copy else { continue };
            let mut parts = copy.splitn(3, '\u{1f}');
            let (Some(item), Some(title), Some(author)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            out.push(AlsoBorrowed {
                item: item.to_string(),
                title: title.to_string(),
                author: author.to_string(),
                readers: u32::try_from(n).unwrap_or(u32::MAX),
            });
            if out.len() >= limit as usize {
                break;
            }
        }
        Ok(out)
    }
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
            ("B1", "Beta", "", "available"),
            ("B2", "beta", "", "available"), // same title, another copy
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
