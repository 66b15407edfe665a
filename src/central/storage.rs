//! The one storage interface the server's handlers use ([`Storage`]), and
//! its one implementation for every backend: a backend only says how to
//! run a closure over one transaction ([`Backend::tx`]) and hands its
//! settings; each call is one `engine` function in one transaction.
//! Imports `engine`, `sql`, `domain` and `protocol`.

use super::engine::{
    self, FeedbackRecord, KioskStatus, Reminder, Resolve, ResolvedConflict, Retention, Stats,
};
use super::sql::Sql;
use super::{Fut, Principal};
use crate::domain::Settings;
use crate::protocol::*;
use chrono::{DateTime, NaiveDate, Utc};

/// Everything the server keeps, behind one trait with two backends. Each
/// call is one transaction. Write calls that must be safe when several
/// server processes share a PostgreSQL database take a database-wide
/// write lock inside that transaction.
pub trait Storage: Send + Sync + 'static {
    /// Applies a batch of journal entries: each at most once (by id), per
    /// kiosk in seq order; one answer per entry in the order sent.
    fn push(&self, req: PushRequest, now: DateTime<Utc>) -> Fut<'_, PushResponse>;
    /// Decides and applies an online request under its entry id.
    fn decide(&self, req: DecideRequest, now: DateTime<Utc>) -> Fut<'_, DecideResponse>;
    fn changes(&self, cursor: String, limit: u32) -> Fut<'_, ChangesPage>;
    fn heartbeat(&self, hb: Heartbeat, now: DateTime<Utc>) -> Fut<'_, HeartbeatAck>;
    fn patron(&self, barcode: String) -> Fut<'_, Option<PatronRecord>>;
    /// What the server knows of a card's PIN (`engine::pin_of`): None, no
    /// such reader; Some(None), no PIN; Some(Some(hash)).
    fn pin_of(&self, barcode: String) -> Fut<'_, Option<Option<String>>>;
    fn recommendations(
        &self,
        patron: Option<String>,
        item: Option<String>,
        limit: usize,
    ) -> Fut<'_, Recommendations>;
    /// Open conflicts (and entries held for a missing seq).
    fn conflicts(&self, kiosk: Option<String>) -> Fut<'_, Vec<ConflictRecord>>;
    /// Staff close conflict `id` with a note (`by` names who);
    /// `only_kiosk`: a kiosk closes only its own (else `OtherKiosk`).
    fn resolve_conflict(
        &self,
        id: String,
        note: String,
        by: String,
        only_kiosk: Option<String>,
        now: DateTime<Utc>,
    ) -> Fut<'_, Resolve>;
    fn resolved_conflicts(&self, kiosk: Option<String>) -> Fut<'_, Vec<ResolvedConflict>>;
    fn loans(&self, patron: Option<String>) -> Fut<'_, Vec<LoanRecord>>;
    fn kiosks(&self) -> Fut<'_, Vec<KioskStatus>>;
    fn stats(&self, from: NaiveDate, to: NaiveDate) -> Fut<'_, Stats>;
    fn feedback(&self, from: NaiveDate, to: NaiveDate) -> Fut<'_, Vec<FeedbackRecord>>;
    /// Inserts or updates readers; returns (inserted, updated).
    fn import_patrons(&self, rows: Vec<PatronRecord>, now: DateTime<Utc>) -> Fut<'_, (u64, u64)>;
    fn import_items(&self, rows: Vec<ItemRecord>, now: DateTime<Utc>) -> Fut<'_, (u64, u64)>;
    /// Replaces the policy table and the closed days (changes recorded).
    fn set_policies(&self, rules: Vec<PolicyRecord>, closed_days: Vec<String>) -> Fut<'_, ()>;
    /// Stores a kiosk's token hash (replacing an older token); true when
    /// the kiosk is new. `offline_pins`: the feed carries PIN hashes to it.
    fn set_token(
        &self,
        kiosk: String,
        token_hash: String,
        offline_pins: bool,
        now: DateTime<Utc>,
    ) -> Fut<'_, bool>;
    /// Stores a staff token's hash under a name.
    fn set_staff_token(&self, name: String, token_hash: String, now: DateTime<Utc>) -> Fut<'_, ()>;
    /// Who a token speaks for, by the token itself (hashed here).
    fn principal_for_token(&self, token: String) -> Fut<'_, Option<Principal>>;
    /// Readers' mail languages (barcode, `zh-CN` | `en`), from the
    /// patrons CSV's optional `language` column.
    fn set_patron_languages(&self, rows: Vec<(String, String)>) -> Fut<'_, u64>;
    /// Reminders not sent yet as of `today` (see `remind`).
    fn pending_reminders(&self, today: NaiveDate, due_soon_days: u32) -> Fut<'_, Vec<Reminder>>;
    /// Claims a reminder (sent-reminders table); false if already claimed.
    fn claim_reminder(&self, kind: String, key: String, now: DateTime<Utc>) -> Fut<'_, bool>;
    fn release_reminder(&self, kind: String, key: String) -> Fut<'_, ()>;
    /// Anonymises readers' history older than `days` (`engine::retention`),
    /// in batches of one transaction each; what it did.
    fn retention(&self, days: u32, now: DateTime<Utc>) -> Fut<'_, Retention>;
    /// The kiosk-wide settings (calendar, pickup days) decisions use.
    fn settings(&self) -> &Settings;
}

/// A database the engine runs on: SQLite and PostgreSQL implement this,
/// and [`Storage`] follows for both.
pub trait Backend: Send + Sync + 'static {
    /// One open transaction.
    type Tx: Sql;

    /// Runs `f` in one transaction (the feed's pending changes written
    /// before the commit): committed when it returns Ok, rolled back
    /// otherwise.
    fn tx<T, F>(&self, f: F) -> Fut<'_, T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Tx) -> Fut<'c, T> + Send + 'static;

    /// Runs `f`, which only reads, in one read transaction: on a backend
    /// whose writers queue (SQLite), never behind them. By default, as
    /// [`Backend::tx`].
    fn read<T, F>(&self, f: F) -> Fut<'_, T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Tx) -> Fut<'c, T> + Send + 'static,
    {
        self.tx(f)
    }

    /// The kiosk-wide settings decisions use.
    fn settings(&self) -> &Settings;
}

impl<B: Backend> Storage for B {
    fn push(&self, req: PushRequest, now: DateTime<Utc>) -> Fut<'_, PushResponse> {
        let s = self.settings().clone();
        self.tx(move |t| {
            Box::pin(async move {
                engine::refuse_foreign_ids(t, &req.kiosk_id, &req.entries).await?;
                engine::push(t, &s, &req, now).await
            })
        })
    }

    fn decide(&self, req: DecideRequest, now: DateTime<Utc>) -> Fut<'_, DecideResponse> {
        let s = self.settings().clone();
        self.tx(move |t| {
            Box::pin(async move {
                let e = std::slice::from_ref(&req.entry);
                engine::refuse_foreign_ids(t, &req.entry.kiosk_id, e).await?;
                engine::decide(t, &s, &req, now).await
            })
        })
    }

    fn changes(&self, cursor: String, limit: u32) -> Fut<'_, ChangesPage> {
        self.read(move |t| Box::pin(async move { engine::changes(t, &cursor, limit).await }))
    }

    fn heartbeat(&self, hb: Heartbeat, now: DateTime<Utc>) -> Fut<'_, HeartbeatAck> {
        self.tx(move |t| Box::pin(async move { engine::heartbeat(t, &hb, now).await }))
    }

    fn patron(&self, barcode: String) -> Fut<'_, Option<PatronRecord>> {
        self.read(move |t| Box::pin(async move { engine::patron(t, &barcode).await }))
    }

    fn pin_of(&self, barcode: String) -> Fut<'_, Option<Option<String>>> {
        self.read(move |t| Box::pin(async move { engine::pin_of(t, &barcode).await }))
    }

    fn recommendations(
        &self,
        patron: Option<String>,
        item: Option<String>,
        limit: usize,
    ) -> Fut<'_, Recommendations> {
        self.read(move |t| {
            Box::pin(async move {
                engine::recommendations(t, patron.as_deref(), item.as_deref(), limit).await
            })
        })
    }

    fn conflicts(&self, kiosk: Option<String>) -> Fut<'_, Vec<ConflictRecord>> {
        self.read(move |t| Box::pin(async move { engine::conflicts(t, kiosk.as_deref()).await }))
    }

    fn resolve_conflict(
        &self,
        id: String,
        note: String,
        by: String,
        only_kiosk: Option<String>,
        now: DateTime<Utc>,
    ) -> Fut<'_, Resolve> {
        self.tx(move |t| {
            Box::pin(async move {
                engine::resolve_conflict(
                    t,
                    &id,
                    &note,
                    &by,
                    only_kiosk.as_deref(),
                    &engine::stamp(now),
                )
                .await
            })
        })
    }

    fn resolved_conflicts(&self, kiosk: Option<String>) -> Fut<'_, Vec<ResolvedConflict>> {
        self.read(move |t| {
            Box::pin(async move { engine::resolved_conflicts(t, kiosk.as_deref()).await })
        })
    }

    fn loans(&self, patron: Option<String>) -> Fut<'_, Vec<LoanRecord>> {
        self.read(move |t| Box::pin(async move { engine::loans(t, patron.as_deref()).await }))
    }

    fn kiosks(&self) -> Fut<'_, Vec<KioskStatus>> {
        self.read(move |t| Box::pin(async move { engine::kiosks(t).await }))
    }

    fn stats(&self, from: NaiveDate, to: NaiveDate) -> Fut<'_, Stats> {
        self.read(move |t| Box::pin(async move { engine::stats(t, from, to).await }))
    }

    fn feedback(&self, from: NaiveDate, to: NaiveDate) -> Fut<'_, Vec<FeedbackRecord>> {
        let (f, to) = (from.to_string(), to.to_string());
        self.read(move |t| Box::pin(async move { engine::feedback(t, &f, &to).await }))
    }

    fn import_patrons(&self, rows: Vec<PatronRecord>, now: DateTime<Utc>) -> Fut<'_, (u64, u64)> {
        self.tx(move |t| {
            Box::pin(async move {
                let now = engine::stamp(now);
                let mut n = (0, 0);
                for r in &rows {
                    if engine::upsert_patron(t, r, &now).await? {
                        n.0 += 1;
                    } else {
                        n.1 += 1;
                    }
                }
                Ok(n)
            })
        })
    }

    fn import_items(&self, rows: Vec<ItemRecord>, now: DateTime<Utc>) -> Fut<'_, (u64, u64)> {
        self.tx(move |t| {
            Box::pin(async move {
                let now = engine::stamp(now);
                let mut n = (0, 0);
                for r in &rows {
                    if engine::upsert_item(t, r, &now).await? {
                        n.0 += 1;
                    } else {
                        n.1 += 1;
                    }
                }
                Ok(n)
            })
        })
    }

    fn set_policies(&self, rules: Vec<PolicyRecord>, days: Vec<String>) -> Fut<'_, ()> {
        self.tx(move |t| Box::pin(async move { engine::set_policies(t, &rules, &days).await }))
    }

    fn set_token(
        &self,
        kiosk: String,
        hash: String,
        offline_pins: bool,
        now: DateTime<Utc>,
    ) -> Fut<'_, bool> {
        self.tx(move |t| {
            Box::pin(async move {
                engine::set_token(t, &kiosk, &hash, offline_pins, &engine::stamp(now)).await
            })
        })
    }

    fn set_staff_token(&self, name: String, hash: String, now: DateTime<Utc>) -> Fut<'_, ()> {
        self.tx(move |t| {
            Box::pin(
                async move { engine::set_staff_token(t, &name, &hash, &engine::stamp(now)).await },
            )
        })
    }

    fn principal_for_token(&self, token: String) -> Fut<'_, Option<Principal>> {
        self.read(move |t| {
            Box::pin(async move {
                let hash = super::token_hash(&token);
                if let Some(p) = engine::principal_for_token(t, &hash, None).await? {
                    return Ok(Some(p));
                }
                if !engine::has_legacy_tokens(t).await? {
                    return Ok(None);
                }
                let legacy = super::legacy_token_hash(&token);
                engine::principal_for_token(t, &hash, Some(&legacy)).await
            })
        })
    }

    fn set_patron_languages(&self, rows: Vec<(String, String)>) -> Fut<'_, u64> {
        self.tx(move |t| Box::pin(async move { engine::set_patron_languages(t, &rows).await }))
    }

    fn pending_reminders(&self, today: NaiveDate, days: u32) -> Fut<'_, Vec<Reminder>> {
        self.read(move |t| Box::pin(async move { engine::pending_reminders(t, today, days).await }))
    }

    fn claim_reminder(&self, kind: String, key: String, now: DateTime<Utc>) -> Fut<'_, bool> {
        self.tx(move |t| {
            Box::pin(
                async move { engine::claim_reminder(t, &kind, &key, &engine::stamp(now)).await },
            )
        })
    }

    fn release_reminder(&self, kind: String, key: String) -> Fut<'_, ()> {
        self.tx(move |t| Box::pin(async move { engine::release_reminder(t, &kind, &key).await }))
    }

    fn retention(&self, days: u32, now: DateTime<Utc>) -> Fut<'_, Retention> {
        let cutoff = engine::retention_cutoff(days, now).to_string();
        Box::pin(async move {
            let mut done = Retention::default();
            loop {
                let c = cutoff.clone();
                let batch = self
                    .tx(move |t| Box::pin(async move { engine::retention_batch(t, &c).await }))
                    .await?;
                done.add(&batch);
                if batch.total() == 0 {
                    return Ok(done);
                }
            }
        })
    }

    fn settings(&self) -> &Settings {
        Backend::settings(self)
    }
}
