//! Read-only queries the GUI needs that the store does not offer yet
//! (today's loans/returns per hour for the staff chart, an item's title
//! for a refused line), kept as an extension trait in the GUI's room. It
//! must never write.

use crate::store::{Store, StoreError};
use chrono::NaiveDate;

pub trait UiQueries {
    /// Accepted (loans, returns) per local hour of `day`, 24 entries.
    fn hourly(&self, day: NaiveDate) -> Result<Vec<(u32, u32)>, StoreError>;
    /// (title, author) of an item by barcode, to name a refused item.
    fn item_title(&self, barcode: &str) -> Result<Option<(String, String)>, StoreError>;
    /// The item of a journal entry (a decision names its entry, not
    /// always its item).
    fn entry_item(&self, entry_id: &str) -> Result<Option<String>, StoreError>;
}

impl UiQueries for Store {
    fn item_title(&self, barcode: &str) -> Result<Option<(String, String)>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .query_row(
                "SELECT title, author FROM items WHERE barcode = ?1",
                [barcode],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn entry_item(&self, entry_id: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn()
            .query_row("SELECT item FROM journal WHERE id = ?1", [entry_id], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()?
            .flatten())
    }

    fn hourly(&self, day: NaiveDate) -> Result<Vec<(u32, u32)>, StoreError> {
        let mut out = vec![(0u32, 0u32); 24];
        // `at` is RFC 3339 text with the kiosk's local offset, so its date
        // and hour digits are the library's local day and hour.
        let mut st = self.conn().prepare(
            "SELECT CAST(substr(at, 12, 2) AS INTEGER), kind, count(*) FROM journal
             WHERE substr(at, 1, 10) = ?1 AND decision = 'accepted'
               AND kind IN ('checkout', 'checkin')
             GROUP BY 1, 2",
        )?;
        let rows = st.query_map([day.format("%Y-%m-%d").to_string()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (hour, kind, n) = row?;
            if let Some(slot) = usize::try_from(hour).ok().and_then(|h| out.get_mut(h)) {
                let n = u32::try_from(n).unwrap_or(u32::MAX);
                if kind == "checkout" {
                    slot.0 = n;
                } else {
                    slot.1 = n;
                }
            }
        }
        Ok(out)
    }
}
