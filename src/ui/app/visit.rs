//! The reader's session on the touch screen: the idle screen and its
//! notices, a card and its PIN, the inactivity warning, and where a scan
//! goes. Part of `App` (src/ui/app).
//!
//! May import what `ui::app` may (`use super::*`).

use super::*;

impl App {
    pub(super) fn set_offline(&mut self, offline: bool) {
        if offline != self.offline {
            tracing::info!(offline, "central system reachability changed");
        }
        self.offline = offline;
        if let Screen::Attract(a) = &mut self.screen {
            a.offline = offline.then_some(self.config.offline.policy);
        }
    }

    /// Someone is here: the inactivity countdown starts over.
    pub(super) fn touch(&mut self) {
        self.last_activity = Instant::now();
        self.warning = None;
    }

    /// Once a second: the clock, notices that have been read, the
    /// inactivity warning and its countdown, the sync state.
    pub(super) fn tick(&mut self, now: Instant) {
        self.clock = Local::now().format("%H:%M").to_string();
        if self
            .toast
            .as_ref()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at).as_secs() >= NOTICE_SECS)
        {
            self.toast = None;
            if let Screen::Attract(a) = &mut self.screen {
                a.notice = None;
            }
        }
        self.refresh_staff();
        let idle = !matches!(self.screen, Screen::Attract(_));
        if !idle {
            self.warning = None;
            return;
        }
        if let Some(w) = &mut self.warning {
            if w.update(warning::Message::Tick) == Some(warning::Event::TimedOut) {
                self.timed_out();
            }
            return;
        }
        let k = &self.config.kiosk;
        let quiet = now.saturating_duration_since(self.last_activity).as_secs();
        let warn_after = k
            .inactivity_timeout_secs
            .saturating_sub(k.inactivity_warning_secs);
        if quiet >= u64::from(warn_after) {
            self.warning = Some(warning::Warning::new(k.inactivity_warning_secs.max(1)));
            self.cue(Cue::Attention);
        }
    }

    /// Nobody answered the warning: the card is logged out, no receipt.
    pub(super) fn timed_out(&mut self) {
        if let Some(s) = &self.session {
            tracing::info!(patron = %mask(&s.card), "session timed out");
        }
        self.go_idle(None);
    }

    /// Back to the idle screen: the session, any PIN in progress and the
    /// reader's language and contrast choice are forgotten.
    pub(super) fn go_idle(&mut self, notice: Option<Notice>) {
        self.session = None;
        self.lang_chosen = false;
        self.staff_field.clear();
        self.pending_card = None;
        self.warning = None;
        self.typed.clear();
        self.pad.reset();
        self.lang = self
            .config
            .kiosk
            .languages
            .first()
            .copied()
            .unwrap_or(self.lang);
        self.high_contrast = self.config.kiosk.high_contrast;
        let mut a = attract::Attract::new(self.out_of_service());
        a.message = (self.staff_out_of_service && !self.staff_message.is_empty())
            .then(|| self.staff_message.clone());
        a.staff_note = self.db_note();
        a.offline = self.offline.then_some(self.config.offline.policy);
        if notice.is_some() {
            self.toast = notice.clone().map(|n| (n, Instant::now()));
        }
        a.notice = notice;
        self.screen = Screen::Attract(a);
    }

    /// Tells the reader something on the current screen.
    pub(super) fn tell(&mut self, n: Notice) {
        self.cue(sound::for_notice(&n));
        self.toast = Some((n.clone(), Instant::now()));
        match &mut self.screen {
            Screen::Attract(a) => a.notice = Some(n),
            Screen::Borrow => {
                if let Some(s) = &mut self.session {
                    s.borrow.notice = Some(n);
                }
            }
            Screen::Holds(h) => h.placed.push(n),
            Screen::Identify(i) => i.error = Some(n),
            Screen::Receipt(r) => r.notice = Some(n),
            _ => {}
        }
    }

    /// A store failure: logged for staff, the reader is sent to staff.
    pub(super) fn failed(&mut self, what: &str, e: impl std::fmt::Display) {
        tracing::error!("{what}: {e}");
        self.tell(Notice::said("ui-error-staff"));
    }

    /// A code from a scanner (barcode, or typed and entered by hand).
    pub(super) fn scan(&mut self, raw: &str) {
        let code = normalize(raw);
        if code.is_empty() {
            return;
        }
        self.touch();
        if matches!(self.screen, Screen::Staff(_)) {
            let device = self.wedge_id();
            self.staff_test(&device, &code);
            return;
        }
        if matches!(self.screen, Screen::Identify(_)) {
            return;
        }
        let staff_card = self.config.staff.is_staff_card(&code);
        if !staff_card && self.out_of_service() {
            return;
        }
        if let Screen::Attract(a) = &mut self.screen {
            a.update(attract::Message::Touched);
        }
        let scanned = if staff_card {
            Scanned::Unknown
        } else {
            match self.store.classify(&code) {
                Ok(k) => k,
                Err(e) => return self.failed("classify", e),
            }
        };
        match session::on_scan(&self.at(), staff_card, scanned, &code) {
            Action::StaffMenu => {
                tracing::info!("staff menu opened with a staff card");
                self.open_staff();
            }
            Action::Ignore => {}
            Action::EndSession => self.finish(),
            Action::FinishFirst => self.tell(Notice::said("ui-finish-first")),
            Action::Identify => self.start(code),
            Action::Borrow | Action::Hold | Action::Return | Action::CardFirst => {
                self.item(&code, None, &[], "")
            }
            Action::Refuse(r) => self.tell(Notice::Refused(r)),
        }
    }

    /// Where the kiosk stands, for `domain::session`'s rules on a scan.
    pub(super) fn at(&self) -> session::At<'_> {
        session::At {
            session: self.session.as_ref().map(|s| s.card.as_str()),
            idle: matches!(self.screen, Screen::Attract(_)),
            holds: matches!(self.screen, Screen::Holds(_)),
            return_without_card: self.config.kiosk.return_without_card,
            out_of_service: self.out_of_service(),
        }
    }

    /// A card: a PIN first if the card has one and the library asks (the
    /// desk checks: the central system may be the one that knows it, SIP2).
    pub(super) fn start(&mut self, card: String) {
        self.check_pin(card, None);
    }

    /// Asks the desk about `card`'s PIN (None: is one needed?) in a Task.
    fn check_pin(&mut self, card: String, pin: Option<String>) {
        let entered = pin.is_some();
        let asked = self.desk.clone().check_pin(card.clone(), pin, Self::now());
        self.queue(Task::perform(asked, move |result| {
            Message::PinChecked(Box::new(PinChecked {
                card: card.clone(),
                entered,
                result,
            }))
        }));
    }

    /// A card's first check (no PIN typed yet): a session, the PIN pad,
    /// or why not.
    pub(super) fn card_checked(
        &mut self,
        card: String,
        result: Result<Result<(), Refusal>, Failed>,
    ) {
        match result {
            Ok(Ok(())) => {
                if self.session.is_none() {
                    self.open(card)
                }
            }
            Ok(Err(Refusal::PinRequired)) => {
                self.reader_language(&card);
                let name = self
                    .store
                    .patron_name(&card)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                self.pending_card = Some(card);
                self.screen =
                    Screen::Identify(identify::Identify::new(identify::Purpose::Reader { name }));
            }
            Ok(Err(r)) => self.tell(Notice::Refused(r)),
            Err(e) => self.failed("check_pin", e),
        }
    }

    pub(super) fn pin_entered(&mut self, pin: &str) {
        let staff = matches!(
            &self.screen,
            Screen::Identify(i) if i.purpose == identify::Purpose::Staff
        );
        if staff {
            return self.staff_pin_at(pin, Instant::now());
        }
        let Some(card) = self.pending_card.clone() else {
            return self.go_idle(None);
        };
        self.check_pin(card, Some(pin.to_string()));
    }

    /// The answer on a typed PIN: the session, or the pad says why not.
    pub(super) fn pin_checked(
        &mut self,
        card: String,
        result: Result<Result<(), Refusal>, Failed>,
    ) {
        // The reader may have cancelled (or timed out) meanwhile.
        if self.pending_card.as_deref() != Some(card.as_str()) {
            return;
        }
        match result {
            Ok(Ok(())) => {
                self.pending_card = None;
                self.open(card);
            }
            Ok(Err(r)) => {
                tracing::info!(patron = %mask(&card), refusal = r.code(), "PIN refused");
                self.cue(Cue::Error);
                let locked = matches!(r, Refusal::PinLocked { .. });
                if let Screen::Identify(i) = &mut self.screen {
                    i.refused(Notice::Refused(r), locked);
                }
            }
            Err(e) => self.failed("check_pin", e),
        }
    }

    /// The reader's own language from their record, unless the person at
    /// the screen already chose one (and only one this kiosk offers).
    pub(super) fn reader_language(&mut self, card: &str) {
        if self.lang_chosen {
            return;
        }
        match self.store.patron_language(card) {
            Ok(Some(l)) if self.config.kiosk.languages.contains(&l) => self.lang = l,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reader's language not read"),
        }
    }

    pub(super) fn open(&mut self, card: String) {
        self.reader_language(&card);
        let name = self
            .store
            .patron_name(&card)
            .ok()
            .flatten()
            .unwrap_or_default();
        tracing::info!(patron = %mask(&card), "session opened");
        self.session = Some(Session {
            card,
            borrow: borrow::Borrow::new(name),
        });
        // Books already on the pad are for this reader.
        self.pad.reset();
        self.screen = Screen::Borrow;
    }
}
