//! The staff menu: its PIN and lock, the figures (devices, database,
//! sync), test reads and the test print, export, out of service, restart.
//! Part of `App` (src/ui/app).
//!
//! May import what `ui::app` may (`use super::*`).

use super::*;

impl App {
    /// On the staff menu: what the app knows now at once, and a fresh
    /// read of the database's figures.
    pub(super) fn refresh_staff(&mut self) {
        if matches!(self.screen, Screen::Staff(_)) {
            self.read_figures();
            self.show_figures();
        }
    }

    /// Puts the figures on the staff menu, if it is up.
    pub(super) fn show_figures(&mut self) {
        if matches!(self.screen, Screen::Staff(_)) {
            let f = self.figures();
            if let Screen::Staff(s) = &mut self.screen {
                s.figures = f;
            }
        }
    }

    /// Reads the staff menu's figures from the database: off the UI
    /// thread on a read-only connection of its own (`store::Reader`:
    /// counting a large journal must not hold up a scan), one read at a
    /// time.
    pub(super) fn read_figures(&mut self) {
        if self.figures_reading {
            return;
        }
        self.figures_reading = true;
        let day = Local::now().date_naive();
        let reader = self.store.reader();
        self.queue(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    reader
                        .figures(day, staff::CONFLICTS_SHOWN)
                        .map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("the figures query stopped: {e}")))
            },
            |r| Message::Figures(Box::new(r)),
        ));
    }

    /// The figures read off the UI thread arrived (or why not).
    pub(super) fn figures_read(&mut self, r: Result<DbFigures, String>) {
        self.figures_reading = false;
        match r {
            Ok(f) => {
                self.db_figures = f;
                self.show_figures();
            }
            Err(e) => tracing::warn!(error = %e, "staff figures not read"),
        }
    }

    /// "Sync now" answered: staff read the counts or why not.
    pub(super) fn synced(&mut self, result: Result<String, Failed>) {
        let lang = self.lang;
        let said = match result {
            Ok(counts) => crate::ui::screens::tra(lang, "ui-staff-synced", &[("counts", counts)]),
            Err(e) => {
                tracing::warn!(error = %e, "sync from the staff menu failed");
                crate::ui::screens::tra(lang, "ui-staff-sync-failed", &[("error", e)])
            }
        };
        if let Screen::Staff(s) = &mut self.screen {
            s.syncing = false;
            s.status = Some(said);
        }
        self.refresh_staff();
    }

    /// The test print came out (or why not).
    pub(super) fn test_printed(&mut self, result: Result<(), String>) {
        let lang = self.lang;
        let said = match result {
            Ok(()) => crate::ui::screens::tr(lang, "ui-staff-test-printed"),
            Err(e) => {
                tracing::warn!(error = %e, "test print failed");
                crate::ui::screens::tra(lang, "ui-staff-test-print-failed", &[("error", e)])
            }
        };
        if let Screen::Staff(s) = &mut self.screen {
            s.printing = false;
            s.status = Some(said);
        }
    }

    pub(super) fn staff_requested(&mut self) {
        if self.config.staff.pin_hash.is_empty() {
            // No staff PIN configured ([staff] pin_hash = ""): the corner
            // gesture does nothing — on a kiosk in a public hall it would
            // open the menu to anyone. Staff cards still open it; a PIN is
            // set with `kiosk hash-pin` (README).
            tracing::warn!("staff menu asked for by the corner gesture, but [staff] pin_hash is empty: set one with `kiosk hash-pin` (staff cards still work)");
        } else {
            let mut i = identify::Identify::new(identify::Purpose::Staff);
            if let Some(n) = self.staff_lock_notice(Instant::now()) {
                i.refused(n, true);
            }
            self.screen = Screen::Identify(i);
        }
    }

    /// While the staff PIN is locked: what the pad says.
    pub(super) fn staff_lock_notice(&mut self, now: Instant) -> Option<Notice> {
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
    pub fn staff_pin(&mut self, pin: &str, now: Instant) -> Task<Message> {
        self.staff_pin_at(pin, now);
        self.take_effects()
    }

    pub(super) fn staff_pin_at(&mut self, pin: &str, now: Instant) {
        if let Some(n) = self.staff_lock_notice(now) {
            if let Screen::Identify(i) = &mut self.screen {
                i.refused(n, true);
            }
            return;
        }
        if crate::privacy::verify_pin(pin, &self.config.staff.pin_hash) {
            tracing::info!("staff menu opened");
            if self.staff_failures > 0 {
                let kept = self.desk.clone().staff_pin_right();
                self.queue(Task::perform(kept, Message::StaffPinKept));
            }
            self.staff_failures = 0;
            return self.open_staff();
        }
        let kept = self.desk.clone().staff_pin_wrong(
            self.config.policy.pin_attempts.max(1),
            self.config.policy.pin_lock_minutes.max(1),
            Self::now(),
        );
        self.queue(Task::perform(kept, Message::StaffPinKept));
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

    pub(super) fn figures(&self) -> staff::Figures {
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
                        crate::ui::screens::tr(self.lang, "ui-staff-no-report"),
                    ),
                };
                // In the reader's language when the device said what it
                // means; its own (English) words only for a status without
                // a code.
                let status = match self.status_codes.get(&d.id) {
                    Some(code) if self.statuses.contains_key(&d.id) => crate::ui::screens::tra(
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
            sync: self.desk.syncs().then(|| {
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
            log: crate::ui::log::recent(),
        }
    }

    pub(super) fn open_staff(&mut self) {
        let dir = &self.config.staff.export_dir;
        let dir = (!dir.is_empty()).then(|| dir.clone());
        self.read_figures();
        let mut s = staff::Staff::new(self.figures(), self.staff_out_of_service, dir);
        s.service_message = self.staff_message.clone();
        s.status = self.db_note().map(|n| n.render(self.lang));
        s.printer = self.has_printer();
        self.staff_field.clear();
        self.screen = Screen::Staff(s);
    }

    /// A code read while the staff menu is open: shown on its test panel
    /// as what this kiosk takes it for; nothing is lent or returned. A
    /// reader's card shows masked, as in the log.
    pub(super) fn staff_test(&mut self, device: &str, raw: &str) {
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

    pub(super) fn staff_tested(&mut self, device: &str, what: staff::TestKind) {
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
    pub(super) fn staff_tags(&mut self, device: &str, tags: &[crate::devices::events::Tag]) {
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
    pub(super) fn test_print(&mut self) {
        let Some(devices) = self.devices.clone() else {
            return self.queue(Task::done(Message::TestPrinted(Err(
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
        self.queue(Task::perform(
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
    pub(super) fn report_health(&self) {
        let printers: Vec<&str> = self
            .config
            .devices
            .iter()
            .filter(|d| d.kind() == DeviceKind::Printer)
            .map(|d| d.id.as_str())
            .collect();
        let (devices, paper) = crate::sync::health::device_report(&self.statuses, &printers);
        self.desk.set_health(devices, paper);
    }

    pub(super) fn staff_event(&mut self, e: staff::Event) {
        match e {
            staff::Event::Export => self.export(),
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
                self.queue(iced::exit());
            }
            staff::Event::SyncNow => {
                if self.desk.syncs() {
                    tracing::info!("sync asked for by staff");
                    let asked = self.desk.clone().sync_now(Self::now());
                    self.queue(Task::perform(asked, Message::Synced));
                }
            }
            staff::Event::Quit => {
                tracing::info!("kiosk quit by staff");
                // A print or AFI write still running keeps its handle;
                // the process ends anyway.
                if let Some(d) = self.devices.take().and_then(|d| Arc::try_unwrap(d).ok()) {
                    d.stop();
                }
                self.queue(iced::exit());
            }
            staff::Event::Back => self.go_idle(None),
        }
    }

    /// The last 30 days of the journal as CSV into `[staff] export_dir`
    /// under a generated name, off the UI thread; no path is typed.
    pub(super) fn export(&mut self) {
        let dir = PathBuf::from(&self.config.staff.export_dir);
        if self.config.staff.export_dir.is_empty() {
            return self.exported(Err(ExportFailed::Off));
        }
        let to = Local::now().date_naive();
        let from = to - chrono::Days::new(30);
        let name = export_name(&self.config.kiosk.id, Local::now());
        let reader = self.store.reader();
        tracing::info!(dir = %dir.display(), %name, "export asked for by staff");
        self.queue(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    // A stick not plugged in: its mount folder is missing
                    // (or an empty folder where nothing is mounted, which
                    // is why the folder should be the stick's own).
                    if !dir.is_dir() {
                        return Err(ExportFailed::NoStick(dir.display().to_string()));
                    }
                    let path = dir.join(name);
                    reader
                        .export_to_new_file(&path, store::export::What::Transactions, from, to)
                        .map(|()| path)
                        .map_err(|e| ExportFailed::Failed(e.to_string()))
                })
                .await
                .unwrap_or_else(|e| Err(ExportFailed::Failed(format!("the export stopped: {e}"))))
            },
            Message::Exported,
        ));
    }

    /// The export's result in staff's words on the staff menu.
    pub(super) fn exported(&mut self, result: Result<PathBuf, ExportFailed>) {
        let lang = self.lang;
        let from = Local::now().date_naive() - chrono::Days::new(30);
        let said = match result {
            Ok(path) => {
                tracing::info!(path = %path.display(), "exported by staff");
                crate::ui::screens::tra(
                    lang,
                    "ui-staff-exported",
                    &[
                        ("path", path.display().to_string()),
                        ("from", from.to_string()),
                    ],
                )
            }
            Err(ExportFailed::Off) => crate::ui::screens::tr(lang, "ui-staff-export-off"),
            Err(ExportFailed::NoStick(dir)) => {
                tracing::warn!(%dir, "export: the folder is not there");
                crate::ui::screens::tra(lang, "ui-staff-export-no-stick", &[("dir", dir)])
            }
            Err(ExportFailed::Failed(e)) => {
                tracing::warn!(error = %e, "export failed");
                crate::ui::screens::tra(lang, "ui-staff-export-failed", &[("error", e)])
            }
        };
        if let Screen::Staff(s) = &mut self.screen {
            s.exporting = false;
            s.status = Some(said);
        }
    }
}

/// Why the staff menu's export did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportFailed {
    /// `[staff] export_dir` is not set.
    Off,
    /// The folder is missing: no USB stick in.
    NoStick(String),
    /// Anything else, in the store's words.
    Failed(String),
}

/// `kiosk-<id>-transactions-<YYYYmmdd-HHMMSS>.csv` (kiosk ids are
/// letters, digits, `.`, `_` and `-`: config validation).
pub fn export_name(kiosk: &str, at: DateTime<Local>) -> String {
    let id: String = kiosk
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("kiosk-{id}-transactions-{}.csv", at.format("%Y%m%d-%H%M%S"))
}
