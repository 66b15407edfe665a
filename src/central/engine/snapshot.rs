//! The domain's view of the state around one entry: the reader, the item,
//! its loan and holds, the rule that applies; loaded once per decision.

use super::*;

/// Domain ids are numbers; the server keys readers by barcode, so each
/// snapshot numbers the readers it meets.
#[derive(Default)]
pub(crate) struct Ids(pub(crate) HashMap<String, i64>);

impl Ids {
    pub(crate) fn of(&mut self, barcode: &str) -> i64 {
        let n = self.0.len() as i64 + 1;
        *self.0.entry(barcode.to_string()).or_insert(n)
    }
}

pub(crate) struct Snap {
    pub(crate) ids: Ids,
    pub(crate) patron: Option<(PatronRecord, Patron)>,
    pub(crate) item: Option<(ItemRecord, Item, String)>,
    pub(crate) loan: Option<(i64, LoanRecord, CurrentLoan)>,
    pub(crate) counts: LoanCounts,
    pub(crate) holds: ItemHolds,
    pub(crate) rule: Rule,
}

impl Snap {
    pub(crate) fn item_code(&self) -> Option<&str> {
        self.item.as_ref().map(|(i, _, _)| i.barcode.as_str())
    }
}

pub(crate) fn parse_day(s: &Option<String>) -> Option<NaiveDate> {
    s.as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

pub(crate) async fn snapshot<S: Sql>(
    tx: &mut S,
    table: &PolicyTable,
    patron_code: Option<&str>,
    item_code: Option<&str>,
    now: NaiveDateTime,
) -> Result<Snap> {
    let mut ids = Ids::default();
    let mut snap_patron = None;
    let mut counts = LoanCounts::default();
    if let Some(code) = patron_code {
        // The reader with the due dates of their current loans, one row
        // per loan (one with no due date when there is none).
        let rows = tx
            .query(
                &format!(
                    "SELECT {}, l.due FROM patrons p
                     LEFT JOIN loans l ON l.patron = p.barcode AND l.returned IS NULL
                     WHERE p.barcode = $1",
                    prefixed("p", PATRON_COLS)
                ),
                p![code],
            )
            .await?;
        if let Some(first) = rows.first() {
            let p = patron_row(&first.prefixed("p_"));
            for r in &rows {
                let Some(due) = r.os("due") else { continue };
                counts.total += 1;
                if Due::parse(&due).is_some_and(|d| d.is_overdue(now)) {
                    counts.overdue += 1;
                }
            }
            let dp = Patron {
                id: ids.of(&p.barcode),
                category: p.category.clone(),
                expires: parse_day(&p.expires),
                blocked: p.blocked.clone(),
                fines_owed: p.fines_owed_cents,
            };
            snap_patron = Some((p, dp));
        }
    }
    let mut snap_item = None;
    let mut loan = None;
    let mut holds = ItemHolds::default();
    let mut borrower_category = None;
    if let Some(code) = item_code {
        if let Some((i, key, current)) = item_with_loan(tx, code).await? {
            let status = ItemStatus::parse(&i.status).unwrap_or(ItemStatus::Available);
            let di = Item {
                id: 1,
                item_type: i.item_type.clone(),
                parts: i.parts,
                status,
            };
            if let Some((id, l, category)) = current {
                let due = Due::parse(&l.due).unwrap_or(Due::Day(now.date()));
                let cl = CurrentLoan {
                    patron: ids.of(&l.patron),
                    due,
                    renewals: l.renewals,
                };
                borrower_category = category;
                loan = Some((id, l, cl));
            }
            // The hold ready for this copy, and the queue for its title.
            for r in tx
                .query(
                    "SELECT id, patron, item, status FROM holds
                     WHERE (status = 'ready' AND ready_item = $1)
                        OR (status = 'waiting' AND title_key = $2 AND (item IS NULL OR item = $1))
                     ORDER BY placed, id",
                    p![&i.barcode, &key],
                )
                .await?
            {
                let h = HoldRef {
                    id: r.i("id"),
                    patron: ids.of(&r.s("patron")),
                    item_level: r.os("item").is_some(),
                };
                if r.s("status") == "ready" {
                    holds.ready.get_or_insert(h);
                } else {
                    holds.queue.push(h);
                }
            }
            snap_item = Some((i, di, key));
        }
    }
    let category = snap_patron
        .as_ref()
        .map(|(p, _)| p.category.clone())
        .or(borrower_category)
        .unwrap_or_else(|| DEFAULT.to_string());
    let item_type = snap_item
        .as_ref()
        .map(|(i, _, _)| i.item_type.clone())
        .unwrap_or_else(|| DEFAULT.to_string());
    Ok(Snap {
        ids,
        patron: snap_patron,
        item: snap_item,
        loan,
        counts,
        holds,
        rule: table.rule(&category, &item_type).clone(),
    })
}
