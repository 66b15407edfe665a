//! Online decisions: the server decides and applies a kiosk's request
//! under its entry id (a later push of that id is a duplicate).

use super::*;

pub(crate) async fn decide<S: Sql>(
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
            decision: r.s("decision"),
            reason: r.os("reason"),
            due: r.os("due"),
            detail: serde_json::from_str(&r.s("detail")).unwrap_or(json!({})),
        });
    }
    // One entry per (kiosk, seq). A kiosk's seqs only grow, and every seq
    // the server holds came from its journal: a new entry at or below the
    // highest one means the kiosk's journal is not the one they came from
    // (its database was lost or restored, and it has not learned where its
    // sequence stands yet; docs/sync.md). Refused before anything is
    // decided; the kiosk decides as if offline and carries on after the
    // server's seqs.
    if let Some(top) = max_seq(tx, &e.kiosk_id).await?.filter(|top| e.seq <= *top) {
        return Err(CentralError::Conflict(
            "sequence_reused",
            format!(
                "kiosk {} already used seqs up to {top}; entry {} came with seq {}. Nothing was decided: \
                 the kiosk's journal is new and carries on after seq {top} once it syncs",
                e.kiosk_id, e.id, e.seq
            ),
        ));
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
        match &e.kind {
            EntryKind::Checkout | EntryKind::Renew | EntryKind::HoldPlaced | EntryKind::HoldCancelled | EntryKind::FeePaid
                if snap.patron.is_none() =>
            {
                Err(Refusal::UnknownPatron)
            }
            EntryKind::Checkout | EntryKind::Renew | EntryKind::HoldPlaced | EntryKind::HoldCancelled | EntryKind::Checkin
                if snap.item.is_none() =>
            {
                Err(Refusal::UnknownItem)
            }
            EntryKind::Checkout => {
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
            EntryKind::Checkin => {
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
            EntryKind::Renew => {
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
            EntryKind::HoldPlaced => {
                let (p, dp) = snap.patron.clone().expect("checked");
                let (_, di, key) = snap.item.clone().expect("checked");
                let open_holds = tx
                    .query_one(
                        "SELECT count(*) AS n FROM holds WHERE patron = $1 AND status IN ('waiting','ready')",
                        p![&p.barcode],
                    )
                    .await?
                    .i("n") as u32;
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
            EntryKind::HoldCancelled => {
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
            EntryKind::FeePaid => {
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
                    .i("fines_owed_cents");
                Ok((None, json!({ "fines_owed_cents": owed })))
            }
            other => {
                return Err(CentralError::BadRequest(format!(
                    "kind {:?} cannot be decided online (checkout, checkin, renew, hold_placed, hold_cancelled, fee_paid)",
                    other.as_str()
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
        if r.i("last_seq") + 1 == e.seq {
            let ctx = Replay {
                table: &table,
                settings: &settings,
                offset_ms: r.i("clock_offset_ms"),
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
