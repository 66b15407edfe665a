//! The end of a visit: the receipt (on paper or by e-mail) and the
//! suggestions printed on it. Part of `App` (src/ui/app).
//!
//! May import what `ui::app` may (`use super::*`).

use super::*;

impl App {
    /// The reader is done: the card is logged out, then receipt (if
    /// anything was borrowed) and feedback.
    pub(super) fn finish(&mut self) {
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
            email: self.receipt_to.as_deref().map(crate::ui::mail::masked),
            ..receipt::Receipt::default()
        });
        self.receipts += 1;
        self.recommend(s.card, items);
    }

    /// Asks for suggestions for the receipt now up, in a Task: the
    /// central system within `RECOMMEND_WAIT`, else (or without one: the
    /// desk says "no upstream" at once) the kiosk's own loan history,
    /// when the answer comes back.
    pub(super) fn recommend(&mut self, patron: String, items: Vec<String>) {
        let number = self.receipts;
        let asked = self.desk.clone().recommendations(
            patron.clone(),
            items.clone(),
            RECOMMEND_LIMIT,
            RECOMMEND_WAIT,
        );
        self.queue(Task::perform(asked, move |result| {
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
    /// a blocking thread over a read-only connection of its own
    /// (`store::Reader`: the query reads the whole loan history, tens of
    /// milliseconds in a big library).
    pub(super) fn recommended(&mut self, r: Recommended) {
        if r.receipt != self.receipts || !matches!(self.screen, Screen::Receipt(_)) {
            return;
        }
        let e = match r.result {
            Ok(v) if !v.is_empty() => return self.show_suggestions(r.receipt, v),
            Ok(_) => "none from the central system".to_string(),
            Err(e) => e,
        };
        tracing::info!(error = %e, "recommendations from the local history");
        let reader = self.store.reader();
        let number = r.receipt;
        self.queue(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    reader
                        .also_borrowed(&r.patron, &r.items, RECOMMEND_LIMIT)
                        .map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("the history query stopped: {e}")))
            },
            move |found| Message::SuggestedLocally(Box::new((number, suggestions(found)))),
        ));
    }

    pub(super) fn show_suggestions(&mut self, number: u64, suggestions: Vec<receipt::Suggestion>) {
        if number != self.receipts {
            return;
        }
        if let Screen::Receipt(rc) = &mut self.screen {
            rc.recommendations = suggestions;
        }
    }

    pub(super) fn has_printer(&self) -> bool {
        self.config
            .devices
            .iter()
            .any(|d| d.kind() == DeviceKind::Printer)
    }

    /// The receipt on screen as a document (for paper or e-mail) and the
    /// language its text is in; None when no receipt is up.
    pub(super) fn receipt_doc(&self) -> Option<(printer::Receipt, Lang)> {
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

    pub(super) fn print_receipt(&mut self) {
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
        self.queue(Task::perform(
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
    pub(super) fn email_receipt(&mut self) {
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
        self.queue(Task::perform(
            async move { crate::ui::mail::send(&cfg, &to, subject, body).await },
            Message::Emailed,
        ));
    }

    pub(super) fn emailed(&mut self, result: Result<(), String>) {
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

    pub(super) fn printed(&mut self, result: Result<(), String>) {
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
