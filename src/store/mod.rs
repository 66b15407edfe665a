//! The kiosk's SQLite database: schema, migrations, circulation
//! transactions, the append-only journal and its sync outbox.
//!
//! Every decision is written with its journal entry in ONE transaction
//! before anyone is told about it. This room never "repairs" a file it
//! cannot read and never opens a database newer than itself.
//!
//! May use: `domain`, `protocol` (the records it caches), `privacy`,
//! `csvfmt` (docs/architecture.md; `tests/architecture.rs`).

pub mod cache;
mod circ;
pub mod demo;
pub mod export;
mod history;
pub mod import;
mod journal;
mod payment;
mod pin;

pub use payment::{Payment, PaymentOk};

pub use circ::*;
pub use history::{also_borrowed, AlsoBorrowed};
pub use journal::*;

use crate::domain::{Calendar, PolicyTable, Rule, Settings};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema, the single source of truth (migration 1).
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// Migration 2: conflicts closed at the centre, readers' languages.
pub const SCHEMA_2: &str = include_str!("schema_2.sql");

/// All migrations in order; `PRAGMA user_version` is the index of the last
/// one applied. Append, never edit.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(SCHEMA), M::up(SCHEMA_2)])
}

/// The schema version this build writes.
pub fn schema_version() -> usize {
    2
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the kiosk database {path}: {source}. The file was left untouched; check its permissions or restore it from a backup")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the kiosk database {path} is not readable ({reason}). It was left untouched: restore it from a backup or move it aside to start a new one")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the kiosk database {path} has schema version {found}, newer than this kiosk understands ({supported}). Upgrade the kiosk software; the file was left untouched")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: usize,
    },
    #[error("migrating the kiosk database {path} failed: {reason}. Nothing was changed")]
    Migration { path: PathBuf, reason: String },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("corrupt record in the kiosk database: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Input(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// An open kiosk database.
pub struct Store {
    conn: Connection,
    kiosk_id: String,
    policies: PolicyTable,
    settings: Settings,
    /// Set by `with_offline_journal` for the one call it runs.
    offline_id: Option<uuid::Uuid>,
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `path`.
    pub fn open(path: &Path, kiosk_id: &str) -> Result<Store> {
        let existed = path.exists();
        if existed {
            check_header(path)?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Store::setup(conn, path, kiosk_id)
    }

    /// A private in-memory database (tests and benchmarks of pure logic).
    pub fn open_in_memory(kiosk_id: &str) -> Result<Store> {
        Store::setup(
            Connection::open_in_memory()?,
            Path::new(":memory:"),
            kiosk_id,
        )
    }

    fn setup(mut conn: Connection, path: &Path, kiosk_id: &str) -> Result<Store> {
        let unreadable = |e: rusqlite::Error| StoreError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        // Pragmas first, outside any transaction (journal_mode cannot change
        // inside one). Reading user_version first proves the file is a
        // database before we write anything to it.
        // Another process may be creating the file this very moment: wait
        // for its locks rather than failing at once.
        conn.busy_timeout(Duration::from_secs(5))?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(unreadable)?;
        if version > schema_version() as i64 {
            return Err(StoreError::TooNew {
                path: path.to_path_buf(),
                found: version,
                supported: schema_version(),
            });
        }
        // Switching a new file to WAL can meet another process setting it
        // up at the same moment, without SQLite's busy handler: a new
        // database gets a few more tries (an existing one is WAL already).
        let mut tries = if version == 0 { 50 } else { 0 };
        let mode: String = loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if f.code == rusqlite::ErrorCode::DatabaseBusy && tries > 0 =>
                {
                    tries -= 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => break other.map_err(unreadable)?,
            }
        };
        if mode != "wal" && mode != "memory" {
            return Err(StoreError::Unreadable {
                path: path.to_path_buf(),
                reason: format!("cannot switch to WAL journal mode (got {mode})"),
            });
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        if let Err(e) = migrations().to_latest(&mut conn) {
            // Two processes opening a new database at once (the kiosk and
            // `kiosk sync status` beside it) both read the old version; the
            // second's migration, queued behind the first's write lock,
            // then fails on tables that now exist. The database is what
            // this build wants: carry on.
            let now: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(unreadable)?;
            if now != schema_version() as i64 {
                return Err(StoreError::Migration {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
            tracing::info!(path = %path.display(), "another process migrated the kiosk database first");
        }
        let mut store = Store {
            conn,
            kiosk_id: kiosk_id.to_string(),
            policies: PolicyTable::default(),
            settings: Settings::default(),
            offline_id: None,
        };
        store.policies = store.load_policies()?;
        store.settings.calendar = store.load_calendar(&[])?;
        Ok(store)
    }

    pub fn kiosk_id(&self) -> &str {
        &self.kiosk_id
    }

    /// Who the next `store::circ` call journals as (takes the offline id
    /// `with_offline_journal` set, so only that call uses it).
    pub(crate) fn author(&mut self) -> journal::Author {
        journal::Author {
            kiosk_id: self.kiosk_id.clone(),
            offline_id: std::cell::Cell::new(self.offline_id.take()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn policies(&self) -> &PolicyTable {
        &self.policies
    }

    /// The raw connection, for exports and tests that need plain SQL.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Replaces the policy table (from kiosk.toml) and the kiosk-wide
    /// settings; holidays are added to the calendar table, which may hold
    /// more (sent by the server). Once a pull has brought the central
    /// server's policies (`cache::POLICIES_PULLED_KEY`), those stay: a
    /// restart must not put kiosk.toml's table back over them. Call
    /// `forget_pulled_policies` first when the kiosk has no upstream.
    pub fn configure(
        &mut self,
        rows: Vec<(String, String, Rule)>,
        mut settings: Settings,
        holidays: &[NaiveDate],
    ) -> Result<()> {
        let pulled = self.sync_state(cache::POLICIES_PULLED_KEY)?.is_some();
        let tx = self.conn.transaction()?;
        if !pulled {
            tx.execute("DELETE FROM policies", [])?;
            let mut ins = tx.prepare(
                "INSERT INTO policies (category, item_type, loan_days, loan_hours, max_loans,
                   max_renewals, renewal_days, fine_per_day_cents, fine_cap_cents,
                   block_fines_cents, block_overdue_count, max_holds, loanable)
                 VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
            )?;
            for (c, t, r) in &rows {
                ins.execute(params![
                    c,
                    t,
                    r.loan_days,
                    r.loan_hours,
                    r.max_loans,
                    r.max_renewals,
                    r.renewal_days,
                    r.fine_per_day,
                    r.fine_cap,
                    r.block_fines,
                    r.block_overdue,
                    r.max_holds,
                    r.loanable
                ])?;
            }
        }
        {
            let mut cal = tx.prepare(
                "INSERT INTO calendar (day, reason) VALUES (?1, 'kiosk.toml') ON CONFLICT DO NOTHING",
            )?;
            for d in holidays {
                cal.execute([d.format("%Y-%m-%d").to_string()])?;
            }
        }
        tx.commit()?;
        self.policies = if pulled {
            self.load_policies()?
        } else {
            PolicyTable::new(rows)
        };
        settings.calendar = self.load_calendar(
            &settings
                .calendar
                .closed_weekdays
                .iter()
                .copied()
                .collect::<Vec<_>>(),
        )?;
        self.settings = settings;
        Ok(())
    }

    /// The kiosk runs without an upstream now: kiosk.toml's policies win
    /// again from the next `configure`.
    pub fn forget_pulled_policies(&mut self) -> Result<()> {
        self.conn.execute(
            "DELETE FROM sync_state WHERE key = ?1",
            [cache::POLICIES_PULLED_KEY],
        )?;
        Ok(())
    }

    fn load_policies(&self) -> Result<PolicyTable> {
        let mut st = self.conn.prepare(
            "SELECT category, item_type, loan_days, loan_hours, max_loans, max_renewals,
                    renewal_days, fine_per_day_cents, fine_cap_cents, block_fines_cents,
                    block_overdue_count, max_holds, loanable FROM policies",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    Rule {
                        loan_days: r.get(2)?,
                        loan_hours: r.get(3)?,
                        max_loans: r.get(4)?,
                        max_renewals: r.get(5)?,
                        renewal_days: r.get(6)?,
                        fine_per_day: r.get(7)?,
                        fine_cap: r.get(8)?,
                        block_fines: r.get(9)?,
                        block_overdue: r.get(10)?,
                        max_holds: r.get(11)?,
                        loanable: r.get(12)?,
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(PolicyTable::new(rows))
    }

    fn load_calendar(&self, closed_weekdays: &[u8]) -> Result<Calendar> {
        let mut st = self.conn.prepare("SELECT day FROM calendar")?;
        let days = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut cal = Calendar {
            closed_weekdays: closed_weekdays.iter().copied().collect(),
            ..Calendar::default()
        };
        for d in days {
            let day = NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| StoreError::Corrupt(format!("calendar day {d:?}")))?;
            cal.closed_days.insert(day);
        }
        Ok(cal)
    }

    /// `PRAGMA integrity_check` result ("ok" when healthy).
    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    /// Counts for status screens and `kiosk status`.
    pub fn counts(&self) -> Result<Counts> {
        let one = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(Counts {
            patrons: one("SELECT count(*) FROM patrons")?,
            items: one("SELECT count(*) FROM items")?,
            current_loans: one("SELECT count(*) FROM loans WHERE returned IS NULL")?,
            open_holds: one("SELECT count(*) FROM holds WHERE status IN ('waiting','ready')")?,
            journal: one("SELECT count(*) FROM journal")?,
            outbox: one("SELECT count(*) FROM journal WHERE sync_status IN ('pending','sent')")?,
        })
    }

    /// Drops reader history older than `days`: returned loans, closed holds,
    /// and the reader's barcode on journal entries the upstream has
    /// acknowledged. Fees stay (they are accounts, not history).
    pub fn apply_retention(&mut self, days: u32, now: DateTime<FixedOffset>) -> Result<Retention> {
        let cutoff = (now - chrono::Duration::days(days as i64)).to_rfc3339();
        let tx = self.conn.transaction()?;
        let loans = tx.execute(
            "DELETE FROM loans WHERE returned IS NOT NULL AND returned < ?1",
            [&cutoff],
        )?;
        let holds = tx.execute(
            "DELETE FROM holds WHERE status IN ('fulfilled','cancelled','expired') AND closed < ?1",
            [&cutoff],
        )?;
        let journal = tx.execute(
            "UPDATE journal SET patron = NULL
             WHERE patron IS NOT NULL AND sync_status = 'acknowledged' AND at < ?1",
            [&cutoff],
        )?;
        tx.commit()?;
        Ok(Retention {
            loans_deleted: loans,
            holds_deleted: holds,
            journal_anonymized: journal,
        })
    }

    pub fn sync_state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_sync_state(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Counts {
    pub patrons: i64,
    pub items: i64,
    pub current_loans: i64,
    pub open_holds: i64,
    pub journal: i64,
    pub outbox: i64,
}

#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct Retention {
    pub loans_deleted: usize,
    pub holds_deleted: usize,
    pub journal_anonymized: usize,
}

/// A non-empty file that does not start with the SQLite header is someone
/// else's file (or a damaged one): refuse it rather than let SQLite decide.
fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| StoreError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut head = [0u8; 16];
    let n = f.read(&mut head).map_err(|e| StoreError::Unreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if n == 0 {
        return Ok(());
    }
    if n < 16 || &head != b"SQLite format 3\0" {
        return Err(StoreError::Unreadable {
            path: path.to_path_buf(),
            reason: "not an SQLite database".into(),
        });
    }
    Ok(())
}
