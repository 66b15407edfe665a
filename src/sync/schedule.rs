//! When to sync: every `[sync] interval_secs`, plus the nightly full sync
//! at the `[sync] nightly` cron time, caught up at start when the kiosk was
//! off at that time (the last run is kept in `sync_state`).
//!
//! The decisions are pure functions of (cron, last run, now); `run` is the
//! loop that sleeps between them. Failures are logged and retried at the
//! next tick; they never end the loop.

use super::engine::{Engine, SyncError};
use crate::store::Store;
use chrono::{DateTime, FixedOffset, Local, SecondsFormat};
use croner::Cron;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::watch;

/// `sync_state` key: when the last nightly full sync ran (RFC 3339).
pub const NIGHTLY_KEY: &str = "nightly.last_run";

/// Parses `[sync] nightly` (5 fields, or 6 starting with seconds).
pub fn parse_cron(expr: &str) -> Result<Cron, SyncError> {
    Cron::from_str(expr).map_err(|e| SyncError::Config(format!("[sync] nightly {expr:?}: {e}")))
}

/// Is a nightly run due: has a scheduled time passed since the last run
/// (or was there never one)?
pub fn nightly_due(cron: &Cron, last_run: Option<&str>, now: DateTime<FixedOffset>) -> bool {
    let Ok(previous) = cron.find_previous_occurrence(&now, true) else {
        return false;
    };
    match last_run.and_then(|t| DateTime::parse_from_rfc3339(t).ok()) {
        None => true,
        Some(last) => last < previous,
    }
}

/// The next scheduled nightly time after `now`.
pub fn next_nightly(cron: &Cron, now: DateTime<FixedOffset>) -> Option<DateTime<FixedOffset>> {
    cron.find_next_occurrence(&now, false).ok()
}

/// How long to sleep: the interval, or less when the nightly time comes
/// first.
pub fn next_wait(cron: &Cron, interval: Duration, now: DateTime<FixedOffset>) -> Duration {
    match next_nightly(cron, now).and_then(|t| (t - now).to_std().ok()) {
        Some(until) if until < interval => until,
        _ => interval,
    }
}

/// Runs the schedules until `shutdown` turns true. The engine owns this
/// store connection while it runs (circulation uses its own connection to
/// the same file; SQLite's WAL and busy timeout share it).
pub async fn run(
    engine: &Engine,
    store: &mut Store,
    interval: Duration,
    cron: &Cron,
    mut shutdown: watch::Receiver<bool>,
) {
    if let Err(e) = engine.refresh_counts(store) {
        tracing::warn!(error = %e, "cannot read the outbox");
    }
    loop {
        let now = Local::now().fixed_offset();
        let last = store.sync_state(NIGHTLY_KEY).ok().flatten();
        let result = if nightly_due(cron, last.as_deref(), now) {
            tracing::info!(last_run = ?last, "nightly full sync");
            engine.full_sync(store, now).await
        } else {
            engine.sync_once(store, now).await
        };
        match result {
            Ok(r) => tracing::info!(
                pushed = r.push.sent,
                acknowledged = r.push.acknowledged,
                conflicts = r.push.conflicts,
                pulled = r.pull.upserts + r.pull.deletes,
                outbox = r.outbox,
                at = %now.to_rfc3339_opts(SecondsFormat::Secs, false),
                "sync done"
            ),
            Err(e) if e.is_offline() => {
                tracing::info!(error = %e, "upstream unreachable; working offline")
            }
            Err(e) => tracing::warn!(error = %e, "sync failed"),
        }
        let wait = next_wait(cron, interval, Local::now().fixed_offset());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
        }
    }
}

/// The schedules running on a tokio task, as the GUI keeps them.
pub struct Background {
    /// Every status change (online, outbox, conflicts, pull progress).
    pub status: watch::Receiver<super::SyncStatus>,
    /// Send `true` to stop after the current exchange.
    pub stop: watch::Sender<bool>,
    /// Ends when stopped; yields the store back.
    pub task: tokio::task::JoinHandle<Store>,
}

/// Starts the schedules on the current tokio runtime. `store` should be a
/// connection of its own (`Store::open` on the kiosk's database), so
/// circulation never waits for a sync in progress.
pub fn spawn(
    engine: std::sync::Arc<Engine>,
    mut store: Store,
    interval: Duration,
    cron: Cron,
) -> Background {
    let (stop, stopped) = watch::channel(false);
    let status = engine.status();
    let task = tokio::spawn(async move {
        run(&engine, &mut store, interval, &cron, stopped).await;
        store
    });
    Background { status, stop, task }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn nightly_is_caught_up_when_missed() {
        let cron = parse_cron("0 30 2 * * *").unwrap();
        let now = t("2026-11-23T09:00:00+08:00");
        assert!(nightly_due(&cron, None, now), "never ran");
        assert!(
            nightly_due(&cron, Some("2026-11-22T02:30:05+08:00"), now),
            "ran yesterday, missed today"
        );
        assert!(
            !nightly_due(&cron, Some("2026-11-23T02:30:01+08:00"), now),
            "ran today"
        );
        assert!(nightly_due(&cron, Some("garbage"), now));
        let five = parse_cron("30 2 * * *").unwrap();
        assert!(!nightly_due(&five, Some("2026-11-23T02:31:00+08:00"), now));
        assert!(parse_cron("not a cron").is_err());
    }

    #[test]
    fn waits_until_the_nightly_time_when_it_comes_first() {
        let cron = parse_cron("0 30 2 * * *").unwrap();
        let now = t("2026-11-23T02:29:50+08:00");
        assert_eq!(
            next_wait(&cron, Duration::from_secs(30), now),
            Duration::from_secs(10)
        );
        let later = t("2026-11-23T09:00:00+08:00");
        assert_eq!(
            next_wait(&cron, Duration::from_secs(30), later),
            Duration::from_secs(30)
        );
        assert_eq!(
            next_nightly(&cron, later),
            Some(t("2026-11-24T02:30:00+08:00"))
        );
    }
}
