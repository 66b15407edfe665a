//! The touch screen's one way to circulation: the desk the app's Tasks
//! call for every loan, return, renewal, hold, PIN check and journal
//! entry (`sync::Circulation`: through the upstream when `[upstream]`
//! names a central system, standalone when `kind = "none"`), the sync
//! engine's status as a Subscription, and turning an upstream's answer
//! into what a reader reads.
//!
//! The desk has its own connection to the kiosk's database (SQLite WAL
//! shares the file with the app's reading connection and the engine's),
//! so neither a decision waiting on the network nor a commit's fsync
//! blocks the screen. May import: `sync`, `store`, `config`, `protocol`.

use crate::config::{Config, UpstreamKind};
use crate::domain::Refusal;
use crate::protocol::Recommendation;
use crate::store::StoreError;
use crate::store::{CheckinOk, CheckoutOk, HoldLevel, HoldOk, RenewOk, Store};
use crate::sync::circulation::RenewAll;
use crate::sync::{
    self, schedule, Circulation, Decision, Engine, OfflineRules, SyncError, SyncStatus,
};
use chrono::{DateTime, FixedOffset};
use iced::futures::{SinkExt, Stream};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex};

/// Circulation through the upstream, offline fallback included.
pub struct Desk {
    circulation: Circulation,
    store: Mutex<Store>,
    engine: Option<Arc<Engine>>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Desk")
    }
}

/// An error on the way to a decision, as text for the log (the reader is
/// sent to staff).
pub type Failed = String;

impl Desk {
    /// A desk over its own `store` connection; `engine` shares its status
    /// with the circulation (online/offline as decisions find it).
    pub fn new(circulation: Circulation, store: Store, engine: Option<Arc<Engine>>) -> Desk {
        let circulation = match &engine {
            Some(e) => circulation.with_status(e.status_sender()),
            None => circulation,
        };
        Desk {
            circulation,
            store: Mutex::new(store),
            engine,
        }
    }

    /// A desk without an upstream (`[upstream] kind = "none"`): every
    /// decision the kiosk's own, committed on another connection to
    /// `store`'s database.
    pub(crate) fn standalone(config: &Config, store: &Store) -> Result<Desk, StoreError> {
        let circulation = Circulation::new(
            None,
            Duration::from_millis(config.upstream.decide_timeout_ms as u64),
            OfflineRules::from(&config.offline),
        );
        Ok(Desk::new(circulation, store.reopen()?, None))
    }

    /// History retention (`[store] history_retention_days`), once the
    /// database passed its check at start; what was dropped, for the log.
    pub async fn apply_retention(
        self: Arc<Self>,
        days: u32,
        now: DateTime<FixedOffset>,
    ) -> Result<String, Failed> {
        let mut s = self.store.lock().await;
        s.apply_retention(days, now)
            .map(|r| format!("{r:?}"))
            .map_err(|e| e.to_string())
    }

    /// Whether a sync engine runs behind this desk (the staff menu's sync
    /// panel and "sync now").
    pub(crate) fn syncs(&self) -> bool {
        self.engine.is_some()
    }

    /// What the next heartbeats say of the devices and the receipt paper
    /// (nothing without a background engine).
    pub fn set_health(&self, devices: Vec<crate::protocol::DeviceHealth>, paper: &str) {
        if let Some(e) = &self.engine {
            e.set_health(devices, paper);
        }
    }

    pub async fn checkout(
        self: Arc<Self>,
        patron: String,
        item: String,
        parts_seen: Option<u8>,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<CheckoutOk>, Failed> {
        let mut s = self.store.lock().await;
        let d = self
            .circulation
            .checkout(&mut s, &patron, &item, parts_seen, now)
            .await;
        self.counted(&s, d)
    }

    pub async fn checkin(
        self: Arc<Self>,
        item: String,
        parts_seen: Option<u8>,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<CheckinOk>, Failed> {
        let mut s = self.store.lock().await;
        let d = self
            .circulation
            .checkin(&mut s, &item, parts_seen, now)
            .await;
        self.counted(&s, d)
    }

    pub async fn renew(
        self: Arc<Self>,
        patron: String,
        item: String,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<RenewOk>, Failed> {
        let mut s = self.store.lock().await;
        let d = self.circulation.renew(&mut s, &patron, &item, now).await;
        self.counted(&s, d)
    }

    /// Every loan of `patron` renewed (`Circulation::renew_all`).
    pub async fn renew_all(
        self: Arc<Self>,
        patron: String,
        now: DateTime<FixedOffset>,
    ) -> Result<RenewAll, Failed> {
        let mut s = self.store.lock().await;
        let d = self.circulation.renew_all(&mut s, &patron, now).await;
        self.counted(&s, d)
    }

    /// A card's PIN (None: is one needed?), checked here or by the
    /// upstream that knows it (`Circulation::check_pin`). Never logged.
    pub async fn check_pin(
        self: Arc<Self>,
        patron: String,
        pin: Option<String>,
        now: DateTime<FixedOffset>,
    ) -> Result<Result<(), Refusal>, Failed> {
        let mut s = self.store.lock().await;
        self.circulation
            .check_pin(&mut s, &patron, pin.as_deref(), now)
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn place_hold(
        self: Arc<Self>,
        patron: String,
        item: String,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<HoldOk>, Failed> {
        let mut s = self.store.lock().await;
        let d = self
            .circulation
            .place_hold(&mut s, &patron, &item, HoldLevel::Title, now)
            .await;
        self.counted(&s, d)
    }

    pub async fn cancel_hold(
        self: Arc<Self>,
        patron: String,
        item: String,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<String>, Failed> {
        let mut s = self.store.lock().await;
        let d = self
            .circulation
            .cancel_hold(&mut s, &patron, &item, now)
            .await;
        self.counted(&s, d)
    }

    /// Journals a reader's rating of the kiosk, anonymously.
    pub(crate) async fn record_feedback(
        self: Arc<Self>,
        rating: u8,
        topics: Vec<String>,
        now: DateTime<FixedOffset>,
    ) -> Result<(), Failed> {
        let mut s = self.store.lock().await;
        let r = s.record_feedback(None, rating, &topics, None, now);
        self.counted(&s, r.map(drop).map_err(SyncError::from))
    }

    /// Counts a wrong staff PIN in the database, so that the lock-out
    /// outlives a restart (`store::staff`).
    pub(crate) async fn staff_pin_wrong(
        self: Arc<Self>,
        attempts: u32,
        lock_minutes: u32,
        now: DateTime<FixedOffset>,
    ) -> Result<(), Failed> {
        let s = self.store.lock().await;
        let r = s.staff_pin_wrong(attempts, lock_minutes, now);
        self.counted(&s, r.map(drop).map_err(SyncError::from))
    }

    /// The right staff PIN: the wrong ones kept in the database are forgotten.
    pub(crate) async fn staff_pin_right(self: Arc<Self>) -> Result<(), Failed> {
        let s = self.store.lock().await;
        let r = s.staff_pin_right();
        self.counted(&s, r.map_err(SyncError::from))
    }

    /// Journals that a tag's security (AFI) could not be set, for staff.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_security_failure(
        self: Arc<Self>,
        item: String,
        uid: String,
        afi: u8,
        device: String,
        error: String,
        now: DateTime<FixedOffset>,
    ) -> Result<(), Failed> {
        let mut s = self.store.lock().await;
        let r = s.record_security_failure(&item, &uid, afi, &device, &error, now);
        self.counted(&s, r.map(drop).map_err(SyncError::from))
    }

    /// "Sync now" from the staff menu: one push and pull on the desk's
    /// connection; the result for staff.
    pub async fn sync_now(self: Arc<Self>, now: DateTime<FixedOffset>) -> Result<String, Failed> {
        let Some(engine) = self.engine.clone() else {
            return Err("no upstream".into());
        };
        let mut s = self.store.lock().await;
        match engine.sync_once(&mut s, now).await {
            Ok(r) => Ok(format!(
                "{} / {} / {}",
                r.push.sent,
                r.push.acknowledged,
                r.pull.upserts + r.pull.deletes
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// What the central system suggests to a reader who borrowed `items`,
    /// within `wait` (the receipt is up meanwhile). Any failure — no
    /// answer in time, offline, an upstream without recommendations —
    /// is an error, and the app falls back to the kiosk's own history.
    pub async fn recommendations(
        self: Arc<Self>,
        patron: String,
        items: Vec<String>,
        limit: u32,
        wait: Duration,
    ) -> Result<Vec<Recommendation>, Failed> {
        let Some(engine) = &self.engine else {
            return Err("no upstream".into());
        };
        let upstream = engine.upstream();
        match tokio::time::timeout(wait, upstream.recommendations(&patron, &items, limit)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no recommendations within {} ms", wait.as_millis())),
        }
    }

    /// The outbox grew: the status says so at once, not at the next sync.
    fn counted<T>(&self, s: &Store, d: Result<T, SyncError>) -> Result<T, Failed> {
        if let Some(e) = &self.engine {
            if let Err(err) = e.refresh_counts(s) {
                tracing::warn!(error = %err, "outbox count not refreshed");
            }
        }
        d.map_err(|e| e.to_string())
    }
}

/// The engine's status receiver, handed to the subscription once.
#[derive(Clone)]
pub struct StatusFeed(Arc<std::sync::Mutex<Option<watch::Receiver<SyncStatus>>>>);

impl StatusFeed {
    pub fn new(rx: watch::Receiver<SyncStatus>) -> StatusFeed {
        StatusFeed(Arc::new(std::sync::Mutex::new(Some(rx))))
    }
}

impl Hash for StatusFeed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        "kiosk-sync-status".hash(state);
    }
}

/// Every status change (the current one first).
pub fn status_stream(feed: &StatusFeed) -> impl Stream<Item = SyncStatus> + use<> {
    let rx = feed.0.lock().ok().and_then(|mut g| g.take());
    iced::stream::channel(8, async move |mut out| {
        let Some(mut rx) = rx else { return };
        loop {
            let s = rx.borrow_and_update().clone();
            if out.send(s).await.is_err() {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
}

/// What runs beside the window when an upstream is configured: the
/// schedules on a runtime of their own (one worker thread), the desk, and
/// the status feed.
pub struct Background {
    pub desk: Arc<Desk>,
    pub status: StatusFeed,
    running: schedule::Background,
    runtime: tokio::runtime::Runtime,
}

/// A `Background` started after the database's check passed: what the
/// app takes of it (the background itself stays with `ui::run`, which
/// stops it when the window has closed).
#[derive(Clone)]
pub struct Started {
    pub desk: Arc<Desk>,
    pub status: StatusFeed,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Started")
    }
}

/// Where `ui::run` keeps the background the app starts.
pub type BackgroundSlot = Arc<std::sync::Mutex<Option<Background>>>;

impl Background {
    /// The upstream and the nightly schedule `config` names can be used
    /// (the errors `start` would meet before it opens anything): checked
    /// before the window, so a bad configuration still stops the kiosk
    /// with its reason.
    pub fn check_config(config: &Config) -> Result<(), SyncError> {
        sync::upstream_from_config(config)?;
        schedule::parse_cron(&config.sync.nightly)?;
        Ok(())
    }

    /// `start` on a blocking thread, the background put in `slot`.
    pub fn start_into(
        config: &Config,
        db: &Path,
        slot: &BackgroundSlot,
    ) -> Result<Option<Started>, SyncError> {
        let Some(b) = Background::start(config, db)? else {
            return Ok(None);
        };
        let started = Started {
            desk: b.desk.clone(),
            status: b.status.clone(),
        };
        if let Ok(mut s) = slot.lock() {
            *s = Some(b);
        }
        Ok(Some(started))
    }

    /// None for `[upstream] kind = "none"`.
    pub fn start(config: &Config, db: &Path) -> Result<Option<Background>, SyncError> {
        if config.upstream.kind == UpstreamKind::None {
            return Ok(None);
        }
        let Some(upstream) = sync::upstream_from_config(config)? else {
            return Ok(None);
        };
        let cron = schedule::parse_cron(&config.sync.nightly)?;
        let open = || -> Result<Store, SyncError> {
            let mut s = Store::open(db, &config.kiosk.id)?;
            let (rows, settings, holidays) = crate::config::circulation(config);
            s.configure(rows, settings, &holidays)?;
            Ok(s)
        };
        let engine = Arc::new(
            Engine::new(upstream, config.sync.batch_size).with_page_size(config.sync.page_size),
        );
        let desk = Arc::new(Desk::new(
            sync::circulation_from_config(config)?,
            open()?,
            Some(engine.clone()),
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kiosk-sync")
            .enable_all()
            .build()
            .map_err(|e| SyncError::Config(format!("cannot start the sync thread: {e}")))?;
        let store = open()?;
        let interval = Duration::from_secs(config.sync.interval_secs as u64);
        let running = {
            let _in = runtime.enter();
            schedule::spawn(engine, store, interval, cron)
        };
        let status = StatusFeed::new(running.status.clone());
        Ok(Some(Background {
            desk,
            status,
            running,
            runtime,
        }))
    }

    /// The engine's status now.
    pub fn status(&self) -> SyncStatus {
        self.running.status.borrow().clone()
    }

    /// Stops after the current exchange (at most a few seconds).
    pub fn stop(self) {
        let _ = self.running.stop.send(true);
        let task = self.running.task;
        let _ = self
            .runtime
            .block_on(async { tokio::time::timeout(Duration::from_secs(5), task).await });
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// A text field of an online decision's detail.
pub fn detail_text(detail: &serde_json::Value, key: &str) -> Option<String> {
    detail
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detail_texts_skip_empty_ones() {
        let d = json!({"title": "Dune", "author": "", "n": 3});
        assert_eq!(detail_text(&d, "title").as_deref(), Some("Dune"));
        assert_eq!(detail_text(&d, "author"), None);
        assert_eq!(detail_text(&d, "n"), None);
    }
}
