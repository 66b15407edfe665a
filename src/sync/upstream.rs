//! The `Upstream` trait: what the kiosk asks of a central system, whatever
//! speaks for it (the kiosk-central HTTP API, a SIP2 ILS, the in-memory
//! test server).
//!
//! Async (tokio), because the GUI and the schedules run on tokio and a
//! decision must be abandoned at its deadline (`tokio::time::timeout`).
//! Methods return boxed futures so `dyn Upstream` works without extra
//! crates. Errors say whether the upstream could not be reached (the kiosk
//! goes offline) or answered with a refusal of the request itself (a
//! configuration or protocol problem, staff must look).

use super::protocol::{
    ChangesPage, DecideRequest, DecideResponse, Entry, EntryResult, Heartbeat, HeartbeatAck,
    PatronRecord, Recommendation,
};
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what every `Upstream` method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an upstream call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// No connection, connection reset, DNS failure: the kiosk is offline.
    #[error("the central system at {at} is unreachable: {detail}")]
    Unreachable { at: String, detail: String },
    /// No answer within the deadline: offline, and the outcome unknown.
    #[error("the central system at {at} did not answer within {ms} ms")]
    Timeout { at: String, ms: u64 },
    /// It answered 5xx (after retries): treated as offline too.
    #[error("the central system at {at} failed ({status}): {message}")]
    Server {
        at: String,
        status: u16,
        message: String,
    },
    /// It answered 4xx: the request itself is wrong (bad token, bad body).
    /// Never retried; not a reason to go offline.
    #[error("the central system at {at} refused the request ({status} {code}): {message}")]
    Rejected {
        at: String,
        status: u16,
        code: String,
        message: String,
    },
    /// It answered something that is not the protocol.
    #[error("the central system at {at} answered something unexpected: {detail}")]
    Protocol { at: String, detail: String },
    /// This upstream cannot do that (SIP2 has no batch push or change feed).
    #[error("the upstream does not support {0}")]
    Unsupported(&'static str),
}

impl UpstreamError {
    /// The kiosk should act offline: unreachable, timed out or failing.
    pub fn is_offline(&self) -> bool {
        matches!(
            self,
            UpstreamError::Unreachable { .. }
                | UpstreamError::Timeout { .. }
                | UpstreamError::Server { .. }
        )
    }

    /// Worth trying again with the same ids: transport trouble and 5xx,
    /// never a 4xx.
    pub fn is_retryable(&self) -> bool {
        self.is_offline()
    }
}

pub type UpstreamResult<T> = Result<T, UpstreamError>;

/// A central system. Implementations must send entries with the ids they
/// are given (retries included): the server deduplicates by id.
pub trait Upstream: Send + Sync {
    /// A short name for logs and status (`http https://…`, `sip2 host:port`).
    fn describe(&self) -> String;

    /// Delivers journal entries, in the order given; one result per entry.
    fn push<'a>(
        &'a self,
        kiosk_id: &'a str,
        entries: &'a [Entry],
    ) -> BoxFuture<'a, UpstreamResult<Vec<EntryResult>>>;

    /// The changes after `cursor` ("" = from the start), at most `limit`.
    fn changes<'a>(
        &'a self,
        cursor: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, UpstreamResult<ChangesPage>>;

    /// An authoritative online decision, applied upstream under the
    /// request's entry id.
    fn decide<'a>(
        &'a self,
        req: &'a DecideRequest,
    ) -> BoxFuture<'a, UpstreamResult<DecideResponse>>;

    fn heartbeat<'a>(&'a self, hb: &'a Heartbeat) -> BoxFuture<'a, UpstreamResult<HeartbeatAck>>;

    /// A reader looked up online; `Ok(None)` when the upstream does not
    /// know the card.
    fn patron<'a>(
        &'a self,
        barcode: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<Option<PatronRecord>>>;

    /// The reader walked away: tells the upstream the session ended (SIP2
    /// 35). Nothing to do for upstreams without sessions.
    fn end_session<'a>(&'a self, _patron: &'a str) -> BoxFuture<'a, UpstreamResult<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Titles to suggest to `patron` after borrowing `items` (barcodes), at
    /// most `limit`, best first, none of them among `items`. Upstreams
    /// without recommendations (SIP2) say `Unsupported`; the kiosk then
    /// suggests from its own loan history.
    fn recommendations<'a>(
        &'a self,
        _patron: &'a str,
        _items: &'a [String],
        _limit: u32,
    ) -> BoxFuture<'a, UpstreamResult<Vec<Recommendation>>> {
        Box::pin(async { Err(UpstreamError::Unsupported("recommendations")) })
    }
}
