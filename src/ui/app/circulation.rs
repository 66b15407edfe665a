//! Loans, returns, renewals and holds on the touch screen: an item scanned
//! or placed on the pad becomes a call on the desk (`sync::Circulation`,
//! online, offline or standalone) in a Task, and the committed decision
//! that comes back a line on the reader's screen; tag security after the
//! commit. Nothing here writes to the store. Part of `App` (src/ui/app).
//!
//! May import what `ui::app` may (`use super::*`).

use super::*;

impl App {
    /// An item scanned or placed: a hold (holds screen), a loan (session
    /// open) or a return (no card).
    pub(super) fn item(&mut self, code: &str, parts_seen: Option<u8>, uids: &[Uid], device: &str) {
        let card = self.session.as_ref().map(|s| s.card.clone());
        match (
            session::on_scan(&self.at(), false, Scanned::Item, code),
            card,
        ) {
            (Action::Borrow, Some(card)) => self.lend(card, code, parts_seen, uids, device),
            (Action::Hold, Some(card)) => self.place_hold(&card, code),
            (Action::Return, _) => self.return_item(code, parts_seen, uids, device),
            (Action::CardFirst, _) => self.tell(Notice::said("kiosk-scan-card-first")),
            // Out of service (an item is never anything else).
            _ => {}
        }
    }

    /// Lends `code` to the reader with `card`, decided on the desk in a
    /// Task; the line appears when the committed decision comes back.
    pub(super) fn lend(
        &mut self,
        card: String,
        code: &str,
        parts_seen: Option<u8>,
        uids: &[Uid],
        device: &str,
    ) {
        let (item, uids, device) = (code.to_string(), uids.to_vec(), device.to_string());
        let asked = self
            .desk
            .clone()
            .checkout(card, item.clone(), parts_seen, Self::now());
        self.queue(Task::perform(asked, move |result| {
            Message::Lent(Box::new(Lent {
                item: item.clone(),
                uids: uids.clone(),
                device: device.clone(),
                result,
            }))
        }));
    }

    /// The desk's decision on a loan (online, offline or standalone),
    /// committed.
    pub(super) fn lent(&mut self, l: Lent) {
        let d = match l.result {
            Ok(d) => d,
            Err(e) => return self.failed("checkout", e),
        };
        match d.typed() {
            Some(Ok(mut c)) => {
                // An upstream names what it lent by the code it was asked
                // about; titles come from it, or from the local catalogue.
                if c.item.is_empty() {
                    c.item = l.item.clone();
                }
                if c.title.is_empty() {
                    (c.title, c.author) = self.title_of(&l.item);
                }
                self.show_loan(&l.item, &l.uids, &l.device, Ok(c))
            }
            Some(Err(r)) => self.show_loan(&l.item, &l.uids, &l.device, Err(r)),
            // Accepted, with a due date this kiosk cannot read: lent all
            // the same, the date shown as sent.
            None => {
                let (title, author) = self.title_of(&l.item);
                let title = detail_text(&d.detail, "title").unwrap_or(title);
                let due = d.due.clone().unwrap_or_default();
                let status = if self.secure(&l.item, &l.uids, &l.device, true) {
                    borrow::Status::Borrowed { due }
                } else {
                    borrow::Status::BorrowedInsecure { due }
                };
                self.push_line(borrow::Line {
                    item: l.item,
                    title,
                    author,
                    status,
                });
            }
        }
    }

    pub(super) fn push_line(&mut self, line: borrow::Line) {
        if self.session.is_some() {
            self.cue(sound::for_loan(&line.status));
        }
        if let Some(s) = &mut self.session {
            s.borrow.push(line);
            self.screen = Screen::Borrow;
        }
    }

    pub(super) fn show_loan(
        &mut self,
        code: &str,
        uids: &[Uid],
        device: &str,
        result: Result<CheckoutOk, Refusal>,
    ) {
        let line = match result {
            Ok(c) => {
                let secured = self.secure(&c.item, uids, device, true);
                let due = c.due.to_string();
                borrow::Line {
                    item: c.item,
                    title: c.title,
                    author: c.author,
                    status: if secured {
                        borrow::Status::Borrowed { due }
                    } else {
                        borrow::Status::BorrowedInsecure { due }
                    },
                }
            }
            Err(r) => {
                let (title, author) = self.title_of(code);
                borrow::Line {
                    item: code.to_string(),
                    title,
                    author,
                    status: borrow::Status::Refused(r),
                }
            }
        };
        self.push_line(line);
    }

    pub(super) fn return_item(
        &mut self,
        code: &str,
        parts_seen: Option<u8>,
        uids: &[Uid],
        device: &str,
    ) {
        let (item, uids, device) = (code.to_string(), uids.to_vec(), device.to_string());
        let asked = self
            .desk
            .clone()
            .checkin(item.clone(), parts_seen, Self::now());
        self.queue(Task::perform(asked, move |result| {
            Message::Returned(Box::new(Returned {
                item: item.clone(),
                uids: uids.clone(),
                device: device.clone(),
                result,
            }))
        }));
    }

    /// The desk's decision on a return, committed.
    pub(super) fn returned(&mut self, r: Returned) {
        let d = match r.result {
            Ok(d) => d,
            Err(e) => return self.failed("checkin", e),
        };
        match d.typed() {
            Some(Ok(mut c)) => {
                if c.item.is_empty() {
                    c.item = r.item.clone();
                }
                if c.title.is_empty() {
                    c.title = self.title_of(&r.item).0;
                }
                self.show_return(&r.item, &r.uids, &r.device, Ok(c))
            }
            Some(Err(refusal)) => self.show_return(&r.item, &r.uids, &r.device, Err(refusal)),
            None => self.failed("checkin", "an answer this kiosk cannot read"),
        }
    }

    pub(super) fn push_return(&mut self, line: returns::Line) {
        self.cue(sound::for_return(&line));
        if !matches!(self.screen, Screen::Return(_)) {
            self.screen = Screen::Return(returns::Return::default());
        }
        if let Screen::Return(r) = &mut self.screen {
            r.push(line);
        }
    }

    pub(super) fn show_return(
        &mut self,
        code: &str,
        uids: &[Uid],
        device: &str,
        result: Result<CheckinOk, Refusal>,
    ) {
        let line = match result {
            Ok(c) => {
                let secured = self.secure(&c.item, uids, device, false);
                returns::Line {
                    item: c.item,
                    title: c.title,
                    result: Ok(returns::Returned {
                        fine_cents: c.fine_cents,
                        overdue_days: c.overdue_days,
                        route: match c.route {
                            Route::HoldShelf { .. } => returns::Where::HoldShelf {
                                code: c.pickup_code.unwrap_or_default(),
                            },
                            Route::SortBin { bin } => returns::Where::Bin(bin),
                            Route::Staff => returns::Where::Staff,
                        },
                        security_failed: !secured,
                    }),
                }
            }
            Err(r) => returns::Line {
                item: code.to_string(),
                title: self.title_of(code).0,
                result: Err(r),
            },
        };
        self.push_return(line);
    }

    pub(super) fn title_of(&self, code: &str) -> (String, String) {
        self.store
            .item_title(code)
            .ok()
            .flatten()
            .unwrap_or_else(|| (code.to_string(), String::new()))
    }

    /// Sets tag security after a committed loan or return, off the UI
    /// thread; a failure comes back as `Message::Secured`, is journaled
    /// for staff and changes the item's line. False when it cannot even
    /// be tried (tags but no devices).
    pub(super) fn secure(&mut self, item: &str, uids: &[Uid], device: &str, on_loan: bool) -> bool {
        if uids.is_empty() {
            return true;
        }
        let Some(devices) = self.devices.clone() else {
            return false;
        };
        let afi = devices
            .handle(device)
            .and_then(|h| h.config.rfid())
            .map(|rfid| rfid.afi(on_loan))
            .unwrap_or(0);
        let (item, uids, device) = (item.to_string(), uids.to_vec(), device.to_string());
        let writer = device.clone();
        self.queue(Task::perform(
            async move {
                let written = tokio::task::spawn_blocking(move || {
                    uids.iter()
                        .filter_map(|uid| {
                            devices
                                .secure(&writer, uid, on_loan)
                                .err()
                                .map(|e| (*uid, afi, e))
                        })
                        .collect::<Vec<_>>()
                })
                .await;
                written.unwrap_or_else(|e| vec![([0; 8], afi, format!("AFI writer stopped: {e}"))])
            },
            move |failures| {
                Message::Secured(Box::new(Secured {
                    item: item.clone(),
                    device: device.clone(),
                    on_loan,
                    failures,
                }))
            },
        ));
        true
    }

    /// Tags that would not take their security: journaled, and the
    /// item's line tells the reader to see staff.
    pub(super) fn secured(&mut self, s: Secured) {
        if s.failures.is_empty() {
            return;
        }
        self.cue(Cue::Attention);
        for (uid, afi, e) in &s.failures {
            tracing::warn!(device = %s.device, item = %mask(&s.item), "tag security not set: {e}");
            let journaled = self.desk.clone().record_security_failure(
                s.item.clone(),
                uid_hex(uid),
                *afi,
                s.device.clone(),
                e.clone(),
                Self::now(),
            );
            self.queue(Task::perform(journaled, Message::SecurityJournaled));
        }
        if s.on_loan {
            if let Some(session) = &mut self.session {
                for l in session.borrow.lines.iter_mut().filter(|l| l.item == s.item) {
                    if let borrow::Status::Borrowed { due } = &l.status {
                        l.status = borrow::Status::BorrowedInsecure { due: due.clone() };
                    }
                }
            }
        } else if let Screen::Return(r) = &mut self.screen {
            for l in r.lines.iter_mut().filter(|l| l.item == s.item) {
                if let Ok(done) = &mut l.result {
                    done.security_failed = true;
                }
            }
        }
    }

    pub(super) fn renew_from_borrow(&mut self, item: &str) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        let item = item.to_string();
        let asked = self.desk.clone().renew(card, item.clone(), Self::now());
        self.queue(Task::perform(asked, move |r| {
            Message::Renewed(Box::new((item.clone(), r)))
        }));
    }

    /// The desk's decision on a renewal from the borrow screen.
    pub(super) fn renewed(&mut self, (item, result): (String, Result<Decision<RenewOk>, Failed>)) {
        match result.map(|d| d.typed()) {
            Ok(Some(result)) => self.show_renewal(&item, result),
            Ok(None) => self.failed("renew", "an answer this kiosk cannot read"),
            Err(e) => self.failed("renew", e),
        }
    }

    pub(super) fn show_renewal(&mut self, item: &str, result: Result<RenewOk, Refusal>) {
        let (title, author) = self.title_of(item);
        let status = match result {
            Ok(r) => borrow::Status::Renewed {
                due: r.due.to_string(),
            },
            Err(r) => borrow::Status::Refused(r),
        };
        self.cue(sound::for_loan(&status));
        if let Some(s) = &mut self.session {
            s.borrow.push(borrow::Line {
                item: item.to_string(),
                title,
                author,
                status,
            });
        }
    }

    /// Renews one item (Some) or all, then shows the fresh account; each
    /// renewal is its own decision on the desk (online, offline by the
    /// same rules, or standalone), in a Task.
    pub(super) fn renew_from_account(&mut self, item: Option<&str>) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        let now = Self::now();
        let desk = self.desk.clone();
        match item {
            // One request where the upstream renews all at once (SIP2
            // 65), else one decision per loan: Circulation::renew_all.
            None => self.queue(Task::perform(desk.renew_all(card, now), |r| {
                Message::AllRenewed(Box::new(r))
            })),
            Some(i) => {
                let i = i.to_string();
                self.queue(Task::perform(desk.renew(card, i.clone(), now), move |r| {
                    Message::AccountRenewed(Box::new(vec![(i.clone(), r)]))
                }));
            }
        }
    }

    /// The desk's decisions on renewals asked from the account screen.
    pub(super) fn account_renewals(&mut self, v: AccountRenewals) {
        let mut outcomes = Vec::with_capacity(v.len());
        for (item, result) in v {
            match result.map(|d| d.typed()) {
                Ok(Some(r)) => outcomes.push((item, r)),
                Ok(None) => self.failed("renew", "an answer this kiosk cannot read"),
                Err(e) => self.failed("renew", e),
            }
        }
        self.account_renewed(outcomes);
    }

    /// "Renew all" answered on the desk: each loan's decision
    /// next to it, a refusal of the whole request as a notice.
    pub(super) fn all_renewed(&mut self, result: Result<RenewAll, Failed>) {
        let all = match result {
            Ok(a) => a,
            Err(e) => return self.failed("renew_all", e),
        };
        for m in &all.screen_messages {
            tracing::info!(message = %m, "the central system's words on renew all");
        }
        if let Some(r) = all.refused {
            self.tell(Notice::Refused(r));
        }
        let mut outcomes = Vec::with_capacity(all.loans.len());
        for d in all.loans {
            // The decision names its journal entry; the entry its item.
            let item = detail_text(&d.detail, "item")
                .or_else(|| {
                    self.store
                        .entry_item(&d.entry.id.to_string())
                        .ok()
                        .flatten()
                })
                .unwrap_or_default();
            match d.typed() {
                Some(Ok(r)) => {
                    let item = if item.is_empty() {
                        r.item.clone()
                    } else {
                        item
                    };
                    outcomes.push((item, Ok(r)));
                }
                Some(Err(refusal)) => outcomes.push((item, Err(refusal))),
                None => self.failed("renew", "an answer this kiosk cannot read"),
            }
        }
        self.account_renewed(outcomes);
    }

    /// Shows each renewal next to its loan and refreshes the account.
    pub(super) fn account_renewed(&mut self, outcomes: Vec<(String, Result<RenewOk, Refusal>)>) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        let refused = outcomes.iter().any(|(_, r)| r.is_err());
        self.cue(if refused { Cue::Error } else { Cue::Success });
        let fresh = self.store.account(&card, Self::now());
        if let Screen::Account(a) = &mut self.screen {
            for (i, result) in outcomes {
                let n = match result {
                    Ok(r) => Notice::Said(
                        "renew-ok",
                        vec![("title", r.title), ("due", r.due.to_string())],
                    ),
                    Err(r) => Notice::Refused(r),
                };
                if !i.is_empty() {
                    a.notices.insert(i, n);
                }
            }
            if let Ok(Some(d)) = fresh {
                a.refresh(d);
            }
        }
        // renew_all does not say which item a refusal was for: name the
        // refused ones by what is still due soonest is guesswork, so the
        // refusals are shown by the account refresh (unchanged due dates).
    }

    pub(super) fn show_account(&mut self) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        match self.store.account(&card, Self::now()) {
            Ok(Some(d)) => self.screen = Screen::Account(account::Account::new(d)),
            Ok(None) => self.tell(Notice::Refused(Refusal::UnknownPatron)),
            Err(e) => self.failed("account", e),
        }
    }

    pub(super) fn show_holds(&mut self) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        match self.store.account(&card, Self::now()) {
            Ok(Some(d)) => self.screen = Screen::Holds(holds::Holds::new(d.holds)),
            Ok(None) => self.tell(Notice::Refused(Refusal::UnknownPatron)),
            Err(e) => self.failed("account", e),
        }
    }

    pub(super) fn place_hold(&mut self, card: &str, code: &str) {
        let card = card.to_string();
        let asked = self
            .desk
            .clone()
            .place_hold(card.clone(), code.to_string(), Self::now());
        self.queue(Task::perform(asked, move |r| {
            Message::HoldPlaced(Box::new((card.clone(), r)))
        }));
    }

    /// The desk's decision on a hold (the card it was placed for).
    pub(super) fn hold_placed(
        &mut self,
        (card, result): (String, Result<Decision<HoldOk>, Failed>),
    ) {
        match result.map(|d| d.typed()) {
            Ok(Some(result)) => self.show_hold(&card, result),
            Ok(None) => self.failed("place_hold", "an answer this kiosk cannot read"),
            Err(e) => self.failed("place_hold", e),
        }
    }

    /// Cancels the reader's hold on the title of `item` on the desk, then
    /// shows the holds again.
    pub(super) fn cancel_hold(&mut self, item: &str) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        let asked = self
            .desk
            .clone()
            .cancel_hold(card, item.to_string(), Self::now());
        self.queue(Task::perform(asked, |r| {
            Message::HoldCancelled(Box::new(r))
        }));
    }

    /// The desk's decision on cancelling a hold (its title, or why not).
    pub(super) fn hold_cancelled(&mut self, r: Result<Decision<String>, Failed>) {
        match r.map(|d| d.typed()) {
            Ok(Some(result)) => self.show_cancelled(result),
            Ok(None) => self.failed("cancel_hold", "an answer this kiosk cannot read"),
            Err(e) => self.failed("cancel_hold", e),
        }
    }

    pub(super) fn show_cancelled(&mut self, result: Result<String, Refusal>) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        let n = match result {
            Ok(title) => Notice::Said("hold-cancelled", vec![("title", title)]),
            Err(r) => Notice::Refused(r),
        };
        self.cue(sound::for_notice(&n));
        let fresh = self.store.account(&card, Self::now());
        if let Screen::Holds(h) = &mut self.screen {
            h.placed.push(n);
            if let Ok(Some(d)) = fresh {
                h.holds = d.holds;
            }
        }
    }

    pub(super) fn show_hold(&mut self, card: &str, result: Result<HoldOk, Refusal>) {
        let now = Self::now();
        let n = match result {
            Ok(h) => Notice::Said("hold-ok", vec![("title", h.title)]),
            Err(r) => Notice::Refused(r),
        };
        self.cue(sound::for_notice(&n));
        let fresh = self.store.account(card, now);
        if let Screen::Holds(h) = &mut self.screen {
            h.placed.push(n);
            if let Ok(Some(d)) = fresh {
                h.holds = d.holds;
            }
        }
    }
}
