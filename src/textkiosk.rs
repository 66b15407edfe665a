//! The text-mode kiosk: the same circulation flow as the touch screen, on a
//! terminal (a keyboard-wedge scanner types into it like a keyboard).
//!
//! A card scanned opens a session and every item scanned after it is
//! borrowed at once; the card again (or "done") ends the session; an item
//! scanned with no session open is returned when [kiosk]
//! return_without_card is on. Used until the GUI lands, and on headless
//! test benches after.

use crate::cli::{checkin_message, checkout_message, mask, CliError, Env};
use crate::domain::barcode::normalize;
use crate::domain::Refusal;
use crate::i18n::Texts;
use crate::store::{self, Scanned};
use chrono::Local;
use std::io::{BufRead, Write};

pub fn run(env: &Env, text_requested: bool) -> Result<i32, CliError> {
    let t = Texts::get();
    let lang = env.lang;
    let mut store = env.open_store()?;
    let demo = &env.config.demo;
    if demo.enabled && store.counts()?.patrons == 0 {
        let r = store::demo::generate(&mut store, demo.patrons, demo.items, demo.seed, env.now)?;
        eprintln!(
            "demo library created: {} readers, {} items",
            r.patrons, r.items
        );
    }
    let kept = env.config.store.history_retention_days;
    let dropped = store.apply_retention(kept, env.now)?;
    tracing::info!(?dropped, kept, "history retention applied");
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
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}",
        t.text(
            lang,
            "kiosk-welcome",
            &[("library", env.config.kiosk.library_name.clone())]
        )
    )?;
    let mut session: Option<String> = None;
    // A card waiting for its PIN: the next line is the PIN, not a scan.
    let mut awaiting_pin: Option<String> = None;
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line?;
        let code = normalize(&line);
        let now = Local::now().fixed_offset();
        if code.is_empty() {
            continue;
        }
        if let Some(card) = awaiting_pin.take() {
            match store.check_pin(&card, Some(line.trim()), now)? {
                Ok(()) => session = Some(open(&store, &mut out, env, card)?),
                Err(r) => {
                    writeln!(out, "✗ {}", t.refusal(lang, &r))?;
                    if matches!(r, Refusal::WrongPin { .. }) {
                        writeln!(out, "{}", t.text(lang, "kiosk-enter-pin", &[]))?;
                        awaiting_pin = Some(card);
                    }
                }
            }
            out.flush()?;
            continue;
        }
        if code.eq_ignore_ascii_case("done") || code.eq_ignore_ascii_case("q") {
            if let Some(p) = session.take() {
                close(&store, &mut out, env, &p)?;
            }
            continue;
        }
        match store.classify(&code)? {
            Scanned::Patron if session.as_deref() == Some(code.as_str()) => {
                session = None;
                close(&store, &mut out, env, &code)?;
            }
            Scanned::Patron => match store.check_pin(&code, None, now)? {
                Ok(()) => session = Some(open(&store, &mut out, env, code)?),
                Err(Refusal::PinRequired) => {
                    writeln!(out, "{}", t.text(lang, "kiosk-enter-pin", &[]))?;
                    awaiting_pin = Some(code);
                }
                Err(r) => writeln!(out, "✗ {}", t.refusal(lang, &r))?,
            },
            Scanned::Item => match &session {
                Some(p) => {
                    let o = store.checkout(p, &code, None, now)?;
                    match &o.result {
                        Ok(c) => writeln!(out, "✓ {}", checkout_message(lang, c))?,
                        Err(r) => writeln!(out, "✗ {}", t.refusal(lang, r))?,
                    }
                }
                None if env.config.kiosk.return_without_card => {
                    let o = store.checkin(&code, None, now)?;
                    match &o.result {
                        Ok(c) => writeln!(out, "✓ {}", checkin_message(lang, c))?,
                        Err(r) => writeln!(out, "✗ {}", t.refusal(lang, r))?,
                    }
                }
                None => writeln!(out, "✗ {}", t.text(lang, "kiosk-scan-card-first", &[]))?,
            },
            Scanned::Unknown => {
                let r = if session.is_some() {
                    Refusal::UnknownItem
                } else {
                    Refusal::UnknownPatron
                };
                writeln!(out, "✗ {}", t.refusal(lang, &r))?;
            }
        }
        out.flush()?;
    }
    Ok(0)
}

/// Greets the reader and returns the card that now holds the session.
fn open(
    store: &store::Store,
    out: &mut impl Write,
    env: &Env,
    card: String,
) -> Result<String, CliError> {
    let name = store.patron_name(&card)?.unwrap_or_default();
    tracing::info!(patron = %mask(&card), "session opened");
    writeln!(
        out,
        "{}",
        Texts::get().text(env.lang, "kiosk-session-open", &[("name", name)])
    )?;
    Ok(card)
}

fn close(
    store: &store::Store,
    out: &mut impl Write,
    env: &Env,
    patron: &str,
) -> Result<(), CliError> {
    let count = store
        .account(patron, Local::now().fixed_offset())?
        .map(|a| a.loans.len())
        .unwrap_or(0);
    writeln!(
        out,
        "{}",
        Texts::get().text(
            env.lang,
            "kiosk-session-closed",
            &[("count", count.to_string())]
        )
    )?;
    Ok(())
}
