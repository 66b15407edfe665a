//! `MemoryUpstream`: a central system in memory, for tests and demos, with
//! fault injection (the one place a stand-in is allowed: timeouts, 500s,
//! answers lost after the server applied, hangs).
//!
//! It keeps the server's half of the contract: entries applied at most
//! once by id (`duplicate` afterwards), conflicts where the test says so,
//! a change feed with a cursor, and decisions applied under the request's
//! entry id. It must never be used as a real upstream.

use super::upstream::{BoxFuture, Upstream, UpstreamError, UpstreamResult};
use crate::protocol::{
    Change, ChangesPage, DecideRequest, DecideResponse, Entry, EntryKind, EntryResult, EntryStatus,
    Heartbeat, HeartbeatAck, PatronRecord, Record,
};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use uuid::Uuid;

/// What the next call does instead of (or after) its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally (to place a later fault: Pass, Pass, Unreachable).
    Pass,
    /// Connection refused: nothing applied.
    Unreachable,
    /// No answer in time: nothing applied.
    Timeout,
    /// 500: nothing applied.
    ServerError,
    /// 400: the request is refused.
    Rejected,
    /// 413: the body is over the server's limit.
    TooLarge,
    /// The server applies the request, then the answer is lost.
    LostAnswer,
    /// Never answers (the caller's deadline must cut it).
    Hang,
}

#[derive(Default)]
struct State {
    applied: HashMap<Uuid, EntryResult>,
    /// Every id actually applied, in order (a duplicate would show twice).
    applications: Vec<Uuid>,
    /// Ids of each push received, retries included.
    pushes: Vec<Vec<Uuid>>,
    conflict_items: HashMap<String, String>,
    feed: Vec<Change>,
    faults: HashMap<&'static str, VecDeque<Fault>>,
    decisions: HashMap<Uuid, DecideResponse>,
    refuse_items: HashMap<String, String>,
    heartbeats: u32,
}

#[derive(Default)]
pub struct MemoryUpstream {
    state: Mutex<State>,
}

impl MemoryUpstream {
    pub fn new() -> MemoryUpstream {
        MemoryUpstream::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a fault for the next call of `method` (push, changes,
    /// decide, heartbeat, patron).
    pub fn inject(&self, method: &'static str, fault: Fault) {
        self.lock()
            .faults
            .entry(method)
            .or_default()
            .push_back(fault);
    }

    /// Entries touching `item` are answered `conflict` with `code`.
    pub fn conflict_on_item(&self, item: &str, code: &str) {
        self.lock()
            .conflict_items
            .insert(item.to_string(), code.to_string());
    }

    /// `decide` refuses requests for `item` with `code`.
    pub fn refuse_item(&self, item: &str, code: &str) {
        self.lock()
            .refuse_items
            .insert(item.to_string(), code.to_string());
    }

    /// Appends changes to the feed.
    pub fn publish(&self, changes: impl IntoIterator<Item = Change>) {
        self.lock().feed.extend(changes);
    }

    pub fn publish_records(&self, records: impl IntoIterator<Item = Record>) {
        self.publish(records.into_iter().map(|record| Change::Upsert { record }));
    }

    /// How many times `id` was applied (must never exceed 1).
    pub fn applications(&self, id: Uuid) -> usize {
        self.lock()
            .applications
            .iter()
            .filter(|a| **a == id)
            .count()
    }

    pub fn applied_ids(&self) -> Vec<Uuid> {
        self.lock().applications.clone()
    }

    pub fn pushes(&self) -> Vec<Vec<Uuid>> {
        self.lock().pushes.clone()
    }

    pub fn decision(&self, id: Uuid) -> Option<DecideResponse> {
        self.lock().decisions.get(&id).cloned()
    }

    pub fn heartbeats(&self) -> u32 {
        self.lock().heartbeats
    }

    /// The fault to act on, if any; Hang never returns.
    async fn fault(&self, method: &'static str) -> Option<Fault> {
        let f = self
            .lock()
            .faults
            .get_mut(method)
            .and_then(|q| q.pop_front());
        match f {
            Some(Fault::Hang) => std::future::pending().await,
            f => f,
        }
    }

    fn at() -> String {
        "memory".into()
    }

    fn early(f: &Fault) -> Option<UpstreamError> {
        match f {
            Fault::Unreachable => Some(UpstreamError::Unreachable {
                at: Self::at(),
                detail: "connection refused (injected)".into(),
            }),
            Fault::Timeout => Some(UpstreamError::Timeout {
                at: Self::at(),
                ms: 0,
            }),
            Fault::ServerError => Some(UpstreamError::Server {
                at: Self::at(),
                status: 500,
                message: "injected".into(),
            }),
            Fault::Rejected => Some(UpstreamError::Rejected {
                at: Self::at(),
                status: 400,
                code: "bad_request".into(),
                message: "injected".into(),
            }),
            Fault::TooLarge => Some(UpstreamError::Rejected {
                at: Self::at(),
                status: 413,
                code: "too_large".into(),
                message: "injected".into(),
            }),
            Fault::Pass | Fault::LostAnswer | Fault::Hang => None,
        }
    }

    fn lost() -> UpstreamError {
        UpstreamError::Unreachable {
            at: Self::at(),
            detail: "connection reset after the request was applied (injected)".into(),
        }
    }

    fn apply(&self, e: &Entry) -> EntryResult {
        let mut s = self.lock();
        if let Some(prev) = s.applied.get(&e.id) {
            return match prev.status {
                EntryStatus::Conflict => prev.clone(),
                _ => EntryResult {
                    id: e.id,
                    status: EntryStatus::Duplicate,
                    code: None,
                    message: None,
                },
            };
        }
        let conflict = e
            .item
            .as_ref()
            .and_then(|i| s.conflict_items.get(i).cloned());
        let r = match conflict {
            Some(code) => EntryResult {
                id: e.id,
                status: EntryStatus::Conflict,
                message: Some(format!("{} {:?} not applied", e.kind, e.item)),
                code: Some(code),
            },
            None => EntryResult {
                id: e.id,
                status: EntryStatus::Applied,
                code: None,
                message: None,
            },
        };
        s.applied.insert(e.id, r.clone());
        if r.status == EntryStatus::Applied {
            s.applications.push(e.id);
        }
        r
    }
}

impl Upstream for MemoryUpstream {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn push<'a>(
        &'a self,
        _kiosk_id: &'a str,
        entries: &'a [Entry],
    ) -> BoxFuture<'a, UpstreamResult<Vec<EntryResult>>> {
        Box::pin(async move {
            self.lock()
                .pushes
                .push(entries.iter().map(|e| e.id).collect());
            let fault = self.fault("push").await;
            if let Some(err) = fault.as_ref().and_then(Self::early) {
                return Err(err);
            }
            let results: Vec<EntryResult> = entries.iter().map(|e| self.apply(e)).collect();
            if fault == Some(Fault::LostAnswer) {
                return Err(Self::lost());
            }
            Ok(results)
        })
    }

    fn changes<'a>(
        &'a self,
        cursor: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, UpstreamResult<ChangesPage>> {
        Box::pin(async move {
            if let Some(err) = self.fault("changes").await.as_ref().and_then(Self::early) {
                return Err(err);
            }
            let s = self.lock();
            let from: usize = cursor.parse().unwrap_or(0).min(s.feed.len());
            let to = (from + limit.max(1) as usize).min(s.feed.len());
            Ok(ChangesPage {
                changes: s.feed[from..to].to_vec(),
                cursor: to.to_string(),
                more: to < s.feed.len(),
                remaining: Some((s.feed.len() - to) as u64),
            })
        })
    }

    fn decide<'a>(
        &'a self,
        req: &'a DecideRequest,
    ) -> BoxFuture<'a, UpstreamResult<DecideResponse>> {
        Box::pin(async move {
            let fault = self.fault("decide").await;
            if let Some(err) = fault.as_ref().and_then(Self::early) {
                return Err(err);
            }
            let e = &req.entry;
            let mut s = self.lock();
            let resp = match s.decisions.get(&e.id) {
                Some(prev) => prev.clone(),
                None => {
                    let refused = e.item.as_ref().and_then(|i| s.refuse_items.get(i).cloned());
                    let resp = DecideResponse {
                        id: e.id,
                        decision: if refused.is_some() {
                            "refused"
                        } else {
                            "accepted"
                        }
                        .into(),
                        due: (refused.is_none() && e.kind == EntryKind::Checkout)
                            .then(|| "2026-12-07".to_string()),
                        reason: refused,
                        detail: serde_json::json!({"decided_by": "memory"}),
                    };
                    s.decisions.insert(e.id, resp.clone());
                    let applied = EntryResult {
                        id: e.id,
                        status: EntryStatus::Applied,
                        code: None,
                        message: None,
                    };
                    s.applied.insert(e.id, applied);
                    s.applications.push(e.id);
                    resp
                }
            };
            drop(s);
            if fault == Some(Fault::LostAnswer) {
                return Err(Self::lost());
            }
            Ok(resp)
        })
    }

    fn heartbeat<'a>(&'a self, _hb: &'a Heartbeat) -> BoxFuture<'a, UpstreamResult<HeartbeatAck>> {
        Box::pin(async move {
            if let Some(err) = self.fault("heartbeat").await.as_ref().and_then(Self::early) {
                return Err(err);
            }
            self.lock().heartbeats += 1;
            Ok(HeartbeatAck {
                server_time: chrono::Utc::now().to_rfc3339(),
                clock_offset_ms: 0,
                max_seq: None,
            })
        })
    }

    fn patron<'a>(
        &'a self,
        barcode: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<Option<PatronRecord>>> {
        Box::pin(async move {
            if let Some(err) = self.fault("patron").await.as_ref().and_then(Self::early) {
                return Err(err);
            }
            let s = self.lock();
            Ok(s.feed.iter().rev().find_map(|c| match c {
                Change::Upsert {
                    record: Record::Patron(p),
                } if p.barcode == barcode => Some(p.clone()),
                _ => None,
            }))
        })
    }
}
