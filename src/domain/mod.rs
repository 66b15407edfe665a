//! Pure circulation rules: patrons, items, loans, holds, fees, calendars,
//! policies and the reasons a request is refused.
//!
//! Nothing in this room does IO or reads a clock: callers pass `now` in and
//! get a decision out, so every rule is testable as a table.
//!
//! May use: no other room (docs/architecture.md; `tests/architecture.rs`).

pub mod barcode;
pub mod calendar;
pub mod catalog;
pub mod circulation;
pub mod offline;
pub mod policy;
pub mod refusal;
pub mod session;

pub use calendar::{Calendar, Due};
pub use catalog::title_key;
pub use circulation::*;
pub use policy::{PolicyTable, Rule, Settings};
pub use refusal::Refusal;

/// Money in the smallest unit of the kiosk's currency (fen, cents).
pub type Cents = i64;

/// The languages every reader-facing string exists in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Lang {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub fn tag(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(tag: &str) -> Option<Lang> {
        match tag.to_ascii_lowercase().as_str() {
            "zh-cn" | "zh" | "zh-hans" => Some(Lang::ZhCn),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }
}

/// Formats cents as "12.30" for reasons and receipts.
pub fn format_money(cents: Cents) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}
