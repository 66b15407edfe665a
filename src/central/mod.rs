//! The reference central server (kiosk-central): the v1 API of
//! `protocol` over storage behind one trait ([`Storage`]), with an
//! embedded SQLite backend and a PostgreSQL backend for many kiosks and
//! several server processes.
//!
//! Layout: `engine/` (what the server does, one file per concern, written
//! once over `sql::Sql`), `storage` (the [`Storage`] trait, implemented
//! once for every [`Backend`]), `sqlite` and `postgres` (the two
//! backends), `http` (axum routes, auth, limits), `listen` (the accept
//! loop: TLS, timeouts, shutdown), `config`
//! (central.toml), `import` (the CSV imports), `openapi`, `remind`
//! (due-soon, overdue and hold-ready reminders). Circulation rules are
//! `domain`'s; this room must never decide a loan by rules of its own.
//!
//! May import: `domain`, `protocol`, `privacy`, `csvfmt`, `i18n`,
//! `config` (docs/architecture.md); never the kiosk's `store`, `sync` or
//! `ui`.

pub mod config;
pub mod engine;
pub mod http;
pub mod import;
pub mod listen;
pub mod openapi;
pub mod postgres;
pub mod remind;
pub mod sql;
pub mod sqlite;
mod storage;

use std::future::Future;

pub use postgres::PgStorage;
pub use sqlite::SqliteStorage;
pub use storage::{Backend, Storage};

/// Why a storage call failed. Conflicts and refusals are answers, not
/// errors; these are failures (bad input, database trouble).
#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    /// The request itself is wrong (answered 400).
    #[error("{0}")]
    BadRequest(String),
    /// The request clashes with what the server holds (answered 409 with
    /// this code, e.g. `sequence_reused`).
    #[error("{1}")]
    Conflict(&'static str, String),
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

/// A new random kiosk token (256 bits, hex), shown once.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the database keeps of a token: its SHA-256 (hex). A token is 256
/// random bits, so a slow or salted hash would add nothing (nobody can
/// guess a preimage), and an unsalted one lets the server find the token
/// by its hash (docs/central.md, "Tokens").
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How servers before roles kept a kiosk's token (argon2id, minimal cost,
/// fixed salt, in `kiosks.token_hash`): such tokens keep working as kiosk
/// tokens without PIN hashes until the kiosk is given a new one.
pub fn legacy_token_hash(token: &str) -> String {
    let params = argon2::Params::new(8, 1, 1, Some(32)).expect("valid argon2 parameters");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(token.as_bytes(), b"kiosk-central-token-v1", &mut out)
        .expect("argon2 with valid parameters");
    out.iter().map(|b| format!("{b:02x}")).collect()
}

/// Retention (`[privacy] history_retention_days`) while serving: once at
/// start and then once a day, as a task beside the requests (each batch
/// one short transaction). A failure is logged and tried again in an hour.
pub async fn retention_daily<S: Storage>(st: std::sync::Arc<S>, days: u32) {
    loop {
        let wait = match st.retention(days, chrono::Utc::now()).await {
            Ok(r) => {
                tracing::info!(
                    days,
                    loans = r.loans,
                    entries = r.entries,
                    holds = r.holds,
                    fees = r.fees,
                    "retention: readers' history older than the limit anonymised"
                );
                std::time::Duration::from_secs(24 * 3600)
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention failed; trying again in an hour");
                std::time::Duration::from_secs(3600)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// Who a bearer token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A kiosk: its own entries, the feed, one reader at a time, its own
    /// conflicts. `offline_pins`: the feed and lookups carry PIN hashes.
    Kiosk { id: String, offline_pins: bool },
    /// Staff: every conflict, reports, feedback, the kiosk list.
    Staff { name: String },
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
        assert_eq!(
            super::token_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(super::legacy_token_hash("abc"), a);
    }
}
