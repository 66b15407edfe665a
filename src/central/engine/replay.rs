//! Replaying a decision a kiosk already made (and told the reader): the
//! domain's rules with the server's state, and what a refusal means as a
//! conflict.

use super::*;

/// Whether replaying an entry of this kind needs (a known reader, a
/// known item).
pub(crate) fn needs(kind: &EntryKind) -> (bool, bool) {
    match kind {
        EntryKind::Checkout
        | EntryKind::Renew
        | EntryKind::HoldPlaced
        | EntryKind::HoldCancelled => (true, true),
        EntryKind::Checkin => (false, true),
        EntryKind::Feedback | EntryKind::FeePaid | EntryKind::Security | EntryKind::Unknown(_) => {
            (false, false)
        }
    }
}

/// Applies a decision a kiosk already made (and told the reader), or says
/// why the server cannot.
pub(crate) async fn replay<S: Sql>(
    tx: &mut S,
    table: &PolicyTable,
    settings: &Settings,
    e: &Entry,
    now: NaiveDateTime,
) -> Result<std::result::Result<(), Conflict>> {
    let at = &e.at;
    let snap = snapshot(tx, table, e.patron.as_deref(), e.item.as_deref(), now).await?;
    let (needs_patron, needs_item) = needs(&e.kind);
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
    match &e.kind {
        EntryKind::Checkout => {
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
        EntryKind::Checkin => {
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
        EntryKind::Renew => {
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
        EntryKind::HoldPlaced => {
            let (p, _) = snap.patron.as_ref().expect("checked");
            let (_, _, key) = snap.item.as_ref().expect("checked");
            if open_hold(tx, &p.barcode, key).await?.is_none() {
                let item_level = e.detail.get("level").and_then(|l| l.as_str()) == Some("item");
                apply_hold(tx, &snap, item_level, at).await?;
            }
            Ok(Ok(()))
        }
        EntryKind::HoldCancelled => {
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
        EntryKind::FeePaid => {
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
        EntryKind::Feedback | EntryKind::Security => Ok(Ok(())),
        EntryKind::Unknown(other) => Ok(Err(conflict(
            "unknown_kind",
            format!("entry kind {other:?} is not known"),
        ))),
    }
}

pub(crate) fn checkout_conflict(snap: &Snap, r: &Refusal) -> Conflict {
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
