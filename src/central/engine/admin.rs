//! Import and administration: readers and items from the ILS exports, the
//! policy table and closed days, kiosk tokens, readers' languages.

use super::*;

/// Inserts or updates a reader from an import; true when new. An empty
/// `pin_hash` keeps the stored one; fines are the ILS's truth.
pub(crate) async fn upsert_patron<S: Sql>(tx: &mut S, p: &PatronRecord, now: &str) -> Result<bool> {
    tx.lock_writes().await?;
    let existing = patron(tx, &p.barcode).await?;
    let is_new = existing.is_none();
    let keep = p.fines_owed_cents == crate::central::import::KEEP_FINES;
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
pub(crate) async fn upsert_item<S: Sql>(tx: &mut S, i: &ItemRecord, now: &str) -> Result<bool> {
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
                r.s("barcode")
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
            let old = r.s("status");
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
pub(crate) async fn set_policies<S: Sql>(
    tx: &mut S,
    rules: &[PolicyRecord],
    closed_days: &[String],
) -> Result<()> {
    tx.lock_writes().await?;
    let old: BTreeMap<(String, String), String> = tx
        .query("SELECT category, item_type, rule FROM policies", p![])
        .await?
        .iter()
        .map(|r| ((r.s("category"), r.s("item_type")), r.s("rule")))
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
        .map(|r| r.s("day"))
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

pub(crate) fn rule_of(p: &PolicyRecord) -> Rule {
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
pub(crate) async fn rules<S: Sql>(tx: &mut S, base: &Settings) -> Result<(PolicyTable, Settings)> {
    let rows = tx.query("SELECT rule FROM policies", p![]).await?;
    let table = PolicyTable::new(rows.iter().filter_map(|r| {
        let p: PolicyRecord = serde_json::from_str(&r.s("rule")).ok()?;
        Some((p.category.clone(), p.item_type.clone(), rule_of(&p)))
    }));
    let mut settings = base.clone();
    for r in tx.query("SELECT day FROM closed_days", p![]).await? {
        if let Ok(d) = NaiveDate::parse_from_str(&r.s("day"), "%Y-%m-%d") {
            settings.calendar.closed_days.insert(d);
        }
    }
    Ok((table, settings))
}

/// Registers a kiosk's token (its hash) and returns whether the kiosk is new.
pub(crate) async fn set_token<S: Sql>(
    tx: &mut S,
    kiosk: &str,
    hash: &str,
    now: &str,
) -> Result<bool> {
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

pub(crate) async fn kiosk_for_token<S: Sql>(tx: &mut S, hash: &str) -> Result<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT kiosk_id FROM kiosks WHERE token_hash = $1",
            p![hash],
        )
        .await?
        .map(|r| r.s("kiosk_id")))
}

/// Stores readers' languages (barcode, zh-CN | en) and sends their
/// records to the kiosks again; returns how many.
pub(crate) async fn set_patron_languages<S: Sql>(
    tx: &mut S,
    rows: &[(String, String)],
) -> Result<u64> {
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
