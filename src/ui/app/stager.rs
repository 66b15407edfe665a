//! Screenshots and demos (a development build only: `cargo build
//! --features stager`, used by scripts/screenshots.sh): with
//! KIOSK_UI_SCREEN set, the kiosk runs on a throwaway copy of its
//! database and is put on that screen with demo loans, holds and test
//! reads, staged through the same desk as a reader's scans. The database
//! named on the command line is never written. Part of `App`
//! (src/ui/app); a production build has none of this.
//!
//! May import what `ui::app` may (`use super::*`), and `launch` for the
//! environment it stages.

use super::*;
use crate::launch::{Env, Failure};
use iced::futures::StreamExt;
use iced_runtime::task::into_stream;
use iced_runtime::Action;
use std::path::PathBuf;

/// A kiosk run staged for a screenshot: the screen to show, and the
/// environment over a throwaway copy of the database (removed on drop).
pub struct Staged {
    pub screen: String,
    pub env: Env,
    dir: PathBuf,
}

impl Staged {
    /// KIOSK_UI_SCREEN is set: `env` with its database copied into a
    /// directory of its own (a missing database stays missing: the kiosk
    /// creates its demo library in the copy's place).
    pub fn from_env(env: &Env) -> Result<Option<Staged>, Failure> {
        let Ok(screen) = std::env::var("KIOSK_UI_SCREEN") else {
            return Ok(None);
        };
        let dir = std::env::temp_dir().join(format!("kiosk-stage-{}", std::process::id()));
        let copy = |e: std::io::Error| Failure::Usage(format!("staging {screen}: {e}"));
        std::fs::create_dir_all(&dir).map_err(copy)?;
        let db = dir.join("kiosk.db");
        for ext in ["", "-wal"] {
            let from = PathBuf::from(format!("{}{ext}", env.db.display()));
            if from.exists() {
                std::fs::copy(&from, format!("{}{ext}", db.display())).map_err(copy)?;
            }
        }
        tracing::info!(screen, copy = %db.display(), "staging a screen on a copy of the database");
        let env = Env {
            config: env.config.clone(),
            config_path: env.config_path.clone(),
            db,
            lang: env.lang,
            now: env.now,
        };
        Ok(Some(Staged { screen, env, dir }))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl App {
    /// Runs the Tasks queued so far, and those they lead to, to the end on
    /// `rt`, feeding their messages back (as iced's runtime would).
    fn settle(&mut self, rt: &tokio::runtime::Runtime) {
        while !self.effects.is_empty() {
            let Some(stream) = into_stream(self.take_effects()) else {
                continue;
            };
            let out: Vec<Message> = rt.block_on(
                stream
                    .filter_map(|a| async move {
                        match a {
                            Action::Output(m) => Some(m),
                            _ => None,
                        }
                    })
                    .collect(),
            );
            for m in out {
                self.decide(m);
            }
        }
    }

    /// An item scanned, its decision committed and shown.
    fn stage_item(&mut self, rt: &tokio::runtime::Runtime, code: &str) {
        self.item(code, None, &[], "");
        self.settle(rt);
    }

    /// A hold placed for `card`, committed and shown.
    fn stage_hold(&mut self, rt: &tokio::runtime::Runtime, card: &str, code: &str) {
        self.place_hold(card, code);
        self.settle(rt);
    }

    /// Screenshots and demos: puts the kiosk on `name` with demo data
    /// (KIOSK_UI_SCREEN). Writes loans into the database it runs on:
    /// `Staged` makes that a throwaway copy.
    pub fn jump_to(&mut self, name: &str) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return tracing::warn!("KIOSK_UI_SCREEN: no runtime to stage on: {e}"),
        };
        let rt = &rt;
        let (cards, items) = store::demo::loanable_pairs(&self.store, 4).unwrap_or_default();
        if cards.len() < 2 || items.len() < 4 {
            tracing::warn!("KIOSK_UI_SCREEN needs demo data");
            return;
        }
        let (c0, c1) = (cards[0].clone(), cards[1].clone());
        let lang = self.lang;
        let borrow_two = |app: &mut App| {
            app.open(c0.clone());
            app.stage_item(rt, &items[0]);
            app.stage_item(rt, &items[1]);
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
                self.stage_item(rt, &items[2]);
                self.finish();
                borrow_two(self);
                self.stage_item(rt, &items[2]);
                self.stage_item(rt, "39999999999994");
            }
            "return" => {
                borrow_two(self);
                self.finish();
                // Another reader waits for items[0]: it goes to the hold shelf.
                self.open(c1.clone());
                self.screen = Screen::Holds(holds::Holds::default());
                self.stage_hold(rt, &c1, &items[0]);
                self.go_idle(None);
                self.stage_item(rt, &items[0]);
                self.stage_item(rt, &items[1]);
                self.stage_item(rt, "39999999999994");
            }
            "account" | "holds" => {
                self.open(c1.clone());
                self.stage_item(rt, &items[3]);
                self.stage_item(rt, &items[2]);
                self.finish();
                self.open(c0.clone());
                self.screen = Screen::Holds(holds::Holds::default());
                self.stage_hold(rt, &c0, &items[3]);
                self.stage_hold(rt, &c0, &items[2]);
                self.go_idle(None);
                // items[3] comes back: ready for c0 on the hold shelf.
                self.stage_item(rt, &items[3]);
                self.go_idle(None);
                borrow_two(self);
                if name == "account" {
                    self.show_account();
                } else {
                    self.show_holds();
                    // A book someone else has: a hold that waits in the queue.
                    let lent = self.store.stage_lent_to_others(&c0, &c1).ok().flatten();
                    if let Some(lent) = lent {
                        self.stage_hold(rt, &c0, &lent);
                    }
                }
            }
            "receipt" => {
                // With [receipt] email on, this reader has an address.
                if self.config.receipt.email {
                    let _ = self.store.stage_email(&c0, "reader@example.com");
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
            "db-damaged" => {
                // As the check at start leaves a kiosk whose database is
                // damaged inside (the problem as SQLite words it).
                self.db_check = DbCheck::Failed(
                    "*** in database main *** Tree 14 page 412 cell 0: invalid page number 1515870810"
                        .into(),
                );
                self.go_idle(None);
            }
            "staff" | "staff-export" => {
                borrow_two(self);
                // A DVD and a magazine too, for the chart by item type.
                let others = self
                    .store
                    .stage_available_of(&["dvd", "magazine"])
                    .unwrap_or_default();
                for code in others.iter().chain([&items[3]]) {
                    self.stage_item(rt, code);
                }
                self.finish();
                self.go_idle(None);
                self.stage_item(rt, &items[0]);
                self.open_staff();
                // What staff see when they test the scanner: a reader's
                // card, a book, a code from another library.
                let wedge = self.wedge_id();
                self.staff_test(&wedge, &c1);
                self.staff_test(&wedge, &items[2]);
                self.staff_test(&wedge, "39999999999994");
                if name == "staff-export" {
                    // Exported onto the stick ([staff] export_dir), said
                    // in the shot's language.
                    self.lang = lang;
                    if let Screen::Staff(s) = &mut self.screen {
                        s.exporting = true;
                    }
                    self.export();
                }
            }
            _ => {}
        }
        // What the screen set going (the staff figures, the receipt's
        // suggestions) is there when the window opens.
        self.settle(rt);
        // The scenario's sessions ended with a reset to the default language.
        self.lang = lang;
    }
}
