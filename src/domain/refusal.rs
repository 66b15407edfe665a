//! Why a request was refused: a normal outcome, not an error.
//!
//! Each refusal has a stable machine code (part of the CLI and sync
//! contract: never rename one) and arguments for its plain-language text,
//! which lives in the Fluent files under assets/i18n (key = the code with
//! `-` instead of `_`, prefixed `refusal-`).

use super::{format_money, Cents};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownPatron,
    CardExpired {
        expired: String,
    },
    PatronBlocked {
        reason: String,
    },
    FinesOverLimit {
        owed: Cents,
        limit: Cents,
    },
    TooManyOverdue {
        overdue: u32,
        limit: u32,
    },
    MaxLoansReached {
        max: u32,
    },
    UnknownItem,
    ItemNotForLoan,
    /// Lost, missing or withdrawn: staff must look at it.
    ItemNeedsStaff {
        status: String,
    },
    ItemOnHoldForAnother,
    /// Never a second loan: the kiosk offers a renewal instead.
    AlreadyOnLoanToYou {
        due: String,
    },
    ItemOnLoanToAnother,
    IncompleteSet {
        seen: u8,
        parts: u8,
    },
    NotOnLoanToYou,
    MaxRenewalsReached {
        max: u32,
    },
    RenewalBlockedByHold,
    TooSoonToRenew {
        due: String,
    },
    ItemAvailable,
    HoldAlreadyPlaced,
    MaxHoldsReached {
        max: u32,
    },
    HoldNotFound,
    PinRequired,
    WrongPin {
        attempts_left: u32,
    },
    PinLocked {
        until: String,
    },
    /// The PIN cannot be checked now: the kiosk has no hash of it and the
    /// upstream that knows it is unreachable (or did not check it).
    PinUnavailable,
    InvalidBarcode {
        detail: String,
    },
    OfflineUnavailable,
    OfflineReturnsOnly,
    OfflineLimitReached {
        max: u32,
    },
    /// The upstream (an ILS over SIP2, another back end) refused with a
    /// reason of its own, shown as it sent it.
    UpstreamRefused {
        message: String,
    },
}

impl Refusal {
    /// The stable machine code, e.g. `max_loans_reached`.
    pub fn code(&self) -> &'static str {
        use Refusal::*;
        match self {
            UnknownPatron => "unknown_patron",
            CardExpired { .. } => "card_expired",
            PatronBlocked { .. } => "patron_blocked",
            FinesOverLimit { .. } => "fines_over_limit",
            TooManyOverdue { .. } => "too_many_overdue",
            MaxLoansReached { .. } => "max_loans_reached",
            UnknownItem => "unknown_item",
            ItemNotForLoan => "item_not_for_loan",
            ItemNeedsStaff { .. } => "item_needs_staff",
            ItemOnHoldForAnother => "item_on_hold_for_another",
            AlreadyOnLoanToYou { .. } => "already_on_loan_to_you",
            ItemOnLoanToAnother => "item_on_loan_to_another",
            IncompleteSet { .. } => "incomplete_set",
            NotOnLoanToYou => "not_on_loan_to_you",
            MaxRenewalsReached { .. } => "max_renewals_reached",
            RenewalBlockedByHold => "renewal_blocked_by_hold",
            TooSoonToRenew { .. } => "too_soon_to_renew",
            ItemAvailable => "item_available",
            HoldAlreadyPlaced => "hold_already_placed",
            MaxHoldsReached { .. } => "max_holds_reached",
            HoldNotFound => "hold_not_found",
            PinRequired => "pin_required",
            WrongPin { .. } => "wrong_pin",
            PinLocked { .. } => "pin_locked",
            PinUnavailable => "pin_unavailable",
            InvalidBarcode { .. } => "invalid_barcode",
            OfflineUnavailable => "offline_unavailable",
            OfflineReturnsOnly => "offline_returns_only",
            OfflineLimitReached { .. } => "offline_limit_reached",
            UpstreamRefused { .. } => "upstream_refused",
        }
    }

    /// The Fluent message id of this refusal's text.
    pub fn message_id(&self) -> String {
        format!("refusal-{}", self.code().replace('_', "-"))
    }

    /// Named arguments for the message text.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        use Refusal::*;
        match self {
            CardExpired { expired } => vec![("expired", expired.clone())],
            PatronBlocked { reason } => vec![("reason", reason.clone())],
            FinesOverLimit { owed, limit } => {
                vec![
                    ("owed", format_money(*owed)),
                    ("limit", format_money(*limit)),
                ]
            }
            TooManyOverdue { overdue, limit } => {
                vec![
                    ("overdue", overdue.to_string()),
                    ("limit", limit.to_string()),
                ]
            }
            MaxLoansReached { max } | MaxRenewalsReached { max } | MaxHoldsReached { max } => {
                vec![("max", max.to_string())]
            }
            OfflineLimitReached { max } => vec![("max", max.to_string())],
            ItemNeedsStaff { status } => vec![("status", status.clone())],
            AlreadyOnLoanToYou { due } | TooSoonToRenew { due } => vec![("due", due.clone())],
            IncompleteSet { seen, parts } => {
                vec![("seen", seen.to_string()), ("parts", parts.to_string())]
            }
            WrongPin { attempts_left } => vec![("attempts", attempts_left.to_string())],
            PinLocked { until } => vec![("until", until.clone())],
            InvalidBarcode { detail } => vec![("detail", detail.clone())],
            UpstreamRefused { message } => vec![("message", message.clone())],
            _ => vec![],
        }
    }

    /// The arguments as raw values (amounts in cents, counts as numbers):
    /// what an upstream sends with a refusal code so the kiosk can show the
    /// same text it would have shown for its own decision.
    pub fn wire_args(&self) -> serde_json::Value {
        use serde_json::json;
        use Refusal::*;
        match self {
            CardExpired { expired } => json!({ "expired": expired }),
            PatronBlocked { reason } => json!({ "reason": reason }),
            FinesOverLimit { owed, limit } => json!({ "owed": owed, "limit": limit }),
            TooManyOverdue { overdue, limit } => json!({ "overdue": overdue, "limit": limit }),
            MaxLoansReached { max }
            | MaxRenewalsReached { max }
            | MaxHoldsReached { max }
            | OfflineLimitReached { max } => json!({ "max": max }),
            ItemNeedsStaff { status } => json!({ "status": status }),
            AlreadyOnLoanToYou { due } | TooSoonToRenew { due } => json!({ "due": due }),
            IncompleteSet { seen, parts } => json!({ "seen": seen, "parts": parts }),
            WrongPin { attempts_left } => json!({ "attempts_left": attempts_left }),
            PinLocked { until } => json!({ "until": until }),
            InvalidBarcode { detail } => json!({ "detail": detail }),
            UpstreamRefused { message } => json!({ "message": message }),
            _ => json!({}),
        }
    }

    /// The refusal an upstream meant by `code` and `wire_args`. A code this
    /// kiosk does not know is shown as the upstream's own words (`message`
    /// in the arguments, else the code itself); missing arguments read as
    /// empty or zero rather than failing: the reader still gets a reason.
    pub fn from_wire(code: &str, args: &serde_json::Value) -> Refusal {
        use Refusal::*;
        let text = |k: &str| {
            args.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let num = |k: &str| args.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
        let count = |k: &str| u32::try_from(num(k).max(0)).unwrap_or(u32::MAX);
        let part = |k: &str| u8::try_from(num(k).max(0)).unwrap_or(u8::MAX);
        match code {
            "unknown_patron" => UnknownPatron,
            "card_expired" => CardExpired {
                expired: text("expired"),
            },
            "patron_blocked" => PatronBlocked {
                reason: text("reason"),
            },
            "fines_over_limit" => FinesOverLimit {
                owed: num("owed"),
                limit: num("limit"),
            },
            "too_many_overdue" => TooManyOverdue {
                overdue: count("overdue"),
                limit: count("limit"),
            },
            "max_loans_reached" => MaxLoansReached { max: count("max") },
            "unknown_item" => UnknownItem,
            "item_not_for_loan" => ItemNotForLoan,
            "item_needs_staff" => ItemNeedsStaff {
                status: text("status"),
            },
            "item_on_hold_for_another" => ItemOnHoldForAnother,
            "already_on_loan_to_you" => AlreadyOnLoanToYou { due: text("due") },
            "item_on_loan_to_another" => ItemOnLoanToAnother,
            "incomplete_set" => IncompleteSet {
                seen: part("seen"),
                parts: part("parts"),
            },
            "not_on_loan_to_you" => NotOnLoanToYou,
            "max_renewals_reached" => MaxRenewalsReached { max: count("max") },
            "renewal_blocked_by_hold" => RenewalBlockedByHold,
            "too_soon_to_renew" => TooSoonToRenew { due: text("due") },
            "item_available" => ItemAvailable,
            "hold_already_placed" => HoldAlreadyPlaced,
            "max_holds_reached" => MaxHoldsReached { max: count("max") },
            "hold_not_found" => HoldNotFound,
            "pin_required" => PinRequired,
            "wrong_pin" => WrongPin {
                attempts_left: count("attempts_left"),
            },
            "pin_locked" => PinLocked {
                until: text("until"),
            },
            "pin_unavailable" => PinUnavailable,
            "invalid_barcode" => InvalidBarcode {
                detail: text("detail"),
            },
            "offline_unavailable" => OfflineUnavailable,
            "offline_returns_only" => OfflineReturnsOnly,
            "offline_limit_reached" => OfflineLimitReached { max: count("max") },
            other => UpstreamRefused {
                message: match text("message") {
                    m if m.trim().is_empty() => other.to_string(),
                    m => m,
                },
            },
        }
    }

    /// Every variant once, with sample arguments: lets tests prove each code
    /// has a text in every language.
    pub fn examples() -> Vec<Refusal> {
        use Refusal::*;
        vec![
            UnknownPatron,
            CardExpired {
                expired: "2026-01-31".into(),
            },
            PatronBlocked {
                reason: "lost card".into(),
            },
            FinesOverLimit {
                owed: 1250,
                limit: 1000,
            },
            TooManyOverdue {
                overdue: 2,
                limit: 1,
            },
            MaxLoansReached { max: 10 },
            UnknownItem,
            ItemNotForLoan,
            ItemNeedsStaff {
                status: "lost".into(),
            },
            ItemOnHoldForAnother,
            AlreadyOnLoanToYou {
                due: "2026-12-06".into(),
            },
            ItemOnLoanToAnother,
            IncompleteSet { seen: 1, parts: 3 },
            NotOnLoanToYou,
            MaxRenewalsReached { max: 2 },
            RenewalBlockedByHold,
            TooSoonToRenew {
                due: "2026-12-06".into(),
            },
            ItemAvailable,
            HoldAlreadyPlaced,
            MaxHoldsReached { max: 5 },
            HoldNotFound,
            PinRequired,
            WrongPin { attempts_left: 3 },
            PinLocked {
                until: "15:30".into(),
            },
            PinUnavailable,
            InvalidBarcode {
                detail: "check digit".into(),
            },
            OfflineUnavailable,
            OfflineReturnsOnly,
            OfflineLimitReached { max: 3 },
            UpstreamRefused {
                message: "Item is on reserve".into(),
            },
        ]
    }
}

impl Serialize for Refusal {
    /// Serialized as its code; the text is added by whoever knows the language.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_refusal_survives_the_wire() {
        for r in Refusal::examples() {
            assert_eq!(Refusal::from_wire(r.code(), &r.wire_args()), r);
        }
    }

    #[test]
    fn an_unknown_code_is_shown_in_the_upstreams_words() {
        let r = Refusal::from_wire(
            "ils_says_no",
            &serde_json::json!({ "message": "Item has a block" }),
        );
        assert_eq!(
            r,
            Refusal::UpstreamRefused {
                message: "Item has a block".into()
            }
        );
        assert_eq!(
            Refusal::from_wire("ils_says_no", &serde_json::json!({})),
            Refusal::UpstreamRefused {
                message: "ils_says_no".into()
            }
        );
        // Missing arguments degrade to empty values, never a panic.
        assert_eq!(
            Refusal::from_wire("max_loans_reached", &serde_json::json!(null)),
            Refusal::MaxLoansReached { max: 0 }
        );
    }

    #[test]
    fn codes_are_unique_snake_case_and_cover_every_variant() {
        let ex = Refusal::examples();
        let codes: BTreeSet<_> = ex.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), ex.len(), "duplicate code");
        assert_eq!(ex.len(), 30, "add new variants to examples()");
        for c in codes {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{c}"
            );
        }
    }

    #[test]
    fn args_carry_the_numbers_readers_need() {
        let r = Refusal::FinesOverLimit {
            owed: 1250,
            limit: 1000,
        };
        assert_eq!(
            r.args(),
            vec![("owed", "12.50".into()), ("limit", "10.00".into())]
        );
        assert_eq!(r.message_id(), "refusal-fines-over-limit");
        assert_eq!(
            serde_json::to_string(&Refusal::MaxLoansReached { max: 3 }).unwrap(),
            "\"max_loans_reached\""
        );
    }
}
