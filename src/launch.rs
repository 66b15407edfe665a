//! What every front end (the command line, the text kiosk, the touch
//! screen) starts from: the loaded configuration, the database path, the
//! language and the time, and the one failure type that ends a run with
//! exit code 2. Below the command line: `cli` builds an [`Env`] and hands it
//! down; nothing here imports `cli`.

use crate::config::{Config, ConfigError};
use crate::domain::Lang;
use crate::store::{self, Store};
use chrono::{DateTime, FixedOffset};
use std::path::PathBuf;

/// A failure that ends the command with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Sync(#[from] crate::sync::SyncError),
}

/// Everything a command needs: the configuration, the language, the time.
pub struct Env {
    pub config: Config,
    pub config_path: Option<PathBuf>,
    pub db: PathBuf,
    pub lang: Lang,
    pub now: DateTime<FixedOffset>,
}

impl Env {
    /// Opens the database for work that writes (circulation, imports, the
    /// kiosks, sync): a database that fails its quick check is refused
    /// (`StoreError::Damaged`, exit code 2) before anything is written. A
    /// pass is remembered beside the database while its files stay as the
    /// kiosk left them, for at most a day (`store::check`: the key and the
    /// trade-off), so a command does not pay for the check every time.
    pub fn open_store(&self) -> Result<Store, Failure> {
        let mut store = Store::open(&self.db, &self.config.kiosk.id)?;
        store.check_remembered(&self.db, std::time::SystemTime::now())?;
        self.configured(store)
    }

    /// Opens the database for the touch screen and the text kiosk, which
    /// run the check themselves after their first frame and stay out of
    /// service until it passes (`ui::app::start`, `textkiosk`).
    pub fn open_store_unchecked(&self) -> Result<Store, Failure> {
        self.configured(Store::open(&self.db, &self.config.kiosk.id)?)
    }

    fn configured(&self, mut store: Store) -> Result<Store, Failure> {
        if self.config.upstream.kind == crate::config::UpstreamKind::None {
            store.forget_pulled_policies()?;
        }
        let (rows, settings, holidays) = crate::config::circulation(&self.config);
        store.configure(rows, settings, &holidays)?;
        Ok(store)
    }

    /// Opens the database to read it only (`status`, `journal`, `export`,
    /// `sync status`): no check, no configuration written, so staff can
    /// still see and save what a damaged database holds.
    pub fn open_store_for_reading(&self) -> Result<Store, Failure> {
        Ok(Store::open(&self.db, &self.config.kiosk.id)?)
    }
}
