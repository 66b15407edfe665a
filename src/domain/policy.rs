//! Circulation policy: rules keyed by (patron category, item type), with
//! `default` as the fallback in either position, and the kiosk-wide settings
//! that are not per rule (PIN, holds, calendar, sort bins).

use super::{Calendar, Cents};
use std::collections::BTreeMap;

/// The fallback name for a category or an item type without a row of its own.
pub const DEFAULT: &str = "default";

/// One row of the policy table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// Loan period in days; 0 when the loan is by the hour.
    pub loan_days: u32,
    /// Loan period in hours (reading-room loans); used when loan_days is 0.
    pub loan_hours: u32,
    /// Most loans a reader may hold when borrowing an item under this rule.
    pub max_loans: u32,
    pub max_renewals: u32,
    pub renewal_days: u32,
    pub fine_per_day: Cents,
    /// 0 = no cap.
    pub fine_cap: Cents,
    /// Fines owed at or above this block borrowing; 0 = never.
    pub block_fines: Cents,
    /// This many overdue items block borrowing; 0 = never.
    pub block_overdue: u32,
    pub max_holds: u32,
    pub loanable: bool,
}

impl Default for Rule {
    fn default() -> Rule {
        Rule {
            loan_days: 14,
            loan_hours: 0,
            max_loans: 10,
            max_renewals: 2,
            renewal_days: 14,
            fine_per_day: 10,
            fine_cap: 2000,
            block_fines: 1000,
            block_overdue: 0,
            max_holds: 5,
            loanable: true,
        }
    }
}

impl Rule {
    /// The fine for `days` overdue days, capped.
    pub fn fine_for(&self, days: u32) -> Cents {
        let fine = self.fine_per_day.saturating_mul(days as Cents);
        if self.fine_cap > 0 {
            fine.min(self.fine_cap)
        } else {
            fine
        }
    }
}

/// All rules, looked up most specific first:
/// (category, type) → (category, default) → (default, type) → (default, default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyTable {
    rules: BTreeMap<(String, String), Rule>,
    fallback: Rule,
}

impl PolicyTable {
    pub fn new(rows: impl IntoIterator<Item = (String, String, Rule)>) -> PolicyTable {
        let mut rules: BTreeMap<(String, String), Rule> =
            rows.into_iter().map(|(c, t, r)| ((c, t), r)).collect();
        let fallback = rules
            .remove(&(DEFAULT.to_string(), DEFAULT.to_string()))
            .unwrap_or_default();
        PolicyTable { rules, fallback }
    }

    pub fn rule(&self, category: &str, item_type: &str) -> &Rule {
        let get = |c: &str, t: &str| self.rules.get(&(c.to_string(), t.to_string()));
        get(category, item_type)
            .or_else(|| get(category, DEFAULT))
            .or_else(|| get(DEFAULT, item_type))
            .unwrap_or(&self.fallback)
    }

    /// Every row, the default first, as stored in the `policies` table.
    pub fn rows(&self) -> Vec<(String, String, Rule)> {
        std::iter::once((
            DEFAULT.to_string(),
            DEFAULT.to_string(),
            self.fallback.clone(),
        ))
        .chain(
            self.rules
                .iter()
                .map(|((c, t), r)| (c.clone(), t.clone(), r.clone())),
        )
        .collect()
    }
}

/// Kiosk-wide settings that are not per rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub calendar: Calendar,
    pub charge_closed_days: bool,
    pub hold_pickup_days: u32,
    pub require_pin: bool,
    pub pin_attempts: u32,
    pub pin_lock_minutes: u32,
    /// item type → sort bin; the `default` key is used for any other type.
    pub sort_bins: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            calendar: Calendar::default(),
            charge_closed_days: false,
            hold_pickup_days: 7,
            require_pin: false,
            pin_attempts: 5,
            pin_lock_minutes: 30,
            sort_bins: BTreeMap::from([(DEFAULT.to_string(), "1".to_string())]),
        }
    }
}

impl Settings {
    pub fn sort_bin(&self, item_type: &str) -> String {
        self.sort_bins
            .get(item_type)
            .or_else(|| self.sort_bins.get(DEFAULT))
            .cloned()
            .unwrap_or_else(|| "1".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(max_loans: u32) -> Rule {
        Rule {
            max_loans,
            ..Rule::default()
        }
    }

    #[test]
    fn lookup_goes_from_specific_to_default() {
        let t = PolicyTable::new([
            ("default".into(), "default".into(), rule(1)),
            ("child".into(), "default".into(), rule(2)),
            ("default".into(), "dvd".into(), rule(3)),
            ("child".into(), "dvd".into(), rule(4)),
        ]);
        assert_eq!(t.rule("child", "dvd").max_loans, 4);
        assert_eq!(t.rule("child", "book").max_loans, 2);
        assert_eq!(t.rule("adult", "dvd").max_loans, 3);
        assert_eq!(t.rule("adult", "book").max_loans, 1);
        assert_eq!(t.rows().len(), 4);
        assert_eq!(t.rows()[0].2.max_loans, 1);
    }

    #[test]
    fn missing_default_row_uses_built_in_default() {
        let t = PolicyTable::new([]);
        assert_eq!(t.rule("x", "y"), &Rule::default());
    }

    #[test]
    fn fine_is_capped_only_when_a_cap_is_set() {
        let r = Rule {
            fine_per_day: 50,
            fine_cap: 200,
            ..Rule::default()
        };
        assert_eq!(r.fine_for(0), 0);
        assert_eq!(r.fine_for(3), 150);
        assert_eq!(r.fine_for(10), 200);
        let uncapped = Rule { fine_cap: 0, ..r };
        assert_eq!(uncapped.fine_for(10), 500);
    }

    #[test]
    fn sort_bin_falls_back_to_default() {
        let mut s = Settings::default();
        s.sort_bins.insert("dvd".into(), "B".into());
        assert_eq!(s.sort_bin("dvd"), "B");
        assert_eq!(s.sort_bin("book"), "1");
        s.sort_bins.clear();
        assert_eq!(s.sort_bin("book"), "1");
    }
}
