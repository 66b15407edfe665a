//! The reference central server (kiosk-central): the v1 API of
//! `protocol` over storage behind one trait ([`Storage`]), with an
//! embedded SQLite backend and a PostgreSQL backend for many kiosks and
//! several server processes.
//!
//! Layout: `engine` (what the server does, written once over `sql::Sql`),
//! `sqlite` and `postgres` (the two backends), `http` (axum routes, auth,
//! limits), `config` (central.toml), `import` (the kiosk's CSV formats),
//! `openapi`, `remind` (due-soon, overdue and hold-ready reminders). Circulation rules are `domain`'s; this room must never
//! decide a loan by rules of its own.

pub mod config;
pub mod engine;
pub mod http;
pub mod import;
pub mod openapi;
pub mod postgres;
pub mod remind;
pub mod sql;
pub mod sqlite;

use crate::domain::Settings;
use crate::protocol::*;
use chrono::{DateTime, NaiveDate, Utc};
use engine::{FeedbackRecord, KioskStatus, Reminder, Resolve, ResolvedConflict, Stats};
use std::future::Future;

pub use postgres::PgStorage;
pub use sqlite::SqliteStorage;

/// Why a storage call failed. Conflicts and refusals are answers, not
/// errors; these are failures (bad input, database trouble).
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    /// The request itself is wrong (answered 400).
    #[error("{0}")]
    BadRequest(String),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The server's message, SQLSTATE code and constraint (never the
    /// DETAIL line, which quotes the row's values).
    #[error("PostgreSQL: {}", postgres::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// The database holds something this code cannot read, or is newer.
    #[error("database: {0}")]
    Corrupt(String),
    #[error("storage task failed: {0}")]
    Task(String),
}

type Result<T> = std::result::Result<T, CentralError>;
type Fut<'a, T> = std::pin::Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

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
    fn recommendations(
        &self,
        patron: Option<String>,
        item: Option<String>,
        limit: usize,
    ) -> Fut<'_, Recommendations>;
    /// Open conflicts (and entries held for a missing seq).
    fn conflicts(&self, kiosk: Option<String>) -> Fut<'_, Vec<ConflictRecord>>;
    /// Staff close conflict `id` with a note (`by` names who).
    fn resolve_conflict(
        &self,
        id: String,
        note: String,
        by: String,
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
    /// Stores a kiosk's token hash (replacing an older token).
    fn set_token(&self, kiosk: String, token_hash: String, now: DateTime<Utc>) -> Fut<'_, bool>;
    fn kiosk_for_token(&self, token_hash: String) -> Fut<'_, Option<String>>;
    /// Readers' mail languages (barcode, `zh-CN` | `en`), from the
    /// patrons CSV's optional `language` column.
    fn set_patron_languages(&self, rows: Vec<(String, String)>) -> Fut<'_, u64>;
    /// Reminders not sent yet as of `today` (see `remind`).
    fn pending_reminders(&self, today: NaiveDate, due_soon_days: u32) -> Fut<'_, Vec<Reminder>>;
    /// Claims a reminder (sent-reminders table); false if already claimed.
    fn claim_reminder(&self, kind: String, key: String, now: DateTime<Utc>) -> Fut<'_, bool>;
    fn release_reminder(&self, kind: String, key: String) -> Fut<'_, ()>;
    /// The kiosk-wide settings (calendar, pickup days) decisions use.
    fn settings(&self) -> &Settings;
}

/// Implements [`Storage`] for a backend with a `tx` method that runs a
/// closure over one transaction: `$tx!(self, |t| engine::f(t, ...))`.
#[macro_export]
#[doc(hidden)]
macro_rules! central_storage_impl {
    ($ty:ty) => {
        impl $crate::central::Storage for $ty {
            fn push(&self, req: PushRequest, now: DateTime<Utc>) -> Fut<'_, PushResponse> {
                let s = self.settings.clone();
                self.tx(move |t| Box::pin(async move { engine::push(t, &s, &req, now).await }))
            }
            fn decide(&self, req: DecideRequest, now: DateTime<Utc>) -> Fut<'_, DecideResponse> {
                let s = self.settings.clone();
                self.tx(move |t| Box::pin(async move { engine::decide(t, &s, &req, now).await }))
            }
            fn changes(&self, cursor: String, limit: u32) -> Fut<'_, ChangesPage> {
                self.tx(move |t| Box::pin(async move { engine::changes(t, &cursor, limit).await }))
            }
            fn heartbeat(&self, hb: Heartbeat, now: DateTime<Utc>) -> Fut<'_, HeartbeatAck> {
                self.tx(move |t| Box::pin(async move { engine::heartbeat(t, &hb, now).await }))
            }
            fn patron(&self, barcode: String) -> Fut<'_, Option<PatronRecord>> {
                self.tx(move |t| Box::pin(async move { engine::patron(t, &barcode).await }))
            }
            fn recommendations(
                &self,
                patron: Option<String>,
                item: Option<String>,
                limit: usize,
            ) -> Fut<'_, Recommendations> {
                self.tx(move |t| {
                    Box::pin(async move {
                        engine::recommendations(t, patron.as_deref(), item.as_deref(), limit).await
                    })
                })
            }
            fn conflicts(&self, kiosk: Option<String>) -> Fut<'_, Vec<ConflictRecord>> {
                self.tx(move |t| {
                    Box::pin(async move { engine::conflicts(t, kiosk.as_deref()).await })
                })
            }
            fn resolve_conflict(
                &self,
                id: String,
                note: String,
                by: String,
                now: DateTime<Utc>,
            ) -> Fut<'_, engine::Resolve> {
                self.tx(move |t| {
                    Box::pin(async move {
                        engine::resolve_conflict(t, &id, &note, &by, &engine::stamp(now)).await
                    })
                })
            }
            fn resolved_conflicts(
                &self,
                kiosk: Option<String>,
            ) -> Fut<'_, Vec<engine::ResolvedConflict>> {
                self.tx(move |t| {
                    Box::pin(async move { engine::resolved_conflicts(t, kiosk.as_deref()).await })
                })
            }
            fn loans(&self, patron: Option<String>) -> Fut<'_, Vec<LoanRecord>> {
                self.tx(move |t| Box::pin(async move { engine::loans(t, patron.as_deref()).await }))
            }
            fn kiosks(&self) -> Fut<'_, Vec<KioskStatus>> {
                self.tx(move |t| Box::pin(async move { engine::kiosks(t).await }))
            }
            fn stats(&self, from: NaiveDate, to: NaiveDate) -> Fut<'_, Stats> {
                self.tx(move |t| Box::pin(async move { engine::stats(t, from, to).await }))
            }
            fn feedback(&self, from: NaiveDate, to: NaiveDate) -> Fut<'_, Vec<FeedbackRecord>> {
                let (f, to) = (from.to_string(), to.to_string());
                self.tx(move |t| Box::pin(async move { engine::feedback(t, &f, &to).await }))
            }
            fn import_patrons(
                &self,
                rows: Vec<PatronRecord>,
                now: DateTime<Utc>,
            ) -> Fut<'_, (u64, u64)> {
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
            fn import_items(
                &self,
                rows: Vec<ItemRecord>,
                now: DateTime<Utc>,
            ) -> Fut<'_, (u64, u64)> {
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
                self.tx(move |t| {
                    Box::pin(async move { engine::set_policies(t, &rules, &days).await })
                })
            }
            fn set_token(&self, kiosk: String, hash: String, now: DateTime<Utc>) -> Fut<'_, bool> {
                self.tx(move |t| {
                    Box::pin(async move {
                        engine::set_token(t, &kiosk, &hash, &engine::stamp(now)).await
                    })
                })
            }
            fn kiosk_for_token(&self, hash: String) -> Fut<'_, Option<String>> {
                self.tx(move |t| Box::pin(async move { engine::kiosk_for_token(t, &hash).await }))
            }
            fn set_patron_languages(&self, rows: Vec<(String, String)>) -> Fut<'_, u64> {
                self.tx(move |t| {
                    Box::pin(async move { engine::set_patron_languages(t, &rows).await })
                })
            }
            fn pending_reminders(
                &self,
                today: NaiveDate,
                days: u32,
            ) -> Fut<'_, Vec<engine::Reminder>> {
                self.tx(move |t| {
                    Box::pin(async move { engine::pending_reminders(t, today, days).await })
                })
            }
            fn claim_reminder(
                &self,
                kind: String,
                key: String,
                now: DateTime<Utc>,
            ) -> Fut<'_, bool> {
                self.tx(move |t| {
                    Box::pin(async move {
                        engine::claim_reminder(t, &kind, &key, &engine::stamp(now)).await
                    })
                })
            }
            fn release_reminder(&self, kind: String, key: String) -> Fut<'_, ()> {
                self.tx(move |t| {
                    Box::pin(async move { engine::release_reminder(t, &kind, &key).await })
                })
            }
            fn settings(&self) -> &Settings {
                &self.settings
            }
        }
    };
}

/// A new random kiosk token (256 bits, hex), shown once.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the database keeps of a token: argon2id of it with minimal cost
/// and a fixed salt. The token is 256 random bits, so stretching would add
/// nothing, and a fixed salt lets the server find the kiosk by the hash.
pub fn token_hash(token: &str) -> String {
    let params = argon2::Params::new(8, 1, 1, Some(32)).expect("valid argon2 parameters");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(token.as_bytes(), b"kiosk-central-token-v1", &mut out)
        .expect("argon2 with valid parameters");
    out.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn token_hash_is_stable_and_differs_per_token() {
        let a = super::token_hash("abc");
        assert_eq!(a, super::token_hash("abc"));
        assert_ne!(a, super::token_hash("abd"));
        assert_eq!(a.len(), 64);
        assert_eq!(super::new_token().len(), 64);
    }
}
