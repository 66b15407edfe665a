//! Circulation transactions: load the context, ask the domain, write the
//! effect and its journal entry in one IMMEDIATE transaction.
//!
//! Refusals are journaled too (staff statistics, and the central server
//! sees what readers tried); they change nothing else.

use super::journal::{append, Author, EntryKind, EntryRef, NewEntry};
use super::{Result, Store, StoreError};
use crate::domain::title_key;
use crate::domain::{
    self, CheckinContext, CheckoutContext, CurrentLoan, Due, HoldContext, HoldRef, Item, ItemHolds,
    ItemStatus, LoanCounts, Patron, Refusal, RenewContext, Route,
};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::json;

/// A decision that was committed to the journal.
#[derive(Debug, Clone)]
pub struct Outcome<T> {
    pub entry: EntryRef,
    pub result: std::result::Result<T, Refusal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckoutOk {
    pub item: String,
    pub title: String,
    pub author: String,
    pub due: Due,
    /// The reader picked up a hold that was waiting for them.
    pub hold_picked_up: bool,
    pub parts: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckinOk {
    pub item: String,
    pub title: String,
    pub was_on_loan: bool,
    pub overdue_days: u32,
    pub fine_cents: i64,
    pub route: Route,
    /// Shown for hold-shelf routes: the code on the slip, never the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_code: Option<String>,
    /// The item had been recorded lost or missing.
    pub found: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RenewOk {
    pub item: String,
    pub title: String,
    pub due: Due,
    pub renewals: u32,
    pub fine_cents: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum HoldLevel {
    /// Any copy of the title (the usual reservation).
    #[default]
    Title,
    /// This very copy.
    Item,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoldOk {
    pub item: String,
    pub title: String,
    pub level: HoldLevel,
    pub queue_position: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub name: String,
    pub category: String,
    pub expires: Option<NaiveDate>,
    pub blocked: Option<String>,
    pub fines_owed_cents: i64,
    pub loans: Vec<AccountLoan>,
    pub holds: Vec<AccountHold>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountLoan {
    pub item: String,
    pub title: String,
    pub author: String,
    pub due: Due,
    pub overdue: bool,
    pub renewals: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountHold {
    pub title: String,
    /// A copy of the title, to name the hold by (cancelling); None when
    /// the kiosk's catalogue has no copy of it.
    pub item: Option<String>,
    pub status: String,
    pub queue_position: Option<i64>,
    pub pickup_code: Option<String>,
    pub pickup_by: Option<String>,
    pub placed: String,
}

/// What the store knows of a patron beyond the domain's view.
#[derive(Debug, Clone)]
pub(crate) struct PatronRow {
    pub patron: Patron,
    pub barcode: String,
    pub name: String,
    pub pin_hash: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ItemRow {
    pub item: Item,
    pub barcode: String,
    pub title: String,
    pub author: String,
    pub title_key: String,
}

/// Appends `entry` to the journal and commits it with whatever `tx` holds;
/// only then does the decision go back to be shown.
fn commit<T>(
    tx: rusqlite::Transaction,
    kiosk: &Author,
    now: DateTime<FixedOffset>,
    entry: NewEntry,
    result: std::result::Result<T, Refusal>,
) -> Result<Outcome<T>> {
    let entry = append(&tx, kiosk, now, entry)?;
    tx.commit()?;
    Ok(Outcome { entry, result })
}

/// Journals a refusal and commits it.
fn refuse<T>(
    tx: rusqlite::Transaction,
    kiosk: &Author,
    now: DateTime<FixedOffset>,
    entry: NewEntry,
    r: Refusal,
) -> Result<Outcome<T>> {
    commit(tx, kiosk, now, entry.refused(&r), Err(r))
}

fn parse_day(s: Option<String>, what: &str) -> Result<Option<NaiveDate>> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| StoreError::Corrupt(format!("{what} {s:?} is not a date"))),
    }
}

pub(crate) fn find_patron(conn: &Connection, barcode: &str) -> Result<Option<PatronRow>> {
    let row = conn
        .query_row(
            "SELECT id, barcode, name, category, expires, pin_hash, blocked_reason, fines_owed_cents
             FROM patrons WHERE barcode = ?1",
            [barcode],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((id, barcode, name, category, expires, pin_hash, blocked, fines)) = row else {
        return Ok(None);
    };
    Ok(Some(PatronRow {
        patron: Patron {
            id,
            category,
            expires: parse_day(expires, "patron expiry")?,
            blocked: blocked.filter(|b| !b.is_empty()),
            fines_owed: fines,
        },
        barcode,
        name,
        pin_hash: pin_hash.filter(|h| !h.is_empty()),
    }))
}

/// An item by barcode or by RFID tag UID.
pub(crate) fn find_item(conn: &Connection, code: &str) -> Result<Option<ItemRow>> {
    let q = |sql: &str| {
        conn.query_row(sql, [code], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, i64>(6)?,
                r.get::<_, String>(7)?,
            ))
        })
        .optional()
    };
    const COLS: &str =
        "SELECT id, barcode, title, author, isbn, item_type, parts, status FROM items";
    let row = match q(&format!("{COLS} WHERE barcode = ?1"))? {
        Some(r) => Some(r),
        None => q(&format!("{COLS} WHERE rfid_uid = upper(?1)"))?,
    };
    let Some((id, barcode, title, author, isbn, item_type, parts, status)) = row else {
        return Ok(None);
    };
    let status = ItemStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("item {barcode} has status {status:?}")))?;
    Ok(Some(ItemRow {
        item: Item {
            id,
            item_type,
            parts: parts.clamp(1, 255) as u8,
            status,
        },
        title_key: title_key(isbn.as_deref(), &title, &author),
        barcode,
        title,
        author,
    }))
}

fn current_loan(conn: &Connection, item_id: i64) -> Result<Option<(i64, CurrentLoan)>> {
    let row = conn
        .query_row(
            "SELECT id, patron_id, due, renewals FROM loans WHERE item_id = ?1 AND returned IS NULL",
            [item_id],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                ))
            },
        )
        .optional()?;
    row.map(|(id, patron, due, renewals)| {
        let due = Due::parse(&due)
            .ok_or_else(|| StoreError::Corrupt(format!("loan {id} due {due:?}")))?;
        Ok((
            id,
            CurrentLoan {
                patron,
                due,
                renewals,
            },
        ))
    })
    .transpose()
}

fn loan_counts(conn: &Connection, patron_id: i64, now: NaiveDateTime) -> Result<LoanCounts> {
    let mut st =
        conn.prepare_cached("SELECT due FROM loans WHERE patron_id = ?1 AND returned IS NULL")?;
    let mut counts = LoanCounts::default();
    let mut rows = st.query([patron_id])?;
    while let Some(r) = rows.next()? {
        let due: String = r.get(0)?;
        let due =
            Due::parse(&due).ok_or_else(|| StoreError::Corrupt(format!("loan due {due:?}")))?;
        counts.total += 1;
        if due.is_overdue(now) {
            counts.overdue += 1;
        }
    }
    Ok(counts)
}

fn item_holds(conn: &Connection, item: &ItemRow) -> Result<ItemHolds> {
    let ready = conn
        .query_row(
            "SELECT id, patron_id, item_id IS NOT NULL FROM holds WHERE status = 'ready' AND ready_item_id = ?1",
            [item.item.id],
            |r| {
                Ok(HoldRef {
                    id: r.get(0)?,
                    patron: r.get(1)?,
                    item_level: r.get(2)?,
                })
            },
        )
        .optional()?;
    let mut st = conn.prepare_cached(
        "SELECT id, patron_id, item_id IS NOT NULL FROM holds
         WHERE status = 'waiting' AND title_key = ?1 AND (item_id IS NULL OR item_id = ?2)
         ORDER BY placed, id",
    )?;
    let queue = st
        .query_map(params![item.title_key, item.item.id], |r| {
            Ok(HoldRef {
                id: r.get(0)?,
                patron: r.get(1)?,
                item_level: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ItemHolds { ready, queue })
}

fn stamp(now: DateTime<FixedOffset>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false)
}

/// A six-digit pickup code not in use by another hold on the shelf.
fn new_pickup_code(conn: &Connection) -> Result<String> {
    loop {
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        let taken: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM holds WHERE status = 'ready' AND pickup_code = ?1)",
            [&code],
            |r| r.get(0),
        )?;
        if !taken {
            return Ok(code);
        }
    }
}

fn add_fee(
    conn: &Connection,
    patron_id: i64,
    item_id: i64,
    cents: i64,
    now: DateTime<FixedOffset>,
) -> Result<()> {
    if cents <= 0 {
        return Ok(());
    }
    conn.execute(
        "INSERT INTO fees (patron_id, item_id, kind, amount_cents, created) VALUES (?1, ?2, 'overdue', ?3, ?4)",
        params![patron_id, item_id, cents, stamp(now)],
    )?;
    conn.execute(
        "UPDATE patrons SET fines_owed_cents = fines_owed_cents + ?2 WHERE id = ?1",
        params![patron_id, cents],
    )?;
    Ok(())
}

impl Store {
    fn begin(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    /// Lends `item` to `patron`. `parts_seen` is how many parts of a set
    /// were seen together (RFID), None when unknown (a barcode scan).
    pub fn checkout(
        &mut self,
        patron: &str,
        item: &str,
        parts_seen: Option<u8>,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome<CheckoutOk>> {
        let local = now.naive_local();
        let kiosk = self.author();
        let policies = self.policies.clone();
        let settings = self.settings.clone();
        let tx = self.begin()?;
        let p = find_patron(&tx, patron)?;
        let i = find_item(&tx, item)?;
        let entry = NewEntry::new(EntryKind::Checkout, Some(patron), Some(item));
        let (p, i) = match (p, i) {
            (None, _) => return refuse(tx, &kiosk, now, entry, Refusal::UnknownPatron),
            (_, None) => return refuse(tx, &kiosk, now, entry, Refusal::UnknownItem),
            (Some(p), Some(i)) => (p, i),
        };
        let rule = policies.rule(&p.patron.category, &i.item.item_type);
        let loan = current_loan(&tx, i.item.id)?;
        let counts = loan_counts(&tx, p.patron.id, local)?;
        let holds = item_holds(&tx, &i)?;
        let decision = domain::decide_checkout(
            &CheckoutContext {
                patron: &p.patron,
                item: &i.item,
                rule,
                settings: &settings,
                loan: loan.as_ref().map(|(_, l)| l),
                patron_loans: counts,
                holds: &holds,
                parts_seen,
            },
            local,
        );
        let d = match decision {
            Err(r) => {
                // The item's own barcode, also when it was found by RFID UID.
                let entry = NewEntry::new(EntryKind::Checkout, Some(patron), Some(&i.barcode));
                return refuse(tx, &kiosk, now, entry, r);
            }
            Ok(d) => d,
        };
        tx.execute(
            "INSERT INTO loans (item_id, patron_id, checked_out, due) VALUES (?1, ?2, ?3, ?4)",
            params![i.item.id, p.patron.id, stamp(now), d.due.to_string()],
        )?;
        tx.execute(
            "UPDATE items SET status = 'on_loan', updated_at = ?2 WHERE id = ?1",
            params![i.item.id, stamp(now)],
        )?;
        if let Some(hold) = d.fills_hold {
            tx.execute(
                "UPDATE holds SET status = 'fulfilled', closed = ?2, ready_item_id = ?3 WHERE id = ?1",
                params![hold, stamp(now), i.item.id],
            )?;
        }
        let entry = append(
            &tx,
            &kiosk,
            now,
            NewEntry::new(EntryKind::Checkout, Some(&p.barcode), Some(&i.barcode))
                .due(Some(d.due.to_string()))
                .detail(json!({"title": i.title, "hold_picked_up": d.fills_hold.is_some()})),
        )?;
        tx.commit()?;
        Ok(Outcome {
            entry,
            result: Ok(CheckoutOk {
                item: i.barcode,
                title: i.title,
                author: i.author,
                due: d.due,
                hold_picked_up: d.fills_hold.is_some(),
                parts: i.item.parts,
            }),
        })
    }

    /// Takes `item` back, whoever had it.
    pub fn checkin(
        &mut self,
        item: &str,
        parts_seen: Option<u8>,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome<CheckinOk>> {
        let local = now.naive_local();
        let kiosk = self.author();
        let policies = self.policies.clone();
        let settings = self.settings.clone();
        let tx = self.begin()?;
        let Some(i) = find_item(&tx, item)? else {
            let entry = NewEntry::new(EntryKind::Checkin, None, Some(item));
            return refuse(tx, &kiosk, now, entry, Refusal::UnknownItem);
        };
        let loan = current_loan(&tx, i.item.id)?;
        let borrower: Option<(i64, String, String)> = match &loan {
            Some((_, l)) => tx
                .query_row(
                    "SELECT id, barcode, category FROM patrons WHERE id = ?1",
                    [l.patron],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?,
            None => None,
        };
        let category = borrower
            .as_ref()
            .map(|b| b.2.as_str())
            .unwrap_or(domain::policy::DEFAULT);
        let rule = policies.rule(category, &i.item.item_type);
        let holds = item_holds(&tx, &i)?;
        let decision = domain::decide_checkin(
            &CheckinContext {
                item: &i.item,
                loan: loan.as_ref().map(|(_, l)| l),
                rule,
                settings: &settings,
                holds: &holds,
                parts_seen,
            },
            local,
        );
        let d = match decision {
            Err(r) => {
                let entry = NewEntry::new(EntryKind::Checkin, None, Some(&i.barcode));
                return refuse(tx, &kiosk, now, entry, r);
            }
            Ok(d) => d,
        };
        if let Some((loan_id, _)) = &loan {
            tx.execute(
                "UPDATE loans SET returned = ?2 WHERE id = ?1",
                params![loan_id, stamp(now)],
            )?;
        }
        if let Some((pid, _, _)) = &borrower {
            add_fee(&tx, *pid, i.item.id, d.fine, now)?;
        }
        let mut pickup_code = None;
        // The waiting reader is named by the hold and its pickup code, never
        // by card number in the entry's detail (free text retention cannot
        // blank).
        if let Route::HoldShelf {
            hold, pickup_by, ..
        } = &d.route
        {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT pickup_code FROM holds WHERE id = ?1 AND status = 'ready'",
                    [hold],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            let code = match existing {
                Some(c) => c,
                None => {
                    let c = new_pickup_code(&tx)?;
                    tx.execute(
                        "UPDATE holds SET status = 'ready', ready_item_id = ?2, pickup_code = ?3, pickup_by = ?4 WHERE id = ?1",
                        params![hold, i.item.id, c, pickup_by.format("%Y-%m-%d").to_string()],
                    )?;
                    c
                }
            };
            pickup_code = Some(code);
        }
        tx.execute(
            "UPDATE items SET status = ?2, updated_at = ?3 WHERE id = ?1",
            params![i.item.id, d.new_status.as_str(), stamp(now)],
        )?;
        let entry = append(
            &tx,
            &kiosk,
            now,
            NewEntry::new(
                EntryKind::Checkin,
                borrower.as_ref().map(|b| b.1.as_str()),
                Some(&i.barcode),
            )
            .detail(json!({
                "title": i.title,
                "was_on_loan": d.was_on_loan,
                "overdue_days": d.overdue_days,
                "fine_cents": d.fine,
                "route": d.route,
                "pickup_code": pickup_code,
                "found": d.found,
            })),
        )?;
        tx.commit()?;
        Ok(Outcome {
            entry,
            result: Ok(CheckinOk {
                item: i.barcode,
                title: i.title,
                was_on_loan: d.was_on_loan,
                overdue_days: d.overdue_days,
                fine_cents: if borrower.is_some() { d.fine } else { 0 },
                route: d.route,
                pickup_code,
                found: d.found,
            }),
        })
    }

    pub fn renew(
        &mut self,
        patron: &str,
        item: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome<RenewOk>> {
        let local = now.naive_local();
        let kiosk = self.author();
        let policies = self.policies.clone();
        let settings = self.settings.clone();
        let tx = self.begin()?;
        let p = find_patron(&tx, patron)?;
        let i = find_item(&tx, item)?;
        let result = match (&p, &i) {
            (None, _) => Err(Refusal::UnknownPatron),
            (_, None) => Err(Refusal::UnknownItem),
            (Some(p), Some(i)) => {
                let rule = policies.rule(&p.patron.category, &i.item.item_type);
                let loan = current_loan(&tx, i.item.id)?;
                let counts = loan_counts(&tx, p.patron.id, local)?;
                let holds = item_holds(&tx, i)?;
                domain::decide_renew(
                    &RenewContext {
                        patron: &p.patron,
                        item: &i.item,
                        rule,
                        settings: &settings,
                        loan: loan.as_ref().map(|(_, l)| l),
                        patron_loans: counts,
                        holds: &holds,
                    },
                    local,
                )
                .map(|d| (loan.map(|(id, _)| id).unwrap_or_default(), d))
            }
        };
        let item_code = i.as_ref().map(|i| i.barcode.as_str()).unwrap_or(item);
        let patron_code = p.as_ref().map(|p| p.barcode.as_str()).unwrap_or(patron);
        // The due date before: a renewal the upstream refuses later is
        // undone in the cache with it (`forget_refused_loans`).
        let mut previous_due: Option<String> = None;
        let result = match result {
            Ok((loan_id, d)) => {
                let (p, i) = (p.as_ref().expect("known"), i.as_ref().expect("known"));
                previous_due = tx
                    .query_row("SELECT due FROM loans WHERE id = ?1", [loan_id], |r| {
                        r.get(0)
                    })
                    .optional()?;
                tx.execute(
                    "UPDATE loans SET due = ?2, renewals = ?3 WHERE id = ?1",
                    params![loan_id, d.due.to_string(), d.renewals],
                )?;
                add_fee(&tx, p.patron.id, i.item.id, d.fine, now)?;
                Ok(RenewOk {
                    item: i.barcode.clone(),
                    title: i.title.clone(),
                    due: d.due,
                    renewals: d.renewals,
                    fine_cents: d.fine,
                })
            }
            Err(r) => Err(r),
        };
        let entry = NewEntry::new(EntryKind::Renew, Some(patron_code), Some(item_code))
            .due(result.as_ref().ok().map(|r| r.due.to_string()))
            .decided(&result, |r| {
                json!({"renewals": r.renewals, "fine_cents": r.fine_cents,
                       "previous_due": previous_due})
            });
        commit(tx, &kiosk, now, entry, result)
    }

    /// Renews every current loan of the reader, each decided on its own.
    pub fn renew_all(
        &mut self,
        patron: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<Outcome<RenewOk>>> {
        let items: Vec<String> = {
            let mut st = self.conn.prepare(
                "SELECT i.barcode FROM loans l JOIN items i ON i.id = l.item_id
                 JOIN patrons p ON p.id = l.patron_id
                 WHERE p.barcode = ?1 AND l.returned IS NULL ORDER BY l.due, i.barcode",
            )?;
            let rows = st
                .query_map([patron], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>();
            rows?
        };
        items
            .iter()
            .map(|item| self.renew(patron, item, now))
            .collect()
    }

    /// Places a hold (reservation) on the title of `item`, or on the copy.
    pub fn place_hold(
        &mut self,
        patron: &str,
        item: &str,
        level: HoldLevel,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome<HoldOk>> {
        let local = now.naive_local();
        let kiosk = self.author();
        let policies = self.policies.clone();
        let tx = self.begin()?;
        let p = find_patron(&tx, patron)?;
        let i = find_item(&tx, item)?;
        let result = match (&p, &i) {
            (None, _) => Err(Refusal::UnknownPatron),
            (_, None) => Err(Refusal::UnknownItem),
            (Some(p), Some(i)) => {
                let rule = policies.rule(&p.patron.category, &i.item.item_type);
                let counts = loan_counts(&tx, p.patron.id, local)?;
                let holds = item_holds(&tx, i)?;
                let open_holds: u32 = tx.query_row(
                    "SELECT count(*) FROM holds WHERE patron_id = ?1 AND status IN ('waiting','ready')",
                    [p.patron.id],
                    |r| r.get(0),
                )?;
                let already_holds: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM holds WHERE patron_id = ?1 AND title_key = ?2 AND status IN ('waiting','ready'))",
                    params![p.patron.id, i.title_key],
                    |r| r.get(0),
                )?;
                let on_loan_due = patron_title_due(&tx, p.patron.id, &i.title_key)?;
                let has_on_loan = on_loan_due.is_some();
                domain::decide_hold(
                    &HoldContext {
                        patron: &p.patron,
                        item: &i.item,
                        rule,
                        patron_loans: counts,
                        open_holds,
                        already_holds,
                        has_on_loan,
                        holds: &holds,
                    },
                    local,
                )
                // The domain knows only that the reader has it; the reader
                // is told until when.
                .map_err(|r| match r {
                    Refusal::AlreadyOnLoanToYou { due } if due.is_empty() => {
                        Refusal::AlreadyOnLoanToYou {
                            due: on_loan_due.unwrap_or_default(),
                        }
                    }
                    r => r,
                })
            }
        };
        let item_code = i.as_ref().map(|i| i.barcode.clone()).unwrap_or(item.into());
        let patron_code = p
            .as_ref()
            .map(|p| p.barcode.clone())
            .unwrap_or(patron.into());
        let result = match result {
            Ok(()) => {
                let (p, i) = (p.as_ref().expect("known"), i.as_ref().expect("known"));
                tx.execute(
                    "INSERT INTO holds (patron_id, item_id, title_key, placed) VALUES (?1, ?2, ?3, ?4)",
                    params![
                        p.patron.id,
                        (level == HoldLevel::Item).then_some(i.item.id),
                        i.title_key,
                        stamp(now)
                    ],
                )?;
                let queue_position: i64 = tx.query_row(
                    "SELECT count(*) FROM holds WHERE title_key = ?1 AND status = 'waiting'",
                    [&i.title_key],
                    |r| r.get(0),
                )?;
                Ok(HoldOk {
                    item: i.barcode.clone(),
                    title: i.title.clone(),
                    level,
                    queue_position,
                })
            }
            Err(r) => Err(r),
        };
        let entry = NewEntry::new(EntryKind::HoldPlaced, Some(&patron_code), Some(&item_code))
            .decided(
                &result,
                |h| json!({"level": h.level, "queue_position": h.queue_position}),
            );
        commit(tx, &kiosk, now, entry, result)
    }

    /// Cancels the reader's open hold on the title of `item`. A ready copy
    /// goes back into circulation (or to the next reader at the next return).
    pub fn cancel_hold(
        &mut self,
        patron: &str,
        item: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome<String>> {
        let kiosk = self.author();
        let tx = self.begin()?;
        let p = find_patron(&tx, patron)?;
        let i = find_item(&tx, item)?;
        let result = match (&p, &i) {
            (None, _) => Err(Refusal::UnknownPatron),
            (_, None) => Err(Refusal::UnknownItem),
            (Some(p), Some(i)) => {
                let hold: Option<(i64, Option<i64>)> = tx
                    .query_row(
                        "SELECT id, ready_item_id FROM holds WHERE patron_id = ?1 AND title_key = ?2
                         AND status IN ('waiting','ready') ORDER BY placed LIMIT 1",
                        params![p.patron.id, i.title_key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                match hold {
                    None => Err(Refusal::HoldNotFound),
                    Some((id, ready_item)) => {
                        tx.execute(
                            "UPDATE holds SET status = 'cancelled', closed = ?2 WHERE id = ?1",
                            params![id, stamp(now)],
                        )?;
                        if let Some(ready_item) = ready_item {
                            tx.execute(
                                "UPDATE items SET status = 'available', updated_at = ?2 WHERE id = ?1 AND status = 'on_hold_shelf'",
                                params![ready_item, stamp(now)],
                            )?;
                        }
                        Ok(i.title.clone())
                    }
                }
            }
        };
        let item_code = i.as_ref().map(|i| i.barcode.clone()).unwrap_or(item.into());
        let patron_code = p
            .as_ref()
            .map(|p| p.barcode.clone())
            .unwrap_or(patron.into());
        let entry = NewEntry::new(
            EntryKind::HoldCancelled,
            Some(&patron_code),
            Some(&item_code),
        )
        .decided(&result, |_| json!({}));
        commit(tx, &kiosk, now, entry, result)
    }

    /// A reader's loans, holds and fines.
    pub fn account(&self, patron: &str, now: DateTime<FixedOffset>) -> Result<Option<Account>> {
        let local = now.naive_local();
        let Some(p) = find_patron(&self.conn, patron)? else {
            return Ok(None);
        };
        let mut st = self.conn.prepare(
            "SELECT i.barcode, i.title, i.author, l.due, l.renewals FROM loans l
             JOIN items i ON i.id = l.item_id WHERE l.patron_id = ?1 AND l.returned IS NULL
             ORDER BY l.due, i.barcode",
        )?;
        let loans = st
            .query_map([p.patron.id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u32>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .map(|(item, title, author, due, renewals)| {
                let due = Due::parse(&due)
                    .ok_or_else(|| StoreError::Corrupt(format!("loan due {due:?}")))?;
                Ok(AccountLoan {
                    item,
                    title,
                    author,
                    overdue: due.is_overdue(local),
                    due,
                    renewals,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut st = self.conn.prepare(
            "SELECT h.status, h.pickup_code, h.pickup_by, h.placed,
                    (SELECT title FROM items WHERE id = COALESCE(h.ready_item_id, h.item_id)),
                    (SELECT title FROM items WHERE isbn IS NOT NULL AND 'isbn:' || isbn = h.title_key LIMIT 1),
                    h.title_key,
                    (SELECT count(*) FROM holds q WHERE q.title_key = h.title_key AND q.status = 'waiting'
                       AND (q.placed < h.placed OR (q.placed = h.placed AND q.id <= h.id))),
                    COALESCE((SELECT barcode FROM items WHERE id = COALESCE(h.ready_item_id, h.item_id)),
                             (SELECT barcode FROM items WHERE isbn IS NOT NULL AND 'isbn:' || isbn = h.title_key LIMIT 1))
             FROM holds h WHERE h.patron_id = ?1 AND h.status IN ('waiting','ready')
             ORDER BY h.status DESC, h.placed",
        )?;
        let holds = st
            .query_map([p.patron.id], |r| {
                let status: String = r.get(0)?;
                let title: Option<String> = r.get(4)?;
                let by_isbn: Option<String> = r.get(5)?;
                let key: String = r.get(6)?;
                let title = title.or(by_isbn).unwrap_or_else(|| {
                    key.strip_prefix("title:")
                        .and_then(|k| k.split('|').next())
                        .unwrap_or(&key)
                        .to_string()
                });
                Ok((
                    AccountHold {
                        item: r.get(8)?,
                        queue_position: (status == "waiting").then(|| r.get(7)).transpose()?,
                        pickup_code: r.get(1)?,
                        pickup_by: r.get(2)?,
                        placed: r.get(3)?,
                        status,
                        title,
                    },
                    key,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // A title-level hold without an ISBN: find a copy by its title key
        // (computed here, as when the hold was placed).
        let mut holds = holds;
        for (h, key) in holds.iter_mut().filter(|(h, _)| h.item.is_none()) {
            let mut st = self.conn.prepare_cached(
                "SELECT barcode, isbn, title, author FROM items WHERE lower(trim(title)) = lower(trim(?1))",
            )?;
            let copies = st.query_map([&h.title], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?;
            for c in copies {
                let (barcode, isbn, title, author) = c?;
                if *key == title_key(isbn.as_deref(), &title, &author) {
                    h.item = Some(barcode);
                    break;
                }
            }
        }
        let holds: Vec<AccountHold> = holds.into_iter().map(|(h, _)| h).collect();
        Ok(Some(Account {
            name: p.name,
            category: p.patron.category,
            expires: p.patron.expires,
            blocked: p.patron.blocked,
            fines_owed_cents: p.patron.fines_owed,
            loans,
            holds,
        }))
    }

    /// Records a reader's rating (1–5) and optional comment.
    pub fn record_feedback(
        &mut self,
        patron: Option<&str>,
        rating: u8,
        topics: &[String],
        comment: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<EntryRef> {
        if !(1..=5).contains(&rating) {
            return Err(StoreError::Input(format!(
                "a rating is 1 to 5, not {rating}"
            )));
        }
        let comment = comment.map(|c| c.chars().take(1000).collect::<String>());
        let kiosk = self.author();
        let tx = self.begin()?;
        let entry = append(
            &tx,
            &kiosk,
            now,
            NewEntry::new(EntryKind::Feedback, patron, None)
                .detail(json!({"rating": rating, "topics": topics, "comment": comment})),
        )?;
        tx.commit()?;
        Ok(entry)
    }

    /// Records that a tag's security (AFI) could not be set after a
    /// committed loan or return, so staff see it (journal kind `security`,
    /// refused, reason `afi_write_failed`) and it syncs like any entry.
    pub fn record_security_failure(
        &mut self,
        item: &str,
        uid: &str,
        afi: u8,
        device: &str,
        error: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<EntryRef> {
        let kiosk = self.author();
        let tx = self.begin()?;
        let mut entry = NewEntry::new(EntryKind::Security, None, Some(item)).detail(json!({
            "uid": uid,
            "afi": format!("{afi:02X}"),
            "device": device,
            "error": error,
        }));
        entry.refusal = Some("afi_write_failed");
        let entry = append(&tx, &kiosk, now, entry)?;
        tx.commit()?;
        Ok(entry)
    }

    /// Whether `code` is a known patron, a known item, or neither (for
    /// telling readers they scanned a book where a card was expected).
    pub fn classify(&self, code: &str) -> Result<Scanned> {
        if find_patron(&self.conn, code)?.is_some() {
            return Ok(Scanned::Patron);
        }
        if find_item(&self.conn, code)?.is_some() {
            return Ok(Scanned::Item);
        }
        Ok(Scanned::Unknown)
    }

    /// Title and author of an item in the cache; None if unknown.
    pub fn item_title(&self, barcode: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT title, author FROM items WHERE barcode = ?1",
                [barcode],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Display name of a patron (greeting); None if unknown.
    pub fn patron_name(&self, barcode: &str) -> Result<Option<String>> {
        Ok(find_patron(&self.conn, barcode)?.map(|p| p.name))
    }

    /// The e-mail address on a reader's record (for an e-mailed receipt);
    /// None if unknown or without one.
    pub fn patron_email(&self, barcode: &str) -> Result<Option<String>> {
        let email: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT email FROM patrons WHERE barcode = ?1",
                [barcode],
                |r| r.get(0),
            )
            .optional()?;
        Ok(email.flatten().filter(|e| e.contains('@')))
    }

    /// The reader's preferred language (the `language` column of the
    /// patrons CSV), for the screen to switch to when they identify; None
    /// when unknown or not one the kiosk speaks.
    pub fn patron_language(&self, barcode: &str) -> Result<Option<crate::domain::Lang>> {
        let tag: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT language FROM patrons WHERE barcode = ?1",
                [barcode],
                |r| r.get(0),
            )
            .optional()?;
        Ok(tag.flatten().and_then(|t| crate::domain::Lang::parse(&t)))
    }
}

/// What `Store::classify` takes a code for (the kiosk's rules on it:
/// `domain::session`).
pub use crate::domain::session::Scanned;

/// The due date (as a reader reads it) of the reader's current loan of
/// this title, if they have one.
fn patron_title_due(conn: &Connection, patron_id: i64, title_key_: &str) -> Result<Option<String>> {
    // Loans are few per reader: compute title keys in Rust rather than
    // duplicating the key rule in SQL.
    let mut st = conn.prepare_cached(
        "SELECT i.isbn, i.title, i.author, l.due FROM loans l JOIN items i ON i.id = l.item_id
         WHERE l.patron_id = ?1 AND l.returned IS NULL ORDER BY l.due",
    )?;
    let mut rows = st.query([patron_id])?;
    while let Some(r) = rows.next()? {
        let isbn: Option<String> = r.get(0)?;
        let title: String = r.get(1)?;
        let author: String = r.get(2)?;
        let due: String = r.get(3)?;
        if title_key(isbn.as_deref(), &title, &author) == title_key_ {
            let shown = Due::parse(&due).map(|d| d.to_string()).unwrap_or(due);
            return Ok(Some(shown));
        }
    }
    Ok(None)
}
