//! The executor: drains the outbox into an `Upstream` and pulls its change
//! feed into the cache, publishing a `SyncStatus` the GUI can watch.
//!
//! Crash safety comes from the order of writes, not from memory: entries
//! are marked `sent` (committed) before the request leaves, and marked
//! acknowledged/conflict only from an answer. An entry left `sent` by a
//! crash or a lost answer is resent under the same id and the server
//! answers `duplicate`. Each pulled page is applied with its cursor in one
//! transaction. This module never decides a loan.

use super::plan::{plan_push, settle, Batch};
use super::upstream::{Upstream, UpstreamError};
use crate::protocol::{DeviceHealth, Entry, EntryResult, Heartbeat};
use crate::store::{cache, Store, StoreError, SyncStatus as EntryState};
use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::watch;

/// `sync_state` key: the end of the last successful push + pull.
pub const LAST_SYNC_KEY: &str = "sync.last_success";

/// How often a long push refreshes the outbox and conflict counts.
const STATUS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    /// The upstream answered without settling anything, or repeated a
    /// cursor: stop rather than loop.
    #[error("sync made no progress: {0}")]
    NoProgress(String),
    #[error("{0}")]
    Config(String),
}

impl SyncError {
    /// The upstream is unreachable (the kiosk works offline meanwhile).
    pub fn is_offline(&self) -> bool {
        matches!(self, SyncError::Upstream(e) if e.is_offline())
    }
}

/// Pull progress, for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PullProgress {
    pub pages: u32,
    pub records: u64,
    /// As the server estimates; None when it does not say.
    pub remaining: Option<u64>,
}

/// What the GUI shows about sync. Updated by the engine and the
/// circulation façade; watch it with `Engine::status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncStatus {
    /// `http https://…`; None when the kiosk runs stand-alone.
    pub upstream: Option<String>,
    /// None until the first contact attempt.
    pub online: Option<bool>,
    /// RFC 3339 end of the last successful push + pull.
    pub last_sync: Option<String>,
    pub last_error: Option<String>,
    /// Entries not yet acknowledged (pending or sent).
    pub outbox: u64,
    /// Entries the upstream did not apply as decided (staff look at them).
    pub conflicts: u64,
    /// Some while a pull runs.
    pub pull: Option<PullProgress>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PushReport {
    pub batches: u32,
    pub sent: u64,
    pub resent: u64,
    pub acknowledged: u64,
    pub conflicts: u64,
    /// Of `conflicts`: entries the server refused outright and did not
    /// apply (`plan::REFUSED_CODES`, e.g. `sequence_reused`). Not success.
    pub refused: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    pub pages: u32,
    pub upserts: u64,
    pub deletes: u64,
    pub skipped: u64,
    /// Of `skipped`: records of a type this kiosk does not know (from a
    /// newer server), logged and passed over.
    pub unknown: u64,
    /// The upstream has no change feed (SIP2).
    pub unsupported: bool,
    /// Loans and holds kept aside because their item or reader has not
    /// arrived yet (applied when it does; never dropped).
    pub parked: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub push: PushReport,
    pub pull: PullReport,
    /// Entries still in the outbox afterwards.
    pub outbox: u64,
    pub conflicts: u64,
}

fn stamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// Records per page of a pull unless configured: kiosk-central's largest
/// page. A first pull of a million records is 200 pages, not 5 000.
pub const DEFAULT_PAGE: u32 = 5000;

/// A push on its way: the upstream's answer.
type InFlight = tokio::task::JoinHandle<Result<Vec<EntryResult>, UpstreamError>>;

/// Plans the next batch from the outbox, leaving out `after` (the batch in
/// flight), and marks its new entries sent: committed before the request,
/// so after a crash they are resent.
fn prepare(
    store: &mut Store,
    size: usize,
    after: &[Entry],
    now: DateTime<FixedOffset>,
) -> Result<Option<Batch>, SyncError> {
    let outbox = store.outbox_wire(size + after.len())?;
    let skip: std::collections::HashSet<_> = after.iter().map(|e| e.id).collect();
    let rest: Vec<_> = outbox
        .into_iter()
        .filter(|(e, _)| !skip.contains(&e.id))
        .collect();
    let Some(batch) = plan_push(&rest, size) else {
        return Ok(None);
    };
    let sent: Vec<_> = batch
        .to_mark_sent
        .iter()
        .map(|id| (id.to_string(), EntryState::Sent, None))
        .collect();
    store.mark_synced(&sent, now)?;
    Ok(Some(batch))
}

/// Moves journal entries up and central state down.
pub struct Engine {
    upstream: Arc<dyn Upstream>,
    batch_size: usize,
    /// Records asked for per page of a pull.
    page_size: u32,
    status: watch::Sender<SyncStatus>,
    /// Devices and receipt paper as the app last saw them, for heartbeats.
    health: std::sync::Mutex<(Vec<DeviceHealth>, String)>,
}

impl Engine {
    pub fn new(upstream: Arc<dyn Upstream>, batch_size: u32) -> Engine {
        let status = SyncStatus {
            upstream: Some(upstream.describe()),
            ..SyncStatus::default()
        };
        Engine {
            upstream,
            batch_size: batch_size.max(1) as usize,
            page_size: DEFAULT_PAGE,
            status: watch::Sender::new(status),
            health: std::sync::Mutex::new((Vec::new(), "none".into())),
        }
    }

    /// Pages of a pull of at most `n` records (`[sync] page_size`).
    pub fn with_page_size(mut self, n: u32) -> Engine {
        self.page_size = n.max(1);
        self
    }

    /// A receiver of every status change (iced: wrap it in a Subscription).
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.subscribe()
    }

    /// The sender, to share with the `Circulation` façade so online and
    /// offline decisions show up in the same status.
    pub fn status_sender(&self) -> watch::Sender<SyncStatus> {
        self.status.clone()
    }

    pub fn upstream(&self) -> Arc<dyn Upstream> {
        self.upstream.clone()
    }

    fn set_online(&self, online: bool, error: Option<String>) {
        self.status.send_modify(|s| {
            s.online = Some(online);
            s.last_error = error;
        });
    }

    fn fail(&self, e: SyncError) -> SyncError {
        match &e {
            SyncError::Upstream(u) if u.is_offline() => self.set_online(false, Some(e.to_string())),
            _ => self
                .status
                .send_modify(|s| s.last_error = Some(e.to_string())),
        }
        e
    }

    /// Re-reads the counts the status shows from the store.
    pub fn refresh_counts(&self, store: &Store) -> Result<(), SyncError> {
        let outbox = store.counts()?.outbox as u64;
        let conflicts = store.conflict_count()?;
        let last = store.sync_state(LAST_SYNC_KEY)?;
        self.status.send_modify(|s| {
            s.outbox = outbox;
            s.conflicts = conflicts;
            if last.is_some() {
                s.last_sync = last;
            }
        });
        Ok(())
    }

    /// Pushes batches until the outbox is empty. Stops at the first
    /// failure, leaving every entry pending or sent (nothing is lost).
    pub async fn push(
        &self,
        store: &mut Store,
        now: DateTime<FixedOffset>,
    ) -> Result<PushReport, SyncError> {
        if !store.knows_position()? {
            if let Err(e) = self.learn_position(store, now).await {
                // Nothing to push: the next sync asks again (an ILS that
                // is down, say, does not fail a sync with nothing to do).
                if store.counts()?.outbox > 0 {
                    return Err(e);
                }
                tracing::info!(error = %e, "cannot ask where this kiosk's sequence stands; nothing to push yet");
            }
        }
        let mut report = PushReport::default();
        // Halved when the server finds a batch too large (413).
        let mut size = self.batch_size;
        // The counts read whole tables (journal, items): during a long
        // drain they are refreshed a few times a second, not per batch.
        let mut counted = std::time::Instant::now();
        // One batch in flight while the kiosk prepares the next (read,
        // marked sent) and books the last answer: the kiosk's disk and
        // the server work at the same time. Batches still go one after
        // the other, each sent once the one before it was answered.
        let mut next: Option<Batch> = None;
        let mut inflight: Option<(Batch, InFlight)> = None;
        loop {
            let (batch, request) = match inflight.take() {
                Some(f) => f,
                None => {
                    let batch = match next.take() {
                        Some(b) => b,
                        None => match prepare(store, size, &[], now)? {
                            Some(b) => b,
                            None => break,
                        },
                    };
                    let request = self.send(&batch);
                    (batch, request)
                }
            };
            if next.is_none() {
                next = prepare(store, size, &batch.entries, now)?;
            }
            let answer = request.await.unwrap_or_else(|e| {
                Err(UpstreamError::Protocol {
                    at: "push".into(),
                    detail: format!("the push task ended: {e}"),
                })
            });
            let results = match answer {
                Ok(r) => r,
                Err(UpstreamError::Rejected { status: 413, .. }) if batch.entries.len() > 1 => {
                    size = (batch.entries.len() / 2).max(1);
                    tracing::info!(
                        batch_size = size,
                        "batch too large for the server; sending smaller ones"
                    );
                    // Planned at the old size: planned again (its entries,
                    // marked sent, go as resends).
                    next = None;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, entries = batch.entries.len(), "push failed; entries stay in the outbox");
                    self.refresh_counts(store)?;
                    return Err(self.fail(e.into()));
                }
            };
            self.set_online(true, None);
            let settled = settle(&batch.entries, &results);
            if settled.unanswered.is_empty() {
                // The next batch goes now, while this answer is booked.
                if let Some(n) = next.take() {
                    let request = self.send(&n);
                    inflight = Some((n, request));
                }
            } else {
                // Unanswered entries go again first, in seq order: the
                // planned batch is planned again after them.
                next = None;
            }
            for id in &settled.unexpected {
                tracing::warn!(entry_id = %id, "upstream answered for an entry it was not sent");
            }
            for (id, why) in &settled.conflicts {
                tracing::warn!(entry_id = %id, reason = %why, "upstream recorded a conflict");
            }
            if !settled.conflicts.is_empty() {
                // Before the marks: after a crash in between, the entry is
                // resent, answered the same conflict, and this is a no-op.
                let refused: Vec<&_> = batch
                    .entries
                    .iter()
                    .filter(|e| settled.conflicts.iter().any(|(id, _)| *id == e.id))
                    .collect();
                store.forget_refused_loans(&refused, now)?;
            }
            store.mark_synced(&settled.marks(), now)?;
            report.batches += 1;
            report.sent += batch.entries.len() as u64;
            report.resent += batch.resent as u64;
            report.acknowledged += settled.acknowledged.len() as u64;
            report.conflicts += settled.conflicts.len() as u64;
            let refused: Vec<_> = settled
                .conflicts
                .iter()
                .filter(|(_, why)| super::plan::is_refused(why))
                .collect();
            if let Some((id, why)) = refused.first() {
                tracing::error!(entry_id = %id, reason = %why, refused = refused.len(), "the upstream refused entries; they were not applied");
                report.refused += refused.len() as u64;
                self.status.send_modify(|s| {
                    s.last_error = Some(format!("the server refused entry {id}: {why}"))
                });
            }
            if settled.progressed() == 0 || counted.elapsed() >= STATUS_EVERY {
                self.refresh_counts(store)?;
                counted = std::time::Instant::now();
            }
            if settled.progressed() == 0 {
                let why = results
                    .iter()
                    .find(|r| super::plan::is_transient(r))
                    .map(super::plan::conflict_reason)
                    .unwrap_or_else(|| "no answer for them".into());
                return Err(self.fail(SyncError::NoProgress(format!(
                    "the upstream settled none of {} entries ({why})",
                    batch.entries.len()
                ))));
            }
        }
        self.refresh_counts(store)?;
        Ok(report)
    }

    /// Sends a batch in a task of its own (the kiosk goes on preparing).
    fn send(&self, batch: &Batch) -> InFlight {
        tracing::debug!(kiosk = %batch.kiosk_id, entries = batch.entries.len(), resent = batch.resent, "pushing");
        let up = self.upstream.clone();
        let (kiosk, entries) = (batch.kiosk_id.clone(), batch.entries.clone());
        tokio::spawn(async move { up.push(&kiosk, &entries).await })
    }

    /// Pages through the change feed from the stored cursor, applying each
    /// page with its cursor in one transaction.
    pub async fn pull(
        &self,
        store: &mut Store,
        now: DateTime<FixedOffset>,
    ) -> Result<PullReport, SyncError> {
        let mut report = PullReport::default();
        let mut cursor = store.sync_state(cache::CURSOR_KEY)?.unwrap_or_default();
        let mut progress = PullProgress::default();
        self.status.send_modify(|s| s.pull = Some(progress));
        let limit = self.page_size;
        // The next page is fetched while this one is written, so the
        // server and the kiosk's disk work at the same time; the stored
        // cursor still moves only with a written page.
        let fetch = |cursor: String| {
            let up = self.upstream.clone();
            tokio::spawn(async move { up.changes(&cursor, limit).await })
        };
        let mut next = Some(fetch(cursor.clone()));
        let result = loop {
            let Some(pending) = next.take() else {
                break Ok(());
            };
            let page = match pending.await {
                Ok(Ok(p)) => p,
                Ok(Err(UpstreamError::Unsupported(_))) => {
                    report.unsupported = true;
                    break Ok(());
                }
                Ok(Err(e)) => break Err(e.into()),
                Err(e) => {
                    break Err(SyncError::NoProgress(format!(
                        "fetching a page of changes failed: {e}"
                    )))
                }
            };
            self.set_online(true, None);
            if page.more {
                if page.cursor == cursor && page.changes.is_empty() {
                    break Err(SyncError::NoProgress(
                        "the change feed says more but repeats its cursor".into(),
                    ));
                }
                next = Some(fetch(page.cursor.clone()));
            }
            let applied = match store.apply_changes(&page, now) {
                Ok(a) => a,
                Err(e) => break Err(e.into()),
            };
            report.pages += 1;
            report.upserts += applied.upserts as u64;
            report.deletes += applied.deletes as u64;
            report.skipped += applied.skipped as u64;
            report.unknown += applied.unknown as u64;
            report.parked = applied.parked as u64;
            progress.pages += 1;
            progress.records += page.changes.len() as u64;
            progress.remaining = page.remaining;
            self.status.send_modify(|s| s.pull = Some(progress));
            if !page.more {
                break Ok(());
            }
            cursor = page.cursor;
        };
        self.status.send_modify(|s| s.pull = None);
        match result {
            Ok(()) => Ok(report),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// One push and one pull, then a heartbeat; records the time of
    /// success in `sync_state`.
    pub async fn sync_once(
        &self,
        store: &mut Store,
        now: DateTime<FixedOffset>,
    ) -> Result<SyncReport, SyncError> {
        let push = self.push(store, now).await?;
        let pull = self.pull(store, now).await?;
        let at = stamp(now);
        store.set_sync_state(LAST_SYNC_KEY, &at)?;
        self.refresh_counts(store)?;
        self.heartbeat(store, now).await;
        let s = self.status.borrow().clone();
        Ok(SyncReport {
            push,
            pull,
            outbox: s.outbox,
            conflicts: s.conflicts,
        })
    }

    /// The nightly full sync: push, then pull the whole feed from the
    /// start (repairs a cache that missed anything), and remember the run.
    pub async fn full_sync(
        &self,
        store: &mut Store,
        now: DateTime<FixedOffset>,
    ) -> Result<SyncReport, SyncError> {
        store.reset_cursor()?;
        let report = self.sync_once(store, now).await?;
        store.set_sync_state(super::schedule::NIGHTLY_KEY, &stamp(now))?;
        Ok(report)
    }

    /// What the next heartbeats say of the devices and the receipt paper
    /// (ok | near_end | out | none).
    pub fn set_health(&self, devices: Vec<DeviceHealth>, paper: &str) {
        if let Ok(mut h) = self.health.lock() {
            *h = (devices, paper.to_string());
        }
    }

    /// Before this database's first push: asks the upstream (with a
    /// heartbeat) where this kiosk's sequence stands, and carries on after
    /// it if the journal is new (`Store::learn_position`; docs/sync.md, "A
    /// lost kiosk database").
    pub async fn learn_position(
        &self,
        store: &mut Store,
        now: DateTime<FixedOffset>,
    ) -> Result<(), SyncError> {
        self.refresh_counts(store)?;
        let hb = self.heartbeat_body(store, now);
        let max_seq = match self.upstream.heartbeat(&hb).await {
            Ok(ack) => ack.max_seq,
            Err(UpstreamError::Unsupported(_)) => None,
            Err(e) => return Err(self.fail(e.into())),
        };
        self.set_online(true, None);
        let base = store.learn_position(max_seq)?;
        tracing::info!(
            kiosk = %store.kiosk_id(),
            server_max_seq = ?max_seq,
            seq_base = base,
            "learned where this kiosk's sequence stands"
        );
        Ok(())
    }

    fn heartbeat_body(&self, store: &Store, now: DateTime<FixedOffset>) -> Heartbeat {
        let s = self.status.borrow().clone();
        Heartbeat {
            kiosk_id: store.kiosk_id().to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            sent_at: stamp(now),
            outbox: s.outbox,
            conflicts: s.conflicts,
            last_sync: s.last_sync,
            devices: self.health.lock().map(|h| h.0.clone()).unwrap_or_default(),
            paper: self
                .health
                .lock()
                .map(|h| h.1.clone())
                .unwrap_or_else(|_| "none".into()),
        }
    }

    /// Tells the upstream we are alive; failures only go to the log.
    pub async fn heartbeat(&self, store: &mut Store, now: DateTime<FixedOffset>) {
        let hb = self.heartbeat_body(store, now);
        match self.upstream.heartbeat(&hb).await {
            Ok(ack) => {
                tracing::debug!(
                    clock_offset_ms = ack.clock_offset_ms,
                    "heartbeat acknowledged"
                );
                if let Err(e) =
                    store.set_sync_state("clock.offset_ms", &ack.clock_offset_ms.to_string())
                {
                    tracing::warn!(error = %e, "cannot record the clock offset");
                }
            }
            Err(UpstreamError::Unsupported(_)) => {}
            Err(e) => tracing::info!(error = %e, "heartbeat failed"),
        }
    }
}

/// Status as far as the database knows, without contacting anyone
/// (`kiosk sync status`).
pub fn stored_status(store: &Store, upstream: Option<String>) -> Result<SyncStatus, StoreError> {
    Ok(SyncStatus {
        upstream,
        online: None,
        last_sync: store.sync_state(LAST_SYNC_KEY)?,
        last_error: None,
        outbox: store.counts()?.outbox as u64,
        conflicts: store.conflict_count()?,
        pull: None,
    })
}
