//! Retention of readers' history on the server (`[privacy]
//! history_retention_days`): past loans, closed holds, fees and journal
//! entries from before the cut-off day lose the reader's card number and
//! whatever else names them (the borrower or hold reader in an entry's
//! detail, card numbers in its conflict message and in staff notes),
//! except for readers who keep their history (`patrons.keep_history`).
//! What the stats report counts is kept (`stats_days` and
//! `stats_readers` are not touched), and so is what staff still need:
//! open loans and holds, their entries, open conflicts and entries held
//! for a missing seq. Work goes in batches, one transaction each, so a
//! first run over years of history never holds the writer for long; a
//! second run finds nothing to do.

use super::*;
use crate::privacy::{card_like, scrub_detail, scrub_text};

/// What one retention run (or one batch of it) anonymised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Retention {
    /// Returned loans that no longer name their reader.
    pub loans: u64,
    /// Journal entries whose reader (column, detail, message) was taken out.
    pub entries: u64,
    /// Fulfilled or cancelled holds that no longer name their reader.
    pub holds: u64,
    /// Fees and payments that no longer name their reader.
    pub fees: u64,
}

impl Retention {
    pub fn total(&self) -> u64 {
        self.loans + self.entries + self.holds + self.fees
    }

    pub(crate) fn add(&mut self, o: &Retention) {
        self.loans += o.loans;
        self.entries += o.entries;
        self.holds += o.holds;
        self.fees += o.fees;
    }
}

/// Rows changed per table and transaction.
pub(crate) const RETENTION_BATCH: i64 = 2000;

/// The first day whose history is kept: records of earlier days (by the
/// date they carry, in the kiosk's own time) are anonymised. With 0 days
/// nothing past is kept: the cut-off lies beyond any kiosk's today.
pub fn retention_cutoff(days: u32, now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    if days == 0 {
        today + Duration::days(2)
    } else {
        today
            .checked_sub_signed(Duration::days(i64::from(days) - 1))
            .unwrap_or(NaiveDate::MIN)
    }
}

/// Readers who keep their history (the reader portal sets the flag).
const KEPT: &str = "(SELECT barcode FROM patrons WHERE keep_history = 1)";

/// One batch of every kind before `cutoff` (`YYYY-MM-DD`): at most
/// [`RETENTION_BATCH`] rows of each table. Callers repeat it, one
/// transaction each, until it returns nothing.
pub(crate) async fn retention_batch<S: Sql>(tx: &mut S, cutoff: &str) -> Result<Retention> {
    tx.lock_writes().await?;
    let mut done = Retention {
        loans: tx
            .exec(
                &format!(
                    "UPDATE loans SET patron = '' WHERE id IN (
                       SELECT id FROM loans WHERE returned IS NOT NULL AND returned < $1
                       AND patron <> '' AND patron NOT IN {KEPT} LIMIT $2)"
                ),
                p![cutoff, RETENTION_BATCH],
            )
            .await?,
        holds: tx
            .exec(
                &format!(
                    "UPDATE holds SET patron = '', pickup_code = NULL WHERE id IN (
                       SELECT id FROM holds WHERE status NOT IN ('waiting', 'ready')
                       AND closed IS NOT NULL AND closed < $1
                       AND patron <> '' AND patron NOT IN {KEPT} LIMIT $2)"
                ),
                p![cutoff, RETENTION_BATCH],
            )
            .await?,
        fees: tx
            .exec(
                &format!(
                    "UPDATE fees SET patron = '' WHERE id IN (
                       SELECT id FROM fees WHERE created < $1
                       AND patron <> '' AND patron NOT IN {KEPT} LIMIT $2)"
                ),
                p![cutoff, RETENTION_BATCH],
            )
            .await?,
        entries: 0,
    };
    // Entries: applied ones, and conflicts staff have closed; never one
    // that belongs to a loan or hold still open, an open conflict, or an
    // entry held for a missing seq (it is still to be replayed).
    let rows = tx
        .query(
            &format!(
                "SELECT e.id, e.patron, e.detail, e.message, e.status FROM entries e
                 WHERE e.anonymised = 0 AND e.at < $1
                 AND (e.status = 'applied' OR (e.status = 'conflict'
                      AND e.id IN (SELECT entry_id FROM conflict_resolutions)))
                 AND (e.patron IS NULL OR (e.patron NOT IN {KEPT}
                      AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.patron = e.patron
                          AND l.item = e.item AND l.returned IS NULL)
                      AND NOT EXISTS (SELECT 1 FROM holds h JOIN items i ON i.title_key = h.title_key
                          WHERE h.patron = e.patron AND i.barcode = e.item
                          AND h.status IN ('waiting', 'ready'))))
                 ORDER BY e.at LIMIT $2"
            ),
            p![cutoff, RETENTION_BATCH],
        )
        .await?;
    let mut known = HashMap::new();
    for r in &rows {
        let detail = serde_json::from_str(&r.s("detail")).unwrap_or(json!({}));
        let message = r.os("message");
        let status = r.s("status");
        let note = match status.as_str() {
            "conflict" => tx
                .query_opt(
                    "SELECT note FROM conflict_resolutions WHERE entry_id = $1",
                    p![r.s("id")],
                )
                .await?
                .map(|n| n.s("note")),
            _ => None,
        };
        // The entry's own reader, and any other reader's card written
        // into its texts (a holder, a card typed into a comment or note).
        let texts = json!([detail, message, note]);
        let mut cards: Vec<String> = r.os("patron").into_iter().collect();
        cards.extend(cards_in(tx, &texts, &mut known).await?);
        let detail = scrub_detail(detail, &cards);
        let message = message.map(|m| scrub_text(&m, &cards));
        tx.exec(
            "UPDATE entries SET patron = NULL, detail = $2, message = $3, anonymised = 1
             WHERE id = $1",
            p![r.s("id"), detail.to_string(), message],
        )
        .await?;
        if let Some(note) = note {
            let scrubbed = scrub_text(&note, &cards);
            if scrubbed != note {
                tx.exec(
                    "UPDATE conflict_resolutions SET note = $2 WHERE entry_id = $1",
                    p![r.s("id"), scrubbed],
                )
                .await?;
            }
        }
    }
    done.entries = rows.len() as u64;
    Ok(done)
}

/// The readers' cards among the card-like words of `v` (looked up in
/// `patrons`; `known` remembers answers across calls).
pub(crate) async fn cards_in<S: Sql>(
    tx: &mut S,
    v: &serde_json::Value,
    known: &mut HashMap<String, bool>,
) -> Result<Vec<String>> {
    let mut words = BTreeSet::new();
    card_like(v, &mut words);
    let mut cards = vec![];
    for w in words {
        let is_card = match known.get(&w) {
            Some(b) => *b,
            None => {
                let b = tx
                    .query_opt("SELECT barcode FROM patrons WHERE barcode = $1", p![&w])
                    .await?
                    .is_some();
                known.insert(w.clone(), b);
                b
            }
        };
        if is_card {
            cards.push(w);
        }
    }
    Ok(cards)
}

/// `text` with every reader's card in it masked (a staff note before it
/// is stored and sent to the kiosk).
pub(crate) async fn mask_cards<S: Sql>(tx: &mut S, text: &str) -> Result<String> {
    let cards = cards_in(tx, &json!(text), &mut HashMap::new()).await?;
    Ok(scrub_text(text, &cards))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::{card_like, scrub_detail, scrub_text};

    #[test]
    fn the_cutoff_keeps_the_last_n_days() {
        let now = DateTime::parse_from_rfc3339("2026-12-08T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(retention_cutoff(1, now), d("2026-12-08"));
        assert_eq!(retention_cutoff(365, now), d("2025-12-09"));
        // Nothing past kept: beyond today in any time zone.
        assert_eq!(retention_cutoff(0, now), d("2026-12-10"));
        // Longer than the calendar: nothing goes.
        assert_eq!(retention_cutoff(u32::MAX, now), NaiveDate::MIN);
    }

    #[test]
    fn details_and_texts_lose_the_reader() {
        let d = json!({
            "title": "Emma", "borrower": "20001234567", "hold_for": "20007654321",
            "pickup_code": "123456", "route": {"to": "shelf"},
            "comment": "card 20001234567 does not scan", "fine_cents": 50,
        });
        assert_eq!(
            scrub_detail(d, &cards(&["20001234567"])),
            json!({"title": "Emma", "route": {"to": "shelf"},
                   "comment": "card …4567 does not scan", "fine_cents": 50})
        );
        assert_eq!(
            scrub_text("item I1 is on loan to reader 20009990001", &[]),
            "item I1 is on loan to reader …0001"
        );
        assert_eq!(
            scrub_text(
                "reader \"20001234567\" is not known",
                &cards(&["20001234567"])
            ),
            "reader \"…4567\" is not known"
        );
        assert_eq!(
            scrub_text("item I2 is not on loan to reader P12345, see staff", &[]),
            "item I2 is not on loan to reader …2345, see staff"
        );
        // Already masked, or nothing to mask: unchanged.
        for t in [
            "item I1 is on loan to another reader (card …0001)",
            "another reader waits for this title",
            "renewed 3 times already, the limit",
        ] {
            assert_eq!(scrub_text(t, &cards(&["20001234567"])), t);
        }
        let mut words = BTreeSet::new();
        card_like(
            &json!({"a": ["with 20001234567.", "Title 1984", "P12345"], "n": 20001234567_i64}),
            &mut words,
        );
        assert_eq!(
            words.into_iter().collect::<Vec<_>>(),
            ["20001234567", "P12345"]
        );
    }

    fn cards(c: &[&str]) -> Vec<String> {
        c.iter().map(|c| c.to_string()).collect()
    }
}
