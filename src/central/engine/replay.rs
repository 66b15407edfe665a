//! Replaying a decision a kiosk already made (and told the reader): the
//! domain's rules with the server's state, and what a refusal means as a
//! conflict. A conflict's message is stored, sent back to the kiosk and
//! listed for staff: it names readers by masked card only
//! (`privacy::mask`); the entry's own reader stays in its `patron` field.

use super::*;

/// A conflict: the entry is stored with this code and message for staff.
pub(crate) struct Conflict {
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Conflict {
    Conflict {
        code,
        message: message.into(),
    }
}

/// Refusals about the reader (card, block, fines, overdues), not the item.
pub(crate) fn is_standing(r: &Refusal) -> bool {
    matches!(
        r,
        Refusal::CardExpired { .. }
            | Refusal::PatronBlocked { .. }
            | Refusal::FinesOverLimit { .. }
            | Refusal::TooManyOverdue { .. }
    )
}

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
                "reader {} is not known",
                crate::privacy::mask(e.patron.as_deref().unwrap_or(""))
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
                Err(r) => {
                    let holder = snap.loan.as_ref().map(|l| l.1.patron.as_str());
                    Ok(Err(checkout_conflict(
                        snap.item_code().unwrap_or(""),
                        holder,
                        &r,
                    )))
                }
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
                        "item {} is not on loan to this reader",
                        snap.item_code().unwrap_or("")
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

/// What a checkout the kiosk made but the server refuses is, for staff:
/// `item` the copy, `holder` the reader it is on loan to (if any), named
/// by the last digits of the card only (staff find the loan by the item).
pub(crate) fn checkout_conflict(item: &str, holder: Option<&str>, r: &Refusal) -> Conflict {
    match r {
        Refusal::ItemOnLoanToAnother => conflict(
            "on_loan_elsewhere",
            match holder {
                Some(h) => format!(
                    "item {item} is on loan to another reader (card {})",
                    crate::privacy::mask(h)
                ),
                None => format!("item {item} is on loan to another reader"),
            },
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_checkouts_are_classified_for_staff() {
        let c = |r: Refusal| {
            let c = checkout_conflict("I1", Some("20009990009"), &r);
            (c.code, c.message)
        };
        assert_eq!(
            c(Refusal::ItemOnLoanToAnother),
            (
                "on_loan_elsewhere",
                "item I1 is on loan to another reader (card …0009)".into()
            )
        );
        assert_eq!(
            checkout_conflict("I1", None, &Refusal::ItemOnLoanToAnother).message,
            "item I1 is on loan to another reader"
        );
        assert_eq!(c(Refusal::ItemOnHoldForAnother).0, "on_hold_for_another");
        assert_eq!(
            c(Refusal::ItemNeedsStaff {
                status: "withdrawn".into()
            }),
            ("item_withdrawn", "item I1 is withdrawn".into())
        );
        assert_eq!(
            c(Refusal::ItemNeedsStaff {
                status: "missing".into()
            }),
            ("item_lost", "item I1 is recorded missing".into())
        );
        assert_eq!(c(Refusal::ItemNotForLoan).0, "not_for_loan");
        // Standing refusals are about the reader, whatever the item.
        for r in [
            Refusal::CardExpired {
                expired: "2026-01-01".into(),
            },
            Refusal::PatronBlocked {
                reason: "lost card".into(),
            },
            Refusal::FinesOverLimit {
                owed: 900,
                limit: 500,
            },
            Refusal::TooManyOverdue {
                overdue: 3,
                limit: 2,
            },
        ] {
            let code = r.code();
            let (k, m) = c(r);
            assert_eq!(k, "patron_blocked");
            assert!(m.ends_with(code), "{m}");
        }
        // Anything else keeps the domain's code.
        let (k, m) = c(Refusal::IncompleteSet { seen: 1, parts: 2 });
        assert_eq!(
            (k, m.as_str()),
            (
                "checkout_refused",
                Refusal::IncompleteSet { seen: 1, parts: 2 }.code()
            )
        );
    }

    #[test]
    fn replaying_needs_a_reader_and_an_item_by_kind() {
        assert_eq!(needs(&EntryKind::Checkout), (true, true));
        assert_eq!(needs(&EntryKind::Renew), (true, true));
        assert_eq!(needs(&EntryKind::HoldPlaced), (true, true));
        assert_eq!(needs(&EntryKind::HoldCancelled), (true, true));
        assert_eq!(needs(&EntryKind::Checkin), (false, true));
        for k in [
            EntryKind::Feedback,
            EntryKind::FeePaid,
            EntryKind::Security,
            EntryKind::Unknown("teleport".into()),
        ] {
            assert_eq!(needs(&k), (false, false), "{k}");
        }
    }
}
