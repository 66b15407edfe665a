//! Online decisions: one loan, return, renewal, hold or payment asked of
//! the ILS while the reader waits, and why the ILS said no (17).

use super::*;

impl Sip2Upstream {
    /// Why the ILS refused a loan of `item`, from a 17 lookup; None when
    /// the lookup fails or says nothing.
    pub(super) async fn why_not(&self, item: Option<&str>) -> Option<&'static str> {
        let item = item?;
        if !self.supports("17") {
            return None;
        }
        self.item_info(item)
            .await
            .ok()
            .and_then(|i| item_conflict(&i))
    }

    pub(super) async fn decide_inner(
        &self,
        req: &DecideRequest,
    ) -> Result<DecideResponse, ClientError> {
        let e = &req.entry;
        // The 98 flags: an ILS that says it is offline, or that it takes
        // no checkouts / checkins now, is treated as unreachable for them
        // (the kiosk decides under [offline]); renewals it does not allow
        // are refused without asking.
        let acs = self.client.acs_now().await?;
        let closed = !acs.online
            || (e.kind == EntryKind::Checkout && !acs.checkout_ok)
            || (e.kind == EntryKind::Checkin && !acs.checkin_ok);
        if closed {
            return Err(ClientError::Io {
                at: self.client.address().to_string(),
                detail: format!("the ILS's status (98) says it does not take {} now", e.kind),
            });
        }
        if e.kind == EntryKind::Renew && !acs.renewal_ok {
            let mut d = Map::new();
            d.insert(
                "message".into(),
                json!("the library system does not allow renewals here"),
            );
            return Ok(DecideResponse {
                id: e.id,
                decision: "refused".into(),
                reason: Some(ILS_REFUSED.into()),
                due: None,
                detail: Value::Object(d),
            });
        }
        let (accepted, due, mut detail, screen) = match &e.kind {
            // `detail` follows what `Circulation`'s typed results read
            // (`FromOnline`): item, title, route, sort_bin, queue_position.
            EntryKind::Checkout => {
                let r = self.checkout(e, false, None).await?;
                let mut d = shown(&r.screen_messages, &r.print_lines, &r.title_id);
                if let Some(ah) = r.due_date.as_deref().filter(|s| !s.is_empty()) {
                    d.insert("ils_due".into(), json!(ah));
                }
                if let Some(m) = r.media_type.as_deref() {
                    d.insert("media_type".into(), json!(m));
                }
                d.insert("desensitize".into(), json!(r.desensitize.is_yes()));
                let due = r.due_date.as_deref().and_then(kiosk_due);
                (r.ok.is_one(), due, d, r.screen_messages)
            }
            EntryKind::Checkin => {
                let r = self.checkin(e, false).await?;
                let mut d = shown(&r.screen_messages, &r.print_lines, &r.title_id);
                d.insert("alert".into(), json!(r.alert.is_yes()));
                d.insert("resensitize".into(), json!(r.resensitize.is_yes()));
                if let Some(b) = r.sort_bin.as_deref().filter(|s| !s.is_empty()) {
                    d.insert("sort_bin".into(), json!(b));
                }
                if let Some(l) = r.permanent_location.as_deref().filter(|s| !s.is_empty()) {
                    d.insert("permanent_location".into(), json!(l));
                }
                // An alert (typically a hold to route, said in AF): the
                // item goes to staff; otherwise to the ILS's sort bin.
                let route = if r.alert.is_yes() {
                    json!({"to": "staff"})
                } else {
                    json!({"to": "sort_bin", "bin": r.sort_bin.clone().unwrap_or_default()})
                };
                d.insert("route".into(), route);
                (r.ok.is_one(), None, d, r.screen_messages)
            }
            EntryKind::Renew => {
                let r = self.renew(e, false, None).await?;
                let mut d = shown(&r.screen_messages, &r.print_lines, &r.title_id);
                if let Some(ah) = r.due_date.as_deref().filter(|s| !s.is_empty()) {
                    d.insert("ils_due".into(), json!(ah));
                }
                let due = r.due_date.as_deref().and_then(kiosk_due);
                (r.ok.is_one(), due, d, r.screen_messages)
            }
            EntryKind::FeePaid => {
                let r = self.fee_paid(e).await?;
                let mut d = shown(&r.screen_messages, &r.print_lines, &None);
                if let Some(bk) = r.transaction_id.as_deref().filter(|s| !s.is_empty()) {
                    d.insert("ils_transaction_id".into(), json!(bk));
                }
                (r.payment_accepted.is_yes(), None, d, r.screen_messages)
            }
            EntryKind::HoldPlaced | EntryKind::HoldCancelled => {
                let r = self.hold(e, e.kind == EntryKind::HoldPlaced).await?;
                let mut d = shown(&r.screen_messages, &r.print_lines, &r.title_id);
                d.insert("available".into(), json!(r.available.is_yes()));
                if let Some(q) = r.queue_position.as_deref() {
                    if let Ok(n) = q.trim().parse::<u32>() {
                        d.insert("queue_position".into(), json!(n));
                    }
                }
                for (k, v) in [
                    ("pickup_location", &r.pickup_location),
                    ("expiration_date", &r.expiration_date),
                ] {
                    if let Some(v) = v.as_deref().filter(|s| !s.is_empty()) {
                        d.insert(k.into(), json!(v));
                    }
                }
                (r.ok.is_one(), None, d, r.screen_messages)
            }
            other => {
                return Err(ClientError::Unexpected {
                    at: self.client.address().to_string(),
                    sent: other.to_string(),
                    got: "nothing: SIP2 cannot carry this request".into(),
                })
            }
        };
        if let Some(item) = &e.item {
            detail.entry("item").or_insert_with(|| json!(item));
        }
        let reason = if accepted {
            None
        } else {
            let why = match &e.kind {
                EntryKind::Checkout => refusal_for(self.why_not(e.item.as_deref()).await),
                EntryKind::Renew => match e.item.as_deref().filter(|_| self.supports("17")) {
                    Some(item) => match self.item_info(item).await {
                        Ok(i) if holds_waiting(&i) => "renewal_blocked_by_hold",
                        _ => ILS_REFUSED,
                    },
                    None => ILS_REFUSED,
                },
                _ => ILS_REFUSED,
            };
            detail.insert("message".into(), json!(first_message(&screen)));
            Some(why.to_string())
        };
        Ok(DecideResponse {
            id: e.id,
            decision: if accepted { "accepted" } else { "refused" }.into(),
            reason,
            due,
            detail: Value::Object(detail),
        })
    }
}
