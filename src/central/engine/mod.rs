//! What the server does, written once over [`Sql`] so SQLite and
//! PostgreSQL behave the same, one file per concern:
//! - `push` (pushed journal entries, at most once, in seq order per
//!   kiosk) and `replay` (a kiosk's decision checked against the
//!   server's state; conflicts classified for staff);
//! - `decide` (online decisions);
//! - `feed` (the changes feed kiosks pull);
//! - `records` (readers, items, loans, holds by column name), `snapshot`
//!   (the domain's view around one entry), `effects` (what an accepted
//!   decision writes);
//! - `admin` (imports, policies, tokens, languages), `kiosks`
//!   (heartbeats), `conflicts` (reading and closing them), `feedback`,
//!   `recommend`, `stats`, `remind` (reminders still to send),
//!   `retention` (readers' history anonymised after `[privacy]
//!   history_retention_days`), `pins` (readers' PINs checked for kiosks
//!   without PIN hashes, wrong PINs counted across kiosks).
//!
//! Circulation rules come from `domain` (the same `decide_*` functions the
//! kiosk runs); this room only loads their inputs and writes their
//! effects. It imports `domain`, `protocol` and its own `sql`; it must
//! never read the clock: callers pass `now`.

mod admin;
mod conflicts;
mod decide;
mod effects;
mod feed;
mod feedback;
mod kiosks;
mod pins;
mod push;
mod recommend;
mod records;
mod remind;
mod replay;
mod retention;
mod snapshot;
mod stats;

pub use admin::*;
pub use conflicts::*;
pub(crate) use decide::*;
pub(crate) use effects::*;
pub(crate) use feed::*;
pub use feedback::*;
pub use kiosks::*;
pub use pins::*;
pub(crate) use push::*;
pub(crate) use recommend::*;
pub(crate) use records::*;
pub use remind::*;
pub(crate) use replay::*;
pub use retention::*;
pub(crate) use snapshot::*;
pub use stats::*;

use super::sql::{params as p, Get, Row, Sql, Val};
use super::CentralError;
use crate::domain::policy::DEFAULT;
use crate::domain::{
    self, CheckinContext, CheckoutContext, CurrentLoan, Due, HoldContext, HoldRef, Item, ItemHolds,
    ItemStatus, LoanCounts, Patron, PolicyTable, Refusal, RenewContext, Route, Rule, Settings,
};
use crate::protocol::*;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use utoipa::ToSchema;
use uuid::Uuid;

type Result<T> = std::result::Result<T, CentralError>;

/// A server timestamp: RFC 3339 in UTC with milliseconds.
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Title-level holds name the title by ISBN, or by title and author
/// (the kiosk's own keys).
pub use crate::domain::title_key;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_with_milliseconds() {
        let t = DateTime::parse_from_rfc3339("2026-03-01T10:15:30.123456+08:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(stamp(t), "2026-03-01T02:15:30.123Z");
    }
}
