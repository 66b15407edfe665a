//! The kiosk application: which screen is up, the reader's session, and
//! the translation of screen Events and scans into store and device calls.
//!
//! The store is called synchronously inside `update`, so a loan or return
//! is committed to the journal before its line is drawn. Tag security is
//! set after the commit and a failure is journaled, never dropped. The
//! reader's card number and PIN are never logged in full.

use super::feed::{self, Feed};
use super::screens::{
    account, attract, borrow, feedback, holds, identify, receipt, returns, staff, warning, Notice,
};
use super::sound::{self, Cue, Player};
use super::stats::{self, DbFigures, UiQueries};
use super::sync::{detail_text, Desk, Failed, StatusFeed};
use super::theme;
use crate::config::{Config, DeviceKind};
use crate::devices::events::{DeviceEvent, DeviceStatus, EventKind, StatusCode};
use crate::devices::printer;
use crate::devices::rfid::{uid_hex, Uid};
use crate::devices::runner::Devices;
use crate::devices::scanner::{WedgeConfig, WedgeDetector, WedgeOut};
use crate::domain::barcode::normalize;
use crate::domain::session::{self, Action};
use crate::domain::{Lang, Refusal, Route};
use crate::pad::{Pad, PadAction};
use crate::privacy::mask;
use crate::store::{self, CheckinOk, CheckoutOk, HoldLevel, HoldOk, RenewOk, Scanned, Store};
use crate::sync::circulation::RenewAll;
use crate::sync::{Decision, SyncStatus};
use chrono::{DateTime, FixedOffset, Local};
use iced::alignment::Vertical;
use iced::keyboard::{self, key::Named, Key};
use iced::widget::{button, column, container, row, space, stack, text};
use iced::{event, mouse, time, touch, window, Center, Element, Fill, Point, Subscription, Task};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a notice (unknown card, thanks...) stays on the idle screen.
const NOTICE_SECS: u64 = 8;
/// Longest text a person may type before Enter (a manual barcode entry).
const MAX_TYPED: usize = 64;
/// Titles suggested on the receipt, at most.
const RECOMMEND_LIMIT: u32 = 4;
/// How long the central system may take to suggest them; after that the
/// kiosk's own history does (the receipt is up all along).
const RECOMMEND_WAIT: Duration = Duration::from_secs(2);

/// The screen on display. The borrow screen's state lives in the session
/// so a reader can look at their account and come back to their list.
#[derive(Debug)]
pub enum Screen {
    Attract(attract::Attract),
    Identify(identify::Identify),
    Borrow,
    Return(returns::Return),
    Account(account::Account),
    Holds(holds::Holds),
    Receipt(receipt::Receipt),
    Feedback(feedback::Feedback),
    Staff(staff::Staff),
}

/// A reader who scanned their card (and PIN, if asked).
#[derive(Debug)]
pub struct Session {
    pub card: String,
    pub borrow: borrow::Borrow,
}

#[derive(Debug, Clone)]
pub enum Message {
    Attract(attract::Message),
    Identify(identify::Message),
    Borrow(borrow::Message),
    Return(returns::Message),
    Account(account::Message),
    Holds(holds::Message),
    Receipt(receipt::Message),
    Feedback(feedback::Message),
    Staff(staff::Message),
    Warning(warning::Message),
    SetLang(Lang),
    ToggleContrast,
    /// A code from any scanner (or typed and entered by hand).
    Scanned(String),
    Device(DeviceEvent),
    Key(keyboard::Event),
    /// The wedge timer fired at this instant (handled maybe later, when
    /// the UI thread is free: the detector tells the two apart).
    WedgeTick(Instant),
    Tick(Instant),
    /// The screen was touched or clicked somewhere.
    Activity,
    /// Whether the central system answers (None = not known / standalone).
    Online(Option<bool>),
    /// The sync engine's status changed.
    Sync(SyncStatus),
    /// Staff asked for a sync now; its result.
    Synced(Result<String, Failed>),
    /// A loan decided through the upstream (or offline), committed.
    Lent(Box<Lent>),
    /// A return decided through the upstream (or offline), committed.
    Returned(Box<Returned>),
    /// Tag security was written (or not) after a committed loan or return.
    Secured(Box<Secured>),
    /// The receipt printer answered.
    Printed(Result<(), String>),
    /// A renewal decided through the upstream (item, answer).
    Renewed(Box<(String, Result<Decision<RenewOk>, Failed>)>),
    /// A hold decided through the upstream (card, answer).
    HoldPlaced(Box<(String, Result<Decision<HoldOk>, Failed>)>),
    /// Renewals asked from the account screen, through the upstream.
    AccountRenewed(Box<AccountRenewals>),
    /// A hold cancelled through the upstream (its title, or why not).
    HoldCancelled(Box<Result<Decision<String>, Failed>>),
    /// Suggestions for the receipt arrived (or could not be had upstream).
    Recommended(Box<Recommended>),
    /// Suggestions for a receipt (its number) from the local history.
    SuggestedLocally(Box<(u64, Vec<receipt::Suggestion>)>),
    /// A card (and PIN) checked through the upstream.
    PinChecked(Box<PinChecked>),
    /// "Renew all" from the account screen, through the upstream.
    AllRenewed(Box<Result<RenewAll, Failed>>),
    /// The staff menu's figures, read off the UI thread.
    Figures(Box<Result<DbFigures, String>>),
    /// The staff menu's test print came out (or why not).
    TestPrinted(Result<(), String>),
    /// The e-mailed receipt went (or why not).
    Emailed(Result<(), String>),
}

/// The answer on a card's PIN from `Circulation::check_pin`.
#[derive(Debug, Clone)]
pub struct PinChecked {
    pub card: String,
    /// A PIN was typed (else: the card's first check).
    pub entered: bool,
    pub result: Result<Result<(), Refusal>, Failed>,
}

/// Suggestions for one receipt, from the central system or why not.
#[derive(Debug, Clone)]
pub struct Recommended {
    /// Which receipt they are for (`App::receipts`): a late answer for an
    /// earlier reader is dropped.
    pub receipt: u64,
    pub patron: String,
    /// What the reader borrowed in this session.
    pub items: Vec<String>,
    pub result: Result<Vec<receipt::Suggestion>, Failed>,
}

/// Each item renewed from the account screen, with its answer.
pub type AccountRenewals = Vec<(String, Result<Decision<RenewOk>, Failed>)>;

/// The tags whose security could not be set, with why.
#[derive(Debug, Clone)]
pub struct Secured {
    pub item: String,
    pub device: String,
    pub on_loan: bool,
    /// (tag, AFI it should have, why not)
    pub failures: Vec<(Uid, u8, String)>,
}

/// A checkout's answer with what the app needs to show it.
#[derive(Debug, Clone)]
pub struct Lent {
    pub item: String,
    pub uids: Vec<Uid>,
    pub device: String,
    pub result: Result<Decision<CheckoutOk>, Failed>,
}

/// A checkin's answer with what the app needs to show it.
#[derive(Debug, Clone)]
pub struct Returned {
    pub item: String,
    pub uids: Vec<Uid>,
    pub device: String,
    pub result: Result<Decision<CheckinOk>, Failed>,
}

pub struct App {
    config: Config,
    store: Store,
    devices: Option<Arc<Devices>>,
    feed: Option<Feed>,
    /// Side effects queued by this update (tag security, printing), run as
    /// Tasks off the UI thread once `update` returns.
    effects: Vec<Task<Message>>,
    lang: Lang,
    screen: Screen,
    session: Option<Session>,
    /// A card waiting for its PIN.
    pending_card: Option<String>,
    pad: Pad,
    wedge: WedgeDetector,
    /// What a person typed since their last Enter.
    typed: String,
    statuses: BTreeMap<String, DeviceStatus>,
    /// What each device's last status means, for the staff screen (its
    /// text is for the log).
    status_codes: BTreeMap<String, StatusCode>,
    /// Per device: when it last sent anything, and how many times it went
    /// down or into error or sent something that could not be decoded.
    device_seen: BTreeMap<String, DateTime<Local>>,
    device_errors: BTreeMap<String, u32>,
    /// Staff took the kiosk out of service.
    staff_out_of_service: bool,
    /// Staff's words for the out-of-service screen; empty for the default.
    staff_message: String,
    warning: Option<warning::Warning>,
    last_activity: Instant,
    toast: Option<(Notice, Instant)>,
    clock: String,
    /// The sync engine says the central system is unreachable
    /// (`Message::Online`, `Message::Sync`).
    offline: bool,
    high_contrast: bool,
    /// Circulation through the upstream ([upstream] kind != "none").
    desk: Option<Arc<Desk>>,
    status_feed: Option<StatusFeed>,
    /// The engine's last status.
    sync: Option<SyncStatus>,
    /// Wrong staff PINs in a row, and the lock they led to
    /// (`[policy] pin_attempts` / `pin_lock_minutes`, as for readers).
    staff_failures: u32,
    staff_locked_until: Option<(Instant, DateTime<Local>)>,
    /// Receipts shown so far (tells a late recommendation from a fresh one).
    receipts: u64,
    /// Sound cues (`[kiosk] sounds`); None plays nothing (tests, or no
    /// player started).
    sound: Option<Player>,
    /// The last cue chosen, played or not.
    last_cue: Option<Cue>,
    /// The staff menu's last figures from the database, and whether a
    /// read is under way (one at a time).
    db_figures: DbFigures,
    figures_reading: bool,
    /// Staff asked for a restart: `ui::run` starts the program again once
    /// the window has closed.
    restart: Arc<AtomicBool>,
    /// Tags on the pad while the staff menu is open (each new one is
    /// shown once on the test panel).
    staff_field: BTreeSet<Uid>,
    /// The person at the screen chose a language (the reader's own from
    /// their record does not override it).
    lang_chosen: bool,
    /// Where the receipt on screen may be e-mailed (the reader's address).
    receipt_to: Option<String>,
}

impl App {
    /// A kiosk on `store`; `devices` None runs without any (tests).
    pub fn new(config: Config, store: Store, devices: Option<Devices>, lang: Lang) -> App {
        let wedge = config
            .devices
            .iter()
            .find_map(|d| d.wedge())
            .map(|w| WedgeConfig {
                max_gap: Duration::from_millis(w.burst_gap_ms as u64),
                min_len: w.min_length as usize,
            })
            .unwrap_or_default();
        let lang = if config.kiosk.languages.contains(&lang) {
            lang
        } else {
            config.kiosk.languages.first().copied().unwrap_or(lang)
        };
        App {
            high_contrast: config.kiosk.high_contrast,
            config,
            store,
            devices: devices.map(Arc::new),
            feed: None,
            effects: Vec::new(),
            lang,
            screen: Screen::Attract(attract::Attract::new(false)),
            session: None,
            pending_card: None,
            pad: Pad::new(),
            wedge: WedgeDetector::new(wedge),
            typed: String::new(),
            statuses: BTreeMap::new(),
            status_codes: BTreeMap::new(),
            device_seen: BTreeMap::new(),
            device_errors: BTreeMap::new(),
            staff_out_of_service: false,
            staff_message: String::new(),
            warning: None,
            last_activity: Instant::now(),
            toast: None,
            clock: Local::now().format("%H:%M").to_string(),
            offline: false,
            desk: None,
            status_feed: None,
            sync: None,
            staff_failures: 0,
            staff_locked_until: None,
            receipts: 0,
            sound: None,
            last_cue: None,
            db_figures: DbFigures::default(),
            figures_reading: false,
            restart: Arc::new(AtomicBool::new(false)),
            staff_field: BTreeSet::new(),
            lang_chosen: false,
            receipt_to: None,
        }
    }

    /// Set once staff chose "restart"; `ui::run` reads it after the
    /// window closed.
    pub fn restart_flag(&self) -> Arc<AtomicBool> {
        self.restart.clone()
    }

    /// Circulation through the upstream and the engine's status; without
    /// this the app calls the store itself (`[upstream] kind = "none"`).
    pub fn set_sync(&mut self, desk: Arc<Desk>, status: Option<StatusFeed>) {
        self.desk = Some(desk);
        self.status_feed = status;
    }

    /// The sync engine's last status, if an upstream is configured.
    pub fn sync_status(&self) -> Option<&SyncStatus> {
        self.sync.as_ref()
    }

    /// Plays the sound cues (`[kiosk] sounds = true`).
    pub fn set_sound(&mut self, player: Player) {
        self.sound = Some(player);
    }

    /// The last sound cue an outcome chose (with `[kiosk] sounds = true`,
    /// whether or not a player or a sound card is there).
    pub fn last_cue(&self) -> Option<Cue> {
        self.last_cue
    }

    fn cue(&mut self, cue: Cue) {
        if !self.config.kiosk.sounds {
            return;
        }
        self.last_cue = Some(cue);
        if let Some(p) = &self.sound {
            p.play(cue);
        }
    }

    /// The device feed for `subscription` (the real kiosk only).
    pub fn set_feed(&mut self, feed: Feed) {
        self.feed = Some(feed);
    }

    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn warning(&self) -> Option<&warning::Warning> {
        self.warning.as_ref()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn offline(&self) -> bool {
        self.offline
    }

    pub fn high_contrast(&self) -> bool {
        self.high_contrast
    }

    /// The notice shown on whatever screen is up, if any.
    pub fn notice(&self) -> Option<&Notice> {
        match &self.screen {
            Screen::Attract(a) => a.notice.as_ref(),
            Screen::Borrow => self.session.as_ref().and_then(|s| s.borrow.notice.as_ref()),
            Screen::Identify(i) => i.error.as_ref(),
            _ => self.toast.as_ref().map(|(n, _)| n),
        }
    }

    /// Out of service: staff said so, or a required device is down.
    pub fn out_of_service(&self) -> bool {
        self.staff_out_of_service
            || self.config.devices.iter().any(|d| {
                d.required && matches!(self.statuses.get(&d.id), Some(DeviceStatus::Down { .. }))
            })
    }

    fn now() -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        let task = self.decide(message);
        if self.effects.is_empty() {
            return task;
        }
        Task::batch(std::iter::once(task).chain(self.effects.drain(..)))
    }

    fn decide(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Attract(m) => {
                if let Screen::Attract(a) = &mut self.screen {
                    if let Some(attract::Event::StaffRequested) = a.update(m) {
                        self.staff_requested();
                    }
                }
            }
            Message::Identify(m) => {
                self.touch();
                let event = match &mut self.screen {
                    Screen::Identify(i) => i.update(m),
                    _ => None,
                };
                match event {
                    Some(identify::Event::Submit(pin)) => self.pin_entered(&pin),
                    Some(identify::Event::Cancel) => self.go_idle(None),
                    None => {}
                }
            }
            Message::Borrow(m) => {
                self.touch();
                let event = self.session.as_mut().and_then(|s| s.borrow.update(m));
                match event {
                    Some(borrow::Event::Renew(item)) => self.renew_from_borrow(&item),
                    Some(borrow::Event::ShowAccount) => self.show_account(),
                    Some(borrow::Event::ShowHolds) => self.show_holds(),
                    Some(borrow::Event::Finish) => self.finish(),
                    None => {}
                }
            }
            Message::Return(m) => {
                self.touch();
                if let Screen::Return(r) = &mut self.screen {
                    if let Some(returns::Event::Done) = r.update(m) {
                        self.go_idle(None);
                    }
                }
            }
            Message::Account(m) => {
                self.touch();
                let event = match &mut self.screen {
                    Screen::Account(a) => a.update(m),
                    _ => None,
                };
                match event {
                    Some(account::Event::Renew(item)) => self.renew_from_account(Some(&item)),
                    Some(account::Event::RenewAll) => self.renew_from_account(None),
                    Some(account::Event::Back) => self.screen = Screen::Borrow,
                    None => {}
                }
            }
            Message::Holds(m) => {
                self.touch();
                let event = match &mut self.screen {
                    Screen::Holds(h) => h.update(m),
                    _ => None,
                };
                match event {
                    Some(holds::Event::Cancel(item)) => self.cancel_hold(&item),
                    Some(holds::Event::Back) => self.screen = Screen::Borrow,
                    None => {}
                }
            }
            Message::Receipt(m) => {
                self.touch();
                let event = match &mut self.screen {
                    Screen::Receipt(r) => r.update(m),
                    _ => None,
                };
                match event {
                    Some(receipt::Event::Print) => self.print_receipt(),
                    Some(receipt::Event::Email) => self.email_receipt(),
                    Some(receipt::Event::Done) => {
                        self.screen = Screen::Feedback(feedback::Feedback::default())
                    }
                    None => {}
                }
            }
            Message::Feedback(m) => {
                self.touch();
                let event = match &mut self.screen {
                    Screen::Feedback(f) => f.update(m),
                    _ => None,
                };
                match event {
                    Some(feedback::Event::Send { rating, topics }) => {
                        // Anonymous on purpose: no card is attached to
                        // what a reader says about the kiosk.
                        match self
                            .store
                            .record_feedback(None, rating, &topics, None, Self::now())
                        {
                            Ok(_) => self.go_idle(Some(Notice::said("feedback-thanks"))),
                            Err(e) => {
                                tracing::error!("feedback not recorded: {e}");
                                self.go_idle(None)
                            }
                        }
                    }
                    Some(feedback::Event::Skip) => self.go_idle(None),
                    None => {}
                }
            }
            Message::Staff(m) => {
                self.touch();
                let event = match &mut self.screen {
                    Screen::Staff(s) => s.update(m),
                    _ => None,
                };
                if let Some(e) = event {
                    return self.staff_event(e);
                }
            }
            Message::Warning(m) => {
                let event = self.warning.as_mut().and_then(|w| w.update(m));
                match event {
                    Some(warning::Event::StillHere) => self.touch(),
                    Some(warning::Event::TimedOut) => self.timed_out(),
                    None => {}
                }
            }
            Message::SetLang(l) => {
                self.touch();
                if self.config.kiosk.languages.contains(&l) {
                    self.lang = l;
                    self.lang_chosen = true;
                    // The staff screen's device texts are in it too.
                    self.refresh_staff();
                }
            }
            Message::ToggleContrast => {
                self.touch();
                self.high_contrast = !self.high_contrast;
            }
            Message::Scanned(code) => return self.scan(&code),
            Message::Device(e) => return self.device(e),
            Message::Key(e) => return self.key_at(e, Instant::now()),
            Message::WedgeTick(fired) => {
                let out = self.wedge.tick(fired, Instant::now());
                return self.wedge_out(out);
            }
            Message::Tick(now) => self.tick(now),
            Message::Activity => self.touch(),
            Message::Online(online) => self.set_offline(online == Some(false)),
            Message::Sync(status) => {
                self.set_offline(status.online == Some(false));
                self.sync = Some(status);
                self.refresh_staff();
            }
            Message::Synced(result) => {
                let lang = self.lang;
                let said = match result {
                    Ok(counts) => {
                        super::screens::tra(lang, "ui-staff-synced", &[("counts", counts)])
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "sync from the staff menu failed");
                        super::screens::tra(lang, "ui-staff-sync-failed", &[("error", e)])
                    }
                };
                if let Screen::Staff(s) = &mut self.screen {
                    s.syncing = false;
                    s.status = Some(said);
                }
                self.refresh_staff();
            }
            Message::Lent(l) => self.lent(*l),
            Message::Returned(r) => self.returned(*r),
            Message::Secured(s) => self.secured(*s),
            Message::Printed(result) => self.printed(result),
            Message::Renewed(r) => {
                let (item, result) = *r;
                match result.map(|d| d.typed()) {
                    Ok(Some(result)) => self.show_renewal(&item, result),
                    Ok(None) => self.failed("renew", "an answer this kiosk cannot read"),
                    Err(e) => self.failed("renew", e),
                }
            }
            Message::HoldCancelled(r) => match (*r).map(|d| d.typed()) {
                Ok(Some(result)) => self.show_cancelled(result),
                Ok(None) => self.failed("cancel_hold", "an answer this kiosk cannot read"),
                Err(e) => self.failed("cancel_hold", e),
            },
            Message::AccountRenewed(v) => {
                let mut outcomes = Vec::with_capacity(v.len());
                for (item, result) in *v {
                    match result.map(|d| d.typed()) {
                        Ok(Some(r)) => outcomes.push((item, r)),
                        Ok(None) => {
                            self.failed("renew", "an answer this kiosk cannot read");
                        }
                        Err(e) => self.failed("renew", e),
                    }
                }
                self.account_renewed(outcomes);
            }
            Message::Recommended(r) => self.recommended(*r),
            Message::SuggestedLocally(s) => {
                let (number, suggestions) = *s;
                self.show_suggestions(number, suggestions);
            }
            Message::PinChecked(p) => {
                let PinChecked {
                    card,
                    entered,
                    result,
                } = *p;
                if entered {
                    self.pin_checked(card, result);
                } else {
                    self.card_checked(card, result);
                }
            }
            Message::AllRenewed(r) => self.all_renewed(*r),
            Message::Figures(r) => {
                self.figures_reading = false;
                match *r {
                    Ok(f) => {
                        self.db_figures = f;
                        self.show_figures();
                    }
                    Err(e) => tracing::warn!(error = %e, "staff figures not read"),
                }
            }
            Message::Emailed(result) => self.emailed(result),
            Message::TestPrinted(result) => {
                let lang = self.lang;
                let said = match result {
                    Ok(()) => super::screens::tr(lang, "ui-staff-test-printed"),
                    Err(e) => {
                        tracing::warn!(error = %e, "test print failed");
                        super::screens::tra(lang, "ui-staff-test-print-failed", &[("error", e)])
                    }
                };
                if let Screen::Staff(s) = &mut self.screen {
                    s.printing = false;
                    s.status = Some(said);
                }
            }
            Message::HoldPlaced(h) => {
                let (card, result) = *h;
                match result.map(|d| d.typed()) {
                    Ok(Some(result)) => self.show_hold(&card, result),
                    Ok(None) => self.failed("place_hold", "an answer this kiosk cannot read"),
                    Err(e) => self.failed("place_hold", e),
                }
            }
        }
        Task::none()
    }

    fn set_offline(&mut self, offline: bool) {
        if offline != self.offline {
            tracing::info!(offline, "central system reachability changed");
        }
        self.offline = offline;
        if let Screen::Attract(a) = &mut self.screen {
            a.offline = offline.then_some(self.config.offline.policy);
        }
    }

    /// On the staff menu: what the app knows now at once, and a fresh
    /// read of the database's figures.
    fn refresh_staff(&mut self) {
        if matches!(self.screen, Screen::Staff(_)) {
            self.read_figures();
            self.show_figures();
        }
    }

    /// Puts the figures on the staff menu, if it is up.
    fn show_figures(&mut self) {
        if matches!(self.screen, Screen::Staff(_)) {
            let f = self.figures();
            if let Screen::Staff(s) = &mut self.screen {
                s.figures = f;
            }
        }
    }

    /// Reads the staff menu's figures from the database: off the UI
    /// thread on a read-only connection of its own (counting a large
    /// journal must not hold up a scan), one read at a time; at once for
    /// a database in memory (tests).
    fn read_figures(&mut self) {
        let day = Local::now().date_naive();
        let path = self
            .store
            .conn()
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from);
        let Some(path) = path else {
            match stats::read(self.store.conn(), day, staff::CONFLICTS_SHOWN) {
                Ok(f) => self.db_figures = f,
                Err(e) => tracing::warn!(error = %e, "staff figures not read"),
            }
            return;
        };
        if self.figures_reading {
            return;
        }
        self.figures_reading = true;
        self.effects.push(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    stats::read_at(&path, day, staff::CONFLICTS_SHOWN)
                })
                .await
                .unwrap_or_else(|e| Err(format!("the figures query stopped: {e}")))
            },
            |r| Message::Figures(Box::new(r)),
        ));
    }

    /// Someone is here: the inactivity countdown starts over.
    fn touch(&mut self) {
        self.last_activity = Instant::now();
        self.warning = None;
    }

    /// Once a second: the clock, notices that have been read, the
    /// inactivity warning and its countdown, the sync state.
    pub fn tick(&mut self, now: Instant) {
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
    fn timed_out(&mut self) {
        if let Some(s) = &self.session {
            tracing::info!(patron = %mask(&s.card), "session timed out");
        }
        self.go_idle(None);
    }

    /// Back to the idle screen: the session, any PIN in progress and the
    /// reader's language and contrast choice are forgotten.
    fn go_idle(&mut self, notice: Option<Notice>) {
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
        a.offline = self.offline.then_some(self.config.offline.policy);
        if notice.is_some() {
            self.toast = notice.clone().map(|n| (n, Instant::now()));
        }
        a.notice = notice;
        self.screen = Screen::Attract(a);
    }

    /// Tells the reader something on the current screen.
    fn tell(&mut self, n: Notice) {
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
    fn failed(&mut self, what: &str, e: impl std::fmt::Display) {
        tracing::error!("{what}: {e}");
        self.tell(Notice::said("ui-error-staff"));
    }

    /// A code from a scanner (barcode, or typed and entered by hand).
    pub fn scan(&mut self, raw: &str) -> Task<Message> {
        let code = normalize(raw);
        if code.is_empty() {
            return Task::none();
        }
        self.touch();
        if matches!(self.screen, Screen::Staff(_)) {
            let device = self.wedge_id();
            self.staff_test(&device, &code);
            return Task::none();
        }
        if matches!(self.screen, Screen::Identify(_)) {
            return Task::none();
        }
        let staff_card = self.config.staff.is_staff_card(&code);
        if !staff_card && self.out_of_service() {
            return Task::none();
        }
        if let Screen::Attract(a) = &mut self.screen {
            a.update(attract::Message::Touched);
        }
        let scanned = if staff_card {
            Scanned::Unknown
        } else {
            match self.store.classify(&code) {
                Ok(k) => k,
                Err(e) => {
                    self.failed("classify", e);
                    return Task::none();
                }
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
                return self.item(&code, None, &[], "")
            }
            Action::Refuse(r) => self.tell(Notice::Refused(r)),
        }
        Task::none()
    }

    /// Where the kiosk stands, for `domain::session`'s rules on a scan.
    fn at(&self) -> session::At<'_> {
        session::At {
            session: self.session.as_ref().map(|s| s.card.as_str()),
            idle: matches!(self.screen, Screen::Attract(_)),
            holds: matches!(self.screen, Screen::Holds(_)),
            return_without_card: self.config.kiosk.return_without_card,
            out_of_service: self.out_of_service(),
        }
    }

    /// A card: a PIN first if the card has one and the library asks.
    fn start(&mut self, card: String) {
        if let Some(desk) = self.desk.clone() {
            // The central system may be the one that knows the PIN (SIP2).
            self.effects.push(Task::perform(
                desk.check_pin(card.clone(), None, Self::now()),
                move |r| {
                    Message::PinChecked(Box::new(PinChecked {
                        card: card.clone(),
                        entered: false,
                        result: r,
                    }))
                },
            ));
            return;
        }
        let r = self
            .store
            .check_pin(&card, None, Self::now())
            .map_err(|e| e.to_string());
        self.card_checked(card, r);
    }

    /// A card's first check (no PIN typed yet): a session, the PIN pad,
    /// or why not.
    fn card_checked(&mut self, card: String, result: Result<Result<(), Refusal>, Failed>) {
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

    fn pin_entered(&mut self, pin: &str) {
        let staff = matches!(
            &self.screen,
            Screen::Identify(i) if i.purpose == identify::Purpose::Staff
        );
        if staff {
            return self.staff_pin(pin, Instant::now());
        }
        let Some(card) = self.pending_card.clone() else {
            return self.go_idle(None);
        };
        if let Some(desk) = self.desk.clone() {
            self.effects.push(Task::perform(
                desk.check_pin(card.clone(), Some(pin.to_string()), Self::now()),
                move |r| {
                    Message::PinChecked(Box::new(PinChecked {
                        card: card.clone(),
                        entered: true,
                        result: r,
                    }))
                },
            ));
            return;
        }
        let r = self
            .store
            .check_pin(&card, Some(pin), Self::now())
            .map_err(|e| e.to_string());
        self.pin_checked(card, r);
    }

    /// The answer on a typed PIN: the session, or the pad says why not.
    fn pin_checked(&mut self, card: String, result: Result<Result<(), Refusal>, Failed>) {
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
    fn reader_language(&mut self, card: &str) {
        if self.lang_chosen {
            return;
        }
        match self.store.patron_language(card) {
            Ok(Some(l)) if self.config.kiosk.languages.contains(&l) => self.lang = l,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reader's language not read"),
        }
    }

    fn open(&mut self, card: String) {
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

    /// An item scanned or placed: a hold (holds screen), a loan (session
    /// open) or a return (no card).
    fn item(
        &mut self,
        code: &str,
        parts_seen: Option<u8>,
        uids: &[Uid],
        device: &str,
    ) -> Task<Message> {
        let card = self.session.as_ref().map(|s| s.card.clone());
        match (
            session::on_scan(&self.at(), false, Scanned::Item, code),
            card,
        ) {
            (Action::Borrow, Some(card)) => self.lend(card, code, parts_seen, uids, device),
            (Action::Hold, Some(card)) => {
                self.place_hold(&card, code);
                Task::none()
            }
            (Action::Return, _) => self.return_item(code, parts_seen, uids, device),
            (Action::CardFirst, _) => {
                self.tell(Notice::said("kiosk-scan-card-first"));
                Task::none()
            }
            // Out of service (an item is never anything else).
            _ => Task::none(),
        }
    }

    /// Lends `code` to the reader with `card`: through the upstream in a
    /// Task, or committed here at once.
    fn lend(
        &mut self,
        card: String,
        code: &str,
        parts_seen: Option<u8>,
        uids: &[Uid],
        device: &str,
    ) -> Task<Message> {
        let now = Self::now();
        if let Some(desk) = self.desk.clone() {
            let (item, uids, device) = (code.to_string(), uids.to_vec(), device.to_string());
            return Task::perform(
                desk.checkout(card, item.clone(), parts_seen, now),
                move |result| {
                    Message::Lent(Box::new(Lent {
                        item: item.clone(),
                        uids: uids.clone(),
                        device: device.clone(),
                        result,
                    }))
                },
            );
        }
        let o = match self.store.checkout(&card, code, parts_seen, now) {
            Ok(o) => o,
            Err(e) => {
                self.failed("checkout", e);
                return Task::none();
            }
        };
        self.show_loan(code, uids, device, o.result);
        Task::none()
    }

    /// An upstream's (or the offline) decision on a loan, committed.
    fn lent(&mut self, l: Lent) {
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

    fn push_line(&mut self, line: borrow::Line) {
        if self.session.is_some() {
            self.cue(sound::for_loan(&line.status));
        }
        if let Some(s) = &mut self.session {
            s.borrow.push(line);
            self.screen = Screen::Borrow;
        }
    }

    fn show_loan(
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

    fn return_item(
        &mut self,
        code: &str,
        parts_seen: Option<u8>,
        uids: &[Uid],
        device: &str,
    ) -> Task<Message> {
        if let Some(desk) = self.desk.clone() {
            let (item, uids, device) = (code.to_string(), uids.to_vec(), device.to_string());
            return Task::perform(
                desk.checkin(item.clone(), parts_seen, Self::now()),
                move |result| {
                    Message::Returned(Box::new(Returned {
                        item: item.clone(),
                        uids: uids.clone(),
                        device: device.clone(),
                        result,
                    }))
                },
            );
        }
        let o = match self.store.checkin(code, parts_seen, Self::now()) {
            Ok(o) => o,
            Err(e) => {
                self.failed("checkin", e);
                return Task::none();
            }
        };
        self.show_return(code, uids, device, o.result);
        Task::none()
    }

    /// An upstream's (or the offline) decision on a return, committed.
    fn returned(&mut self, r: Returned) {
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

    fn push_return(&mut self, line: returns::Line) {
        self.cue(sound::for_return(&line));
        if !matches!(self.screen, Screen::Return(_)) {
            self.screen = Screen::Return(returns::Return::default());
        }
        if let Screen::Return(r) = &mut self.screen {
            r.push(line);
        }
    }

    fn show_return(
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

    fn title_of(&self, code: &str) -> (String, String) {
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
    fn secure(&mut self, item: &str, uids: &[Uid], device: &str, on_loan: bool) -> bool {
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
        self.effects.push(Task::perform(
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
    fn secured(&mut self, s: Secured) {
        if s.failures.is_empty() {
            return;
        }
        self.cue(Cue::Attention);
        for (uid, afi, e) in &s.failures {
            tracing::warn!(device = %s.device, item = %mask(&s.item), "tag security not set: {e}");
            if let Err(e) = self.store.record_security_failure(
                &s.item,
                &uid_hex(uid),
                *afi,
                &s.device,
                e,
                Self::now(),
            ) {
                tracing::error!("security failure not journaled: {e}");
            }
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

    fn renew_from_borrow(&mut self, item: &str) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        if let Some(desk) = self.desk.clone() {
            let item = item.to_string();
            self.effects.push(Task::perform(
                desk.renew(card, item.clone(), Self::now()),
                move |r| Message::Renewed(Box::new((item.clone(), r))),
            ));
            return;
        }
        let o = match self.store.renew(&card, item, Self::now()) {
            Ok(o) => o,
            Err(e) => return self.failed("renew", e),
        };
        self.show_renewal(item, o.result);
    }

    fn show_renewal(&mut self, item: &str, result: Result<RenewOk, Refusal>) {
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

    /// Renews one item (Some) or all, then shows the fresh account. With
    /// an upstream each renewal is its own decision on the desk (online,
    /// or offline by the same rules), in a Task.
    fn renew_from_account(&mut self, item: Option<&str>) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        let now = Self::now();
        if let (Some(desk), None) = (self.desk.clone(), item) {
            // One request where the upstream renews all at once (SIP2
            // 65), else one decision per loan: Circulation::renew_all.
            self.effects
                .push(Task::perform(desk.renew_all(card, now), |r| {
                    Message::AllRenewed(Box::new(r))
                }));
            return;
        }
        if let Some(desk) = self.desk.clone() {
            let items: Vec<String> = item.map(|i| vec![i.to_string()]).unwrap_or_default();
            self.effects.push(Task::perform(
                async move {
                    let mut out = Vec::with_capacity(items.len());
                    for i in items {
                        let r = desk.clone().renew(card.clone(), i.clone(), now).await;
                        out.push((i, r));
                    }
                    out
                },
                |v| Message::AccountRenewed(Box::new(v)),
            ));
            return;
        }
        let outcomes = match item {
            Some(i) => self
                .store
                .renew(&card, i, now)
                .map(|o| vec![(i.to_string(), o.result)]),
            None => self.store.renew_all(&card, now).map(|v| {
                v.into_iter()
                    .map(|o| {
                        let item = match &o.result {
                            Ok(r) => r.item.clone(),
                            Err(_) => String::new(),
                        };
                        (item, o.result)
                    })
                    .collect()
            }),
        };
        match outcomes {
            Ok(o) => self.account_renewed(o),
            Err(e) => self.failed("renew", e),
        }
    }

    /// "Renew all" answered through the upstream: each loan's decision
    /// next to it, a refusal of the whole request as a notice.
    fn all_renewed(&mut self, result: Result<RenewAll, Failed>) {
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
    fn account_renewed(&mut self, outcomes: Vec<(String, Result<RenewOk, Refusal>)>) {
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

    fn show_account(&mut self) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        match self.store.account(&card, Self::now()) {
            Ok(Some(d)) => self.screen = Screen::Account(account::Account::new(d)),
            Ok(None) => self.tell(Notice::Refused(Refusal::UnknownPatron)),
            Err(e) => self.failed("account", e),
        }
    }

    fn show_holds(&mut self) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        match self.store.account(&card, Self::now()) {
            Ok(Some(d)) => self.screen = Screen::Holds(holds::Holds::new(d.holds)),
            Ok(None) => self.tell(Notice::Refused(Refusal::UnknownPatron)),
            Err(e) => self.failed("account", e),
        }
    }

    fn place_hold(&mut self, card: &str, code: &str) {
        let now = Self::now();
        if let Some(desk) = self.desk.clone() {
            let card = card.to_string();
            self.effects.push(Task::perform(
                desk.place_hold(card.clone(), code.to_string(), now),
                move |r| Message::HoldPlaced(Box::new((card.clone(), r))),
            ));
            return;
        }
        let o = match self.store.place_hold(card, code, HoldLevel::Title, now) {
            Ok(o) => o,
            Err(e) => return self.failed("place_hold", e),
        };
        self.show_hold(card, o.result);
    }

    /// Cancels the reader's hold on the title of `item` (through the
    /// upstream when there is one), then shows the holds again.
    fn cancel_hold(&mut self, item: &str) {
        let Some(card) = self.session.as_ref().map(|s| s.card.clone()) else {
            return;
        };
        let now = Self::now();
        if let Some(desk) = self.desk.clone() {
            self.effects.push(Task::perform(
                desk.cancel_hold(card, item.to_string(), now),
                |r| Message::HoldCancelled(Box::new(r)),
            ));
            return;
        }
        match self.store.cancel_hold(&card, item, now) {
            Ok(o) => self.show_cancelled(o.result),
            Err(e) => self.failed("cancel_hold", e),
        }
    }

    fn show_cancelled(&mut self, result: Result<String, Refusal>) {
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

    fn show_hold(&mut self, card: &str, result: Result<HoldOk, Refusal>) {
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

    /// The reader is done: the card is logged out, then receipt (if
    /// anything was borrowed) and feedback.
    fn finish(&mut self) {
        let Some(s) = self.session.take() else {
            return;
        };
        tracing::info!(patron = %mask(&s.card), "session closed");
        self.pad.reset();
        let lent: Vec<&borrow::Line> = s
            .borrow
            .lines
            .iter()
            .filter(|l| {
                matches!(
                    l.status,
                    borrow::Status::Borrowed { .. } | borrow::Status::BorrowedInsecure { .. }
                )
            })
            .collect();
        let borrowed: Vec<(String, String)> = lent
            .iter()
            .filter_map(|l| match &l.status {
                borrow::Status::Borrowed { due } | borrow::Status::BorrowedInsecure { due } => {
                    Some((l.title.clone(), due.clone()))
                }
                _ => None,
            })
            .collect();
        if borrowed.is_empty() {
            self.screen = Screen::Feedback(feedback::Feedback::default());
            return;
        }
        let items: Vec<String> = lent.iter().map(|l| l.item.clone()).collect();
        // E-mail when the library offers it and the reader has an address.
        self.receipt_to = if self.config.receipt.email {
            self.store.patron_email(&s.card).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reader's e-mail not read");
                None
            })
        } else {
            None
        };
        self.screen = Screen::Receipt(receipt::Receipt {
            borrowed,
            printer: self.has_printer(),
            email: self.receipt_to.as_deref().map(super::mail::masked),
            ..receipt::Receipt::default()
        });
        self.receipts += 1;
        self.recommend(s.card, items);
    }

    /// Asks for suggestions for the receipt now up, in a Task: the
    /// central system within `RECOMMEND_WAIT`, else (or without one) the
    /// kiosk's own loan history, when the answer comes back.
    fn recommend(&mut self, patron: String, items: Vec<String>) {
        let number = self.receipts;
        let Some(desk) = self.desk.clone() else {
            self.effects
                .push(Task::done(Message::Recommended(Box::new(Recommended {
                    receipt: number,
                    patron,
                    items,
                    result: Err("no upstream".into()),
                }))));
            return;
        };
        let asked = desk.recommendations(
            patron.clone(),
            items.clone(),
            RECOMMEND_LIMIT,
            RECOMMEND_WAIT,
        );
        self.effects.push(Task::perform(asked, move |result| {
            Message::Recommended(Box::new(Recommended {
                receipt: number,
                patron: patron.clone(),
                items: items.clone(),
                result: result.map(|v| {
                    v.into_iter()
                        .map(|r| receipt::Suggestion {
                            title: r.title,
                            author: r.author,
                        })
                        .collect()
                }),
            }))
        }));
    }

    /// Suggestions arrived: shown if their receipt is still up; when the
    /// central system had none to give, from the local history, read on
    /// a blocking thread over a read-only connection of its own (the
    /// query reads the whole loan history: tens of milliseconds in a big
    /// library); on the UI thread only for a database in memory (tests).
    fn recommended(&mut self, r: Recommended) {
        if r.receipt != self.receipts || !matches!(self.screen, Screen::Receipt(_)) {
            return;
        }
        let e = match r.result {
            Ok(v) if !v.is_empty() => return self.show_suggestions(r.receipt, v),
            Ok(_) => "none from the central system".to_string(),
            Err(e) => e,
        };
        tracing::info!(error = %e, "recommendations from the local history");
        let path = self
            .store
            .conn()
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from);
        let Some(path) = path else {
            let found = self
                .store
                .also_borrowed(&r.patron, &r.items, RECOMMEND_LIMIT)
                .map_err(|e| e.to_string());
            return self.show_suggestions(r.receipt, suggestions(found));
        };
        let number = r.receipt;
        self.effects.push(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    let conn = rusqlite::Connection::open_with_flags(
                        &path,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(|e| e.to_string())?;
                    store::also_borrowed(&conn, &r.patron, &r.items, RECOMMEND_LIMIT)
                        .map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("the history query stopped: {e}")))
            },
            move |found| Message::SuggestedLocally(Box::new((number, suggestions(found)))),
        ));
    }

    fn show_suggestions(&mut self, number: u64, suggestions: Vec<receipt::Suggestion>) {
        if number != self.receipts {
            return;
        }
        if let Screen::Receipt(rc) = &mut self.screen {
            rc.recommendations = suggestions;
        }
    }

    fn has_printer(&self) -> bool {
        self.config
            .devices
            .iter()
            .any(|d| d.kind() == DeviceKind::Printer)
    }

    /// The receipt on screen as a document (for paper or e-mail) and the
    /// language its text is in; None when no receipt is up.
    fn receipt_doc(&self) -> Option<(printer::Receipt, Lang)> {
        let Screen::Receipt(r) = &self.screen else {
            return None;
        };
        let lang = self.lang;
        let t = crate::i18n::Texts::get();
        let items: Vec<(String, String)> = r
            .borrowed
            .iter()
            .map(|(title, due)| {
                (
                    title.clone(),
                    t.text(lang, "receipt-due", &[("due", due.clone())]),
                )
            })
            .collect();
        let mut receipt = printer::loan_receipt(
            &self.config.kiosk.library_name,
            &Local::now().format("%Y-%m-%d %H:%M").to_string(),
            &items,
            "",
        );
        // The suggestions go on paper too, between the loans and the footer.
        if !r.recommendations.is_empty() {
            receipt
                .lines
                .push(printer::Line::Text(t.text(lang, "ui-recommendations", &[])));
            for s in &r.recommendations {
                let line = if s.author.is_empty() {
                    format!("* {}", s.title)
                } else {
                    format!("* {} / {}", s.title, s.author)
                };
                receipt.lines.push(printer::Line::Text(line));
            }
            receipt.lines.push(printer::Line::Rule);
        }
        receipt
            .lines
            .push(printer::Line::Text(t.text(lang, "receipt-footer", &[])));
        Some((receipt, lang))
    }

    fn print_receipt(&mut self) {
        let Some((receipt, lang)) = self.receipt_doc() else {
            return;
        };
        let width = self
            .config
            .devices
            .iter()
            .find_map(|d| d.printer())
            .map(|p| p.width as usize)
            .unwrap_or(32);
        // Titles may be Chinese whatever the reader's language.
        let mode = if format!("{receipt:?}").is_ascii() {
            lang
        } else {
            Lang::ZhCn
        };
        let Some(devices) = self.devices.clone() else {
            return self.printed(Err("no devices running".to_string()));
        };
        let bytes = printer::render(&receipt, mode, width);
        // The printer may take seconds (paper, a slow serial line): the
        // screen stays alive and says so meanwhile; no second print.
        if let Screen::Receipt(r) = &mut self.screen {
            r.printer = false;
            r.printing = true;
            r.notice = Some(Notice::said("ui-receipt-printing"));
        }
        self.effects.push(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || devices.print(bytes))
                    .await
                    .unwrap_or_else(|e| Err(format!("printer task stopped: {e}")))
            },
            Message::Printed,
        ));
    }

    /// Mails the receipt on screen to the reader's address, off the UI
    /// thread; the screen says so meanwhile.
    fn email_receipt(&mut self) {
        let (Some((receipt, lang)), Some(to)) = (self.receipt_doc(), self.receipt_to.clone())
        else {
            return;
        };
        let t = crate::i18n::Texts::get();
        let subject = t.text(
            lang,
            "receipt-email-subject",
            &[("library", self.config.kiosk.library_name.clone())],
        );
        let body = printer::plain_text(&receipt);
        if let Screen::Receipt(r) = &mut self.screen {
            r.notice = Some(Notice::said("ui-receipt-emailing"));
        }
        let cfg = self.config.receipt.clone();
        self.effects.push(Task::perform(
            async move { super::mail::send(&cfg, &to, subject, body).await },
            Message::Emailed,
        ));
    }

    fn emailed(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                tracing::info!("receipt e-mailed");
                if matches!(self.screen, Screen::Receipt(_)) {
                    self.screen = Screen::Feedback(feedback::Feedback::default());
                }
                self.toast = Some((Notice::said("ui-receipt-emailed"), Instant::now()));
            }
            Err(e) => {
                tracing::warn!("receipt not e-mailed: {e}");
                self.cue(Cue::Attention);
                if let Screen::Receipt(r) = &mut self.screen {
                    r.email = None;
                    r.emailing = false;
                    r.notice = Some(Notice::said("receipt-email-failed"));
                }
            }
        }
    }

    fn printed(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                if matches!(self.screen, Screen::Receipt(_)) {
                    self.screen = Screen::Feedback(feedback::Feedback::default());
                }
            }
            Err(e) => {
                tracing::warn!("receipt not printed: {e}");
                self.cue(Cue::Attention);
                if let Screen::Receipt(r) = &mut self.screen {
                    r.printer = false;
                    r.printing = false;
                    r.notice = Some(Notice::said("receipt-failed"));
                }
            }
        }
    }

    fn staff_requested(&mut self) {
        if self.config.staff.pin_hash.is_empty() {
            // No staff PIN configured ([staff] pin_hash = ""): the menu
            // opens on the gesture alone, as the configuration says.
            self.open_staff();
        } else {
            let mut i = identify::Identify::new(identify::Purpose::Staff);
            if let Some(n) = self.staff_lock_notice(Instant::now()) {
                i.refused(n, true);
            }
            self.screen = Screen::Identify(i);
        }
    }

    /// While the staff PIN is locked: what the pad says.
    fn staff_lock_notice(&mut self, now: Instant) -> Option<Notice> {
        match self.staff_locked_until {
            Some((until, at)) if now < until => Some(Notice::Said(
                "ui-staff-pin-locked",
                vec![("until", at.format("%H:%M").to_string())],
            )),
            Some(_) => {
                self.staff_locked_until = None;
                self.staff_failures = 0;
                None
            }
            None => None,
        }
    }

    /// The staff PIN at `now`: the menu, or a wrong-PIN count that locks
    /// the pad after `[policy] pin_attempts` for `pin_lock_minutes`.
    pub fn staff_pin(&mut self, pin: &str, now: Instant) {
        if let Some(n) = self.staff_lock_notice(now) {
            if let Screen::Identify(i) = &mut self.screen {
                i.refused(n, true);
            }
            return;
        }
        if crate::privacy::verify_pin(pin, &self.config.staff.pin_hash) {
            tracing::info!("staff menu opened");
            self.staff_failures = 0;
            return self.open_staff();
        }
        self.staff_failures += 1;
        self.cue(Cue::Error);
        let attempts = self.config.policy.pin_attempts.max(1);
        tracing::warn!(failures = self.staff_failures, "wrong staff PIN");
        let (notice, locked) = if self.staff_failures >= attempts {
            let minutes = self.config.policy.pin_lock_minutes.max(1);
            let span = Duration::from_secs(u64::from(minutes) * 60);
            let at = Local::now() + chrono::Duration::minutes(i64::from(minutes));
            self.staff_locked_until = Some((now + span, at));
            tracing::warn!(minutes, "staff PIN locked");
            (
                self.staff_lock_notice(now)
                    .unwrap_or(Notice::said("ui-staff-pin-wrong")),
                true,
            )
        } else {
            (
                Notice::Said(
                    "ui-staff-pin-wrong-left",
                    vec![("left", (attempts - self.staff_failures).to_string())],
                ),
                false,
            )
        };
        if let Screen::Identify(i) = &mut self.screen {
            i.refused(notice, locked);
        }
    }

    fn figures(&self) -> staff::Figures {
        let mut devices: Vec<staff::DeviceLine> = self
            .config
            .devices
            .iter()
            .map(|d| {
                let (ok, text) = match self.statuses.get(&d.id) {
                    Some(DeviceStatus::Up { info }) => (true, info.clone()),
                    Some(DeviceStatus::Down { reason }) => (false, reason.clone()),
                    Some(DeviceStatus::Error { reason }) => (false, reason.clone()),
                    None => (
                        !d.required,
                        super::screens::tr(self.lang, "ui-staff-no-report"),
                    ),
                };
                // In the reader's language when the device said what it
                // means; its own (English) words only for a status without
                // a code.
                let status = match self.status_codes.get(&d.id) {
                    Some(code) if self.statuses.contains_key(&d.id) => super::screens::tra(
                        self.lang,
                        code.message_id(),
                        &[("port", d.port().to_string())],
                    ),
                    _ => text,
                };
                staff::DeviceLine {
                    id: d.id.clone(),
                    ok,
                    status,
                    last_event: self
                        .device_seen
                        .get(&d.id)
                        .map(|t| t.format("%H:%M:%S").to_string()),
                    errors: self.device_errors.get(&d.id).copied().unwrap_or(0),
                }
            })
            .collect();
        devices.sort_by(|a, b| a.id.cmp(&b.id));
        let db = &self.db_figures;
        staff::Figures {
            devices,
            outbox: db.outbox,
            journal: db.journal,
            current_loans: db.current_loans,
            last_sync: db.last_sync.clone(),
            hourly: if db.hourly.is_empty() {
                vec![(0, 0); 24]
            } else {
                db.hourly.clone()
            },
            by_type: db.by_type.clone(),
            sync: self.desk.as_ref().map(|_| {
                let s = self.sync.clone().unwrap_or_default();
                staff::SyncLine {
                    upstream: s.upstream.unwrap_or_default(),
                    online: s.online,
                    last_error: s.last_error,
                    conflicts: s.conflicts,
                    pulling: s.pull.map(|p| (p.records, p.remaining)),
                }
            }),
            conflicts: db
                .conflicts
                .iter()
                .map(|e| staff::ConflictLine {
                    at: DateTime::parse_from_rfc3339(&e.at)
                        .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|_| e.at.clone()),
                    kind: e.kind.clone(),
                    item: e.item.clone(),
                    reader: e.patron.as_deref().map(mask),
                    reason: e.sync_reason.clone().unwrap_or_default(),
                })
                .collect(),
            log: super::log::recent(),
        }
    }

    fn open_staff(&mut self) {
        let path = format!("/tmp/kiosk-journal-{}.csv", Local::now().format("%Y-%m-%d"));
        self.read_figures();
        let mut s = staff::Staff::new(self.figures(), self.staff_out_of_service, path);
        s.service_message = self.staff_message.clone();
        s.printer = self.has_printer();
        self.staff_field.clear();
        self.screen = Screen::Staff(s);
    }

    /// The id of the keyboard-wedge scanner, for a test read typed into
    /// the window ("keyboard" when none is configured).
    fn wedge_id(&self) -> String {
        self.config
            .devices
            .iter()
            .find(|d| d.kind() == DeviceKind::BarcodeWedge)
            .map(|d| d.id.clone())
            .unwrap_or_else(|| "keyboard".to_string())
    }

    /// A code read while the staff menu is open: shown on its test panel
    /// as what this kiosk takes it for; nothing is lent or returned. A
    /// reader's card shows masked, as in the log.
    fn staff_test(&mut self, device: &str, raw: &str) {
        let code = normalize(raw);
        if code.is_empty() {
            return;
        }
        self.touch();
        let what = if self.config.staff.is_staff_card(&code) {
            staff::TestKind::StaffCard
        } else {
            match self.store.classify(&code) {
                Ok(Scanned::Patron) => staff::TestKind::Card {
                    masked: mask(&code),
                },
                Ok(Scanned::Item) => staff::TestKind::Item {
                    title: self.title_of(&code).0,
                    code,
                },
                Ok(Scanned::Unknown) => staff::TestKind::Unknown { code },
                Err(e) => return self.failed("classify", e),
            }
        };
        self.staff_tested(device, what);
    }

    fn staff_tested(&mut self, device: &str, what: staff::TestKind) {
        let good = what.good();
        tracing::info!(device, good, "test read on the staff menu");
        self.cue(if good { Cue::Success } else { Cue::Error });
        if let Screen::Staff(s) = &mut self.screen {
            s.tested(staff::TestRead {
                at: Local::now().format("%H:%M:%S").to_string(),
                device: device.to_string(),
                what,
            });
        }
    }

    /// Tags on the pad while the staff menu is open: each new one on the
    /// test panel with what it carries.
    fn staff_tags(&mut self, device: &str, tags: &[crate::devices::events::Tag]) {
        self.touch();
        let here: BTreeSet<Uid> = tags.iter().map(|t| t.uid).collect();
        for t in tags {
            if self.staff_field.contains(&t.uid) {
                continue;
            }
            let item = t.item_id().map(normalize).filter(|i| !i.is_empty());
            let title = item
                .as_deref()
                .and_then(|i| self.store.item_title(i).ok().flatten())
                .map(|(title, _)| title);
            self.staff_tested(
                device,
                staff::TestKind::Tag {
                    uid: uid_hex(&t.uid),
                    format: t.data.format.as_str().to_string(),
                    item,
                    title,
                    afi: t.afi,
                },
            );
        }
        self.staff_field = here;
    }

    /// A one-page slip from the receipt printer: the library, the kiosk,
    /// the time and each device's state, so staff see paper, cutter and
    /// characters (both languages' scripts) at once.
    fn test_print(&mut self) {
        let Some(devices) = self.devices.clone() else {
            return self.effects.push(Task::done(Message::TestPrinted(Err(
                "no devices running".to_string()
            ))));
        };
        let lang = self.lang;
        let t = crate::i18n::Texts::get();
        let mut lines = vec![
            printer::Line::Heading(self.config.kiosk.library_name.clone()),
            printer::Line::Text(t.text(lang, "receipt-test-title", &[])),
            printer::Line::Pair(
                self.config.kiosk.id.clone(),
                Local::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            ),
            printer::Line::Rule,
        ];
        for d in self.figures().devices {
            lines.push(printer::Line::Pair(
                d.id,
                if d.ok { "OK" } else { "×" }.to_string(),
            ));
        }
        lines.push(printer::Line::Rule);
        // Both scripts, whatever staff's language: the printer's code page
        // and the Chinese font are what a test print is for.
        lines.push(printer::Line::Text(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789".into(),
        ));
        lines.push(printer::Line::Text("借阅 归还 续借 预约 谢谢".into()));
        lines.push(printer::Line::Barcode("TEST-0123".into()));
        let receipt = printer::Receipt { lines };
        let width = self
            .config
            .devices
            .iter()
            .find_map(|d| d.printer())
            .map(|p| p.width as usize)
            .unwrap_or(32);
        let bytes = printer::render(&receipt, Lang::ZhCn, width);
        tracing::info!("test print asked for by staff");
        self.effects.push(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || devices.print(bytes))
                    .await
                    .unwrap_or_else(|e| Err(format!("printer task stopped: {e}")))
            },
            Message::TestPrinted,
        ));
    }

    /// Tells the sync engine (for its heartbeats) each device's state and
    /// the receipt paper.
    fn report_health(&self) {
        let Some(desk) = &self.desk else {
            return;
        };
        let printers: Vec<&str> = self
            .config
            .devices
            .iter()
            .filter(|d| d.kind() == DeviceKind::Printer)
            .map(|d| d.id.as_str())
            .collect();
        let (devices, paper) = crate::sync::health::device_report(&self.statuses, &printers);
        desk.set_health(devices, paper);
    }

    fn staff_event(&mut self, e: staff::Event) -> Task<Message> {
        match e {
            staff::Event::Export(path) => {
                let status = self.export(&path);
                if let Screen::Staff(s) = &mut self.screen {
                    s.status = Some(status);
                }
            }
            staff::Event::SetOutOfService(b) => {
                tracing::info!(out_of_service = b, "set by staff");
                self.staff_out_of_service = b;
            }
            staff::Event::SetServiceMessage(m) => self.staff_message = m,
            staff::Event::Refresh => self.refresh_staff(),
            staff::Event::TestPrint => self.test_print(),
            staff::Event::Restart => {
                tracing::info!("kiosk restart asked for by staff");
                self.restart.store(true, Ordering::SeqCst);
                if let Some(d) = self.devices.take().and_then(|d| Arc::try_unwrap(d).ok()) {
                    d.stop();
                }
                return iced::exit();
            }
            staff::Event::SyncNow => {
                if let Some(desk) = self.desk.clone() {
                    tracing::info!("sync asked for by staff");
                    return Task::perform(desk.sync_now(Self::now()), Message::Synced);
                }
            }
            staff::Event::Quit => {
                tracing::info!("kiosk quit by staff");
                // A print or AFI write still running keeps its handle;
                // the process ends anyway.
                if let Some(d) = self.devices.take().and_then(|d| Arc::try_unwrap(d).ok()) {
                    d.stop();
                }
                return iced::exit();
            }
            staff::Event::Back => self.go_idle(None),
        }
        Task::none()
    }

    /// The last 30 days of the journal as CSV; the result in staff's words.
    fn export(&self, path: &str) -> String {
        let lang = self.lang;
        let to = Local::now().date_naive();
        let from = to - chrono::Days::new(30);
        let result = std::fs::File::create(path)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                let mut w = std::io::BufWriter::new(f);
                store::export::export(
                    &self.store,
                    store::export::What::Transactions,
                    from,
                    to,
                    &mut w,
                )
                .map_err(|e| e.to_string())
                .and_then(|()| std::io::Write::flush(&mut w).map_err(|e| e.to_string()))
            });
        match result {
            Ok(()) => super::screens::tra(
                lang,
                "ui-staff-exported",
                &[("path", path.to_string()), ("from", from.to_string())],
            ),
            Err(e) => super::screens::tra(lang, "ui-staff-export-failed", &[("error", e)]),
        }
    }

    fn device(&mut self, e: DeviceEvent) -> Task<Message> {
        let mut tasks = Vec::new();
        self.device_seen.insert(e.device.clone(), e.at);
        match e.kind {
            EventKind::CardScanned { code } | EventKind::ItemScanned { code } => {
                if matches!(self.screen, Screen::Staff(_)) {
                    self.staff_test(&e.device, &code);
                    return Task::none();
                }
                return self.scan(&code);
            }
            EventKind::TagsInField { tags } => {
                if matches!(self.screen, Screen::Staff(_)) {
                    self.staff_tags(&e.device, &tags);
                    return Task::none();
                }
                if matches!(self.screen, Screen::Identify(_)) || self.out_of_service() {
                    return Task::none();
                }
                self.touch();
                for action in self.pad.field(&tags) {
                    match action {
                        PadAction::Ready {
                            item,
                            uids,
                            parts_seen,
                        } => tasks.push(self.item(&item, Some(parts_seen), &uids, &e.device)),
                        PadAction::Incomplete { item, seen, parts } => {
                            let r = Refusal::IncompleteSet { seen, parts };
                            let (title, author) = self.title_of(&item);
                            match &self.session {
                                Some(_) => self.push_line(borrow::Line {
                                    item,
                                    title,
                                    author,
                                    status: borrow::Status::Refused(r),
                                }),
                                None => self.tell(Notice::Refused(r)),
                            }
                        }
                        PadAction::Unreadable { uid, format } => {
                            tracing::warn!(device = %e.device, uid = %uid_hex(&uid), ?format, "tag without an item id");
                            *self.device_errors.entry(e.device.clone()).or_default() += 1;
                            self.tell(Notice::said("tag-unreadable"));
                        }
                    }
                }
            }
            EventKind::TagLeft { uid } => {
                self.staff_field.remove(&uid);
                self.pad.left(&uid)
            }
            EventKind::DeviceStatus { status } => {
                match &status {
                    DeviceStatus::Up { info } => tracing::info!(device = %e.device, "up: {info}"),
                    DeviceStatus::Down { reason } | DeviceStatus::Error { reason } => {
                        tracing::warn!(device = %e.device, "{reason}")
                    }
                }
                match e.status_code {
                    Some(code) => self.status_codes.insert(e.device.clone(), code),
                    None => self.status_codes.remove(&e.device),
                };
                // A change into down or error counts once, not every repeat.
                if !matches!(status, DeviceStatus::Up { .. })
                    && self.statuses.get(&e.device) != Some(&status)
                {
                    *self.device_errors.entry(e.device.clone()).or_default() += 1;
                }
                self.statuses.insert(e.device, status);
                self.report_health();
                if let Screen::Attract(a) = &mut self.screen {
                    a.out_of_service = self.staff_out_of_service
                        || self.config.devices.iter().any(|d| {
                            d.required
                                && matches!(
                                    self.statuses.get(&d.id),
                                    Some(DeviceStatus::Down { .. })
                                )
                        });
                }
            }
        }
        Task::batch(tasks)
    }

    /// A key is handled at `at` (when the UI thread got to it, not when it
    /// was typed): a scanner's burst becomes a scan, a person's typing goes
    /// to the PIN pad or a typed code.
    pub fn key_at(&mut self, e: keyboard::Event, at: Instant) -> Task<Message> {
        let keyboard::Event::KeyPressed { key, text, .. } = e else {
            return Task::none();
        };
        let out = match key.as_ref() {
            Key::Named(Named::Enter) => self.wedge.enter(),
            Key::Named(Named::Backspace) => {
                if let Screen::Identify(i) = &mut self.screen {
                    i.update(identify::Message::Backspace);
                }
                self.typed.pop();
                Vec::new()
            }
            _ => {
                let mut out = Vec::new();
                for ch in text.as_deref().unwrap_or("").chars() {
                    if !ch.is_control() {
                        out.extend(self.wedge.key(ch, at));
                    }
                }
                out
            }
        };
        self.wedge_out(out)
    }

    fn wedge_out(&mut self, out: Vec<WedgeOut>) -> Task<Message> {
        let mut tasks = Vec::new();
        for o in out {
            match o {
                WedgeOut::Scan(code) => tasks.push(self.scan(&code)),
                WedgeOut::Typed(s) => {
                    if let Screen::Identify(i) = &mut self.screen {
                        for d in s.chars().filter_map(|c| c.to_digit(10)) {
                            i.update(identify::Message::Digit(d as u8));
                        }
                    } else {
                        for c in s.chars() {
                            if self.typed.chars().count() < MAX_TYPED {
                                self.typed.push(c);
                            }
                        }
                    }
                }
                WedgeOut::Retract(n) => {
                    // The start of a scan the detector handed over as
                    // typing while the screen was busy: out of the PIN
                    // pad or the typed text again.
                    if let Screen::Identify(i) = &mut self.screen {
                        for _ in 0..n {
                            i.update(identify::Message::Backspace);
                        }
                    } else {
                        for _ in 0..n {
                            self.typed.pop();
                        }
                    }
                }
                WedgeOut::Enter => {
                    if matches!(self.screen, Screen::Identify(_)) {
                        let event = match &mut self.screen {
                            Screen::Identify(i) => i.update(identify::Message::Submit),
                            _ => None,
                        };
                        if let Some(identify::Event::Submit(pin)) = event {
                            self.pin_entered(&pin);
                        }
                    } else if matches!(self.screen, Screen::Staff(_)) {
                        // Staff typing into the menu's fields; only a
                        // scanner's burst is a test read there.
                        self.typed.clear();
                    } else if !self.typed.is_empty() {
                        let typed = std::mem::take(&mut self.typed);
                        if !self.demo_pad_command(&typed) {
                            tasks.push(self.scan(&typed));
                        }
                    }
                }
            }
        }
        Task::batch(tasks)
    }

    /// Demos without hardware: with a simulated RFID pad, typing `put 1`,
    /// `put 1,2,3`, `take 2` or `take all` + Enter moves the demo tags on
    /// and off the pad (as in the text kiosk). True if it was such a command.
    fn demo_pad_command(&mut self, typed: &str) -> bool {
        let mut words = typed.split_whitespace();
        let (Some(cmd @ ("put" | "take")), Some(which), None) =
            (words.next(), words.next(), words.next())
        else {
            return false;
        };
        let Some((field, tags)) = self.devices.as_ref().and_then(|d| {
            d.handles()
                .find_map(|h| h.field.clone().map(|f| (f, h.demo_tags.clone())))
        }) else {
            return false;
        };
        let chosen: Vec<_> = if which == "all" {
            tags.iter().collect()
        } else {
            which
                .split(',')
                .filter_map(|n| n.trim().parse::<usize>().ok())
                .filter_map(|n| n.checked_sub(1).and_then(|i| tags.get(i)))
                .collect()
        };
        for t in chosen {
            if cmd == "put" {
                field.put(t.clone());
            } else {
                field.take(&t.uid);
            }
        }
        true
    }

    pub fn subscription(&self) -> Subscription<Message> {
        // Every second while something counts down (a session, a notice,
        // the warning, the staff figures); on the idle screen only the
        // clock changes, once a minute, so an idle kiosk draws nothing.
        let seconds = !matches!(self.screen, Screen::Attract(_))
            || self.toast.is_some()
            || self.warning.is_some();
        let clock = if seconds {
            time::every(Duration::from_secs(1)).map(Message::Tick)
        } else {
            Subscription::run(minute_clock).map(Message::Tick)
        };
        let mut subs = vec![
            clock,
            keyboard::listen().map(Message::Key),
            event::listen_with(|e, _status, _window| match e {
                iced::Event::Mouse(mouse::Event::ButtonPressed(_))
                | iced::Event::Touch(touch::Event::FingerPressed { .. }) => Some(Message::Activity),
                _ => None,
            }),
        ];
        if self.wedge.is_holding() {
            subs.push(time::every(Duration::from_millis(10)).map(Message::WedgeTick));
        }
        if let Some(f) = &self.feed {
            subs.push(Subscription::run_with(f.clone(), feed::stream).map(Message::Device));
        }
        if let Some(f) = &self.status_feed {
            subs.push(
                Subscription::run_with(f.clone(), super::sync::status_stream).map(Message::Sync),
            );
        }
        Subscription::batch(subs)
    }

    pub fn view(&self) -> Element<'_, Message> {
        let lang = self.lang;
        let body: Element<'_, Message> = match &self.screen {
            Screen::Attract(a) => a
                .view(lang, &self.config.kiosk.library_name)
                .map(Message::Attract),
            Screen::Identify(i) => container(i.view(lang).map(Message::Identify))
                .center_x(Fill)
                .into(),
            Screen::Borrow => match &self.session {
                Some(s) => s.borrow.view(lang).map(Message::Borrow),
                None => text("").into(),
            },
            Screen::Return(r) => r.view(lang).map(Message::Return),
            Screen::Account(a) => a.view(lang).map(Message::Account),
            Screen::Holds(h) => h.view(lang).map(Message::Holds),
            Screen::Receipt(r) => r.view(lang).map(Message::Receipt),
            Screen::Feedback(f) => f.view(lang).map(Message::Feedback),
            Screen::Staff(s) => s.view(lang).map(Message::Staff),
        };
        let mut page = column![self.header()];
        // The idle screen says more (what still works offline).
        if self.offline && !matches!(self.screen, Screen::Attract(_)) {
            page = page.push(
                container(text(super::screens::tr(lang, "ui-offline")).size(theme::BODY))
                    .padding([10, 32])
                    .width(Fill)
                    .style(theme::banner),
            );
        }
        let toast_here = !matches!(
            self.screen,
            Screen::Attract(_) | Screen::Borrow | Screen::Identify(_) | Screen::Holds(_)
        );
        if let (true, Some((n, _))) = (toast_here, &self.toast) {
            page = page.push(container(super::screens::notice_box(n, lang)).padding([10, 32]));
        }
        let page = page.push(container(body).padding([24, 40]).width(Fill).height(Fill));
        match &self.warning {
            Some(w) => stack![
                page,
                container(w.view(lang).map(Message::Warning))
                    .width(Fill)
                    .height(Fill)
                    .style(|_| container::Style {
                        background: Some(iced::Color::from_rgba(0.0, 0.0, 0.0, 0.6).into()),
                        ..container::Style::default()
                    })
            ]
            .into(),
            None => page.into(),
        }
    }

    /// The top bar: the hidden staff corner (idle screen), library name,
    /// clock, language switch and contrast button, on every screen.
    fn header(&self) -> Element<'_, Message> {
        let lang = self.lang;
        let mut bar = row![].spacing(16).align_y(Center).padding([6, 16]);
        if matches!(self.screen, Screen::Attract(_)) {
            bar = bar.push(
                button(text(""))
                    .width(theme::TOUCH)
                    .height(theme::TOUCH)
                    .style(theme::invisible)
                    .on_press(Message::Attract(attract::Message::CornerTapped)),
            );
        } else {
            bar = bar.push(space::horizontal().width(theme::TOUCH));
        }
        bar = bar
            .push(text(self.config.kiosk.library_name.clone()).size(theme::BODY))
            .push(space::horizontal())
            .push(text(self.clock.clone()).size(theme::BODY));
        if self.config.kiosk.languages.len() > 1 {
            for l in &self.config.kiosk.languages {
                let label = match l {
                    Lang::ZhCn => "中文",
                    Lang::En => "English",
                };
                bar = bar.push(
                    button(
                        text(label)
                            .size(theme::BODY)
                            .height(Fill)
                            .align_y(Vertical::Center),
                    )
                    .height(60)
                    .padding([4, 20])
                    .style(if *l == lang {
                        theme::chosen
                    } else {
                        theme::secondary
                    })
                    .on_press(Message::SetLang(*l)),
                );
            }
        }
        bar = bar.push(
            button(
                text(super::screens::tr(lang, "ui-contrast"))
                    .size(theme::BODY)
                    .height(Fill)
                    .align_y(Vertical::Center),
            )
            .height(60)
            .padding([4, 20])
            .style(theme::secondary)
            .on_press(Message::ToggleContrast),
        );
        container(bar).width(Fill).style(theme::bar).into()
    }

    /// Screenshots and demos: puts the kiosk on `name` with demo data
    /// (KIOSK_UI_SCREEN). Writes real loans into the database it runs on,
    /// so use it on a scratch database only.
    pub fn jump_to(&mut self, name: &str) {
        let (cards, items) = store::demo::loanable_pairs(&self.store, 4).unwrap_or_default();
        if cards.len() < 2 || items.len() < 4 {
            tracing::warn!("KIOSK_UI_SCREEN needs demo data");
            return;
        }
        let (c0, c1) = (cards[0].clone(), cards[1].clone());
        let lang = self.lang;
        let borrow_two = |app: &mut App| {
            app.open(c0.clone());
            let _ = app.item(&items[0], None, &[], "");
            let _ = app.item(&items[1], None, &[], "");
        };
        match name {
            "offline" => {
                // As the engine reports it when the central system is down.
                self.set_offline(true);
                self.go_idle(None);
            }
            "out-of-service" => {
                self.staff_out_of_service = true;
                self.go_idle(None);
            }
            "pin" => {
                let name = self
                    .store
                    .patron_name(&c0)
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                self.pending_card = Some(c0);
                let mut i = identify::Identify::new(identify::Purpose::Reader { name });
                for d in [4, 2, 7] {
                    i.update(identify::Message::Digit(d));
                }
                self.screen = Screen::Identify(i);
            }
            "borrow" => {
                // items[2] went home with this reader on an earlier visit.
                self.open(c0.clone());
                let _ = self.item(&items[2], None, &[], "");
                self.finish();
                borrow_two(self);
                let _ = self.item(&items[2], None, &[], "");
                let _ = self.item("39999999999994", None, &[], "");
            }
            "return" => {
                borrow_two(self);
                self.finish();
                // Another reader waits for items[0]: it goes to the hold shelf.
                self.open(c1.clone());
                self.screen = Screen::Holds(holds::Holds::default());
                self.place_hold(&c1, &items[0]);
                self.go_idle(None);
                let _ = self.item(&items[0], None, &[], "");
                let _ = self.item(&items[1], None, &[], "");
                let _ = self.item("39999999999994", None, &[], "");
            }
            "account" | "holds" => {
                self.open(c1.clone());
                let _ = self.item(&items[3], None, &[], "");
                let _ = self.item(&items[2], None, &[], "");
                self.finish();
                self.open(c0.clone());
                self.screen = Screen::Holds(holds::Holds::default());
                self.place_hold(&c0, &items[3]);
                self.place_hold(&c0, &items[2]);
                self.go_idle(None);
                // items[3] comes back: ready for c0 on the hold shelf.
                let _ = self.item(&items[3], None, &[], "");
                self.go_idle(None);
                borrow_two(self);
                if name == "account" {
                    self.show_account();
                } else {
                    self.show_holds();
                    // A book someone else has: a hold that waits in the queue.
                    let lent: Option<String> = self
                        .store
                        .conn()
                        .query_row(
                            "SELECT i.barcode FROM loans l JOIN items i ON i.id = l.item_id
                             JOIN patrons p ON p.id = l.patron_id
                             WHERE l.returned IS NULL AND p.barcode NOT IN (?1, ?2)
                             ORDER BY i.barcode LIMIT 1",
                            [&c0, &c1],
                            |r| r.get(0),
                        )
                        .ok();
                    if let Some(lent) = lent {
                        self.place_hold(&c0, &lent);
                    }
                }
            }
            "receipt" => {
                // With [receipt] email on, this reader has an address.
                if self.config.receipt.email {
                    let _ = self.store.conn().execute(
                        "UPDATE patrons SET email = coalesce(email, 'reader@example.com')
                         WHERE barcode = ?1",
                        [&c0],
                    );
                }
                borrow_two(self);
                self.finish();
            }
            "receipt-printing" => {
                // As print_receipt leaves it while the printer works.
                borrow_two(self);
                self.finish();
                if let Screen::Receipt(r) = &mut self.screen {
                    r.printer = false;
                    r.printing = true;
                    r.notice = Some(Notice::said("ui-receipt-printing"));
                }
            }
            "pin-staff-locked" => {
                // Too many wrong staff PINs: the pad is locked for a while.
                let minutes = self.config.policy.pin_lock_minutes.max(1);
                let at = Local::now() + chrono::Duration::minutes(i64::from(minutes));
                self.staff_locked_until = Some((
                    Instant::now() + Duration::from_secs(u64::from(minutes) * 60),
                    at,
                ));
                let mut i = identify::Identify::new(identify::Purpose::Staff);
                if let Some(n) = self.staff_lock_notice(Instant::now()) {
                    i.refused(n, true);
                }
                self.screen = Screen::Identify(i);
            }
            "staff-sync" => {
                // The staff menu with nothing lent here: the sync panel
                // shows the upstream as the engine finds it.
                self.open_staff();
            }
            "feedback" => {
                let mut f = feedback::Feedback::default();
                f.update(feedback::Message::Rate(4));
                f.update(feedback::Message::Toggle("fast"));
                self.screen = Screen::Feedback(f);
            }
            "warning" => {
                borrow_two(self);
                self.warning = Some(warning::Warning::new(7));
            }
            "staff" => {
                borrow_two(self);
                // A DVD and a magazine too, for the chart by item type.
                let others: Vec<String> = self
                    .store
                    .conn()
                    .prepare(
                        "SELECT min(barcode) FROM items WHERE status = 'available'
                         AND item_type IN ('dvd', 'magazine') GROUP BY item_type",
                    )
                    .and_then(|mut st| {
                        st.query_map([], |r| r.get(0))?
                            .collect::<rusqlite::Result<Vec<String>>>()
                    })
                    .unwrap_or_default();
                for code in others.iter().chain([&items[3]]) {
                    let _ = self.item(code, None, &[], "");
                }
                self.finish();
                self.go_idle(None);
                let _ = self.item(&items[0], None, &[], "");
                self.open_staff();
                // What staff see when they test the scanner: a reader's
                // card, a book, a code from another library.
                let wedge = self.wedge_id();
                self.staff_test(&wedge, &c1);
                self.staff_test(&wedge, &items[2]);
                self.staff_test(&wedge, "39999999999994");
            }
            _ => {}
        }
        // The scenario's sessions ended with a reset to the default language.
        self.lang = lang;
    }
}

/// What the local history found, as the receipt shows it (nothing, and a
/// line in the log, when it could not be read).
fn suggestions(found: Result<Vec<store::AlsoBorrowed>, String>) -> Vec<receipt::Suggestion> {
    match found {
        Ok(v) => v
            .into_iter()
            .map(|a| receipt::Suggestion {
                title: a.title,
                author: a.author,
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "no recommendations from the local history");
            Vec::new()
        }
    }
}

/// A tick at the start of every minute (the idle screen's clock).
fn minute_clock() -> impl iced::futures::Stream<Item = Instant> {
    iced::futures::stream::unfold((), |()| async {
        let now = Local::now();
        let into = u64::from(chrono::Timelike::second(&now)) * 1000
            + u64::from(chrono::Timelike::nanosecond(&now) / 1_000_000).min(999);
        tokio::time::sleep(Duration::from_millis(60_000 - into.min(59_999))).await;
        Some((Instant::now(), ()))
    })
}

/// Grows the window to the monitor it is on (kiosks run without a window
/// manager, so nothing else sizes it).
pub fn fit_to_monitor() -> Task<Message> {
    window::latest().and_then(|id| {
        window::monitor_size(id).and_then(move |size| {
            Task::batch([window::move_to(id, Point::ORIGIN), window::resize(id, size)])
        })
    })
}
