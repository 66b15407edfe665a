//! What the screenshot stager (`--features stager`, src/ui/app/stager.rs)
//! needs from the database beyond a reader's scans: it runs on a
//! throwaway copy of the database only. Not in a production build.

use super::{Result, Store};
use rusqlite::OptionalExtension;

impl Store {
    /// An item on loan to anyone but `a` and `b` (the lowest barcode).
    pub(crate) fn stage_lent_to_others(&self, a: &str, b: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT i.barcode FROM loans l JOIN items i ON i.id = l.item_id
                 JOIN patrons p ON p.id = l.patron_id
                 WHERE l.returned IS NULL AND p.barcode NOT IN (?1, ?2)
                 ORDER BY i.barcode LIMIT 1",
                [a, b],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// One available item of each of `types` that has any (the lowest
    /// barcode of each).
    pub(crate) fn stage_available_of(&self, types: &[&str]) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for t in types {
            let found: Option<String> = self.conn.query_row(
                "SELECT min(barcode) FROM items WHERE status = 'available' AND item_type = ?1",
                [t],
                |r| r.get(0),
            )?;
            out.extend(found);
        }
        Ok(out)
    }

    /// Gives the reader `card` an e-mail address unless they have one.
    pub(crate) fn stage_email(&self, card: &str, email: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE patrons SET email = coalesce(email, ?2) WHERE barcode = ?1",
            [card, email],
        )?;
        Ok(())
    }
}
