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

use crate::protocol::{
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

    /// Renews every loan of `patron` in one request (SIP2 65/66). The
    /// upstream decides and applies each renewal; the kiosk journals them
    /// (`Circulation::renew_all`). `Unsupported` (the default): the kiosk
    /// asks `decide` once per loan instead.
    fn renew_all<'a>(&'a self, _patron: &'a str) -> BoxFuture<'a, UpstreamResult<RenewAllAnswer>> {
        Box::pin(async { Err(UpstreamError::Unsupported("renew all")) })
    }

    /// Whether `pin` is `patron`'s PIN, as the upstream knows it (SIP2 23
    /// or 63 with AD → CQ). `Unsupported` (the default): the kiosk checks
    /// PINs only against the hashes it caches. Implementations never log
    /// the PIN.
    fn check_pin<'a>(
        &'a self,
        _patron: &'a str,
        _pin: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<PinAnswer>> {
        Box::pin(async { Err(UpstreamError::Unsupported("PIN checks")) })
    }

    /// Whether `check_pin` asks the upstream (so a missing PIN can be
    /// asked for when `[policy] require_pin` is on, even for a card the
    /// kiosk has no PIN hash of).
    fn checks_pins(&self) -> bool {
        false
    }

    /// Whether the cache learns every reader's PIN state from this
    /// upstream's change feed (kiosk-central): a card with no hash there
    /// has no PIN, and only a withheld hash (`protocol::PIN_WITHHELD`) is
    /// asked about. false (SIP2): a card without a hash may still have a
    /// PIN the upstream knows.
    fn feeds_pins(&self) -> bool {
        false
    }

    /// A reader's account as the upstream holds it (SIP2 63 summaries:
    /// loans, holds, fines). `Unsupported` (the default): the kiosk shows
    /// its cache, which the change feed keeps current. `Ok(None)`: the
    /// upstream does not know the card.
    fn account<'a>(
        &'a self,
        _patron: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<Option<AccountAnswer>>> {
        Box::pin(async { Err(UpstreamError::Unsupported("account lookups")) })
    }
}

/// What the upstream did with "renew all" (SIP2 66).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RenewAllAnswer {
    /// The request as a whole was accepted (SIP2 `ok`).
    pub ok: bool,
    pub renewed: Vec<RenewedItem>,
    pub unrenewed: Vec<UnrenewedItem>,
    /// The upstream's own words for the reader (SIP2 AF), and receipt
    /// lines (AG).
    pub screen_messages: Vec<String>,
    pub print_lines: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RenewedItem {
    pub item: String,
    pub title: Option<String>,
    /// The new due date as the kiosk writes them (`YYYY-MM-DD`, or RFC
    /// 3339 for hour loans); None when the upstream did not say.
    pub due: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct UnrenewedItem {
    pub item: String,
    pub title: Option<String>,
    /// A kiosk refusal code (`renewal_blocked_by_hold`, `upstream_refused`, …).
    pub reason: String,
    /// The upstream's words, shown with `upstream_refused`.
    pub message: String,
}

/// What the upstream said of a reader's PIN.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PinAnswer {
    /// The upstream knows the card (SIP2 BL = Y).
    pub known: bool,
    /// The PIN is right (CQ = Y), wrong (CQ = N), or the upstream did not
    /// say (no CQ: it did not check it).
    pub valid: Option<bool>,
    /// The reader's name (SIP2 AE), when the upstream sent it.
    pub name: Option<String>,
    pub screen_messages: Vec<String>,
    /// The card may borrow (SIP2: no patron status flag set), may not, or
    /// the upstream did not say. A yes makes the reader's record fresh
    /// for offline loans (`sync::fresh`).
    pub may_borrow: Option<bool>,
    /// The upstream keeps its own count of wrong PINs (kiosk-central,
    /// across all kiosks): the card is locked until then (RFC 3339) …
    pub locked_until: Option<String>,
    /// … or this many tries are left before it is.
    pub attempts_left: Option<u32>,
}

/// A reader's account as the upstream holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountAnswer {
    pub name: String,
    /// Why the reader may not borrow (the upstream's flags), if so.
    pub blocked: Option<String>,
    pub fines_owed_cents: i64,
    /// ISO 4217 code when the upstream sent one (SIP2 BH).
    pub currency: Option<String>,
    pub loans: Vec<AccountLoanAnswer>,
    pub holds: Vec<AccountHoldAnswer>,
    /// Fine lines as the upstream writes them (SIP2 AV).
    pub fines: Vec<String>,
    pub screen_messages: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountLoanAnswer {
    pub item: String,
    pub title: Option<String>,
    /// `YYYY-MM-DD` or RFC 3339; None when the upstream did not say.
    pub due: Option<String>,
    pub overdue: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountHoldAnswer {
    /// The item (or title) the upstream names the hold by.
    pub item: String,
    pub title: Option<String>,
    /// `ready` (available for pickup, SIP2 AS) or `waiting` (CD).
    pub status: String,
}
