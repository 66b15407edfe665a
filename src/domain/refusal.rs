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
    InvalidBarcode {
        detail: String,
    },
    OfflineUnavailable,
    OfflineReturnsOnly,
    OfflineLimitReached {
        max: u32,
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
            InvalidBarcode { .. } => "invalid_barcode",
            OfflineUnavailable => "offline_unavailable",
            OfflineReturnsOnly => "offline_returns_only",
            OfflineLimitReached { .. } => "offline_limit_reached",
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
            _ => vec![],
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
            InvalidBarcode {
                detail: "check digit".into(),
            },
            OfflineUnavailable,
            OfflineReturnsOnly,
            OfflineLimitReached { max: 3 },
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
    fn codes_are_unique_snake_case_and_cover_every_variant() {
        let ex = Refusal::examples();
        let codes: BTreeSet<_> = ex.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), ex.len(), "duplicate code");
        assert_eq!(ex.len(), 28, "add new variants to examples()");
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
