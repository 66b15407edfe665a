//! What the server does, written once over [`Sql`] so SQLite and
//! PostgreSQL behave the same: applying pushed journal entries (at most
//! once, in seq order per kiosk, conflicts recorded), online decisions,
//! the changes feed, lookups, recommendations and statistics.
//!
//! Circulation rules come from `domain` (the same `decide_*` functions the
//! kiosk runs); this file only loads their inputs and writes their effects.
//! It must never read the clock: callers pass `now`.

use super::sql::{Row, Sql, Val};
use super::CentralError;
use crate::central_params as p;
use crate::domain::policy::DEFAULT;
use crate::domain::{
    self, CheckinContext, CheckoutContext, CurrentLoan, Due, HoldContext, HoldRef, Item, ItemHolds,
    ItemStatus, LoanCounts, Patron, PolicyTable, Refusal, RenewContext, Route, Rule, Settings,
};
use crate::protocol::*;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

type Result<T> = std::result::Result<T, CentralError>;

pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Title-level holds name the title by ISBN, or by title and author
/// (the kiosk's own keys).
pub use crate::domain::title_key;

// ---------------------------------------------------------------------------
// Changes feed

/// Records that a record changed; the feed is written once per record at
/// the end of the transaction (`flush_changes`), or when many are waiting
/// (a large import).
async fn changed<S: Sql>(tx: &mut S, entity: &str, key: &str, op: &'static str) -> Result<()> {
    tx.pending().add(entity, key, op);
    if tx.pending().len() >= FLUSH_AT {
        flush_changes(tx).await?;
    }
    Ok(())
}

/// Pending changes past which they are written before the commit.
const FLUSH_AT: usize = 20_000;
/// Keys per statement when writing the feed.
const FLUSH_ROWS: usize = 250;

/// Writes the changes recorded in this transaction to the feed: each
/// record's old row goes, a new one (a new, higher number) comes. Both
/// backends call it before every commit.
pub async fn flush_changes<S: Sql>(tx: &mut S) -> Result<()> {
    let rows = tx.pending().take();
    if rows.is_empty() {
        return Ok(());
    }
    let mut by_entity: Vec<(&str, Vec<&str>)> = vec![];
    for (entity, key, _) in &rows {
        match by_entity.iter_mut().find(|(e, _)| e == entity) {
            Some((_, keys)) => keys.push(key),
            None => by_entity.push((entity, vec![key])),
        }
    }
    for (entity, keys) in by_entity {
        for chunk in keys.chunks(FLUSH_ROWS) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "DELETE FROM changes WHERE entity = $1 AND key IN ({})",
                marks.join(", ")
            );
            let mut params = vec![Val::from(entity)];
            params.extend(chunk.iter().map(|k| Val::from(*k)));
            tx.exec(&sql, &params).await?;
        }
    }
    for chunk in rows.chunks(FLUSH_ROWS) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO changes (entity, key, op) VALUES {}",
            marks.join(", ")
        );
        let params: Vec<Val> = chunk
            .iter()
            .flat_map(|(e, k, op)| [Val::from(e), Val::from(k), Val::from(*op)])
            .collect();
        tx.exec(&sql, &params).await?;
    }
    Ok(())
}

pub async fn changes<S: Sql>(tx: &mut S, cursor: &str, limit: u32) -> Result<ChangesPage> {
    let after: i64 = match cursor.trim() {
        "" => 0,
        c => c
            .parse()
            .map_err(|_| CentralError::BadRequest(format!("cursor {c:?} is not a number")))?,
    };
    let limit = limit.clamp(1, 5000) as i64;
    // This transaction's own changes first (none when only reading).
    flush_changes(tx).await?;
    // Readers, items and loans (nearly all of a first pull) come with
    // their change in one query; the rarer kinds are read one by one.
    let rows = tx
        .query(
            &format!(
                "SELECT c.seq, c.entity, c.key, c.op, {}, {}, l.item, l.patron, l.checked_out, l.due, l.renewals,
                   (SELECT pl.language FROM patron_languages pl WHERE pl.barcode = p.barcode)
                 FROM changes c
                 LEFT JOIN patrons p ON c.entity = 'patron' AND c.op = 'upsert' AND p.barcode = c.key
                 LEFT JOIN items i ON c.entity = 'item' AND c.op = 'upsert' AND i.barcode = c.key
                 LEFT JOIN loans l ON c.entity = 'loan' AND c.op = 'upsert' AND l.item = c.key
                   AND l.returned IS NULL
                 WHERE c.seq > $1 ORDER BY c.seq LIMIT $2",
                prefixed("p", PATRON_COLS),
                prefixed("i", ITEM_COLS),
            ),
            p![after, limit],
        )
        .await?;
    const P: usize = 4;
    const I: usize = P + 8;
    const L: usize = I + 10;
    let mut out = Vec::with_capacity(rows.len());
    let mut last = after;
    for r in rows {
        last = r.i(0);
        let (entity, key, op) = (r.s(1), r.s(2), r.s(3));
        let record = match (op.as_str(), entity.as_str()) {
            ("upsert", "patron") => r.os(P).map(|_| {
                Record::Patron(PatronRecord {
                    language: r.os(L + 5),
                    ..patron_row(&r.from(P))
                })
            }),
            ("upsert", "item") => r.os(I).map(|_| Record::Item(item_row(&r.from(I)))),
            ("upsert", "loan") => r.os(L).map(|_| {
                Record::Loan(LoanRecord {
                    item: r.s(L),
                    patron: r.s(L + 1),
                    checked_out: r.s(L + 2),
                    due: r.s(L + 3),
                    renewals: r.i(L + 4).max(0) as u32,
                })
            }),
            ("upsert", _) => record(tx, &entity, &key).await?,
            _ => None,
        };
        out.push(match record {
            Some(record) => Change::Upsert { record },
            None => Change::Delete { entity, key },
        });
    }
    // Counting what follows reads every row after the cursor, once per
    // page: a first pull of a million records spent most of its time
    // there. The numbers after the cursor up to the highest are an upper
    // bound (a renumbered record leaves a gap), exact for a fresh import,
    // and `more` stays exact.
    let remaining = match tx
        .query_opt(
            "SELECT seq FROM changes WHERE seq > $1 ORDER BY seq LIMIT 1",
            p![last],
        )
        .await?
    {
        None => 0,
        Some(_) => {
            let max = tx
                .query_one("SELECT max(seq) FROM changes", p![])
                .await?
                .i(0);
            (max - last).max(1) as u64
        }
    };
    Ok(ChangesPage {
        changes: out,
        cursor: last.to_string(),
        more: remaining > 0,
        remaining: Some(remaining),
    })
}

/// `a, b` → `x.a, x.b`.
fn prefixed(table: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The current state of a record of the rarer kinds (readers, items and
/// loans come joined with the feed in `changes`).
async fn record<S: Sql>(tx: &mut S, entity: &str, key: &str) -> Result<Option<Record>> {
    Ok(match entity {
        "hold" => match key.parse::<i64>() {
            Ok(id) => hold(tx, id).await?.map(Record::Hold),
            Err(_) => None,
        },
        "policy" => {
            let (c, t) = key.split_once('|').unwrap_or((key, ""));
            tx.query_opt(
                "SELECT rule FROM policies WHERE category = $1 AND item_type = $2",
                p![c, t],
            )
            .await?
            .and_then(|r| serde_json::from_str(&r.s(0)).ok())
            .map(Record::Policy)
        }
        "closed_day" => tx
            .query_opt("SELECT day FROM closed_days WHERE day = $1", p![key])
            .await?
            .map(|r| Record::ClosedDay { day: r.s(0) }),
        "resolution" => resolution(tx, key).await?.map(Record::Resolution),
        _ => None,
    })
}

// ---------------------------------------------------------------------------
// Records

const PATRON_COLS: &str =
    "barcode, name, category, expires, pin_hash, email, blocked, fines_owed_cents";

fn patron_row(r: &Row) -> PatronRecord {
    PatronRecord {
        barcode: r.s(0),
        name: r.s(1),
        category: r.s(2),
        expires: r.os(3),
        pin_hash: r.os(4),
        email: r.os(5),
        blocked: r.os(6).filter(|b| !b.is_empty()),
        fines_owed_cents: r.i(7),
        // Kept apart (patron_languages); the feed and `patron` add it.
        language: None,
    }
}

pub async fn patron<S: Sql>(tx: &mut S, barcode: &str) -> Result<Option<PatronRecord>> {
    Ok(tx
        .query_opt(
            &format!(
                "SELECT {PATRON_COLS},
                   (SELECT pl.language FROM patron_languages pl WHERE pl.barcode = patrons.barcode)
                 FROM patrons WHERE barcode = $1"
            ),
            p![barcode],
        )
        .await?
        .map(|r| PatronRecord {
            language: r.os(8),
            ..patron_row(&r)
        }))
}

const ITEM_COLS: &str =
    "barcode, rfid_uid, title, author, isbn, item_type, parts, status, location, title_key";

fn item_row(r: &Row) -> ItemRecord {
    ItemRecord {
        barcode: r.s(0),
        rfid_uid: r.os(1),
        title: r.s(2),
        author: r.s(3),
        isbn: r.os(4),
        item_type: r.s(5),
        parts: r.i(6).clamp(1, 255) as u8,
        status: r.s(7),
        location: r.os(8),
    }
}

/// An item by barcode or RFID UID.
pub async fn item<S: Sql>(tx: &mut S, code: &str) -> Result<Option<ItemRecord>> {
    Ok(item_with_key(tx, code).await?.map(|(i, _)| i))
}

async fn item_with_key<S: Sql>(tx: &mut S, code: &str) -> Result<Option<(ItemRecord, String)>> {
    let mut row = tx
        .query_opt(
            &format!("SELECT {ITEM_COLS} FROM items WHERE barcode = $1"),
            p![code],
        )
        .await?;
    if row.is_none() {
        row = tx
            .query_opt(
                &format!("SELECT {ITEM_COLS} FROM items WHERE rfid_uid = $1"),
                p![code.to_uppercase()],
            )
            .await?;
    }
    Ok(row.map(|r| (item_row(&r), r.s(9))))
}

async fn current_loan<S: Sql>(tx: &mut S, item: &str) -> Result<Option<(i64, LoanRecord)>> {
    Ok(tx
        .query_opt(
            "SELECT id, item, patron, checked_out, due, renewals FROM loans
             WHERE item = $1 AND returned IS NULL",
            p![item],
        )
        .await?
        .map(|r| {
            (
                r.i(0),
                LoanRecord {
                    item: r.s(1),
                    patron: r.s(2),
                    checked_out: r.s(3),
                    due: r.s(4),
                    renewals: r.i(5).max(0) as u32,
                },
            )
        }))
}

/// An item by barcode or RFID UID with its title key and its current
/// loan (with the borrower's category), in one query.
#[allow(clippy::type_complexity)]
async fn item_with_loan<S: Sql>(
    tx: &mut S,
    code: &str,
) -> Result<
    Option<(
        ItemRecord,
        String,
        Option<(i64, LoanRecord, Option<String>)>,
    )>,
> {
    const SQL: &str =
        "SELECT i.barcode, i.rfid_uid, i.title, i.author, i.isbn, i.item_type, i.parts,
            i.status, i.location, i.title_key,
            l.id, l.patron, l.checked_out, l.due, l.renewals, b.category
         FROM items i
         LEFT JOIN loans l ON l.item = i.barcode AND l.returned IS NULL
         LEFT JOIN patrons b ON b.barcode = l.patron";
    let mut row = tx
        .query_opt(&format!("{SQL} WHERE i.barcode = $1"), p![code])
        .await?;
    if row.is_none() {
        row = tx
            .query_opt(
                &format!("{SQL} WHERE i.rfid_uid = $1"),
                p![code.to_uppercase()],
            )
            .await?;
    }
    Ok(row.map(|r| {
        let item = item_row(&r);
        let loan = r.oi(10).map(|id| {
            (
                id,
                LoanRecord {
                    item: item.barcode.clone(),
                    patron: r.s(11),
                    checked_out: r.s(12),
                    due: r.s(13),
                    renewals: r.i(14).max(0) as u32,
                },
                r.os(15),
            )
        });
        (item, r.s(9), loan)
    }))
}

const HOLD_COLS: &str =
    "id, patron, item, title_key, status, placed, ready_item, pickup_code, pickup_by";

fn hold_row(r: &Row) -> HoldRecord {
    HoldRecord {
        id: r.i(0),
        patron: r.s(1),
        item: r.os(2),
        title_key: r.s(3),
        status: r.s(4),
        placed: r.s(5),
        ready_item: r.os(6),
        pickup_code: r.os(7),
        pickup_by: r.os(8),
    }
}

async fn hold<S: Sql>(tx: &mut S, id: i64) -> Result<Option<HoldRecord>> {
    Ok(tx
        .query_opt(
            &format!("SELECT {HOLD_COLS} FROM holds WHERE id = $1"),
            p![id],
        )
        .await?
        .map(|r| hold_row(&r)))
}

/// Current loans, of one reader or all (CLI `loans`).
pub async fn loans<S: Sql>(tx: &mut S, patron: Option<&str>) -> Result<Vec<LoanRecord>> {
    let rows = tx
        .query(
            "SELECT item, patron, checked_out, due, renewals FROM loans
             WHERE returned IS NULL AND (CAST($1 AS TEXT) IS NULL OR patron = $1) ORDER BY due, item",
            p![patron],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| LoanRecord {
            item: r.s(0),
            patron: r.s(1),
            checked_out: r.s(2),
            due: r.s(3),
            renewals: r.i(4).max(0) as u32,
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Import and administration

/// Inserts or updates a reader from an import; true when new. An empty
/// `pin_hash` keeps the stored one; fines are the ILS's truth.
pub async fn upsert_patron<S: Sql>(tx: &mut S, p: &PatronRecord, now: &str) -> Result<bool> {
    tx.lock_writes().await?;
    let existing = patron(tx, &p.barcode).await?;
    let is_new = existing.is_none();
    let keep = p.fines_owed_cents == super::import::KEEP_FINES;
    let mut p = p.clone();
    if keep {
        p.fines_owed_cents = existing.as_ref().map_or(0, |e| e.fines_owed_cents);
    }
    let p = &p;
    match existing {
        None => {
            tx.exec(
                &format!(
                    "INSERT INTO patrons ({PATRON_COLS}, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)"
                ),
                p![
                    &p.barcode,
                    &p.name,
                    &p.category,
                    &p.expires,
                    &p.pin_hash,
                    &p.email,
                    &p.blocked,
                    p.fines_owed_cents,
                    now
                ],
            )
            .await?;
        }
        Some(old) => {
            let fines_delta = p.fines_owed_cents - old.fines_owed_cents;
            if fines_delta != 0 {
                tx.exec(
                    "INSERT INTO fees (patron, kind, amount_cents, created) VALUES ($1, 'imported', $2, $3)",
                    p![&p.barcode, fines_delta, now],
                )
                .await?;
            }
            tx.exec(
                "UPDATE patrons SET name = $2, category = $3, expires = $4,
                   pin_hash = COALESCE($5, pin_hash), email = COALESCE($6, email),
                   blocked = $7, fines_owed_cents = $8, updated = $9 WHERE barcode = $1",
                p![
                    &p.barcode,
                    &p.name,
                    &p.category,
                    &p.expires,
                    &p.pin_hash,
                    &p.email,
                    &p.blocked,
                    p.fines_owed_cents,
                    now
                ],
            )
            .await?;
        }
    }
    changed(tx, "patron", &p.barcode, "upsert").await?;
    Ok(is_new)
}

/// Inserts or updates an item; never overwrites circulation state (an item
/// on loan or on the hold shelf keeps its status).
pub async fn upsert_item<S: Sql>(tx: &mut S, i: &ItemRecord, now: &str) -> Result<bool> {
    tx.lock_writes().await?;
    if let Some(uid) = &i.rfid_uid {
        if let Some(r) = tx
            .query_opt(
                "SELECT barcode FROM items WHERE rfid_uid = $1 AND barcode <> $2",
                p![uid, &i.barcode],
            )
            .await?
        {
            // The whole import is rolled back: better than half a catalogue.
            return Err(CentralError::BadRequest(format!(
                "item {}: RFID UID {uid} is already used by item {}; nothing was imported",
                i.barcode,
                r.s(0)
            )));
        }
    }
    let key = title_key(i.isbn.as_deref(), &i.title, &i.author);
    let exists = tx
        .query_opt(
            "SELECT status FROM items WHERE barcode = $1",
            p![&i.barcode],
        )
        .await?;
    match &exists {
        None => {
            tx.exec(
                &format!(
                    "INSERT INTO items ({ITEM_COLS}, updated) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
                ),
                p![
                    &i.barcode,
                    &i.rfid_uid,
                    &i.title,
                    &i.author,
                    &i.isbn,
                    &i.item_type,
                    i.parts as i64,
                    &i.status,
                    &i.location,
                    key,
                    now
                ],
            )
            .await?;
        }
        Some(r) => {
            let old = r.s(0);
            let status = if old == "on_loan" || old == "on_hold_shelf" {
                old
            } else {
                i.status.clone()
            };
            tx.exec(
                "UPDATE items SET rfid_uid = $2, title = $3, author = $4, isbn = $5, item_type = $6,
                   parts = $7, status = $8, location = COALESCE($9, location), title_key = $10,
                   updated = $11 WHERE barcode = $1",
                p![
                    &i.barcode,
                    &i.rfid_uid,
                    &i.title,
                    &i.author,
                    &i.isbn,
                    &i.item_type,
                    i.parts as i64,
                    status,
                    &i.location,
                    key,
                    now
                ],
            )
            .await?;
        }
    }
    changed(tx, "item", &i.barcode, "upsert").await?;
    Ok(exists.is_none())
}

/// Replaces the policy table and the closed days, recording a change only
/// for what differs.
pub async fn set_policies<S: Sql>(
    tx: &mut S,
    rules: &[PolicyRecord],
    closed_days: &[String],
) -> Result<()> {
    tx.lock_writes().await?;
    let old: BTreeMap<(String, String), String> = tx
        .query("SELECT category, item_type, rule FROM policies", p![])
        .await?
        .iter()
        .map(|r| ((r.s(0), r.s(1)), r.s(2)))
        .collect();
    let mut keep = BTreeSet::new();
    for rule in rules {
        let k = (rule.category.clone(), rule.item_type.clone());
        let text = serde_json::to_string(rule).map_err(|e| CentralError::Corrupt(e.to_string()))?;
        keep.insert(k.clone());
        if old.get(&k) == Some(&text) {
            continue;
        }
        tx.exec(
            "DELETE FROM policies WHERE category = $1 AND item_type = $2",
            p![&k.0, &k.1],
        )
        .await?;
        tx.exec(
            "INSERT INTO policies (category, item_type, rule) VALUES ($1, $2, $3)",
            p![&k.0, &k.1, text],
        )
        .await?;
        changed(tx, "policy", &format!("{}|{}", k.0, k.1), "upsert").await?;
    }
    for k in old.keys().filter(|k| !keep.contains(*k)) {
        tx.exec(
            "DELETE FROM policies WHERE category = $1 AND item_type = $2",
            p![&k.0, &k.1],
        )
        .await?;
        changed(tx, "policy", &format!("{}|{}", k.0, k.1), "delete").await?;
    }
    let old_days: BTreeSet<String> = tx
        .query("SELECT day FROM closed_days", p![])
        .await?
        .iter()
        .map(|r| r.s(0))
        .collect();
    let new_days: BTreeSet<String> = closed_days.iter().cloned().collect();
    for d in new_days.difference(&old_days) {
        tx.exec("INSERT INTO closed_days (day) VALUES ($1)", p![d])
            .await?;
        changed(tx, "closed_day", d, "upsert").await?;
    }
    for d in old_days.difference(&new_days) {
        tx.exec("DELETE FROM closed_days WHERE day = $1", p![d])
            .await?;
        changed(tx, "closed_day", d, "delete").await?;
    }
    Ok(())
}

pub fn policy_record(category: &str, item_type: &str, r: &Rule) -> PolicyRecord {
    PolicyRecord {
        category: category.into(),
        item_type: item_type.into(),
        loan_days: r.loan_days,
        loan_hours: r.loan_hours,
        max_loans: r.max_loans,
        max_renewals: r.max_renewals,
        renewal_days: r.renewal_days,
        fine_per_day_cents: r.fine_per_day,
        fine_cap_cents: r.fine_cap,
        block_fines_cents: r.block_fines,
        block_overdue: r.block_overdue,
        max_holds: r.max_holds,
        loanable: r.loanable,
    }
}

fn rule_of(p: &PolicyRecord) -> Rule {
    Rule {
        loan_days: p.loan_days,
        loan_hours: p.loan_hours,
        max_loans: p.max_loans,
        max_renewals: p.max_renewals,
        renewal_days: p.renewal_days,
        fine_per_day: p.fine_per_day_cents,
        fine_cap: p.fine_cap_cents,
        block_fines: p.block_fines_cents,
        block_overdue: p.block_overdue,
        max_holds: p.max_holds,
        loanable: p.loanable,
    }
}

/// The policy table and the settings with the stored closed days added.
async fn rules<S: Sql>(tx: &mut S, base: &Settings) -> Result<(PolicyTable, Settings)> {
    let rows = tx.query("SELECT rule FROM policies", p![]).await?;
    let table = PolicyTable::new(rows.iter().filter_map(|r| {
        let p: PolicyRecord = serde_json::from_str(&r.s(0)).ok()?;
        Some((p.category.clone(), p.item_type.clone(), rule_of(&p)))
    }));
    let mut settings = base.clone();
    for r in tx.query("SELECT day FROM closed_days", p![]).await? {
        if let Ok(d) = NaiveDate::parse_from_str(&r.s(0), "%Y-%m-%d") {
            settings.calendar.closed_days.insert(d);
        }
    }
    Ok((table, settings))
}

/// Registers a kiosk's token (its hash) and returns whether the kiosk is new.
pub async fn set_token<S: Sql>(tx: &mut S, kiosk: &str, hash: &str, now: &str) -> Result<bool> {
    tx.lock_writes().await?;
    let n = tx
        .exec(
            "UPDATE kiosks SET token_hash = $2 WHERE kiosk_id = $1",
            p![kiosk, hash],
        )
        .await?;
    if n == 0 {
        tx.exec(
            "INSERT INTO kiosks (kiosk_id, token_hash, created) VALUES ($1, $2, $3)",
            p![kiosk, hash, now],
        )
        .await?;
    }
    Ok(n == 0)
}

pub async fn kiosk_for_token<S: Sql>(tx: &mut S, hash: &str) -> Result<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT kiosk_id FROM kiosks WHERE token_hash = $1",
            p![hash],
        )
        .await?
        .map(|r| r.s(0)))
}

// ---------------------------------------------------------------------------
// The domain's view of the state around one entry

/// Domain ids are numbers; the server keys readers by barcode, so each
/// snapshot numbers the readers it meets.
#[derive(Default)]
struct Ids(HashMap<String, i64>);

impl Ids {
    fn of(&mut self, barcode: &str) -> i64 {
        let n = self.0.len() as i64 + 1;
        *self.0.entry(barcode.to_string()).or_insert(n)
    }
}

struct Snap {
    ids: Ids,
    patron: Option<(PatronRecord, Patron)>,
    item: Option<(ItemRecord, Item, String)>,
    loan: Option<(i64, LoanRecord, CurrentLoan)>,
    counts: LoanCounts,
    holds: ItemHolds,
    rule: Rule,
}

impl Snap {
    fn item_code(&self) -> Option<&str> {
        self.item.as_ref().map(|(i, _, _)| i.barcode.as_str())
    }
}

fn parse_day(s: &Option<String>) -> Option<NaiveDate> {
    s.as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

async fn snapshot<S: Sql>(
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
            let p = patron_row(first);
            for r in &rows {
                let Some(due) = r.os(8) else { continue };
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
                    id: r.i(0),
                    patron: ids.of(&r.s(1)),
                    item_level: r.os(2).is_some(),
                };
                if r.s(3) == "ready" {
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

// ---------------------------------------------------------------------------
// Effects

async fn set_item_status<S: Sql>(tx: &mut S, item: &str, status: &str, at: &str) -> Result<()> {
    tx.exec(
        "UPDATE items SET status = $2, updated = $3 WHERE barcode = $1",
        p![item, status, at],
    )
    .await?;
    changed(tx, "item", item, "upsert").await
}

async fn add_fee<S: Sql>(tx: &mut S, patron: &str, item: &str, cents: i64, at: &str) -> Result<()> {
    if cents == 0 {
        return Ok(());
    }
    tx.exec(
        "INSERT INTO fees (patron, item, kind, amount_cents, created) VALUES ($1, $2, $3, $4, $5)",
        p![
            patron,
            item,
            if cents > 0 { "overdue" } else { "paid" },
            cents,
            at
        ],
    )
    .await?;
    tx.exec(
        "UPDATE patrons SET fines_owed_cents = fines_owed_cents + $2 WHERE barcode = $1",
        p![patron, cents],
    )
    .await?;
    changed(tx, "patron", patron, "upsert").await
}

async fn apply_checkout<S: Sql>(
    tx: &mut S,
    snap: &Snap,
    due: &str,
    fills_hold: Option<i64>,
    at: &str,
    e: &Entry,
) -> Result<()> {
    let (p, _) = snap.patron.as_ref().expect("checked");
    let (i, _, _) = snap.item.as_ref().expect("checked");
    tx.exec(
        "INSERT INTO loans (item, patron, checked_out, due, renewals, kiosk_id, entry_id)
         VALUES ($1, $2, $3, $4, 0, $5, $6)",
        p![
            &i.barcode,
            &p.barcode,
            at,
            due,
            &e.kiosk_id,
            e.id.to_string()
        ],
    )
    .await?;
    changed(tx, "loan", &i.barcode, "upsert").await?;
    set_item_status(tx, &i.barcode, "on_loan", at).await?;
    if let Some(h) = fills_hold {
        tx.exec(
            "UPDATE holds SET status = 'fulfilled', closed = $2, ready_item = $3 WHERE id = $1",
            p![h, at, &i.barcode],
        )
        .await?;
        changed(tx, "hold", &h.to_string(), "upsert").await?;
    }
    Ok(())
}

async fn pickup_code<S: Sql>(tx: &mut S) -> Result<String> {
    loop {
        let code = format!("{:06}", rand::random::<u32>() % 1_000_000);
        if tx
            .query_opt(
                "SELECT id FROM holds WHERE status = 'ready' AND pickup_code = $1",
                p![&code],
            )
            .await?
            .is_none()
        {
            return Ok(code);
        }
    }
}

/// Closes the loan, charges the fine, routes the item; returns the detail
/// the kiosk shows.
async fn apply_checkin<S: Sql>(
    tx: &mut S,
    snap: &Snap,
    d: &domain::CheckinDecision,
    at: &str,
) -> Result<serde_json::Value> {
    let (i, _, _) = snap.item.as_ref().expect("checked");
    let mut borrower = None;
    if let Some((id, l, _)) = &snap.loan {
        tx.exec("UPDATE loans SET returned = $2 WHERE id = $1", p![*id, at])
            .await?;
        changed(tx, "loan", &i.barcode, "delete").await?;
        add_fee(tx, &l.patron, &i.barcode, d.fine, at).await?;
        borrower = Some(l.patron.clone());
    }
    let mut code = None;
    let mut hold_for = None;
    if let Route::HoldShelf {
        hold: h, pickup_by, ..
    } = &d.route
    {
        let existing = tx
            .query_opt(
                "SELECT pickup_code, patron FROM holds WHERE id = $1 AND status = 'ready'",
                p![*h],
            )
            .await?;
        let c = match existing.as_ref().and_then(|r| r.os(0)) {
            Some(c) => c,
            None => {
                let c = pickup_code(tx).await?;
                tx.exec(
                    "UPDATE holds SET status = 'ready', ready_item = $2, pickup_code = $3, pickup_by = $4 WHERE id = $1",
                    p![*h, &i.barcode, &c, pickup_by.format("%Y-%m-%d").to_string()],
                )
                .await?;
                changed(tx, "hold", &h.to_string(), "upsert").await?;
                c
            }
        };
        hold_for = tx
            .query_opt("SELECT patron FROM holds WHERE id = $1", p![*h])
            .await?
            .map(|r| r.s(0));
        code = Some(c);
    }
    set_item_status(tx, &i.barcode, d.new_status.as_str(), at).await?;
    Ok(json!({
        "title": i.title,
        "borrower": borrower,
        "was_on_loan": d.was_on_loan,
        "overdue_days": d.overdue_days,
        "fine_cents": d.fine,
        "route": d.route,
        "pickup_code": code,
        "hold_for": hold_for,
        "found": d.found,
    }))
}

async fn apply_renew<S: Sql>(
    tx: &mut S,
    snap: &Snap,
    due: &str,
    renewals: u32,
    fine: i64,
    at: &str,
) -> Result<()> {
    let (id, l, _) = snap.loan.as_ref().expect("checked");
    tx.exec(
        "UPDATE loans SET due = $2, renewals = $3 WHERE id = $1",
        p![*id, due, renewals as i64],
    )
    .await?;
    changed(tx, "loan", &l.item, "upsert").await?;
    add_fee(tx, &l.patron, &l.item, fine, at).await
}

async fn open_hold<S: Sql>(
    tx: &mut S,
    patron: &str,
    key: &str,
) -> Result<Option<(i64, Option<String>)>> {
    Ok(tx
        .query_opt(
            "SELECT id, ready_item FROM holds WHERE patron = $1 AND title_key = $2
             AND status IN ('waiting','ready') ORDER BY placed, id",
            p![patron, key],
        )
        .await?
        .map(|r| (r.i(0), r.os(1))))
}

async fn apply_hold<S: Sql>(
    tx: &mut S,
    snap: &Snap,
    item_level: bool,
    at: &str,
) -> Result<serde_json::Value> {
    let (p, _) = snap.patron.as_ref().expect("checked");
    let (i, _, key) = snap.item.as_ref().expect("checked");
    tx.exec(
        "INSERT INTO holds (patron, item, title_key, status, placed) VALUES ($1, $2, $3, 'waiting', $4)",
        p![&p.barcode, item_level.then(|| i.barcode.clone()), key, at],
    )
    .await?;
    let id = open_hold(tx, &p.barcode, key)
        .await?
        .map(|h| h.0)
        .unwrap_or(0);
    changed(tx, "hold", &id.to_string(), "upsert").await?;
    let queue = tx
        .query_one(
            "SELECT count(*) FROM holds WHERE title_key = $1 AND status = 'waiting'",
            p![key],
        )
        .await?
        .i(0);
    Ok(
        json!({"level": if item_level {"item"} else {"title"}, "queue_position": queue, "hold_id": id}),
    )
}

async fn apply_cancel<S: Sql>(
    tx: &mut S,
    hold: i64,
    ready_item: Option<String>,
    at: &str,
) -> Result<()> {
    tx.exec(
        "UPDATE holds SET status = 'cancelled', closed = $2 WHERE id = $1",
        p![hold, at],
    )
    .await?;
    changed(tx, "hold", &hold.to_string(), "upsert").await?;
    if let Some(item) = ready_item {
        let n = tx
            .exec(
                "UPDATE items SET status = 'available', updated = $2 WHERE barcode = $1 AND status = 'on_hold_shelf'",
                p![&item, at],
            )
            .await?;
        if n > 0 {
            changed(tx, "item", &item, "upsert").await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Push

/// A conflict: the entry is stored with this code and message for staff.
struct Conflict {
    code: &'static str,
    message: String,
}

fn conflict(code: &'static str, message: impl Into<String>) -> Conflict {
    Conflict {
        code,
        message: message.into(),
    }
}

fn is_standing(r: &Refusal) -> bool {
    matches!(
        r,
        Refusal::CardExpired { .. }
            | Refusal::PatronBlocked { .. }
            | Refusal::FinesOverLimit { .. }
            | Refusal::TooManyOverdue { .. }
    )
}

/// The entry's time on the server's clock, in the kiosk's local time.
fn entry_time(e: &Entry, offset_ms: i64) -> Result<(DateTime<FixedOffset>, NaiveDateTime)> {
    let at = DateTime::parse_from_rfc3339(&e.at).map_err(|_| {
        CentralError::BadRequest(format!("entry {}: at {:?} is not RFC 3339", e.id, e.at))
    })?;
    let corrected = at + Duration::milliseconds(offset_ms);
    Ok((at, corrected.naive_local()))
}

pub async fn push<S: Sql>(
    tx: &mut S,
    base: &Settings,
    req: &PushRequest,
    now: DateTime<Utc>,
) -> Result<PushResponse> {
    tx.lock_writes().await?;
    let sent = DateTime::parse_from_rfc3339(&req.sent_at).map_err(|_| {
        CentralError::BadRequest(format!("sent_at {:?} is not RFC 3339", req.sent_at))
    })?;
    for e in &req.entries {
        if e.kiosk_id != req.kiosk_id {
            return Err(CentralError::BadRequest(format!(
                "entry {} belongs to kiosk {:?}, the batch to {:?}",
                e.id, e.kiosk_id, req.kiosk_id
            )));
        }
        DateTime::parse_from_rfc3339(&e.at).map_err(|_| {
            CentralError::BadRequest(format!("entry {}: at {:?} is not RFC 3339", e.id, e.at))
        })?;
    }
    let offset_ms = (now - sent.with_timezone(&Utc)).num_milliseconds();
    let now_s = stamp(now);
    let kiosk = &req.kiosk_id;
    let mut last_seq = match tx
        .query_opt("SELECT last_seq FROM kiosks WHERE kiosk_id = $1", p![kiosk])
        .await?
    {
        Some(r) => r.i(0),
        None => {
            tx.exec(
                "INSERT INTO kiosks (kiosk_id, created) VALUES ($1, $2)",
                p![kiosk, &now_s],
            )
            .await?;
            0
        }
    };
    tx.exec(
        "UPDATE kiosks SET clock_offset_ms = $2, last_push = $3 WHERE kiosk_id = $1",
        p![kiosk, offset_ms, &now_s],
    )
    .await?;
    let (table, settings) = rules(tx, base).await?;
    let mut order: Vec<usize> = (0..req.entries.len()).collect();
    order.sort_by_key(|&i| req.entries[i].seq);
    let mut results: Vec<Option<EntryResult>> = vec![None; req.entries.len()];
    let ctx = Replay {
        table: &table,
        settings: &settings,
        offset_ms,
        now: &now_s,
    };
    // What the database already holds for this batch, read once: entries
    // seen before (by id), the seqs taken, and the first entry recorded
    // ahead of the kiosk's last applied seq (decided online, or held for a
    // gap), which `catch_up` steps over when the seqs before it arrive.
    let mut seen = seen_entries(tx, &req.entries).await?;
    let (lo, hi) = (
        req.entries.iter().map(|e| e.seq).min().unwrap_or(0),
        req.entries.iter().map(|e| e.seq).max().unwrap_or(0),
    );
    let mut taken: HashSet<i64> = tx
        .query(
            "SELECT seq FROM entries WHERE kiosk_id = $1 AND seq >= $2 AND seq <= $3",
            p![kiosk, lo, hi],
        )
        .await?
        .iter()
        .map(|r| r.i(0))
        .collect();
    let mut ahead = recorded_after(tx, kiosk, last_seq).await?;
    for idx in order {
        let e = &req.entries[idx];
        let answer = |status, c: Option<(String, String)>| EntryResult {
            id: e.id,
            status,
            code: c.as_ref().map(|c| c.0.clone()),
            message: c.map(|c| c.1),
        };
        if let Some(r) = seen.get(&e.id).cloned() {
            let Seen {
                mut status,
                mut code,
                mut message,
                decision,
                reason,
                via,
            } = r;
            // The kiosk asked online, the answer came too late, and it
            // decided offline under the same id: if the reader was told
            // otherwise than the server decided, staff must know.
            if status == "applied" && via == "decide" && e.decision != decision {
                (status, code) = ("conflict".into(), "decision_mismatch".into());
                message = format!(
                    "the server decided {decision}{} online; the kiosk told the reader {}{} offline",
                    reason.map(|x| format!(" ({x})")).unwrap_or_default(),
                    e.decision,
                    e.reason
                        .as_ref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default(),
                );
                tx.exec(
                    "UPDATE entries SET status = $2, code = $3, message = $4 WHERE id = $1",
                    p![e.id.to_string(), &status, &code, &message],
                )
                .await?;
                tracing::info!(entry_id = %e.id, kiosk = %kiosk, seq = e.seq, code = %code, "push conflict");
            }
            results[idx] = Some(match status.as_str() {
                "applied" => answer(EntryStatus::Duplicate, None),
                _ => answer(EntryStatus::Conflict, Some((code.clone(), message.clone()))),
            });
            seen.insert(
                e.id,
                Seen {
                    status,
                    code,
                    message,
                    decision: e.decision.clone(),
                    reason: e.reason.clone(),
                    via: via.clone(),
                },
            );
            // Decided online before the kiosk's earlier entries arrived.
            if via == "decide" && e.seq == last_seq + 1 {
                last_seq = catch_up(tx, &ctx, kiosk, e.seq).await?;
                ahead = recorded_after(tx, kiosk, last_seq).await?;
                reread_held(tx, &req.entries, &mut seen).await?;
            }
            continue;
        }
        let (status, c) = if e.seq <= last_seq || taken.contains(&e.seq) {
            let c = (
                "sequence_reused".to_string(),
                format!(
                    "seq {} was already used by another entry of kiosk {kiosk}",
                    e.seq
                ),
            );
            record_entry(tx, e, "conflict", Some(c.clone()), "push", &now_s).await?;
            ("conflict", Some(c))
        } else if e.seq > last_seq + 1 {
            // Held, never dropped: applied as soon as the gap fills.
            let c = (
                "sequence_gap".to_string(),
                format!(
                    "seq {} is held until seq {} arrives, then applied",
                    e.seq,
                    last_seq + 1
                ),
            );
            record_entry(tx, e, "waiting", Some(c.clone()), "push", &now_s).await?;
            ahead = Some(ahead.map_or(e.seq, |a| a.min(e.seq)));
            taken.insert(e.seq);
            ("waiting", Some(c))
        } else {
            let c = apply_entry(tx, &ctx, e).await?;
            record_entry(tx, e, status_of(&c), c.clone(), "push", &now_s).await?;
            taken.insert(e.seq);
            last_seq = e.seq;
            if ahead == Some(last_seq + 1) {
                last_seq = catch_up(tx, &ctx, kiosk, e.seq).await?;
                ahead = recorded_after(tx, kiosk, last_seq).await?;
                reread_held(tx, &req.entries, &mut seen).await?;
            }
            (status_of(&c), c)
        };
        if let Some(c) = &c {
            tracing::info!(entry_id = %e.id, kiosk = %kiosk, seq = e.seq, code = %c.0, "push conflict");
        }
        // The same id twice in one batch is answered as a duplicate.
        seen.insert(
            e.id,
            Seen {
                status: status.to_string(),
                code: c.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
                message: c.as_ref().map(|c| c.1.clone()).unwrap_or_default(),
                decision: e.decision.clone(),
                reason: e.reason.clone(),
                via: "push".into(),
            },
        );
        results[idx] = Some(match c {
            None => answer(EntryStatus::Applied, None),
            Some(c) => answer(EntryStatus::Conflict, Some(c)),
        });
    }
    tx.exec(
        "UPDATE kiosks SET last_seq = $2 WHERE kiosk_id = $1",
        p![kiosk, last_seq],
    )
    .await?;
    Ok(PushResponse {
        results: results
            .into_iter()
            .map(|r| r.expect("every entry answered"))
            .collect(),
        server_time: now_s,
        clock_offset_ms: offset_ms,
    })
}

/// An entry the server recorded before.
#[derive(Clone)]
struct Seen {
    status: String,
    code: String,
    message: String,
    decision: String,
    reason: Option<String>,
    via: String,
}

/// Ids per query when looking up a batch's entries.
const SEEN_CHUNK: usize = 500;

/// The entries of a batch the server has recorded already, by id.
async fn seen_entries<S: Sql>(tx: &mut S, entries: &[Entry]) -> Result<HashMap<Uuid, Seen>> {
    let mut out = HashMap::new();
    for chunk in entries.chunks(SEEN_CHUNK) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let params: Vec<Val> = chunk.iter().map(|e| Val::from(e.id.to_string())).collect();
        for r in tx
            .query(
                &format!(
                    "SELECT id, status, code, message, decision, reason, via FROM entries
                     WHERE id IN ({})",
                    marks.join(", ")
                ),
                &params,
            )
            .await?
        {
            let Ok(id) = r.s(0).parse::<Uuid>() else {
                continue;
            };
            out.insert(
                id,
                Seen {
                    status: r.s(1),
                    code: r.s(2),
                    message: r.s(3),
                    decision: r.s(4),
                    reason: r.os(5),
                    via: r.s(6),
                },
            );
        }
    }
    Ok(out)
}

/// After `catch_up` applied held entries: what the batch's held entries
/// are now (a held entry sent again in the same batch is a duplicate).
async fn reread_held<S: Sql>(
    tx: &mut S,
    entries: &[Entry],
    seen: &mut HashMap<Uuid, Seen>,
) -> Result<()> {
    let held: Vec<Entry> = entries
        .iter()
        .filter(|e| seen.get(&e.id).is_some_and(|s| s.status == "waiting"))
        .cloned()
        .collect();
    if !held.is_empty() {
        seen.extend(seen_entries(tx, &held).await?);
    }
    Ok(())
}

/// The lowest seq of this kiosk recorded after `last` (and not a reused
/// one), if any.
async fn recorded_after<S: Sql>(tx: &mut S, kiosk: &str, last: i64) -> Result<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT min(seq) FROM entries WHERE kiosk_id = $1 AND seq > $2
               AND (code IS NULL OR code <> 'sequence_reused')",
            p![kiosk, last],
        )
        .await?
        .and_then(|r| r.oi(0)))
}

/// What replaying an entry needs besides the entry.
struct Replay<'a> {
    table: &'a PolicyTable,
    settings: &'a Settings,
    offset_ms: i64,
    now: &'a str,
}

fn status_of(c: &Option<(String, String)>) -> &'static str {
    if c.is_some() {
        "conflict"
    } else {
        "applied"
    }
}

/// Applies one in-order entry; `Some((code, message))` for a conflict.
async fn apply_entry<S: Sql>(
    tx: &mut S,
    ctx: &Replay<'_>,
    e: &Entry,
) -> Result<Option<(String, String)>> {
    if e.decision != "accepted" {
        return Ok(None);
    }
    let (_, local) = entry_time(e, ctx.offset_ms)?;
    let c = replay(tx, ctx.table, ctx.settings, e, local)
        .await?
        .err()
        .map(|c| (c.code.to_string(), c.message));
    if c.is_some() {
        refeed(tx, e).await?;
    }
    Ok(c)
}

/// After a conflict the kiosk's cache still shows the kiosk's own
/// decision (a loan the server did not make, a return it did not record,
/// a due date it did not extend), and nothing in the feed would correct
/// it when the server's records did not change. The item, its loan and
/// the reader get new change numbers, so the pull that follows the
/// kiosk's push brings the server's view of each.
async fn refeed<S: Sql>(tx: &mut S, e: &Entry) -> Result<()> {
    if !matches!(e.kind.as_str(), "checkout" | "checkin" | "renew") {
        return Ok(());
    }
    if let Some(code) = e.item.as_deref() {
        if let Some((item, _)) = item_with_key(tx, code).await? {
            changed(tx, "item", &item.barcode, "upsert").await?;
            let op = match current_loan(tx, &item.barcode).await? {
                Some(_) => "upsert",
                None => "delete",
            };
            changed(tx, "loan", &item.barcode, op).await?;
        }
    }
    if let Some(code) = e.patron.as_deref() {
        if let Some(reader) = patron(tx, code).await? {
            changed(tx, "patron", &reader.barcode, "upsert").await?;
        }
    }
    Ok(())
}

/// From `last` (just applied), moves over the seqs that follow: entries
/// decided online (already applied) and entries held for a gap (applied
/// now). Returns the new highest contiguous seq.
async fn catch_up<S: Sql>(tx: &mut S, ctx: &Replay<'_>, kiosk: &str, mut last: i64) -> Result<i64> {
    loop {
        let Some(r) = tx
            .query_opt(
                "SELECT id, kiosk_id, seq, at, kind, patron, item, decision, reason, due, detail,
                   offline, status FROM entries WHERE kiosk_id = $1 AND seq = $2
                   AND (code IS NULL OR code <> 'sequence_reused')",
                p![kiosk, last + 1],
            )
            .await?
        else {
            return Ok(last);
        };
        // Applied (decided online) or a conflict already recorded: step
        // over it. Held for a gap: apply it now.
        if r.s(12) == "waiting" {
            let e = Entry {
                id: r.s(0).parse().unwrap_or_default(),
                kiosk_id: r.s(1),
                seq: r.i(2),
                at: r.s(3),
                kind: r.s(4),
                patron: r.os(5),
                item: r.os(6),
                decision: r.s(7),
                reason: r.os(8),
                due: r.os(9),
                detail: serde_json::from_str(&r.s(10)).unwrap_or(json!({})),
                offline: r.i(11) != 0,
            };
            let c = apply_entry(tx, ctx, &e).await?;
            let (code, message) = c.clone().unzip();
            tx.exec(
                    "UPDATE entries SET status = $2, code = $3, message = $4, received = $5 WHERE id = $1",
                    p![r.s(0), status_of(&c), code, message, ctx.now],
                )
                .await?;
            tracing::info!(entry_id = %e.id, kiosk = %kiosk, seq = e.seq, "held entry applied");
        }
        last += 1;
    }
}

async fn record_entry<S: Sql>(
    tx: &mut S,
    e: &Entry,
    status: &str,
    c: Option<(String, String)>,
    via: &str,
    now: &str,
) -> Result<()> {
    let (code, message) = c.unzip();
    tx.exec(
        "INSERT INTO entries (id, kiosk_id, seq, at, kind, patron, item, decision, reason, due,
           detail, offline, status, code, message, via, received)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
        p![
            e.id.to_string(),
            &e.kiosk_id,
            e.seq,
            &e.at,
            &e.kind,
            &e.patron,
            &e.item,
            &e.decision,
            &e.reason,
            &e.due,
            e.detail.to_string(),
            e.offline,
            status,
            code,
            message,
            via,
            now
        ],
    )
    .await?;
    Ok(())
}

/// Applies a decision a kiosk already made (and told the reader), or says
/// why the server cannot.
async fn replay<S: Sql>(
    tx: &mut S,
    table: &PolicyTable,
    settings: &Settings,
    e: &Entry,
    now: NaiveDateTime,
) -> Result<std::result::Result<(), Conflict>> {
    let at = &e.at;
    let snap = snapshot(tx, table, e.patron.as_deref(), e.item.as_deref(), now).await?;
    let needs_patron = matches!(
        e.kind.as_str(),
        "checkout" | "renew" | "hold_placed" | "hold_cancelled"
    );
    let needs_item = needs_patron || e.kind == "checkin";
    if needs_item && snap.item.is_none() {
        return Ok(Err(conflict(
            "unknown_item",
            format!(
                "item {:?} is not in the catalogue",
                e.item.as_deref().unwrap_or("")
            ),
        )));
    }
    if needs_patron && snap.patron.is_none() {
        return Ok(Err(conflict(
            "unknown_patron",
            format!(
                "reader {:?} is not known",
                e.patron.as_deref().unwrap_or("")
            ),
        )));
    }
    match e.kind.as_str() {
        "checkout" => {
            let (_, dp) = snap.patron.as_ref().expect("checked");
            let (_, di, _) = snap.item.as_ref().expect("checked");
            // The reader has the item in hand: limits on numbers of loans
            // do not undo that, so only the conflict rules are checked.
            let rule = Rule {
                max_loans: u32::MAX,
                ..snap.rule.clone()
            };
            let d = domain::decide_checkout(
                &CheckoutContext {
                    patron: dp,
                    item: di,
                    rule: &rule,
                    settings,
                    loan: snap.loan.as_ref().map(|l| &l.2),
                    patron_loans: snap.counts,
                    holds: &snap.holds,
                    parts_seen: None,
                },
                now,
            );
            match d {
                Ok(d) => {
                    let due = e.due.clone().unwrap_or_else(|| d.due.to_string());
                    apply_checkout(tx, &snap, &due, d.fills_hold, at, e).await?;
                    Ok(Ok(()))
                }
                Err(Refusal::AlreadyOnLoanToYou { .. }) => Ok(Ok(())),
                Err(r) => Ok(Err(checkout_conflict(&snap, &r))),
            }
        }
        "checkin" => {
            let Some(_) = &snap.loan else {
                return Ok(Err(conflict(
                    "not_on_loan",
                    format!(
                        "item {} was returned but is not on loan",
                        snap.item_code().unwrap_or("")
                    ),
                )));
            };
            let (_, di, _) = snap.item.as_ref().expect("checked");
            let d = domain::decide_checkin(
                &CheckinContext {
                    item: di,
                    loan: snap.loan.as_ref().map(|l| &l.2),
                    rule: &snap.rule,
                    settings,
                    holds: &snap.holds,
                    parts_seen: None,
                },
                now,
            );
            match d {
                Ok(d) => {
                    apply_checkin(tx, &snap, &d, at).await?;
                    Ok(Ok(()))
                }
                Err(r) => Ok(Err(conflict("checkin_refused", r.code()))),
            }
        }
        "renew" => {
            let (_, dp) = snap.patron.as_ref().expect("checked");
            let (_, di, _) = snap.item.as_ref().expect("checked");
            let d = domain::decide_renew(
                &RenewContext {
                    patron: dp,
                    item: di,
                    rule: &snap.rule,
                    settings,
                    loan: snap.loan.as_ref().map(|l| &l.2),
                    patron_loans: snap.counts,
                    holds: &snap.holds,
                },
                now,
            );
            match d {
                Ok(d) => {
                    let due = e.due.clone().unwrap_or_else(|| d.due.to_string());
                    apply_renew(tx, &snap, &due, d.renewals, d.fine, at).await?;
                    Ok(Ok(()))
                }
                // Renewed already (e.g. online): nothing left to do.
                Err(Refusal::TooSoonToRenew { .. }) => Ok(Ok(())),
                Err(Refusal::NotOnLoanToYou) => Ok(Err(conflict(
                    "not_on_loan",
                    format!(
                        "item {} is not on loan to reader {}",
                        snap.item_code().unwrap_or(""),
                        e.patron.as_deref().unwrap_or("")
                    ),
                ))),
                Err(Refusal::MaxRenewalsReached { max }) => Ok(Err(conflict(
                    "renewal_limit",
                    format!("renewed {max} times already, the limit"),
                ))),
                Err(Refusal::RenewalBlockedByHold) => Ok(Err(conflict(
                    "on_hold_for_another",
                    "another reader waits for this title",
                ))),
                Err(r) if is_standing(&r) => Ok(Err(conflict("patron_blocked", r.code()))),
                Err(r) => Ok(Err(conflict("renew_refused", r.code()))),
            }
        }
        "hold_placed" => {
            let (p, _) = snap.patron.as_ref().expect("checked");
            let (_, _, key) = snap.item.as_ref().expect("checked");
            if open_hold(tx, &p.barcode, key).await?.is_none() {
                let item_level = e.detail.get("level").and_then(|l| l.as_str()) == Some("item");
                apply_hold(tx, &snap, item_level, at).await?;
            }
            Ok(Ok(()))
        }
        "hold_cancelled" => {
            let (p, _) = snap.patron.as_ref().expect("checked");
            let (_, _, key) = snap.item.as_ref().expect("checked");
            match open_hold(tx, &p.barcode, key).await? {
                Some((id, ready)) => {
                    apply_cancel(tx, id, ready, at).await?;
                    Ok(Ok(()))
                }
                None => Ok(Err(conflict("hold_not_found", "no open hold to cancel"))),
            }
        }
        "fee_paid" => {
            let amount = e
                .detail
                .get("amount_cents")
                .and_then(|a| a.as_i64())
                .unwrap_or(0);
            if let (Some(patron), true) = (&snap.patron, amount > 0) {
                add_fee(
                    tx,
                    &patron.0.barcode,
                    e.item.as_deref().unwrap_or(""),
                    -amount,
                    at,
                )
                .await?;
            }
            Ok(Ok(()))
        }
        "feedback" | "security" => Ok(Ok(())),
        other => Ok(Err(conflict(
            "unknown_kind",
            format!("entry kind {other:?} is not known"),
        ))),
    }
}

fn checkout_conflict(snap: &Snap, r: &Refusal) -> Conflict {
    let item = snap.item_code().unwrap_or("");
    match r {
        Refusal::ItemOnLoanToAnother => {
            let holder = snap
                .loan
                .as_ref()
                .map(|l| l.1.patron.as_str())
                .unwrap_or("");
            conflict(
                "on_loan_elsewhere",
                format!("item {item} is on loan to reader {holder}"),
            )
        }
        Refusal::ItemOnHoldForAnother => conflict(
            "on_hold_for_another",
            format!("item {item} is held for another reader"),
        ),
        Refusal::ItemNeedsStaff { status } if status == "withdrawn" => {
            conflict("item_withdrawn", format!("item {item} is withdrawn"))
        }
        Refusal::ItemNeedsStaff { status } => {
            conflict("item_lost", format!("item {item} is recorded {status}"))
        }
        Refusal::ItemNotForLoan => conflict("not_for_loan", format!("item {item} is not for loan")),
        r if is_standing(r) => conflict(
            "patron_blocked",
            format!("the reader may not borrow: {}", r.code()),
        ),
        r => conflict("checkout_refused", r.code()),
    }
}

// ---------------------------------------------------------------------------
// Online decisions

pub async fn decide<S: Sql>(
    tx: &mut S,
    base: &Settings,
    req: &DecideRequest,
    now: DateTime<Utc>,
) -> Result<DecideResponse> {
    tx.lock_writes().await?;
    let e = &req.entry;
    if let Some(r) = tx
        .query_opt(
            "SELECT decision, reason, due, detail FROM entries WHERE id = $1",
            p![e.id.to_string()],
        )
        .await?
    {
        return Ok(DecideResponse {
            id: e.id,
            decision: r.s(0),
            reason: r.os(1),
            due: r.os(2),
            detail: serde_json::from_str(&r.s(3)).unwrap_or(json!({})),
        });
    }
    let offset = DateTime::parse_from_rfc3339(&e.at)
        .map(|t| *t.offset())
        .map_err(|_| {
            CentralError::BadRequest(format!("entry {}: at {:?} is not RFC 3339", e.id, e.at))
        })?;
    let local_now = now.with_timezone(&offset);
    let at = local_now.to_rfc3339_opts(SecondsFormat::Millis, false);
    let local = local_now.naive_local();
    let (table, settings) = rules(tx, base).await?;
    let mut snap = snapshot(tx, &table, e.patron.as_deref(), e.item.as_deref(), local).await?;
    let outcome: std::result::Result<(Option<String>, serde_json::Value), Refusal> =
        match e.kind.as_str() {
            "checkout" | "renew" | "hold_placed" | "hold_cancelled" | "fee_paid"
                if snap.patron.is_none() =>
            {
                Err(Refusal::UnknownPatron)
            }
            "checkout" | "renew" | "hold_placed" | "hold_cancelled" | "checkin"
                if snap.item.is_none() =>
            {
                Err(Refusal::UnknownItem)
            }
            "checkout" => {
                let (_, dp) = snap.patron.as_ref().expect("checked");
                let (i, di, _) = snap.item.as_ref().expect("checked");
                match domain::decide_checkout(
                    &CheckoutContext {
                        patron: dp,
                        item: di,
                        rule: &snap.rule,
                        settings: &settings,
                        loan: snap.loan.as_ref().map(|l| &l.2),
                        patron_loans: snap.counts,
                        holds: &snap.holds,
                        parts_seen: req.parts_seen,
                    },
                    local,
                ) {
                    Ok(d) => {
                        let title = i.title.clone();
                        apply_checkout(tx, &snap, &d.due.to_string(), d.fills_hold, &at, e).await?;
                        Ok((
                            Some(d.due.to_string()),
                            json!({"title": title, "hold_picked_up": d.fills_hold.is_some()}),
                        ))
                    }
                    Err(r) => Err(r),
                }
            }
            "checkin" => {
                let (_, di, _) = snap.item.as_ref().expect("checked");
                match domain::decide_checkin(
                    &CheckinContext {
                        item: di,
                        loan: snap.loan.as_ref().map(|l| &l.2),
                        rule: &snap.rule,
                        settings: &settings,
                        holds: &snap.holds,
                        parts_seen: req.parts_seen,
                    },
                    local,
                ) {
                    Ok(d) => Ok((None, apply_checkin(tx, &snap, &d, &at).await?)),
                    Err(r) => Err(r),
                }
            }
            "renew" => {
                let (_, dp) = snap.patron.as_ref().expect("checked");
                let (_, di, _) = snap.item.as_ref().expect("checked");
                match domain::decide_renew(
                    &RenewContext {
                        patron: dp,
                        item: di,
                        rule: &snap.rule,
                        settings: &settings,
                        loan: snap.loan.as_ref().map(|l| &l.2),
                        patron_loans: snap.counts,
                        holds: &snap.holds,
                    },
                    local,
                ) {
                    Ok(d) => {
                        apply_renew(tx, &snap, &d.due.to_string(), d.renewals, d.fine, &at).await?;
                        Ok((
                            Some(d.due.to_string()),
                            json!({"renewals": d.renewals, "fine_cents": d.fine}),
                        ))
                    }
                    Err(r) => Err(r),
                }
            }
            "hold_placed" => {
                let (p, dp) = snap.patron.clone().expect("checked");
                let (_, di, key) = snap.item.clone().expect("checked");
                let open_holds = tx
                    .query_one(
                        "SELECT count(*) FROM holds WHERE patron = $1 AND status IN ('waiting','ready')",
                        p![&p.barcode],
                    )
                    .await?
                    .i(0) as u32;
                let already = open_hold(tx, &p.barcode, &key).await?.is_some();
                let has_on_loan = tx
                    .query_opt(
                        "SELECT l.id FROM loans l JOIN items i ON i.barcode = l.item
                         WHERE l.patron = $1 AND l.returned IS NULL AND i.title_key = $2",
                        p![&p.barcode, &key],
                    )
                    .await?
                    .is_some();
                let _ = snap.ids.of(&p.barcode);
                match domain::decide_hold(
                    &HoldContext {
                        patron: &dp,
                        item: &di,
                        rule: &snap.rule,
                        patron_loans: snap.counts,
                        open_holds,
                        already_holds: already,
                        has_on_loan,
                        holds: &snap.holds,
                    },
                    local,
                ) {
                    Ok(()) => {
                        let item_level =
                            e.detail.get("level").and_then(|l| l.as_str()) == Some("item");
                        Ok((None, apply_hold(tx, &snap, item_level, &at).await?))
                    }
                    Err(r) => Err(r),
                }
            }
            "hold_cancelled" => {
                let (p, _) = snap.patron.as_ref().expect("checked");
                let (_, _, key) = snap.item.as_ref().expect("checked");
                match open_hold(tx, &p.barcode, key).await? {
                    Some((id, ready)) => {
                        apply_cancel(tx, id, ready, &at).await?;
                        Ok((None, json!({})))
                    }
                    None => Err(Refusal::HoldNotFound),
                }
            }
            // A payment the kiosk took (cash acceptor, staff): accepted,
            // the reader's balance lowered (credit allowed).
            "fee_paid" => {
                let amount = e.detail.get("amount_cents").and_then(|a| a.as_i64());
                let Some(amount) = amount.filter(|a| *a > 0) else {
                    return Err(CentralError::BadRequest(format!(
                        "entry {}: fee_paid needs detail.amount_cents > 0",
                        e.id
                    )));
                };
                let (p, _) = snap.patron.as_ref().expect("checked");
                let barcode = p.barcode.clone();
                add_fee(tx, &barcode, "", -amount, &at).await?;
                let owed = tx
                    .query_one(
                        "SELECT fines_owed_cents FROM patrons WHERE barcode = $1",
                        p![&barcode],
                    )
                    .await?
                    .i(0);
                Ok((None, json!({ "fines_owed_cents": owed })))
            }
            other => {
                return Err(CentralError::BadRequest(format!(
                    "kind {other:?} cannot be decided online (checkout, checkin, renew, hold_placed, hold_cancelled, fee_paid)"
                )))
            }
        };
    let (decision, reason, due, detail) = match outcome {
        Ok((due, detail)) => ("accepted", None, due, detail),
        // The arguments travel with the code, so the kiosk shows the same
        // words ("at most 10 items", "owes 12.50") it would for its own.
        Err(r) => (
            "refused",
            Some(r.code().to_string()),
            None,
            json!({ "args": r.wire_args() }),
        ),
    };
    let now_s = stamp(now);
    let recorded = Entry {
        decision: decision.into(),
        reason: reason.clone(),
        due: due.clone(),
        detail: detail.clone(),
        ..e.clone()
    };
    record_entry(tx, &recorded, "applied", None, "decide", &now_s).await?;
    // An online decision may fill the next seq this kiosk's pushes wait
    // for, and free entries held behind it.
    if let Some(r) = tx
        .query_opt(
            "SELECT last_seq, clock_offset_ms FROM kiosks WHERE kiosk_id = $1",
            p![&e.kiosk_id],
        )
        .await?
    {
        if r.i(0) + 1 == e.seq {
            let ctx = Replay {
                table: &table,
                settings: &settings,
                offset_ms: r.i(1),
                now: &now_s,
            };
            let last = catch_up(tx, &ctx, &e.kiosk_id, e.seq).await?;
            tx.exec(
                "UPDATE kiosks SET last_seq = $2 WHERE kiosk_id = $1",
                p![&e.kiosk_id, last],
            )
            .await?;
        }
    }
    Ok(DecideResponse {
        id: e.id,
        decision: decision.into(),
        reason,
        due,
        detail,
    })
}

// ---------------------------------------------------------------------------
// Kiosks, conflicts, feedback

pub async fn heartbeat<S: Sql>(
    tx: &mut S,
    hb: &Heartbeat,
    now: DateTime<Utc>,
) -> Result<HeartbeatAck> {
    let offset_ms = DateTime::parse_from_rfc3339(&hb.sent_at)
        .map(|t| (now - t.with_timezone(&Utc)).num_milliseconds())
        .map_err(|_| {
            CentralError::BadRequest(format!("sent_at {:?} is not RFC 3339", hb.sent_at))
        })?;
    let now_s = stamp(now);
    let body = serde_json::to_string(hb).map_err(|e| CentralError::Corrupt(e.to_string()))?;
    let n = tx
        .exec(
            "UPDATE kiosks SET heartbeat = $2, last_heartbeat = $3, clock_offset_ms = $4 WHERE kiosk_id = $1",
            p![&hb.kiosk_id, &body, &now_s, offset_ms],
        )
        .await?;
    if n == 0 {
        tx.exec(
            "INSERT INTO kiosks (kiosk_id, created, heartbeat, last_heartbeat, clock_offset_ms) VALUES ($1, $2, $3, $2, $4)",
            p![&hb.kiosk_id, &now_s, &body, offset_ms],
        )
        .await?;
    }
    Ok(HeartbeatAck {
        server_time: now_s,
        clock_offset_ms: offset_ms,
    })
}

/// A kiosk as staff see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KioskStatus {
    pub kiosk_id: String,
    pub last_seq: i64,
    pub clock_offset_ms: Option<i64>,
    pub last_push: Option<String>,
    pub last_heartbeat: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub heartbeat: Option<serde_json::Value>,
}

pub async fn kiosks<S: Sql>(tx: &mut S) -> Result<Vec<KioskStatus>> {
    Ok(tx
        .query(
            "SELECT kiosk_id, last_seq, clock_offset_ms, last_push, last_heartbeat, heartbeat FROM kiosks ORDER BY kiosk_id",
            p![],
        )
        .await?
        .iter()
        .map(|r| KioskStatus {
            kiosk_id: r.s(0),
            last_seq: r.i(1),
            clock_offset_ms: r.oi(2),
            last_push: r.os(3),
            last_heartbeat: r.os(4),
            heartbeat: r.os(5).and_then(|h| serde_json::from_str(&h).ok()),
        })
        .collect())
}

pub async fn conflicts<S: Sql>(tx: &mut S, kiosk: Option<&str>) -> Result<Vec<ConflictRecord>> {
    Ok(tx
        .query(
            "SELECT id, kiosk_id, seq, kind, patron, item, code, message, at, received FROM entries
             WHERE status IN ('conflict','waiting') AND (CAST($1 AS TEXT) IS NULL OR kiosk_id = $1)
             AND id NOT IN (SELECT entry_id FROM conflict_resolutions) ORDER BY received, kiosk_id, seq",
            p![kiosk],
        )
        .await?
        .iter()
        .map(|r| ConflictRecord {
            id: r.s(0).parse().unwrap_or_default(),
            kiosk_id: r.s(1),
            seq: r.i(2),
            kind: r.s(3),
            patron: r.os(4),
            item: r.os(5),
            code: r.s(6),
            message: r.s(7),
            at: r.s(8),
            recorded_at: r.s(9),
        })
        .collect())
}

/// One piece of reader feedback (anonymous: no card number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedbackRecord {
    pub id: String,
    pub kiosk_id: String,
    pub at: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

pub async fn feedback<S: Sql>(tx: &mut S, from: &str, to: &str) -> Result<Vec<FeedbackRecord>> {
    Ok(tx
        .query(
            "SELECT id, kiosk_id, at, detail FROM entries WHERE kind = 'feedback'
             AND substr(at, 1, 10) >= $1 AND substr(at, 1, 10) <= $2 ORDER BY at",
            p![from, to],
        )
        .await?
        .iter()
        .map(|r| FeedbackRecord {
            id: r.s(0),
            kiosk_id: r.s(1),
            at: r.s(2),
            detail: serde_json::from_str(&r.s(3)).unwrap_or(json!({})),
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Recommendations

pub async fn recommendations<S: Sql>(
    tx: &mut S,
    patron: Option<&str>,
    item: Option<&str>,
    limit: usize,
) -> Result<Recommendations> {
    let limit = limit.clamp(1, 50);
    // (reader, title) pairs from the whole loan history.
    let pairs: Vec<(String, String)> = tx
        .query(
            "SELECT DISTINCT l.patron, i.title_key FROM loans l JOIN items i ON i.barcode = l.item",
            p![],
        )
        .await?
        .iter()
        .map(|r| (r.s(0), r.s(1)))
        .collect();
    let mut read: BTreeSet<String> = BTreeSet::new();
    if let Some(p) = patron {
        read.extend(pairs.iter().filter(|(r, _)| r == p).map(|(_, t)| t.clone()));
    }
    let mut seeds: Vec<(String, &'static str)> = vec![];
    if let Some(code) = item {
        if let Some((_, key)) = item_with_key(tx, code).await? {
            read.insert(key.clone());
            seeds.push((key, "also_borrowed"));
        }
    }
    let history: Vec<String> = read
        .iter()
        .filter(|t| !seeds.iter().any(|s| &s.0 == *t))
        .cloned()
        .collect();
    seeds.extend(history.into_iter().map(|t| (t, "your_history")));
    let mut by_reader: HashMap<&str, Vec<&str>> = HashMap::new();
    for (r, t) in &pairs {
        by_reader.entry(r).or_default().push(t);
    }
    // title → (score, why): co-borrowed with a seed by other readers.
    let mut score: HashMap<String, (u64, &'static str)> = HashMap::new();
    for (seed, why) in &seeds {
        for (reader, titles) in &by_reader {
            if Some(*reader) == patron || !titles.contains(&seed.as_str()) {
                continue;
            }
            for t in titles.iter().filter(|t| !read.contains(**t)) {
                let e = score.entry(t.to_string()).or_insert((0, why));
                e.0 += if *why == "also_borrowed" {
                    1_000_000
                } else {
                    1000
                };
            }
        }
    }
    let mut popular: HashMap<&str, u64> = HashMap::new();
    for (_, t) in &pairs {
        *popular.entry(t).or_default() += 1;
    }
    for (t, n) in popular {
        if !read.contains(t) && !score.contains_key(t) {
            score.insert(t.to_string(), (n.min(999), "popular"));
        }
    }
    let mut ranked: Vec<(String, u64, &'static str)> =
        score.into_iter().map(|(t, (s, w))| (t, s, w)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut items = vec![];
    for (key, _, why) in ranked {
        if items.len() >= limit {
            break;
        }
        // One copy stands for the title, an available one if there is.
        if let Some(r) = tx
            .query_opt(
                "SELECT barcode, title, author FROM items WHERE title_key = $1
                 AND status NOT IN ('lost','missing','withdrawn')
                 ORDER BY CASE WHEN status = 'available' THEN 0 ELSE 1 END, barcode",
                p![&key],
            )
            .await?
        {
            items.push(Recommendation {
                item: r.s(0),
                title: r.s(1),
                author: r.s(2),
                why: why.to_string(),
            });
        }
    }
    Ok(Recommendations { items })
}

// ---------------------------------------------------------------------------
// Statistics

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Bucket {
    pub key: String,
    pub loans: u64,
    pub returns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub loans: u64,
    pub returns: u64,
    pub renewals: u64,
    pub refused: u64,
    pub by_day: Vec<Bucket>,
    pub by_hour: Vec<Bucket>,
    pub by_kiosk: Vec<Bucket>,
    pub by_item_type: Vec<Bucket>,
    pub by_category: Vec<Bucket>,
    /// Most borrowed titles, `loans` only.
    pub top_titles: Vec<Bucket>,
    /// Distinct readers who borrowed or renewed.
    pub active_readers: u64,
    /// By the item's branch (its `location`).
    #[serde(default)]
    pub by_branch: Vec<Bucket>,
}

impl Stats {
    /// `dimension,key,loans,returns` rows, totals first.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(vec![]);
        let _ = w.write_record(["dimension", "key", "loans", "returns"]);
        let total = |w: &mut csv::Writer<Vec<u8>>, k: &str, l: u64, r: u64| {
            let _ = w.write_record(["total", k, &l.to_string(), &r.to_string()]);
        };
        total(&mut w, "all", self.loans, self.returns);
        total(&mut w, "renewals", self.renewals, 0);
        total(&mut w, "refused", self.refused, 0);
        total(&mut w, "active_readers", self.active_readers, 0);
        for (dim, buckets) in [
            ("day", &self.by_day),
            ("hour", &self.by_hour),
            ("kiosk", &self.by_kiosk),
            ("item_type", &self.by_item_type),
            ("category", &self.by_category),
            ("branch", &self.by_branch),
            ("title", &self.top_titles),
        ] {
            for b in buckets {
                let _ = w.write_record([dim, &b.key, &b.loans.to_string(), &b.returns.to_string()]);
            }
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

pub async fn stats<S: Sql>(tx: &mut S, from: NaiveDate, to: NaiveDate) -> Result<Stats> {
    let (f, t) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let rows = tx
        .query(
            "SELECT e.at, e.kind, e.kiosk_id, e.patron, e.decision, i.item_type, i.title,
                    COALESCE(p.category, rp.category), i.location
             FROM entries e LEFT JOIN items i ON i.barcode = e.item
             LEFT JOIN patrons p ON p.barcode = e.patron
             -- A return names no reader: its category is the borrower's.
             LEFT JOIN loans rl ON e.kind = 'checkin' AND rl.item = e.item AND rl.returned = e.at
             LEFT JOIN patrons rp ON rp.barcode = rl.patron
             WHERE e.status = 'applied' AND e.kind IN ('checkout','checkin','renew')
             AND substr(e.at, 1, 10) >= $1 AND substr(e.at, 1, 10) <= $2",
            p![&f, &t],
        )
        .await?;
    let mut s = Stats {
        from: f,
        to: t,
        ..Stats::default()
    };
    type Map = BTreeMap<String, (u64, u64)>;
    let (mut day, mut hour, mut kiosk, mut ty, mut cat, mut title): (Map, Map, Map, Map, Map, Map) =
        Default::default();
    let mut branch = Map::new();
    let mut readers = BTreeSet::new();
    for r in rows {
        let (at, kind, accepted) = (r.s(0), r.s(1), r.s(4) == "accepted");
        if !accepted {
            s.refused += 1;
            continue;
        }
        let (l, ret) = match kind.as_str() {
            "checkout" => (1, 0),
            "checkin" => (0, 1),
            _ => {
                s.renewals += 1;
                if let Some(p) = r.os(3) {
                    readers.insert(p);
                }
                continue;
            }
        };
        s.loans += l;
        s.returns += ret;
        if l == 1 {
            if let Some(p) = r.os(3) {
                readers.insert(p);
            }
        }
        let add = |m: &mut Map, k: String| {
            let e = m.entry(k).or_default();
            e.0 += l;
            e.1 += ret;
        };
        add(&mut day, at.get(0..10).unwrap_or("").to_string());
        add(&mut hour, at.get(11..13).unwrap_or("").to_string());
        add(&mut kiosk, r.s(2));
        add(&mut ty, r.os(5).unwrap_or_else(|| "unknown".into()));
        add(&mut cat, r.os(7).unwrap_or_else(|| "unknown".into()));
        add(
            &mut branch,
            r.os(8)
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| "unknown".into()),
        );
        if l == 1 {
            add(&mut title, r.os(6).unwrap_or_else(|| "unknown".into()));
        }
    }
    let buckets = |m: Map| {
        m.into_iter()
            .map(|(key, (loans, returns))| Bucket {
                key,
                loans,
                returns,
            })
            .collect::<Vec<_>>()
    };
    s.by_day = buckets(day);
    s.by_hour = buckets(hour);
    s.by_kiosk = buckets(kiosk);
    s.by_item_type = buckets(ty);
    s.by_category = buckets(cat);
    s.by_branch = buckets(branch);
    let mut top = buckets(title);
    top.sort_by(|a, b| b.loans.cmp(&a.loans).then(a.key.cmp(&b.key)));
    top.truncate(20);
    s.top_titles = top;
    s.active_readers = readers.len() as u64;
    Ok(s)
}

// ---------------------------------------------------------------------------
// Reminders

/// One reminder to send: due soon, overdue, or a hold ready for pickup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reminder {
    /// due_soon | overdue | hold_ready
    pub kind: String,
    /// What makes it "the same reminder" (sent once per kind and key): the
    /// loan and its due date (a renewal re-arms it), or the hold and its
    /// pickup code.
    pub key: String,
    pub patron: String,
    pub name: String,
    pub email: Option<String>,
    pub item: String,
    pub title: String,
    pub due: Option<String>,
    pub pickup_code: Option<String>,
    pub pickup_by: Option<String>,
    /// The reader's language (zh-CN, en) when the server knows it.
    #[serde(default)]
    pub language: Option<String>,
}

/// Reminders not sent yet, as of `today`: loans due within `due_soon_days`
/// (today included), loans overdue, holds ready.
pub async fn pending_reminders<S: Sql>(
    tx: &mut S,
    today: NaiveDate,
    due_soon_days: u32,
) -> Result<Vec<Reminder>> {
    let t = today.format("%Y-%m-%d").to_string();
    let soon = (today + Duration::days(due_soon_days as i64))
        .format("%Y-%m-%d")
        .to_string();
    let mut out = vec![];
    for r in tx
        .query(
            "SELECT l.id, l.due, l.patron, p.name, p.email, l.item, i.title, pl.language FROM loans l
             JOIN patrons p ON p.barcode = l.patron JOIN items i ON i.barcode = l.item
             LEFT JOIN patron_languages pl ON pl.barcode = l.patron
             WHERE l.returned IS NULL ORDER BY l.due, l.id",
            p![],
        )
        .await?
    {
        let due = r.s(1);
        let day = due.get(0..10).unwrap_or("").to_string();
        let kind = if day < t {
            "overdue"
        } else if day <= soon {
            "due_soon"
        } else {
            continue;
        };
        out.push(Reminder {
            kind: kind.into(),
            key: format!("loan:{}:{due}", r.i(0)),
            patron: r.s(2),
            name: r.s(3),
            email: r.os(4),
            item: r.s(5),
            title: r.s(6),
            due: Some(due),
            pickup_code: None,
            pickup_by: None,
            language: r.os(7),
        });
    }
    for r in tx
        .query(
            "SELECT h.id, h.pickup_code, h.pickup_by, h.patron, p.name, p.email, h.ready_item, i.title,
                    pl.language
             FROM holds h JOIN patrons p ON p.barcode = h.patron
             LEFT JOIN items i ON i.barcode = h.ready_item
             LEFT JOIN patron_languages pl ON pl.barcode = h.patron
             WHERE h.status = 'ready' ORDER BY h.id",
            p![],
        )
        .await?
    {
        out.push(Reminder {
            kind: "hold_ready".into(),
            key: format!("hold:{}:{}", r.i(0), r.s(1)),
            patron: r.s(3),
            name: r.s(4),
            email: r.os(5),
            item: r.s(6),
            title: r.s(7),
            due: None,
            pickup_code: r.os(1),
            pickup_by: r.os(2),
            language: r.os(8),
        });
    }
    let mut pending = vec![];
    for rem in out {
        if tx
            .query_opt(
                "SELECT sent FROM reminders_sent WHERE kind = $1 AND key = $2",
                p![&rem.kind, &rem.key],
            )
            .await?
            .is_none()
        {
            pending.push(rem);
        }
    }
    Ok(pending)
}

/// Claims a reminder before sending it; false when another run (or
/// another server process) already has.
pub async fn claim_reminder<S: Sql>(tx: &mut S, kind: &str, key: &str, now: &str) -> Result<bool> {
    Ok(tx
        .exec(
            "INSERT INTO reminders_sent (kind, key, sent) VALUES ($1, $2, $3)
             ON CONFLICT (kind, key) DO NOTHING",
            p![kind, key, now],
        )
        .await?
        == 1)
}

/// Gives a claim back after sending failed, so the next run retries.
pub async fn release_reminder<S: Sql>(tx: &mut S, kind: &str, key: &str) -> Result<()> {
    tx.exec(
        "DELETE FROM reminders_sent WHERE kind = $1 AND key = $2",
        p![kind, key],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Closing conflicts (staff)

/// A conflict staff closed, with how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolvedConflict {
    #[serde(flatten)]
    pub conflict: ConflictRecord,
    pub resolved: String,
    pub resolved_by: String,
    pub note: String,
}

/// What closing a conflict did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolve {
    /// Closed now.
    Resolved,
    /// Closed before (the first note stands).
    AlreadyResolved,
    /// No conflict with this id (unknown, applied, or still held for a
    /// missing seq, which closes itself).
    NotAConflict,
}

/// Closes conflict `id` with a note; the entry itself is left as it was.
pub async fn resolve_conflict<S: Sql>(
    tx: &mut S,
    id: &str,
    note: &str,
    by: &str,
    now: &str,
) -> Result<Resolve> {
    tx.lock_writes().await?;
    let status = tx
        .query_opt("SELECT status FROM entries WHERE id = $1", p![id])
        .await?
        .map(|r| r.s(0));
    if status.as_deref() != Some("conflict") {
        return Ok(Resolve::NotAConflict);
    }
    let n = tx
        .exec(
            "INSERT INTO conflict_resolutions (entry_id, resolved, resolved_by, note) VALUES ($1, $2, $3, $4)
             ON CONFLICT (entry_id) DO NOTHING",
            p![id, now, by, note],
        )
        .await?;
    if n == 1 {
        // The kiosk that journaled the entry learns it by the feed.
        changed(tx, "resolution", id, "upsert").await?;
    }
    Ok(if n == 1 {
        Resolve::Resolved
    } else {
        Resolve::AlreadyResolved
    })
}

/// A closed conflict as the changes feed sends it.
async fn resolution<S: Sql>(tx: &mut S, id: &str) -> Result<Option<ResolutionRecord>> {
    Ok(tx
        .query_opt(
            "SELECT r.entry_id, e.kiosk_id, r.resolved, r.resolved_by, r.note
             FROM conflict_resolutions r JOIN entries e ON e.id = r.entry_id WHERE r.entry_id = $1",
            p![id],
        )
        .await?
        .and_then(|r| {
            Some(ResolutionRecord {
                entry: r.s(0).parse().ok()?,
                kiosk_id: r.s(1),
                resolved: r.s(2),
                resolved_by: r.s(3),
                note: r.s(4),
            })
        }))
}

/// Closed conflicts, oldest first.
pub async fn resolved_conflicts<S: Sql>(
    tx: &mut S,
    kiosk: Option<&str>,
) -> Result<Vec<ResolvedConflict>> {
    Ok(tx
        .query(
            "SELECT e.id, e.kiosk_id, e.seq, e.kind, e.patron, e.item, e.code, e.message, e.at, e.received,
                    r.resolved, r.resolved_by, r.note
             FROM entries e JOIN conflict_resolutions r ON r.entry_id = e.id
             WHERE (CAST($1 AS TEXT) IS NULL OR e.kiosk_id = $1) ORDER BY e.received, e.kiosk_id, e.seq",
            p![kiosk],
        )
        .await?
        .iter()
        .map(|r| ResolvedConflict {
            conflict: ConflictRecord {
                id: r.s(0).parse().unwrap_or_default(),
                kiosk_id: r.s(1),
                seq: r.i(2),
                kind: r.s(3),
                patron: r.os(4),
                item: r.os(5),
                code: r.s(6),
                message: r.s(7),
                at: r.s(8),
                recorded_at: r.s(9),
            },
            resolved: r.s(10),
            resolved_by: r.s(11),
            note: r.s(12),
        })
        .collect())
}

/// Feedback as CSV: `id,kiosk_id,at,rating,topics,comment` (topics joined
/// with `;`), for a spreadsheet. No card numbers, as in the JSON.
pub fn feedback_csv(rows: &[FeedbackRecord]) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    let _ = w.write_record(["id", "kiosk_id", "at", "rating", "topics", "comment"]);
    for f in rows {
        let d = &f.detail;
        let rating = d["rating"]
            .as_i64()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let topics = d["topics"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default();
        let comment = d["comment"].as_str().unwrap_or_default();
        let _ = w.write_record([&f.id, &f.kiosk_id, &f.at, &rating, &topics, comment]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Stores readers' languages (barcode, zh-CN | en) and sends their
/// records to the kiosks again; returns how many.
pub async fn set_patron_languages<S: Sql>(tx: &mut S, rows: &[(String, String)]) -> Result<u64> {
    for (barcode, lang) in rows {
        tx.exec(
            "INSERT INTO patron_languages (barcode, language) VALUES ($1, $2)
             ON CONFLICT (barcode) DO UPDATE SET language = excluded.language",
            p![barcode, lang],
        )
        .await?;
        // The kiosks cache the language with the reader's record: it goes
        // out again (a pull between the import and this would miss it).
        changed(tx, "patron", barcode, "upsert").await?;
    }
    Ok(rows.len() as u64)
}
