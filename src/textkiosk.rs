//! The text-mode kiosk: the same circulation flow as the touch screen, on a
//! terminal (a keyboard-wedge scanner types into it like a keyboard), with
//! the configured devices running: serial and HID scanners, RFID pads
//! (items on the pad are lent or returned, then their security is set),
//! and the receipt printer.
//!
//! A card scanned opens a session and every item scanned after it is
//! borrowed at once; the card again (or "done") ends the session; an item
//! scanned with no session open is returned when [kiosk]
//! return_without_card is on. With a simulated RFID pad, `pad` lists the
//! demo tags and `put N` / `take N` (or `all`) move them on and off it.
//! Used where there is no display, and on headless test benches.
//!
//! May use the rooms below the front ends (domain, privacy, i18n, config,
//! store, devices, pad, sync, launch); never `cli` or `ui`.

use crate::devices::events::{DeviceEvent, DeviceStatus, EventKind};
use crate::devices::printer;
use crate::devices::rfid::{uid_hex, Field, SimTag, Uid};
use crate::devices::runner::Devices;
use crate::domain::barcode::normalize;
use crate::domain::offline::OfflinePolicy;
use crate::domain::session::{self, Action};
use crate::domain::{format_money, Lang, Refusal};
use crate::i18n::Texts;
use crate::launch::{Env, Failure as CliError};
use crate::pad::{Pad, PadAction};
use crate::privacy::mask;
use crate::store::{self, Store};
use crate::sync::health::device_report;
use crate::sync::schedule::{self, Background};
use crate::sync::{self, Circulation, Engine, Mode, OfflineRules};
use chrono::Local;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

/// How long the kiosk keeps listening to its devices after its input ends
/// (so scripted runs see the pad's last events).
const DRAIN: Duration = Duration::from_millis(1200);

enum Input {
    Line(String),
    Device(DeviceEvent),
    End,
    /// The database's check at start: passed, or the problem it found.
    Checked(Result<(), String>),
}

/// Where the database's check at start stands: scans wait while it runs
/// and are refused if it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DbCheck {
    Running,
    Passed,
    Failed(String),
}

struct Kiosk<'a, W: Write> {
    env: &'a Env,
    store: Store,
    /// Asks the central system first, decides alone when it is away.
    circ: Circulation,
    rt: tokio::runtime::Runtime,
    /// Last mode told to the reader (so "offline" is said once, not per item).
    mode: Mode,
    /// The background sync's engine, told of device health for heartbeats.
    engine: Option<Arc<Engine>>,
    health: BTreeMap<String, DeviceStatus>,
    devices: Devices,
    out: W,
    lang: Lang,
    session: Option<String>,
    awaiting_pin: Option<String>,
    pad: Pad,
    /// (title, due) borrowed in this session, for the receipt.
    borrowed: Vec<(String, String)>,
    db: DbCheck,
}

pub fn run(env: &Env, text_requested: bool) -> Result<i32, CliError> {
    let t = Texts::get();
    let lang = env.lang;
    // The check at start runs after the welcome, on a thread of its own
    // (it reads the whole file: seconds on a large library); scans wait
    // for it, and are refused if it fails.
    let mut store = env.open_store_unchecked()?;
    let demo = &env.config.demo;
    if demo.enabled && store.counts()?.patrons == 0 {
        let r = store::demo::generate(&mut store, demo.patrons, demo.items, demo.seed, env.now)?;
        eprintln!(
            "demo library created: {} readers, {} items",
            r.patrons, r.items
        );
    }
    if !text_requested {
        eprintln!("{}", t.text(lang, "kiosk-gui-pending", &[]));
    }
    if demo.enabled {
        let (patrons, items) = store::demo::loanable_pairs(&store, 3)?;
        eprintln!(
            "demo cards: {}   demo books: {}",
            patrons.join(" "),
            items.join(" ")
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    // The sync engine starts once the check passed; nothing circulates
    // before, so this one is never asked.
    let circ = Circulation::new(
        None,
        Duration::from_millis(env.config.upstream.decide_timeout_ms as u64),
        OfflineRules::from(&env.config.offline),
    );
    let mut background = None;
    let (devices, device_events) = Devices::start(&env.config);
    if devices.handles().any(|h| h.field.is_some()) {
        eprintln!("{}", t.text(lang, "kiosk-pad-help", &[]));
    }
    let (tx, rx) = mpsc::channel();
    {
        let tx = tx.clone();
        let reader = store.reader();
        std::thread::spawn(move || {
            let r = reader.check().map_err(|e| match e {
                store::StoreError::Damaged { problems, .. } => {
                    problems.into_iter().next().unwrap_or_default()
                }
                other => other.to_string(),
            });
            let _ = tx.send(Input::Checked(r));
        });
    }
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(Input::Line(line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Input::End);
        });
    }
    std::thread::spawn(move || {
        for e in device_events {
            if tx.send(Input::Device(e)).is_err() {
                return;
            }
        }
    });
    let mut k = Kiosk {
        env,
        store,
        circ,
        rt,
        mode: Mode::Online,
        engine: None,
        health: BTreeMap::new(),
        devices,
        out: std::io::stdout().lock(),
        lang,
        session: None,
        awaiting_pin: None,
        pad: Pad::new(),
        borrowed: Vec::new(),
        db: DbCheck::Running,
    };
    k.say(&t.text(
        lang,
        "kiosk-welcome",
        &[("library", env.config.kiosk.library_name.clone())],
    ))?;
    let mut ended = false;
    let mut held = std::collections::VecDeque::new();
    loop {
        // Input that came while the check ran, once it is over.
        let next = if k.db == DbCheck::Running {
            None
        } else {
            held.pop_front()
        };
        let input = if let Some(i) = next {
            i
        } else if ended && k.db != DbCheck::Running {
            match rx.recv_timeout(DRAIN) {
                Ok(i) => i,
                Err(_) => break,
            }
        } else {
            match rx.recv() {
                Ok(i) => i,
                Err(_) => break,
            }
        };
        match input {
            Input::Line(_) | Input::Device(_) if k.db == DbCheck::Running => held.push_back(input),
            Input::Line(line) => k.line(&line)?,
            Input::Device(e) => k.device(e)?,
            Input::End => ended = true,
            Input::Checked(r) => {
                if let Some(bg) = k.checked(r)? {
                    background = Some(bg);
                }
            }
        }
        k.out.flush()?;
    }
    let Kiosk { devices, rt, .. } = k;
    devices.stop();
    if let Some(bg) = background {
        let _ = bg.stop.send(true);
        // The schedule stops after the exchange in flight; a journal entry
        // is committed before it is sent, so nothing waits on this.
        let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), bg.task).await });
    }
    Ok(0)
}

/// The façade, the background engine (for device health), its schedule.
type SyncParts = (Circulation, Option<Arc<Engine>>, Option<Background>);

/// The circulation façade and, with an upstream, the background sync
/// (push, pull, heartbeat, nightly) on its own database connection,
/// reporting online/offline into the same status.
fn sync_parts(env: &Env, rt: &tokio::runtime::Runtime) -> Result<SyncParts, CliError> {
    let timeout = Duration::from_millis(env.config.upstream.decide_timeout_ms as u64);
    let rules = OfflineRules::from(&env.config.offline);
    let Some(upstream) = sync::upstream_from_config(&env.config)? else {
        return Ok((Circulation::new(None, timeout, rules), None, None));
    };
    let engine = Engine::new(upstream.clone(), env.config.sync.batch_size)
        .with_page_size(env.config.sync.page_size);
    let circ = Circulation::new(Some(upstream), timeout, rules).with_status(engine.status_sender());
    let cron = schedule::parse_cron(&env.config.sync.nightly)?;
    let interval = Duration::from_secs(env.config.sync.interval_secs as u64);
    // Called once the check at start passed: not checked again.
    let store = env.open_store_unchecked()?;
    let _in_runtime = rt.enter();
    let engine = Arc::new(engine);
    let bg = schedule::spawn(engine.clone(), store, interval, cron);
    Ok((circ, Some(engine), Some(bg)))
}

impl<W: Write> Kiosk<'_, W> {
    /// The check's answer: in service (retention applied, the sync engine
    /// started), or out of service with the reason for staff (logged).
    fn checked(&mut self, r: Result<(), String>) -> Result<Option<Background>, CliError> {
        match r {
            Ok(()) => {
                tracing::info!("the kiosk database passed its check");
                self.db = DbCheck::Passed;
                let kept = self.env.config.store.history_retention_days;
                let dropped = self.store.apply_retention(kept, self.env.now)?;
                tracing::info!(?dropped, kept, "history retention applied");
                let (circ, engine, background) = sync_parts(self.env, &self.rt)?;
                self.circ = circ;
                self.engine = engine;
                Ok(background)
            }
            Err(problem) => {
                tracing::error!(%problem, "the kiosk database failed its check: out of service");
                let text = self.text("ui-db-damaged", &[("problem", problem.clone())]);
                self.say(&format!("✗ {text}"))?;
                self.db = DbCheck::Failed(problem);
                Ok(None)
            }
        }
    }

    /// Whether the database keeps the kiosk out of service (its check
    /// failed): then says so, and nothing is lent or returned.
    fn out_of_service(&mut self) -> Result<bool, CliError> {
        let DbCheck::Failed(problem) = &self.db else {
            return Ok(false);
        };
        let text = self.text("ui-db-damaged", &[("problem", problem.clone())]);
        self.say(&format!(
            "✗ {}: {text}",
            self.text("ui-out-of-service", &[])
        ))?;
        Ok(true)
    }

    fn say(&mut self, text: &str) -> Result<(), CliError> {
        writeln!(self.out, "{text}")?;
        Ok(())
    }

    /// Says once when the kiosk starts deciding alone, and once when the
    /// central system answers again.
    fn tell_mode(&mut self, mode: Mode) -> Result<(), CliError> {
        if mode == self.mode || mode == Mode::Standalone {
            return Ok(());
        }
        self.mode = mode;
        let id = match (mode, self.env.config.offline.policy) {
            (Mode::Offline, OfflinePolicy::ReturnsAndCheckouts) => "kiosk-offline",
            (Mode::Offline, OfflinePolicy::ReturnsOnly) => "kiosk-offline-returns-only",
            (Mode::Offline, OfflinePolicy::Off) => "kiosk-offline-closed",
            _ => "kiosk-online",
        };
        let text = self.text(id, &[]);
        self.say(&format!("! {text}"))
    }

    fn refuse(&mut self, r: &Refusal) -> Result<(), CliError> {
        let text = Texts::get().refusal(self.lang, r);
        self.say(&format!("✗ {text}"))
    }

    fn text(&self, id: &str, args: &[(&str, String)]) -> String {
        Texts::get().text(self.lang, id, args)
    }

    fn line(&mut self, line: &str) -> Result<(), CliError> {
        let code = normalize(line);
        if code.is_empty() {
            return Ok(());
        }
        let now = Local::now().fixed_offset();
        if let Some(card) = self.awaiting_pin.take() {
            // The cached hash, else the upstream (a SIP2 ILS checks it).
            let pin = line.trim();
            match self
                .rt
                .block_on(self.circ.check_pin(&mut self.store, &card, Some(pin), now))?
            {
                Ok(()) => self.open(card)?,
                Err(r) => {
                    self.refuse(&r)?;
                    if matches!(r, Refusal::WrongPin { .. }) {
                        let ask = self.text("kiosk-enter-pin", &[]);
                        self.say(&ask)?;
                        self.awaiting_pin = Some(card);
                    }
                }
            }
            return Ok(());
        }
        let mut words = line.split_whitespace();
        match (words.next(), words.next()) {
            (Some(w), None) if w.eq_ignore_ascii_case("done") || w.eq_ignore_ascii_case("q") => {
                if let Some(p) = self.session.take() {
                    self.close(&p)?;
                }
                return Ok(());
            }
            (Some("pad"), None) => return self.list_pad(),
            (Some(cmd @ ("put" | "take")), Some(which)) => return self.move_tags(cmd, which),
            _ => {}
        }
        self.scan(code)
    }

    /// What the scan means by `domain::session`'s rules (as on the touch
    /// screen; this kiosk has no staff menu and no reservations screen).
    fn scan(&mut self, code: String) -> Result<(), CliError> {
        if self.out_of_service()? {
            return Ok(());
        }
        let now = Local::now().fixed_offset();
        let scanned = self.store.classify(&code)?;
        match session::on_scan(&self.at(), false, scanned, &code) {
            Action::EndSession => {
                self.session = None;
                self.close(&code)?;
            }
            Action::FinishFirst => {
                let text = self.text("kiosk-finish-first", &[]);
                self.say(&format!("✗ {text}"))?;
            }
            Action::Identify => {
                match self
                    .rt
                    .block_on(self.circ.check_pin(&mut self.store, &code, None, now))?
                {
                    Ok(()) => self.open(code)?,
                    Err(Refusal::PinRequired) => {
                        let ask = self.text("kiosk-enter-pin", &[]);
                        self.say(&ask)?;
                        self.awaiting_pin = Some(code);
                    }
                    Err(r) => self.refuse(&r)?,
                }
            }
            Action::Borrow | Action::Return | Action::CardFirst | Action::Hold => {
                self.item(&code, None, &[], "")?;
            }
            Action::Refuse(r) => self.refuse(&r)?,
            Action::StaffMenu | Action::Ignore => {}
        }
        Ok(())
    }

    fn at(&self) -> session::At<'_> {
        session::At {
            session: self.session.as_deref(),
            idle: self.session.is_none(),
            holds: false,
            return_without_card: self.env.config.kiosk.return_without_card,
            out_of_service: self.db != DbCheck::Passed,
        }
    }

    /// Lends (session open) or returns an item, then sets the security of
    /// its tags on `device` (none for barcode scans).
    fn item(
        &mut self,
        code: &str,
        parts_seen: Option<u8>,
        uids: &[Uid],
        device: &str,
    ) -> Result<(), CliError> {
        let now = Local::now().fixed_offset();
        let lang = self.lang;
        let action = session::on_scan(&self.at(), false, store::Scanned::Item, code);
        match (action, self.session.clone()) {
            (Action::Borrow, Some(p)) => {
                let d = self.rt.block_on(self.circ.checkout(
                    &mut self.store,
                    &p,
                    code,
                    parts_seen,
                    now,
                ))?;
                self.tell_mode(d.mode)?;
                match d.typed() {
                    Some(Ok(c)) => {
                        self.say(&format!("✓ {}", checkout_message(lang, &c)))?;
                        self.borrowed.push((c.title.clone(), c.due.to_string()));
                        self.secure(code, uids, device, true)?;
                    }
                    Some(Err(r)) => self.refuse(&r)?,
                    None => {
                        let text = self.text("circ-accepted", &[]);
                        self.say(&format!("✓ {text}"))?;
                        self.secure(code, uids, device, true)?;
                    }
                }
            }
            (Action::Return, _) => {
                let d =
                    self.rt
                        .block_on(self.circ.checkin(&mut self.store, code, parts_seen, now))?;
                self.tell_mode(d.mode)?;
                match d.typed() {
                    Some(Ok(c)) => {
                        self.say(&format!("✓ {}", checkin_message(lang, &c)))?;
                        self.secure(code, uids, device, false)?;
                    }
                    Some(Err(r)) => self.refuse(&r)?,
                    None => {
                        let text = self.text("circ-accepted", &[]);
                        self.say(&format!("✓ {text}"))?;
                        self.secure(code, uids, device, false)?;
                    }
                }
            }
            _ => {
                let text = self.text("kiosk-scan-card-first", &[]);
                self.say(&format!("✗ {text}"))?;
            }
        }
        Ok(())
    }

    /// Sets tag security after a committed loan or return. A failure is
    /// journaled for staff and the reader is told; it is never ignored.
    fn secure(
        &mut self,
        item: &str,
        uids: &[Uid],
        device: &str,
        on_loan: bool,
    ) -> Result<(), CliError> {
        for uid in uids {
            if let Err(e) = self.devices.secure(device, uid, on_loan) {
                let now = Local::now().fixed_offset();
                let afi = self
                    .devices
                    .handle(device)
                    .and_then(|h| h.config.rfid())
                    .map(|rfid| rfid.afi(on_loan))
                    .unwrap_or(0);
                self.store
                    .record_security_failure(item, &uid_hex(uid), afi, device, &e, now)?;
                tracing::warn!(device, item = %mask(item), "tag security not set: {e}");
                let text = self.text("tag-security-failed", &[]);
                self.say(&format!("✗ {text}"))?;
            }
        }
        Ok(())
    }

    fn device(&mut self, e: DeviceEvent) -> Result<(), CliError> {
        match e.kind {
            EventKind::CardScanned { code } | EventKind::ItemScanned { code } => {
                self.scan(normalize(&code))?
            }
            EventKind::TagsInField { tags } => {
                if self.out_of_service()? {
                    return Ok(());
                }
                for action in self.pad.field(&tags) {
                    match action {
                        PadAction::Ready {
                            item,
                            uids,
                            parts_seen,
                        } => self.item(&item, Some(parts_seen), &uids, &e.device)?,
                        PadAction::Incomplete { seen, parts, .. } => {
                            self.refuse(&Refusal::IncompleteSet { seen, parts })?
                        }
                        PadAction::Unreadable { uid, format } => {
                            tracing::warn!(device = %e.device, uid = %uid_hex(&uid), ?format, "tag without an item id");
                            let text = self.text("tag-unreadable", &[]);
                            self.say(&format!("✗ {text}"))?;
                        }
                    }
                }
            }
            EventKind::TagLeft { uid } => self.pad.left(&uid),
            EventKind::DeviceStatus { status } => {
                match &status {
                    DeviceStatus::Up { info } => {
                        tracing::info!(device = %e.device, "up: {info}")
                    }
                    DeviceStatus::Down { reason } | DeviceStatus::Error { reason } => {
                        eprintln!("device {}: {reason}", e.device);
                    }
                }
                self.note_health(&e.device, &status);
            }
        }
        Ok(())
    }

    /// Keeps what the heartbeat tells the central server: each device's
    /// state, and the receipt paper as the printer last reported it.
    fn note_health(&mut self, device: &str, status: &DeviceStatus) {
        self.health.insert(device.to_string(), status.clone());
        let printers: Vec<&str> = self
            .env
            .config
            .devices
            .iter()
            .filter(|d| d.kind() == crate::config::DeviceKind::Printer)
            .map(|d| d.id.as_str())
            .collect();
        let (devices, paper) = device_report(&self.health, &printers);
        if let Some(engine) = &self.engine {
            engine.set_health(devices, paper);
        }
    }

    fn open(&mut self, card: String) -> Result<(), CliError> {
        let name = self.store.patron_name(&card)?.unwrap_or_default();
        tracing::info!(patron = %mask(&card), "session opened");
        let text = self.text("kiosk-session-open", &[("name", name)]);
        self.say(&text)?;
        self.session = Some(card);
        self.borrowed.clear();
        // Books already on the pad are for this reader.
        self.pad.reset();
        Ok(())
    }

    fn close(&mut self, patron: &str) -> Result<(), CliError> {
        let count = self
            .store
            .account(patron, Local::now().fixed_offset())?
            .map(|a| a.loans.len())
            .unwrap_or(0);
        let text = self.text("kiosk-session-closed", &[("count", count.to_string())]);
        self.say(&text)?;
        // Tells the upstream the session ended (SIP2 35); nothing to keep.
        let _ = self.rt.block_on(self.circ.end_session(patron));
        self.print_receipt();
        self.pad.reset();
        Ok(())
    }

    /// A receipt of this session's loans, when a printer is configured.
    fn print_receipt(&mut self) {
        if self.borrowed.is_empty()
            || !self
                .env
                .config
                .devices
                .iter()
                .any(|d| d.kind() == crate::config::DeviceKind::Printer)
        {
            return;
        }
        let borrowed = std::mem::take(&mut self.borrowed);
        let items: Vec<(String, String)> = borrowed
            .into_iter()
            .map(|(title, due)| (title, self.text("receipt-due", &[("due", due)])))
            .collect();
        let receipt = printer::loan_receipt(
            &self.env.config.kiosk.library_name,
            &Local::now().format("%Y-%m-%d %H:%M").to_string(),
            &items,
            &self.text("receipt-footer", &[]),
        );
        let width = self
            .env
            .config
            .devices
            .iter()
            .find_map(|d| d.printer())
            .map(|p| p.width as usize)
            .unwrap_or(32);
        // Chinese mode prints ASCII too, and titles may be Chinese whatever
        // the reader's language.
        let ascii = format!("{receipt:?}").is_ascii();
        let mode = if ascii { self.lang } else { Lang::ZhCn };
        if let Err(e) = self.devices.print(printer::render(&receipt, mode, width)) {
            tracing::warn!("receipt not printed: {e}");
            let text = self.text("receipt-failed", &[]);
            let _ = self.say(&format!("✗ {text}"));
        }
    }

    fn demo_pad(&self) -> Option<(Field, Vec<SimTag>)> {
        self.devices
            .handles()
            .find_map(|h| h.field.clone().map(|f| (f, h.demo_tags.clone())))
    }

    fn list_pad(&mut self) -> Result<(), CliError> {
        let Some((field, tags)) = self.demo_pad() else {
            let text = self.text("kiosk-no-demo-pad", &[]);
            return self.say(&text);
        };
        for (i, t) in tags.iter().enumerate() {
            let on = if field.get(&t.uid).is_some() {
                "*"
            } else {
                " "
            };
            let d = crate::devices::tag::decode(&t.data());
            let line = format!(
                "{on} {:>2}  {}  {}",
                i + 1,
                uid_hex(&t.uid),
                d.item_id.as_deref().unwrap_or("-")
            );
            self.say(&line)?;
        }
        Ok(())
    }

    fn move_tags(&mut self, cmd: &str, which: &str) -> Result<(), CliError> {
        let Some((field, tags)) = self.demo_pad() else {
            let text = self.text("kiosk-no-demo-pad", &[]);
            return self.say(&text);
        };
        let chosen: Vec<&SimTag> = if which == "all" {
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
        Ok(())
    }
}

pub fn checkout_message(lang: Lang, c: &store::CheckoutOk) -> String {
    Texts::get().text(
        lang,
        "checkout-ok",
        &[("title", c.title.clone()), ("due", c.due.to_string())],
    )
}

pub fn checkin_message(lang: Lang, c: &store::CheckinOk) -> String {
    let t = Texts::get();
    let mut parts = vec![t.text(lang, "checkin-ok", &[("title", c.title.clone())])];
    if c.fine_cents > 0 {
        parts.push(t.text(
            lang,
            "checkin-fine",
            &[
                ("days", c.overdue_days.to_string()),
                ("fine", format_money(c.fine_cents)),
            ],
        ));
    }
    parts.push(match &c.route {
        crate::domain::Route::HoldShelf { .. } => t.text(
            lang,
            "route-hold-shelf",
            &[("code", c.pickup_code.clone().unwrap_or_default())],
        ),
        crate::domain::Route::SortBin { bin } => {
            t.text(lang, "route-sort-bin", &[("bin", bin.clone())])
        }
        crate::domain::Route::Staff => t.text(lang, "route-staff", &[]),
    });
    // Chinese sentences end in a full-width stop and run on without spaces.
    parts.join(match lang {
        Lang::ZhCn => "",
        Lang::En => " ",
    })
}
