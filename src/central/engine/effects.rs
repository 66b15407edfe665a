//! The effects of an accepted decision on the server's records (loans,
//! items, holds, fees), each recording its changes for the feed.

use super::*;

pub(crate) async fn set_item_status<S: Sql>(
    tx: &mut S,
    item: &str,
    status: &str,
    at: &str,
) -> Result<()> {
    tx.exec(
        "UPDATE items SET status = $2, updated = $3 WHERE barcode = $1",
        p![item, status, at],
    )
    .await?;
    changed(tx, "item", item, "upsert").await
}

pub(crate) async fn add_fee<S: Sql>(
    tx: &mut S,
    patron: &str,
    item: &str,
    cents: i64,
    at: &str,
) -> Result<()> {
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

pub(crate) async fn apply_checkout<S: Sql>(
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

pub(crate) async fn pickup_code<S: Sql>(tx: &mut S) -> Result<String> {
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
/// the kiosk shows and the journal keeps. It names no reader (neither the
/// borrower nor who the hold shelf keeps the copy for): it is sent to the
/// kiosk and stored in free-form detail, and the loan and hold tables
/// already say who.
pub(crate) async fn apply_checkin<S: Sql>(
    tx: &mut S,
    snap: &Snap,
    d: &domain::CheckinDecision,
    at: &str,
) -> Result<serde_json::Value> {
    let (i, _, _) = snap.item.as_ref().expect("checked");
    if let Some((id, l, _)) = &snap.loan {
        tx.exec("UPDATE loans SET returned = $2 WHERE id = $1", p![*id, at])
            .await?;
        changed(tx, "loan", &i.barcode, "delete").await?;
        add_fee(tx, &l.patron, &i.barcode, d.fine, at).await?;
    }
    let mut code = None;
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
        let c = match existing.as_ref().and_then(|r| r.os("pickup_code")) {
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
        code = Some(c);
    }
    set_item_status(tx, &i.barcode, d.new_status.as_str(), at).await?;
    Ok(json!({
        "title": i.title,
        "was_on_loan": d.was_on_loan,
        "overdue_days": d.overdue_days,
        "fine_cents": d.fine,
        "route": d.route,
        "pickup_code": code,
        "found": d.found,
    }))
}

pub(crate) async fn apply_renew<S: Sql>(
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

pub(crate) async fn open_hold<S: Sql>(
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
        .map(|r| (r.i("id"), r.os("ready_item"))))
}

pub(crate) async fn apply_hold<S: Sql>(
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
            "SELECT count(*) AS n FROM holds WHERE title_key = $1 AND status = 'waiting'",
            p![key],
        )
        .await?
        .i("n");
    Ok(
        json!({"level": if item_level {"item"} else {"title"}, "queue_position": queue, "hold_id": id}),
    )
}

pub(crate) async fn apply_cancel<S: Sql>(
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
