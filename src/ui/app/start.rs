//! The kiosk database's check at start, after the first frame: the
//! window opens on the store without it (`Env::open_store_unchecked`),
//! then `App::check_store` runs `PRAGMA quick_check` on a blocking thread
//! with a read-only connection of its own (about 1.7 s on the 1M-item
//! demo library, README). Until it passes the kiosk is out of service and
//! takes no loan, return, renewal or hold; readers see the usual
//! out-of-service screen, staff a line under it (and on the staff menu)
//! saying what is wrong and what to do. A failure keeps it so, and is
//! logged. History retention, a write, and the sync background (push,
//! pull) start once the check passed.
//! Part of `App` (src/ui/app).
//!
//! May import what `ui::app` may (`use super::*`).

use super::*;

/// Where the database's check at start stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbCheck {
    /// Under way: out of service until it passes.
    Running,
    /// Passed (or the store was handed over checked).
    Passed,
    /// Failed: the first problem found; out of service for good.
    Failed(String),
}

impl App {
    /// Where the database's check at start stands.
    pub fn db_check(&self) -> &DbCheck {
        &self.db_check
    }

    /// Starts the database's check at start off the UI thread: the kiosk
    /// is out of service until `Message::StoreChecked` says it passed.
    /// A database found damaged stays so (nothing to check again).
    pub fn check_store(&mut self) -> Task<Message> {
        if matches!(self.db_check, DbCheck::Failed(_)) {
            return Task::none();
        }
        self.db_check = DbCheck::Running;
        self.refresh_idle();
        let reader = self.store.reader();
        tracing::info!("checking the kiosk database");
        Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    reader.check().map_err(|e| match e {
                        store::StoreError::Damaged { problems, .. } => {
                            problems.into_iter().next().unwrap_or_default()
                        }
                        other => other.to_string(),
                    })
                })
                .await
                .unwrap_or_else(|e| Err(format!("the check stopped: {e}")))
            },
            Message::StoreChecked,
        )
    }

    /// The check's answer: in service (and retention applied), or out of
    /// service with the reason for staff.
    pub(super) fn store_checked(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                tracing::info!("the kiosk database passed its check");
                // With an upstream, in service once its sync runs (the
                // standalone desk must not decide meanwhile).
                if self.sync_after_check.is_some() {
                    self.start_sync();
                } else {
                    self.db_check = DbCheck::Passed;
                }
                let days = self.config.store.history_retention_days;
                let desk = self.desk.clone();
                self.queue(Task::perform(
                    desk.apply_retention(days, Self::now()),
                    Message::Retained,
                ));
            }
            Err(problem) => {
                // Logged in full by `store::check`; the line for the staff
                // menu's log too.
                tracing::error!(%problem, "the kiosk database failed its check: out of service; restore it from a backup (`kiosk status` says more)");
                self.db_check = DbCheck::Failed(problem);
            }
        }
        self.refresh_idle();
        let note = self.db_note().map(|n| n.render(self.lang));
        if let (Screen::Staff(s), Some(note)) = (&mut self.screen, note) {
            s.status = Some(note);
        }
    }

    /// With an upstream: its sync background is started once the check
    /// passed (a damaged database is neither pushed nor pulled into), and
    /// put in `slot` for `ui::run` to stop.
    pub fn sync_after_check(&mut self, db: PathBuf, slot: crate::ui::sync::BackgroundSlot) {
        self.sync_after_check = Some((db, slot));
    }

    fn start_sync(&mut self) {
        let Some((db, slot)) = self.sync_after_check.take() else {
            return;
        };
        let config = self.config.clone();
        self.queue(Task::perform(
            async move {
                tokio::task::spawn_blocking(move || {
                    crate::ui::sync::Background::start_into(&config, &db, &slot)
                        .map_err(|e| e.to_string())
                })
                .await
                .unwrap_or_else(|e| Err(format!("the sync start stopped: {e}")))
            },
            Message::SyncStarted,
        ));
    }

    /// The sync background runs: decisions go through the upstream from
    /// now on. One that cannot start keeps the kiosk out of service (it
    /// must not decide alone what the upstream should).
    pub(super) fn sync_started(
        &mut self,
        result: Result<Option<crate::ui::sync::Started>, String>,
    ) {
        match result {
            Ok(Some(s)) => {
                tracing::info!(upstream = ?self.config.upstream.kind, "sync running");
                self.set_sync(s.desk, Some(s.status));
                self.db_check = DbCheck::Passed;
            }
            Ok(None) => self.db_check = DbCheck::Passed,
            Err(e) => {
                tracing::error!("sync: {e}: out of service");
                self.db_check = DbCheck::Failed(format!("sync: {e}"));
            }
        }
        self.refresh_idle();
    }

    /// The staff line while the database holds the kiosk out of service.
    pub(super) fn db_note(&self) -> Option<Notice> {
        match &self.db_check {
            DbCheck::Passed => None,
            DbCheck::Running => Some(Notice::said("ui-db-checking")),
            DbCheck::Failed(problem) => Some(Notice::Said(
                "ui-db-damaged",
                vec![("problem", problem.clone())],
            )),
        }
    }

    /// The idle screen says again whether the kiosk is in service.
    fn refresh_idle(&mut self) {
        let out = self.out_of_service();
        let note = self.db_note();
        if let Screen::Attract(a) = &mut self.screen {
            a.out_of_service = out;
            a.staff_note = note;
        }
    }
}
