//! The kiosk ↔ central-server protocol, API v1: the JSON bodies both sides
//! exchange. One definition, used by the kiosk's HTTP upstream, by
//! kiosk-central's handlers and by the OpenAPI document (utoipa), so the
//! two ends cannot drift apart. Anyone bridging another back end
//! implements these.
//!
//! Routes (all under `/v1`, all but `/v1/health` need `Authorization:
//! Bearer <kiosk token>`):
//! - `POST /v1/push` — `PushRequest` → `PushResponse`: journal entries,
//!   applied at most once each (by `id`), in `seq` order per kiosk.
//! - `GET /v1/changes?cursor=C&limit=N` → `ChangesPage`: everything the
//!   kiosk caches, changed since `cursor` (empty = from the start), and
//!   the conflicts staff closed (`Record::Resolution`).
//! - `POST /v1/decide` — `DecideRequest` → `DecideResponse`: an online
//!   decision; the server is authoritative and applies it under the
//!   request's entry id (a later push of that id is a duplicate).
//! - `POST /v1/heartbeat` — `Heartbeat` → `HeartbeatAck`.
//! - `GET /v1/patrons/{barcode}` → `PatronRecord` (online lookup).
//! - `POST /v1/pin-check` — `PinCheckRequest` → `PinCheckResponse`: a
//!   reader's PIN checked by the server, for kiosks it withholds PIN
//!   hashes from (the PIN in the body, never in a URL).
//! - `GET /v1/recommendations?patron=B&item=I&limit=N` → `Recommendations`.
//! - `GET /v1/conflicts?kiosk=K` → `Vec<ConflictRecord>`.
//!
//! A leaf beside `domain`: kiosk and kiosk-central both depend on it; it
//! depends on neither (docs/architecture.md; `tests/architecture.rs`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const API_VERSION: &str = "v1";

/// `PatronRecord::pin_hash` for a reader who has a PIN when the server
/// does not give this kiosk PIN hashes (its token lacks `--offline-pins`):
/// the kiosk asks for the PIN and answers `pin_unavailable` (an older
/// kiosk, which takes it for a hash, refuses the PIN as wrong).
pub const PIN_WITHHELD: &str = "withheld";

/// The largest `seq` the server accepts (a kiosk journaling one entry a
/// second would need 30,000 years to reach it); 0 and below are refused
/// too. Larger ones would be held forever as a gap.
pub const MAX_SEQ: i64 = 1_000_000_000_000;

/// The largest amount in cents (either sign) of any `*_cents` field of an
/// entry's `detail` (1,000,000.00 in the library's currency): balances
/// stay well inside what every database keeps as an integer.
pub const MAX_AMOUNT_CENTS: i64 = 100_000_000;

/// A journal entry on the wire (see `store::journal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Entry {
    /// UUIDv7, kept for life; the server deduplicates by it.
    pub id: Uuid,
    pub kiosk_id: String,
    /// Per-kiosk sequence, gap-free.
    pub seq: i64,
    /// RFC 3339 with offset, the kiosk's clock.
    pub at: String,
    /// checkout | checkin | renew | hold_placed | hold_cancelled | feedback |
    /// fee_paid | security (see [`EntryKind`]).
    #[schema(value_type = String)]
    pub kind: EntryKind,
    pub patron: Option<String>,
    pub item: Option<String>,
    /// accepted | refused: what the kiosk told the reader.
    pub decision: String,
    /// Refusal code when refused.
    pub reason: Option<String>,
    /// Due date given (YYYY-MM-DD or RFC 3339 for hour loans).
    pub due: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// Decided while the upstream was unreachable.
    pub offline: bool,
}

/// What a journal entry records. On the wire (and in both databases) it
/// is the snake_case string of each variant, exactly as before the enum
/// existed; a kind this build does not know (a newer kiosk's, or an older
/// one's that was retired) is kept as [`EntryKind::Unknown`] with its
/// text, so it can be stored, answered and shown instead of failing the
/// whole request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EntryKind {
    Checkout,
    Checkin,
    Renew,
    HoldPlaced,
    HoldCancelled,
    /// Reader feedback (anonymous; nothing to apply).
    Feedback,
    /// A payment the kiosk took.
    FeePaid,
    /// Tag security (AFI) could not be set after a committed loan or return.
    Security,
    /// Any other text: never produced by this build.
    Unknown(String),
}

impl EntryKind {
    /// Every kind this build knows, in wire order.
    pub const KNOWN: [EntryKind; 8] = [
        EntryKind::Checkout,
        EntryKind::Checkin,
        EntryKind::Renew,
        EntryKind::HoldPlaced,
        EntryKind::HoldCancelled,
        EntryKind::Feedback,
        EntryKind::FeePaid,
        EntryKind::Security,
    ];

    /// The wire string.
    pub fn as_str(&self) -> &str {
        match self {
            EntryKind::Checkout => "checkout",
            EntryKind::Checkin => "checkin",
            EntryKind::Renew => "renew",
            EntryKind::HoldPlaced => "hold_placed",
            EntryKind::HoldCancelled => "hold_cancelled",
            EntryKind::Feedback => "feedback",
            EntryKind::FeePaid => "fee_paid",
            EntryKind::Security => "security",
            EntryKind::Unknown(s) => s,
        }
    }

    /// The kind a wire string names; never fails (see `Unknown`).
    pub fn parse(s: &str) -> EntryKind {
        EntryKind::KNOWN
            .into_iter()
            .find(|k| k.as_str() == s)
            .unwrap_or_else(|| EntryKind::Unknown(s.to_string()))
    }

    /// Loans, returns and renewals: the kinds that move an item.
    pub fn is_circulation(&self) -> bool {
        matches!(
            self,
            EntryKind::Checkout | EntryKind::Checkin | EntryKind::Renew
        )
    }

    /// Placing or cancelling a hold.
    pub fn is_hold(&self) -> bool {
        matches!(self, EntryKind::HoldPlaced | EntryKind::HoldCancelled)
    }
}

impl std::fmt::Display for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntryKind {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<EntryKind, Self::Err> {
        Ok(EntryKind::parse(s))
    }
}

impl From<&str> for EntryKind {
    fn from(s: &str) -> EntryKind {
        EntryKind::parse(s)
    }
}

impl From<String> for EntryKind {
    fn from(s: String) -> EntryKind {
        EntryKind::parse(&s)
    }
}

impl PartialEq<str> for EntryKind {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for EntryKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for EntryKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EntryKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<EntryKind, D::Error> {
        let s = String::deserialize(d)?;
        Ok(EntryKind::parse(&s))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushRequest {
    pub kiosk_id: String,
    /// The kiosk's clock when it sent the batch (RFC 3339), to measure its
    /// offset.
    pub sent_at: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    /// Applied now.
    Applied,
    /// Applied before (same id); nothing changed.
    Duplicate,
    /// Not applied as the kiosk decided; `code` and `message` say why. Stored
    /// for staff and never dropped.
    Conflict,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryResult {
    pub id: Uuid,
    pub status: EntryStatus,
    /// Conflict code (stable, e.g. `on_loan_elsewhere`, `not_on_loan`,
    /// `renewal_limit`, `patron_blocked`, `unknown_item`, `on_hold_for_another`,
    /// `item_lost`, `sequence_gap`).
    pub code: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushResponse {
    /// One per pushed entry, in the order sent.
    pub results: Vec<EntryResult>,
    /// The server's clock (RFC 3339).
    pub server_time: String,
    /// server − kiosk, in milliseconds, as measured on this request.
    pub clock_offset_ms: i64,
}

/// One thing the kiosk caches.
///
/// A record whose `type` this build does not know (a newer server's) is
/// read as [`Record::Unknown`]: the kiosk skips it, logs and counts it,
/// and applies the rest of the page, so an older kiosk keeps pulling. A
/// record of a known type that does not parse is still an error.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Patron(PatronRecord),
    Item(ItemRecord),
    Loan(LoanRecord),
    Hold(HoldRecord),
    Policy(PolicyRecord),
    ClosedDay {
        day: String,
    },
    /// Staff closed a conflict at the centre.
    Resolution(ResolutionRecord),
    /// A type this build does not know; never sent by this build's server.
    #[serde(skip)]
    Unknown {
        /// The record's `type`.
        kind: String,
    },
}

/// The records this build reads, by their `type` (`Record` less
/// `Unknown`): what a tolerant `Record` reader hands a known type to.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownRecord {
    Patron(PatronRecord),
    Item(ItemRecord),
    Loan(LoanRecord),
    Hold(HoldRecord),
    Policy(PolicyRecord),
    ClosedDay { day: String },
    Resolution(ResolutionRecord),
}

impl Record {
    /// The `type` tags of the records this build knows.
    pub const KNOWN_TYPES: [&'static str; 7] = [
        "patron",
        "item",
        "loan",
        "hold",
        "policy",
        "closed_day",
        "resolution",
    ];
}

impl From<KnownRecord> for Record {
    fn from(r: KnownRecord) -> Record {
        match r {
            KnownRecord::Patron(p) => Record::Patron(p),
            KnownRecord::Item(i) => Record::Item(i),
            KnownRecord::Loan(l) => Record::Loan(l),
            KnownRecord::Hold(h) => Record::Hold(h),
            KnownRecord::Policy(p) => Record::Policy(p),
            KnownRecord::ClosedDay { day } => Record::ClosedDay { day },
            KnownRecord::Resolution(r) => Record::Resolution(r),
        }
    }
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Record, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        let kind = match v.get("type") {
            Some(serde_json::Value::String(t)) => t.clone(),
            Some(_) => return Err(D::Error::custom("record type is not a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        if !Record::KNOWN_TYPES.contains(&kind.as_str()) {
            return Ok(Record::Unknown { kind });
        }
        KnownRecord::deserialize(v)
            .map(Record::from)
            .map_err(D::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PatronRecord {
    pub barcode: String,
    pub name: String,
    pub category: String,
    /// YYYY-MM-DD
    pub expires: Option<String>,
    /// argon2 PHC string; never a PIN. Only to kiosks allowed to check
    /// PINs offline; to others [`PIN_WITHHELD`] for a reader with a PIN.
    pub pin_hash: Option<String>,
    /// Only in the one-reader lookup (e-mail receipts), never in the feed.
    pub email: Option<String>,
    /// Why the reader is blocked, if they are.
    pub blocked: Option<String>,
    pub fines_owed_cents: i64,
    /// The reader's language (`zh-CN`, `en`) when the centre knows it: the
    /// kiosk's screen switches to it when they scan their card. Absent
    /// from older servers; older kiosks ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// `POST /v1/pin-check`: is `pin` the PIN of the reader with card
/// `patron`? For kiosks without PIN hashes (tokens without
/// `--offline-pins`). Never logged; its `Debug` hides the PIN.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PinCheckRequest {
    pub patron: String,
    #[schema(max_length = 128)]
    pub pin: String,
}

impl std::fmt::Debug for PinCheckRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinCheckRequest")
            .field("patron", &self.patron)
            .field("pin", &"…")
            .finish()
    }
}

/// The longest PIN `POST /v1/pin-check` takes (400 above).
pub const MAX_PIN_LEN: usize = 128;

/// The server's word on a PIN. It counts wrong PINs per card across all
/// kiosks (`[policy] pin_attempts`, then locked for `pin_lock_minutes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PinCheckResponse {
    /// The server knows the card (false: nothing else is said).
    pub known: bool,
    /// The PIN is right (also when the reader has no PIN: nothing to get
    /// wrong) or wrong; null when it was not checked (unknown card, or
    /// the card is locked).
    pub valid: Option<bool>,
    /// The card is locked until then (RFC 3339, UTC): too many wrong PINs
    /// from any kiosk. Set also on the wrong PIN that locks it.
    pub locked_until: Option<String>,
    /// Wrong PINs still allowed before the lock, after a wrong one.
    pub attempts_left: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemRecord {
    pub barcode: String,
    pub rfid_uid: Option<String>,
    pub title: String,
    pub author: String,
    pub isbn: Option<String>,
    pub item_type: String,
    pub parts: u8,
    /// available | not_for_loan | on_loan | on_hold_shelf | lost | missing | withdrawn
    pub status: String,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LoanRecord {
    pub item: String,
    pub patron: String,
    /// RFC 3339
    pub checked_out: String,
    /// YYYY-MM-DD or RFC 3339
    pub due: String,
    pub renewals: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HoldRecord {
    /// Server-side id, stable.
    pub id: i64,
    pub patron: String,
    /// For item-level holds.
    pub item: Option<String>,
    /// `isbn:…` or `title:…|author`.
    pub title_key: String,
    /// waiting | ready | fulfilled | cancelled | expired
    pub status: String,
    pub placed: String,
    pub ready_item: Option<String>,
    pub pickup_code: Option<String>,
    pub pickup_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PolicyRecord {
    pub category: String,
    pub item_type: String,
    pub loan_days: u32,
    pub loan_hours: u32,
    pub max_loans: u32,
    pub max_renewals: u32,
    pub renewal_days: u32,
    pub fine_per_day_cents: i64,
    pub fine_cap_cents: i64,
    pub block_fines_cents: i64,
    pub block_overdue: u32,
    pub max_holds: u32,
    pub loanable: bool,
}

/// Staff closed a conflict (`kiosk-central conflicts resolve`, or
/// `POST /v1/conflicts/{id}/resolve`): the kiosk that journaled the entry
/// shows it resolved, no longer open. The feed carries every kiosk's
/// resolutions (keyed by entry id); a kiosk ignores the ones for entries
/// it does not have. Closing never applies the entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolutionRecord {
    /// The conflicted entry (its journal id at the kiosk).
    pub entry: Uuid,
    pub kiosk_id: String,
    /// RFC 3339: when staff closed it.
    pub resolved: String,
    /// Who (`MJ`, or `MJ at kiosk K1` when closed from a kiosk).
    pub resolved_by: String,
    /// What was done about it.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Insert or replace the record (keyed by barcode / id / day / pair /
    /// entry id).
    Upsert { record: Record },
    /// Remove it. `entity` is patron | item | loan | hold | policy |
    /// closed_day; `key` its key (loan: the item barcode; policy:
    /// `category|item_type`).
    Delete { entity: String, key: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Pass back to get the next page; opaque to the kiosk.
    pub cursor: String,
    /// More pages wait after this one.
    pub more: bool,
    /// Changes left after this page, when the server knows (for progress).
    pub remaining: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecideRequest {
    /// The entry as the kiosk would journal it; `decision`, `reason` and
    /// `due` are ignored (the server decides). Its `id` is the id the
    /// decision is applied and journaled under on both sides.
    pub entry: Entry,
    /// Parts of a multi-part set seen on the pad.
    pub parts_seen: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DecideResponse {
    pub id: Uuid,
    /// accepted | refused
    pub decision: String,
    /// Refusal code (the kiosk's `Refusal::code` values).
    pub reason: Option<String>,
    pub due: Option<String>,
    /// Whatever else the kiosk shows (title, route, pickup code, fine…).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeviceHealth {
    pub id: String,
    /// up | down | error
    pub state: String,
    pub info: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    pub kiosk_id: String,
    pub version: String,
    pub sent_at: String,
    pub outbox: u64,
    pub conflicts: u64,
    pub last_sync: Option<String>,
    pub devices: Vec<DeviceHealth>,
    /// Receipt paper: ok | near_end | out | none
    pub paper: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HeartbeatAck {
    pub server_time: String,
    pub clock_offset_ms: i64,
    /// The highest seq the server holds for this kiosk (0: none). A kiosk
    /// whose journal is new carries on after it (docs/sync.md, "A lost
    /// kiosk database"). None from servers before it was added, and from
    /// upstreams without sequences (SIP2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommendation {
    pub item: String,
    pub title: String,
    pub author: String,
    /// also_borrowed | your_history | popular
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommendations {
    pub items: Vec<Recommendation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConflictRecord {
    pub id: Uuid,
    pub kiosk_id: String,
    pub seq: i64,
    #[schema(value_type = String)]
    pub kind: EntryKind,
    pub patron: Option<String>,
    pub item: Option<String>,
    pub code: String,
    pub message: String,
    pub at: String,
    pub recorded_at: String,
}

/// Error body of every 4xx/5xx answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApiError {
    /// Stable code: unauthorized | bad_request | not_found | too_large | internal
    pub error: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_changes_are_tagged_for_other_languages() {
        let c = Change::Upsert {
            record: Record::ClosedDay {
                day: "2026-12-25".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"op":"upsert","record":{"type":"closed_day","day":"2026-12-25"}})
        );
        let d = Change::Delete {
            entity: "loan".into(),
            key: "3001".into(),
        };
        let back: Change = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        assert_eq!(
            serde_json::to_value(EntryStatus::Duplicate).unwrap(),
            serde_json::json!("duplicate")
        );
    }

    #[test]
    fn entry_kinds_keep_their_wire_strings() {
        let wire = [
            "checkout",
            "checkin",
            "renew",
            "hold_placed",
            "hold_cancelled",
            "feedback",
            "fee_paid",
            "security",
        ];
        for (k, w) in EntryKind::KNOWN.iter().zip(wire) {
            assert_eq!(k.as_str(), w);
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(w));
            let back: EntryKind = serde_json::from_value(serde_json::json!(w)).unwrap();
            assert_eq!(&back, k);
            assert_eq!(EntryKind::parse(w), *k);
        }
        // A kind this build does not know survives a round trip as it was.
        let odd: EntryKind = serde_json::from_str("\"teleport\"").unwrap();
        assert_eq!(odd, EntryKind::Unknown("teleport".into()));
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"teleport\"");
        assert!(EntryKind::Checkin.is_circulation() && !EntryKind::HoldPlaced.is_circulation());
        assert!(EntryKind::HoldCancelled.is_hold() && !odd.is_hold());
    }

    #[test]
    fn every_record_type_round_trips_and_an_unknown_one_is_kept_apart() {
        let records = [
            Record::ClosedDay {
                day: "2026-12-25".into(),
            },
            Record::Resolution(ResolutionRecord {
                entry: Uuid::nil(),
                kiosk_id: "K1".into(),
                resolved: "2026-12-01T10:00:00Z".into(),
                resolved_by: "MJ".into(),
                note: "found on the shelf".into(),
            }),
            Record::Loan(LoanRecord {
                item: "I1".into(),
                patron: "P1".into(),
                checked_out: "2026-12-01T10:00:00+08:00".into(),
                due: "2026-12-15".into(),
                renewals: 1,
            }),
        ];
        for r in records {
            let v = serde_json::to_value(&r).unwrap();
            assert!(Record::KNOWN_TYPES.contains(&v["type"].as_str().unwrap()));
            assert_eq!(serde_json::from_value::<Record>(v).unwrap(), r);
        }
        let odd: Record = serde_json::from_str(r#"{"type":"bookmobile_stop","id":7}"#).unwrap();
        assert_eq!(
            odd,
            Record::Unknown {
                kind: "bookmobile_stop".into()
            }
        );
        assert!(serde_json::from_str::<Record>(r#"{"id":7}"#).is_err());
        assert!(serde_json::from_str::<Record>(r#"{"type":"loan","item":1}"#).is_err());
    }
}
