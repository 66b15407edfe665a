//! Input from devices and the keyboard: device events (scans, tags on
//! the pad, device statuses) and the keyboard wedge told apart from a
//! person typing. Part of `App` (src/ui/app).
//!
//! May import what `ui::app` may (`use super::*`).

use super::*;

impl App {
    /// The id of the keyboard-wedge scanner, for a test read typed into
    /// the window ("keyboard" when none is configured).
    pub(super) fn wedge_id(&self) -> String {
        self.config
            .devices
            .iter()
            .find(|d| d.kind() == DeviceKind::BarcodeWedge)
            .map(|d| d.id.clone())
            .unwrap_or_else(|| "keyboard".to_string())
    }

    pub(super) fn device(&mut self, e: DeviceEvent) {
        self.device_seen.insert(e.device.clone(), e.at);
        match e.kind {
            EventKind::CardScanned { code } | EventKind::ItemScanned { code } => {
                if matches!(self.screen, Screen::Staff(_)) {
                    return self.staff_test(&e.device, &code);
                }
                self.scan(&code);
            }
            EventKind::TagsInField { tags } => {
                if matches!(self.screen, Screen::Staff(_)) {
                    return self.staff_tags(&e.device, &tags);
                }
                if matches!(self.screen, Screen::Identify(_)) || self.out_of_service() {
                    return;
                }
                self.touch();
                for action in self.pad.field(&tags) {
                    match action {
                        PadAction::Ready {
                            item,
                            uids,
                            parts_seen,
                        } => self.item(&item, Some(parts_seen), &uids, &e.device),
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
                let out = self.out_of_service();
                if let Screen::Attract(a) = &mut self.screen {
                    a.out_of_service = out;
                }
            }
        }
    }

    /// A key is handled at `at` (when the UI thread got to it, not when it
    /// was typed): a scanner's burst becomes a scan, a person's typing goes
    /// to the PIN pad or a typed code. What it set going, as one Task.
    pub fn key_at(&mut self, e: keyboard::Event, at: Instant) -> Task<Message> {
        self.key(e, at);
        self.take_effects()
    }

    pub(super) fn key(&mut self, e: keyboard::Event, at: Instant) {
        let keyboard::Event::KeyPressed { key, text, .. } = e else {
            return;
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

    pub(super) fn wedge_out(&mut self, out: Vec<WedgeOut>) {
        for o in out {
            match o {
                WedgeOut::Scan(code) => self.scan(&code),
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
                            self.scan(&typed);
                        }
                    }
                }
            }
        }
    }

    /// Demos without hardware: with a simulated RFID pad, typing `put 1`,
    /// `put 1,2,3`, `take 2` or `take all` + Enter moves the demo tags on
    /// and off the pad (as in the text kiosk). True if it was such a command.
    pub(super) fn demo_pad_command(&mut self, typed: &str) -> bool {
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
}
