//! The reader's side of a session at the ILS: the 98 gate, renew all (65),
//! the PIN (23/63), the patron's lists and account (63/64).

use super::*;

impl Sip2Upstream {
    /// The 98 flags as a gate: an ILS that says it is offline is
    /// unreachable for this request.
    pub(super) async fn acs_open(
        &self,
        what: &str,
    ) -> Result<crate::sync::sip2::client::AcsInfo, ClientError> {
        let acs = self.client.acs_now().await?;
        if !acs.online {
            return Err(ClientError::Io {
                at: self.client.address().to_string(),
                detail: format!("the ILS's status (98) says it is offline ({what})"),
            });
        }
        Ok(acs)
    }

    /// 65 → 66, then a 17 per item for the new due dates (66 lists only
    /// barcodes) and for the reason of each refusal (a hold queue).
    pub(super) async fn renew_all_inner(
        &self,
        patron: &str,
    ) -> Result<RenewAllAnswer, ClientError> {
        let acs = self.acs_open("renew all").await?;
        if !acs.renewal_ok {
            return Ok(RenewAllAnswer {
                ok: false,
                screen_messages: vec!["the library system does not allow renewals here".into()],
                ..Default::default()
            });
        }
        let req = RenewAllRequest {
            transaction_date: date(Local::now().naive_local()),
            institution_id: self.ao(),
            patron_id: some(patron),
            terminal_password: self.ac(),
            fee_acknowledged: some("N"),
            ..Default::default()
        };
        let r: RenewAllResponse = self.client.exchange(&req).await?;
        let mut out = RenewAllAnswer {
            ok: r.ok.is_one(),
            screen_messages: r.screen_messages.clone(),
            print_lines: r.print_lines.clone(),
            ..Default::default()
        };
        let look = self.supports("17");
        for item in r.renewed_items.iter().filter(|i| !i.is_empty()) {
            let info = if look {
                Some(self.item_info(item).await?)
            } else {
                None
            };
            out.renewed.push(RenewedItem {
                item: item.clone(),
                title: info
                    .as_ref()
                    .and_then(|i| i.title_id.clone())
                    .filter(|t| !t.is_empty()),
                due: info
                    .as_ref()
                    .and_then(|i| i.due_date.as_deref())
                    .and_then(kiosk_due),
            });
        }
        for item in r.unrenewed_items.iter().filter(|i| !i.is_empty()) {
            let info = if look {
                Some(self.item_info(item).await?)
            } else {
                None
            };
            let held = info.as_ref().is_some_and(holds_waiting);
            out.unrenewed.push(UnrenewedItem {
                item: item.clone(),
                title: info
                    .as_ref()
                    .and_then(|i| i.title_id.clone())
                    .filter(|t| !t.is_empty()),
                reason: if held {
                    "renewal_blocked_by_hold".into()
                } else {
                    ILS_REFUSED.into()
                },
                message: first_message(&r.screen_messages),
            });
        }
        Ok(out)
    }

    /// 23 (or 63) with the PIN as AD: BL says whether the ILS knows the
    /// card, CQ whether the PIN is right.
    pub(super) async fn check_pin_inner(
        &self,
        patron: &str,
        pin: &str,
    ) -> Result<PinAnswer, ClientError> {
        self.acs_open("PIN check").await?;
        let now = date(Local::now().naive_local());
        let (valid, cq, name, screen, flags) = if self.supports("23") {
            let req = PatronStatusRequest {
                language: Some(0),
                transaction_date: now,
                institution_id: self.ao(),
                patron_id: some(patron),
                terminal_password: self.ac(),
                patron_password: some(pin),
                ..Default::default()
            };
            let r: PatronStatusResponse = self.client.exchange(&req).await?;
            let flags = r.patron_status.set().len();
            (
                r.valid_patron,
                r.valid_patron_password,
                r.personal_name,
                r.screen_messages,
                flags,
            )
        } else {
            let req = PatronInformationRequest {
                language: Some(0),
                transaction_date: now,
                summary: Summary::none(),
                institution_id: self.ao(),
                patron_id: some(patron),
                terminal_password: self.ac(),
                patron_password: some(pin),
                ..Default::default()
            };
            let r: PatronInformationResponse = self.client.exchange(&req).await?;
            let flags = r.patron_status.set().len();
            (
                r.valid_patron,
                r.valid_patron_password,
                r.personal_name,
                r.screen_messages,
                flags,
            )
        };
        let yes = |v: &Option<String>| v.as_deref().map(|v| v.trim().eq_ignore_ascii_case("Y"));
        Ok(PinAnswer {
            // No BL: the ILS did not say no.
            known: yes(&valid).unwrap_or(true),
            valid: yes(&cq),
            name: name.filter(|n| !n.is_empty()),
            screen_messages: screen,
            // Any patron status flag (charge privileges denied, too many
            // overdue, excessive fines, …) means the ILS would not lend.
            may_borrow: Some(flags == 0),
            ..PinAnswer::default()
        })
    }

    /// One 63 asking for one summary list.
    pub(super) async fn patron_list(
        &self,
        patron: &str,
        list: SummaryItem,
    ) -> Result<PatronInformationResponse, ClientError> {
        let req = PatronInformationRequest {
            language: Some(0),
            transaction_date: date(Local::now().naive_local()),
            summary: Summary::only(list),
            institution_id: self.ao(),
            patron_id: some(patron),
            terminal_password: self.ac(),
            start_item: some("1"),
            end_item: some("9999"),
            ..Default::default()
        };
        self.client.exchange(&req).await
    }

    /// 63 four times (charged items, holds ready, holds waiting, fines: the
    /// spec allows one list per request), then a 17 per loan for its title
    /// and due date (the first `ACCOUNT_LOOKUPS` loans: an account must
    /// answer within a decision's deadline; the rest show the kiosk's
    /// title and no due date).
    pub(super) async fn account_inner(
        &self,
        patron: &str,
    ) -> Result<Option<AccountAnswer>, ClientError> {
        self.acs_open("account").await?;
        let charged = self.patron_list(patron, SummaryItem::ChargedItems).await?;
        if !charged
            .valid_patron
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case("Y"))
        {
            return Ok(None);
        }
        let ready = self.patron_list(patron, SummaryItem::HoldItems).await?;
        let waiting = self
            .patron_list(patron, SummaryItem::UnavailableHolds)
            .await?;
        let fines = self.patron_list(patron, SummaryItem::FineItems).await?;
        let now = Local::now().naive_local();
        let mut loans = Vec::new();
        for (n, item) in charged
            .charged_items
            .iter()
            .filter(|i| !i.is_empty())
            .enumerate()
        {
            let info = if self.supports("17") && n < ACCOUNT_LOOKUPS {
                Some(self.item_info(item).await?)
            } else {
                None
            };
            let due = info
                .as_ref()
                .and_then(|i| i.due_date.as_deref())
                .and_then(kiosk_due);
            let overdue = due.as_deref().and_then(due_time).is_some_and(|d| d < now);
            loans.push(AccountLoanAnswer {
                item: item.clone(),
                title: info.and_then(|i| i.title_id).filter(|t| !t.is_empty()),
                due,
                overdue,
            });
        }
        let hold = |item: &String, status: &str| AccountHoldAnswer {
            item: item.clone(),
            title: None,
            status: status.into(),
        };
        let holds = ready
            .hold_items
            .iter()
            .map(|i| hold(i, "ready"))
            .chain(
                waiting
                    .unavailable_hold_items
                    .iter()
                    .map(|i| hold(i, "waiting")),
            )
            .collect();
        let set = charged.patron_status.set();
        Ok(Some(AccountAnswer {
            name: charged.personal_name.clone().unwrap_or_default(),
            blocked: (!set.is_empty()).then(|| set.join(", ")),
            fines_owed_cents: charged.fee_amount.as_deref().map_or(0, cents),
            currency: charged.currency_type.clone().filter(|c| !c.is_empty()),
            loans,
            holds,
            fines: fines.fine_items.clone(),
            screen_messages: charged.screen_messages.clone(),
        }))
    }
}
