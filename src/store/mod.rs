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
pub mod check;
mod circ;
pub mod demo;
pub mod export;
mod figures;
mod history;
pub mod import;
mod journal;
mod payment;
mod pin;
mod retention;
pub mod staff;
#[cfg(feature = "stager")]
mod stage;

pub use payment::{Payment, PaymentOk};
pub use pin::PinKept;

pub use circ::*;
pub use figures::{DbFigures, TypeCount};
pub use history::AlsoBorrowed;
pub use journal::*;

use crate::domain::{Calendar, PolicyTable, Rule, Settings};
use chrono::NaiveDate;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema, the single source of truth (migration 1).
pub const SCHEMA: &str = include_str!("../../schema.sql");

/// Migration 2: conflicts closed at the centre, readers' languages.
pub const SCHEMA_2: &str = include_str!("schema_2.sql");

/// Migration 3: retention may scrub readers out of past entries' detail.
pub const SCHEMA_3: &str = include_str!("schema_3.sql");

/// All migrations in order; `PRAGMA user_version` is the index of the last
/// one applied. Append, never edit.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(SCHEMA), M::up(SCHEMA_2), M::up(SCHEMA_3)])
}

/// The schema version this build writes.
pub fn schema_version() -> usize {
    3
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the kiosk database {path}: {source}. The file was left untouched; check its permissions or restore it from a backup")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the kiosk database {path} is not a kiosk database, or it is damaged ({reason}). It was left untouched. Restore it from a backup; a new, empty database in its place would lose the entries the server has not received yet (docs/sync.md, \"A lost kiosk database\")")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the kiosk database {path} cannot be written ({reason}): the kiosk needs to write the file and to create files beside it (-wal, -shm) in its folder. Check the owner and permissions of both; the data in it is fine, do not move it or start a new one")]
    ReadOnly { path: PathBuf, reason: String },
    #[error("the disk holding the kiosk database {path} is full: nothing was saved by the last action, and nothing saved before it was lost. Free some space on that disk (old logs, exports) and try again; the database is fine, do not move it or start a new one")]
    DiskFull { path: PathBuf },
    #[error("the kiosk database {path} failed its check at start ({}). It was left untouched and nothing will be lent or returned with it. Restore it from a backup (docs/deploy.md); staff can still read it with `kiosk status` and `kiosk export`", problems.join("; "))]
    Damaged {
        path: PathBuf,
        problems: Vec<String>,
    },
    #[error("the kiosk database {path} has schema version {found}, newer than this kiosk understands ({supported}). Upgrade the kiosk software; the file was left untouched")]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: usize,
    },
    #[error("migrating the kiosk database {path} failed: {reason}. Nothing was changed")]
    Migration { path: PathBuf, reason: String },
    #[error("{}", sql_message(.0))]
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
    /// Where the database is, for another connection to it (`reopen`,
    /// `reader`).
    location: Location,
    /// Set by `check_remembered`: notes the files' key once the
    /// connection above has closed (fields drop in order; keep it last).
    restamp: Option<check::Restamp>,
}

/// A kiosk database's file, or the name of a private in-memory one
/// (shared only with the connections `Store::reopen` makes).
#[derive(Debug, Clone)]
enum Location {
    File(PathBuf),
    Memory(String),
}

impl Store {
    /// Opens (creating if missing) and migrates the database at `path`.
    pub fn open(path: &Path, kiosk_id: &str) -> Result<Store> {
        let existed = path.exists();
        if existed {
            check_header(path)?;
            owner_only(path);
        } else {
            create_owner_only(path)?;
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| {
            let path = path.to_path_buf();
            match source.sqlite_error_code() {
                Some(rusqlite::ErrorCode::CannotOpen) if is_permission(&path) => {
                    StoreError::ReadOnly {
                        path,
                        reason: source.to_string(),
                    }
                }
                _ => StoreError::Open { path, source },
            }
        })?;
        Store::setup(conn, Location::File(path.to_path_buf()), kiosk_id)
    }

    /// A private in-memory database (tests and benchmarks of pure logic):
    /// named uniquely, so that only `reopen` and `reader` reach it again.
    pub fn open_in_memory(kiosk_id: &str) -> Result<Store> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!(
            "file:kiosk-memory-{}-{n}?mode=memory&cache=shared",
            std::process::id()
        );
        Store::setup(
            Store::connect_memory(&name)?,
            Location::Memory(name),
            kiosk_id,
        )
    }

    fn connect_memory(name: &str) -> Result<Connection> {
        Ok(Connection::open_with_flags(
            name,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?)
    }

    /// Another connection to the same database, with the same kiosk id,
    /// policies and settings: for a thread that commits beside this one
    /// (the touch screen's circulation desk). SQLite serialises the
    /// writers; WAL lets this one read meanwhile.
    pub(crate) fn reopen(&self) -> Result<Store> {
        let mut s = match &self.location {
            Location::File(path) => Store::open(path, &self.kiosk_id)?,
            Location::Memory(name) => Store::setup(
                Store::connect_memory(name)?,
                self.location.clone(),
                &self.kiosk_id,
            )?,
        };
        s.policies = self.policies.clone();
        s.settings = self.settings.clone();
        Ok(s)
    }

    fn setup(mut conn: Connection, location: Location, kiosk_id: &str) -> Result<Store> {
        let path: &Path = match &location {
            Location::File(p) => p,
            Location::Memory(_) => Path::new(":memory:"),
        };
        let unreadable = |e: rusqlite::Error| classify(path, e);
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
            // A full disk or a read-only file says so, not "migration failed".
            if let rusqlite_migration::Error::RusqliteError { err, .. } = &e {
                let path = path.to_path_buf();
                match err.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::DiskFull) => {
                        return Err(StoreError::DiskFull { path })
                    }
                    Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::PermissionDenied) => {
                        let reason = err.to_string();
                        return Err(StoreError::ReadOnly { path, reason });
                    }
                    _ => {}
                }
            }
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
            location: location.clone(),
            restamp: None,
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

    /// The raw connection, for tests and benchmarks that need plain SQL:
    /// public only with the `test-support` feature (the integration tests
    /// turn it on); a shipped build keeps SQL inside the store.
    #[cfg(any(test, feature = "test-support"))]
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The raw connection, for the store's own modules.
    #[cfg(not(any(test, feature = "test-support")))]
    pub(crate) fn conn(&self) -> &Connection {
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
/// A new database file is made readable by its owner only before SQLite
/// opens it (SQLite gives the -wal and -shm files the same permissions):
/// it holds readers' names, cards and loans.
fn create_owner_only(path: &Path) -> Result<()> {
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(0o600);
    }
    match open.open(path) {
        Ok(_) => Ok(()),
        // Another process made it this moment: theirs is as good.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
        Err(e) => Err(StoreError::Open {
            path: path.to_path_buf(),
            source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
        }),
    }
}

/// An existing database that others may read (made by an older kiosk,
/// which left SQLite's 0644) is made owner-only, with its -wal and -shm.
fn owner_only(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let db = path.to_string_lossy().into_owned();
        for f in [db.clone(), format!("{db}-wal"), format!("{db}-shm")] {
            let Ok(meta) = std::fs::metadata(&f) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                match std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)) {
                    Ok(()) => {
                        tracing::info!(file = %f, "made the kiosk database readable by its owner only")
                    }
                    Err(e) => {
                        tracing::warn!(file = %f, "others may read the kiosk database and it cannot be changed: {e}")
                    }
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// What an SQLite error at opening means for the person reading it: a
/// file that cannot be written, a full disk, or a file that is not (or no
/// longer) a database. Only the last may need a backup.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    let path = path.to_path_buf();
    match e.sqlite_error_code() {
        Some(C::ReadOnly) | Some(C::PermissionDenied) => StoreError::ReadOnly {
            path,
            reason: e.to_string(),
        },
        Some(C::CannotOpen) if is_permission(&path) => StoreError::ReadOnly {
            path,
            reason: e.to_string(),
        },
        Some(C::DiskFull) => StoreError::DiskFull { path },
        _ => StoreError::Unreadable {
            path,
            reason: e.to_string(),
        },
    }
}

/// Whether the file (or, for a new one, its folder) refuses us writing.
fn is_permission(path: &Path) -> bool {
    let probe = if path.exists() {
        std::fs::OpenOptions::new().append(true).open(path).err()
    } else {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        let dir = dir.unwrap_or(Path::new("."));
        tempfile_in(dir).err()
    };
    probe.is_some_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied)
}

fn tempfile_in(dir: &Path) -> std::io::Result<()> {
    let p = dir.join(format!(".kiosk-probe-{}", std::process::id()));
    std::fs::File::create(&p)?;
    std::fs::remove_file(&p)
}

/// The text of an SQL error during work: a full disk and a read-only file
/// are said in plain words (the action was not saved, nothing was lost).
fn sql_message(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => "the disk is full: this action was not saved (nothing saved before it was lost); free some space and try again".into(),
        Some(rusqlite::ErrorCode::ReadOnly) => "the kiosk database has become read-only: this action was not saved (nothing saved before it was lost); check the file's and its folder's permissions".into(),
        _ => format!("database error: {e}"),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn a_read_only_or_full_database_is_never_called_unreadable() {
        let p = Path::new("/var/lib/kiosk/kiosk.db");
        let ro = classify(p, failure(rusqlite::ffi::SQLITE_READONLY));
        assert!(matches!(ro, StoreError::ReadOnly { .. }), "{ro}");
        let full = classify(p, failure(rusqlite::ffi::SQLITE_FULL));
        assert!(matches!(full, StoreError::DiskFull { .. }), "{full}");
        for e in [&ro, &full] {
            let text = e.to_string();
            assert!(!text.contains("move it aside"), "{text}");
            assert!(text.contains("do not move it"), "{text}");
        }
        assert!(full.to_string().contains("disk"));
        assert!(ro.to_string().contains("permissions"));
        let junk = classify(p, failure(rusqlite::ffi::SQLITE_NOTADB));
        assert!(matches!(junk, StoreError::Unreadable { .. }));
        assert!(junk.to_string().contains("Restore it from a backup"));
    }

    #[test]
    fn a_full_disk_during_work_is_said_in_plain_words_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let mut store = Store::open(&db, "k1").unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO patrons (barcode, name, category, expires, updated_at)
                   VALUES ('P1', 'Ann', 'default', '2099-01-01', 'x');
                 INSERT INTO items (barcode, title, author, item_type, updated_at)
                   VALUES ('I1', 'T', 'A', 'default', 'x');",
            )
            .unwrap();
        let entries = |s: &Store| -> i64 {
            s.conn
                .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
                .unwrap()
        };
        let before = entries(&store);
        // SQLite's own "database or disk is full", as a full disk gives it.
        let pages: i64 = store
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        store
            .conn
            .pragma_update(None, "max_page_count", pages)
            .unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-02T10:00:00+08:00").unwrap();
        // Refused requests are journaled too: ask until the pages run out.
        let mut saved = 0;
        let e = loop {
            match store.checkout("P1", "NO-SUCH-ITEM", None, now) {
                Ok(_) => saved += 1,
                Err(e) => break e,
            }
            assert!(saved < 100_000, "the page limit never bit");
        };
        let text = e.to_string();
        assert!(text.contains("disk is full"), "{text}");
        assert!(text.contains("not saved"), "{text}");
        assert_eq!(
            entries(&store),
            before + saved,
            "every answered request kept, none half-saved"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_new_database_and_its_wal_are_readable_by_the_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let store = Store::open(&db, "k1").unwrap();
        store
            .conn
            .execute("INSERT INTO sync_state (key, value) VALUES ('x', 'y')", [])
            .ok();
        for f in ["k.db", "k.db-wal", "k.db-shm"] {
            let p = dir.path().join(f);
            if p.exists() {
                let mode = std::fs::metadata(&p).unwrap().permissions().mode();
                assert_eq!(mode & 0o077, 0, "{f}: {mode:o}");
            }
        }
        drop(store);
        // One an older kiosk left readable by all is made owner-only.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Store::open(&db, "k1").unwrap());
        let mode = std::fs::metadata(&db).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}
