//! The kiosk application: which screen is up, the reader's session, and
//! the translation of screen Events and scans into circulation, store
//! reads and device calls.
//!
//! Every decision (loan, return, renewal, hold, PIN) goes through the
//! `Desk` (`sync::Circulation`, standalone without an upstream) in a Task,
//! and its line is drawn when the committed decision comes back; nothing
//! is committed on the UI thread. Handlers queue their Tasks in
//! `effects`, which `update` hands to iced — the one way effects leave.
//! Tag security is set after the commit and a failure is journaled, never
//! dropped. The reader's card number and PIN are never logged in full.
//!
//! May import: `ui::screens`, `ui::sync` (the desk), store reads and
//! types, `domain`, `devices` (events, the runner's handles), `config`.

mod circulation;
mod input;
mod receipt_flow;
mod staff_menu;
#[cfg(feature = "stager")]
pub(super) mod stager;
mod start;
mod view;
mod visit;

use super::feed::{self, Feed};
use super::screens::{
    account, attract, borrow, feedback, holds, identify, receipt, returns, staff, warning, Notice,
};
use super::sound::{self, Cue, Player};
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
use crate::store::{self, CheckinOk, CheckoutOk, DbFigures, HoldOk, RenewOk, Scanned, Store};
use crate::sync::circulation::RenewAll;
use crate::sync::{Decision, SyncStatus};
use chrono::{DateTime, FixedOffset, Local};
use iced::alignment::Vertical;
use iced::keyboard::{self, key::Named, Key};
use iced::{event, mouse, time, touch, window, Center, Element, Fill, Point, Subscription, Task};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
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
    /// The reader's rating was journaled (or why not).
    FeedbackRecorded(Result<(), Failed>),
    /// A tag whose security could not be set was journaled (or why not).
    SecurityJournaled(Result<(), Failed>),
    /// A staff PIN try written to the database (wrong tries, lock-out).
    StaffPinKept(Result<(), Failed>),
    /// The database's check at start passed, or the problem it found
    /// (`App::check_store`).
    StoreChecked(Result<(), String>),
    /// History retention ran after the check passed (or why not).
    Retained(Result<String, Failed>),
    /// The sync background started after the check (None: no upstream),
    /// or why not.
    SyncStarted(Result<Option<super::sync::Started>, String>),
    /// The staff menu's export was written (where) or why not.
    Exported(Result<std::path::PathBuf, ExportFailed>),
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
    /// Every decision goes through it: the upstream's
    /// (`[upstream] kind != "none"`, `set_sync`) or a standalone one over
    /// its own connection to the app's database.
    desk: Arc<Desk>,
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
    /// The database's check at start: out of service until it passed.
    db_check: DbCheck,
    /// The sync background to start once the check passed: the database
    /// and where `ui::run` keeps it.
    sync_after_check: Option<(PathBuf, super::sync::BackgroundSlot)>,
}

impl App {
    /// A kiosk on `store`; `devices` None runs without any (tests). Its
    /// decisions are taken by a standalone desk on another connection to
    /// the same database until `set_sync` names the upstream's.
    pub fn new(
        config: Config,
        store: Store,
        devices: Option<Devices>,
        lang: Lang,
    ) -> Result<App, store::StoreError> {
        let desk = Arc::new(Desk::standalone(&config, &store)?);
        // The staff PIN's wrong tries and lock survive a restart.
        let staff_failures = store.staff_pin_failures()?;
        let staff_locked_until = store.staff_pin_locked(Self::now())?.map(|until| {
            let left = (until - Self::now()).to_std().unwrap_or_default();
            (Instant::now() + left, until.with_timezone(&Local))
        });
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
        Ok(App {
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
            desk,
            status_feed: None,
            sync: None,
            staff_failures,
            staff_locked_until,
            receipts: 0,
            sound: None,
            last_cue: None,
            db_figures: DbFigures::default(),
            figures_reading: false,
            restart: Arc::new(AtomicBool::new(false)),
            staff_field: BTreeSet::new(),
            lang_chosen: false,
            receipt_to: None,
            db_check: DbCheck::Passed,
            sync_after_check: None,
        })
    }

    /// Set once staff chose "restart"; `ui::run` reads it after the
    /// window closed.
    pub fn restart_flag(&self) -> Arc<AtomicBool> {
        self.restart.clone()
    }

    /// Circulation through the upstream and the engine's status; without
    /// this the app's standalone desk decides (`[upstream] kind = "none"`).
    pub fn set_sync(&mut self, desk: Arc<Desk>, status: Option<StatusFeed>) {
        self.desk = desk;
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

    /// Out of service: staff said so, the database has not passed its
    /// check at start (yet), or a required device is down.
    pub fn out_of_service(&self) -> bool {
        self.staff_out_of_service
            || self.db_check != DbCheck::Passed
            || self.config.devices.iter().any(|d| {
                d.required && matches!(self.statuses.get(&d.id), Some(DeviceStatus::Down { .. }))
            })
    }

    fn now() -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        self.decide(message);
        self.take_effects()
    }

    /// Queues a Task (a decision on the desk, a print, a read off the UI
    /// thread) for iced to run once this update returns.
    fn queue(&mut self, task: Task<Message>) {
        self.effects.push(task);
    }

    /// The Tasks queued so far, as one.
    fn take_effects(&mut self) -> Task<Message> {
        match self.effects.len() {
            0 => Task::none(),
            1 => self.effects.pop().unwrap_or_else(Task::none),
            _ => Task::batch(self.effects.drain(..)),
        }
    }

    fn decide(&mut self, message: Message) {
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
                        let desk = self.desk.clone();
                        self.queue(Task::perform(
                            desk.record_feedback(rating, topics, Self::now()),
                            Message::FeedbackRecorded,
                        ));
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
                    self.staff_event(e);
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
            Message::Scanned(code) => self.scan(&code),
            Message::Device(e) => self.device(e),
            Message::Key(e) => self.key(e, Instant::now()),
            Message::WedgeTick(fired) => {
                let out = self.wedge.tick(fired, Instant::now());
                self.wedge_out(out);
            }
            Message::Tick(now) => self.tick(now),
            Message::Activity => self.touch(),
            Message::Online(online) => self.set_offline(online == Some(false)),
            Message::Sync(status) => {
                self.set_offline(status.online == Some(false));
                self.sync = Some(status);
                self.refresh_staff();
            }
            Message::Synced(result) => self.synced(result),
            Message::Lent(l) => self.lent(*l),
            Message::Returned(r) => self.returned(*r),
            Message::Secured(s) => self.secured(*s),
            Message::Printed(result) => self.printed(result),
            Message::Renewed(r) => self.renewed(*r),
            Message::HoldCancelled(r) => self.hold_cancelled(*r),
            Message::AccountRenewed(v) => self.account_renewals(*v),
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
            Message::Figures(r) => self.figures_read(*r),
            Message::Emailed(result) => self.emailed(result),
            Message::TestPrinted(result) => self.test_printed(result),
            Message::HoldPlaced(h) => self.hold_placed(*h),
            Message::FeedbackRecorded(result) => {
                // The reader may have been timed out meanwhile.
                if !matches!(self.screen, Screen::Feedback(_)) {
                    return;
                }
                match result {
                    Ok(()) => self.go_idle(Some(Notice::said("feedback-thanks"))),
                    Err(e) => {
                        tracing::error!("feedback not recorded: {e}");
                        self.go_idle(None)
                    }
                }
            }
            Message::SecurityJournaled(result) => {
                if let Err(e) = result {
                    tracing::error!("security failure not journaled: {e}");
                }
            }
            Message::StaffPinKept(result) => {
                if let Err(e) = result {
                    tracing::error!("staff PIN try not kept: {e}");
                }
            }
            Message::StoreChecked(result) => self.store_checked(result),
            Message::Retained(result) => match result {
                Ok(dropped) => tracing::info!(%dropped, "history retention applied"),
                Err(e) => tracing::error!("history retention failed: {e}"),
            },
            Message::Exported(result) => self.exported(result),
            Message::SyncStarted(result) => self.sync_started(result),
        }
    }
}

pub use staff_menu::{export_name, ExportFailed};
pub use start::DbCheck;
pub use view::fit_to_monitor;
