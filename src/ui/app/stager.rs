//! Screenshots and demos: puts the kiosk on a named screen with demo
//! data. Part of `App` (src/ui/app).

use super::*;

impl App {
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
