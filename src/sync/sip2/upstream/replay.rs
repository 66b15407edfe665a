//! Replaying offline journal entries to the ILS: each one checked against
//! what the ILS already holds, applied once, or turned into a conflict.

use super::*;

impl Sip2Upstream {
    /// Replays one journal entry; Err only for transport trouble (the
    /// entry stays in the outbox and is tried again, checked first).
    pub(super) async fn replay(&self, e: &Entry) -> Result<EntryResult, ClientError> {
        if e.decision != "accepted" {
            tracing::info!(entry_id = %e.id, kind = %e.kind, "refused at the kiosk: nothing to replay to the ILS");
            return Ok(applied(
                e,
                Some("refused at the kiosk; nothing sent to the ILS".into()),
            ));
        }
        let nb_due = e.due.as_deref().and_then(due_time);
        // 37 only to an ILS whose 98 lists it (asked first: connecting).
        let pays = e.kind == EntryKind::FeePaid && self.client.acs_now().await?.supports("37");
        let carried = e.kind.is_circulation() || e.kind.is_hold() || pays;
        if carried && e.offline && !self.client.acs_now().await?.offline_ok {
            return Ok(conflict(
                e,
                conflict::OFFLINE_NOT_ACCEPTED,
                "the ILS takes no offline transactions (98: offline ok = N); enter it at the desk"
                    .into(),
            ));
        }
        match &e.kind {
            EntryKind::Checkout => {
                let (Some(patron), Some(item)) = (e.patron.as_deref(), e.item.as_deref()) else {
                    return Ok(conflict(
                        e,
                        conflict::ILS_REFUSED,
                        "a checkout without reader or item".into(),
                    ));
                };
                // Did an earlier attempt already go through?
                let mut before = None;
                if self.supports("17") {
                    let info = self.item_info(item).await?;
                    if is_charged(&info) && self.supports("63") {
                        let charged = self.charged_to(patron).await?;
                        if charged.iter().any(|c| c == item) {
                            return Ok(applied(
                                e,
                                Some("already on loan to this reader at the ILS".into()),
                            ));
                        }
                    }
                    before = item_conflict(&info);
                }
                let r = self.checkout(e, true, nb_due).await?;
                if r.ok.is_one() {
                    let ils_due = r.due_date.as_deref().and_then(kiosk_due);
                    let due_note = match (&ils_due, &e.due) {
                        (Some(a), Some(b)) if a != b => {
                            Some(format!("the ILS set the due date to {a} (kiosk: {b})"))
                        }
                        _ => None,
                    };
                    let note: Vec<String> = due_note
                        .into_iter()
                        .chain(screen_note(&r.screen_messages))
                        .collect();
                    return Ok(applied(e, (!note.is_empty()).then(|| note.join("; "))));
                }
                let code = before.unwrap_or(conflict::ILS_REFUSED);
                Ok(conflict(e, code, first_message(&r.screen_messages)))
            }
            EntryKind::Checkin => {
                let Some(item) = e.item.as_deref() else {
                    return Ok(conflict(
                        e,
                        conflict::NOT_ON_LOAN,
                        "a checkin without item".into(),
                    ));
                };
                if self.supports("17") {
                    let info = self.item_info(item).await?;
                    if !is_charged(&info) && item_conflict(&info) != Some(conflict::UNKNOWN_ITEM) {
                        return Ok(applied(
                            e,
                            Some("not on loan at the ILS: already checked in".into()),
                        ));
                    }
                }
                let r = self.checkin(e, true).await?;
                if r.ok.is_one() {
                    Ok(applied(e, screen_note(&r.screen_messages)))
                } else {
                    Ok(conflict(
                        e,
                        conflict::NOT_ON_LOAN,
                        first_message(&r.screen_messages),
                    ))
                }
            }
            EntryKind::Renew => {
                let r = self.renew(e, true, nb_due).await?;
                if r.ok.is_one() {
                    Ok(applied(e, screen_note(&r.screen_messages)))
                } else {
                    Ok(conflict(
                        e,
                        conflict::RENEWAL_REFUSED,
                        first_message(&r.screen_messages),
                    ))
                }
            }
            EntryKind::FeePaid if pays => {
                let r = self.fee_paid(e).await?;
                if r.payment_accepted.is_yes() {
                    let bk = r.transaction_id.as_deref().filter(|s| !s.is_empty());
                    let mut note: Vec<String> = bk
                        .map(|b| format!("ILS transaction {b}"))
                        .into_iter()
                        .collect();
                    note.extend(r.screen_messages.iter().filter(|m| !m.is_empty()).cloned());
                    Ok(applied(e, (!note.is_empty()).then(|| note.join("; "))))
                } else {
                    Ok(conflict(
                        e,
                        conflict::PAYMENT_REFUSED,
                        first_message(&r.screen_messages),
                    ))
                }
            }
            EntryKind::HoldPlaced | EntryKind::HoldCancelled => {
                let r = self.hold(e, e.kind == EntryKind::HoldPlaced).await?;
                if r.ok.is_one() {
                    Ok(applied(e, screen_note(&r.screen_messages)))
                } else {
                    Ok(conflict(
                        e,
                        conflict::ILS_REFUSED,
                        first_message(&r.screen_messages),
                    ))
                }
            }
            other => {
                tracing::info!(entry_id = %e.id, kind = %other, "not carried by SIP2: acknowledged, kept in the local journal");
                Ok(applied(
                    e,
                    Some(format!(
                        "{other}: not carried by SIP2; kept in the kiosk's journal"
                    )),
                ))
            }
        }
    }
}
