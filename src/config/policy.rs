//! `[policy]`: circulation rules and the library calendar, as written in
//! the file (money in currency units), and how a `[[policy.rules]]` entry
//! merges over `[policy.default]`.
//!
//! May use: `domain` (its rule defaults); in this room, `de`.

use super::de::{dates, int_in, money_in, opt_int_in, opt_money_in, weekdays};
use chrono::{NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `[policy]`: circulation rules and the library calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    pub require_pin: bool,
    #[serde(deserialize_with = "int_in::<_, _, 1, 20>")]
    pub pin_attempts: u32,
    #[serde(deserialize_with = "int_in::<_, _, 1, 1440>")]
    pub pin_lock_minutes: u32,
    #[serde(deserialize_with = "int_in::<_, _, 1, 60>")]
    pub hold_pickup_days: u32,
    #[serde(with = "weekdays")]
    pub closed_weekdays: Vec<Weekday>,
    #[serde(with = "dates")]
    pub holidays: Vec<NaiveDate>,
    pub charge_closed_days: bool,
    pub currency: String,
    /// Item type → return sorting bin.
    pub sort_bins: BTreeMap<String, String>,
    /// `[policy.default]`: the rule for any (category, item type) without one.
    pub default: Rule,
    /// `[[policy.rules]]`: overrides merged over `default`.
    pub rules: Vec<RuleOverride>,
}

impl Default for PolicySection {
    fn default() -> Self {
        PolicySection {
            require_pin: false,
            pin_attempts: 5,
            pin_lock_minutes: 30,
            hold_pickup_days: 7,
            closed_weekdays: vec![Weekday::Sun],
            holidays: Vec::new(),
            charge_closed_days: false,
            currency: "CNY".into(),
            sort_bins: BTreeMap::from([("default".to_string(), "1".to_string())]),
            default: Rule::default(),
            rules: Vec::new(),
        }
    }
}

impl PolicySection {
    /// The default rule as ("default", "default") first, then every
    /// `[[policy.rules]]` entry merged over the default (see
    /// [`RuleOverride::apply`]), in file order.
    pub fn resolved_rules(&self) -> Vec<(String, String, Rule)> {
        let default = (
            "default".to_string(),
            "default".to_string(),
            self.default.clone(),
        );
        std::iter::once(default)
            .chain(self.rules.iter().map(|r| {
                (
                    r.category.clone(),
                    r.item_type.clone(),
                    r.apply(&self.default),
                )
            }))
            .collect()
    }
}

/// Loan limits for one (patron category, item type) pair. Money is in
/// currency units (yuan), always a whole number of cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rule {
    #[serde(deserialize_with = "int_in::<_, _, 0, 365>")]
    pub loan_days: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 168>")]
    pub loan_hours: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 1000>")]
    pub max_loans: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 100>")]
    pub max_renewals: u32,
    #[serde(deserialize_with = "int_in::<_, _, 1, 365>")]
    pub renewal_days: u32,
    #[serde(deserialize_with = "money_in::<_, 1000>")]
    pub fine_per_day: f64,
    /// 0 = no cap.
    #[serde(deserialize_with = "money_in::<_, 100000>")]
    pub fine_cap: f64,
    /// Fines owed at or above this block borrowing; 0 = never.
    #[serde(deserialize_with = "money_in::<_, 100000>")]
    pub block_fines: f64,
    /// This many overdue items block borrowing; 0 = never.
    #[serde(deserialize_with = "int_in::<_, _, 0, 1000>")]
    pub block_overdue: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 100>")]
    pub max_holds: u32,
    pub loanable: bool,
}

impl Default for Rule {
    /// The domain's defaults, in currency units rather than cents.
    fn default() -> Self {
        let d = crate::domain::Rule::default();
        let units = |c: i64| c as f64 / 100.0;
        Rule {
            loan_days: d.loan_days,
            loan_hours: d.loan_hours,
            max_loans: d.max_loans,
            max_renewals: d.max_renewals,
            renewal_days: d.renewal_days,
            fine_per_day: units(d.fine_per_day),
            fine_cap: units(d.fine_cap),
            block_fines: units(d.block_fines),
            block_overdue: d.block_overdue,
            max_holds: d.max_holds,
            loanable: d.loanable,
        }
    }
}

impl Rule {
    pub fn fine_per_day_cents(&self) -> i64 {
        cents(self.fine_per_day)
    }
    pub fn fine_cap_cents(&self) -> i64 {
        cents(self.fine_cap)
    }
    pub fn block_fines_cents(&self) -> i64 {
        cents(self.block_fines)
    }
}

/// Validation guarantees whole cents, so rounding only removes float noise.
fn cents(units: f64) -> i64 {
    (units * 100.0).round() as i64
}

/// One `[[policy.rules]]` entry: the pair it applies to plus the rule fields
/// it changes; absent fields inherit from `[policy.default]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    pub category: String,
    pub item_type: String,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 365>",
        skip_serializing_if = "Option::is_none"
    )]
    pub loan_days: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 168>",
        skip_serializing_if = "Option::is_none"
    )]
    pub loan_hours: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 1000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_loans: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 100>",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_renewals: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 1, 365>",
        skip_serializing_if = "Option::is_none"
    )]
    pub renewal_days: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_money_in::<_, 1000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub fine_per_day: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_money_in::<_, 100000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub fine_cap: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_money_in::<_, 100000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub block_fines: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 1000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub block_overdue: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 100>",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_holds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loanable: Option<bool>,
}

impl RuleOverride {
    /// This override merged over `base`.
    ///
    /// The loan period is one setting written in days or in hours, so a rule
    /// that gives only `loan_hours = 4` means "4 hours" and drops the
    /// default's `loan_days` (and vice versa); without that every hourly
    /// rule would also have to repeat `loan_days = 0`.
    pub fn apply(&self, base: &Rule) -> Rule {
        let mut rule = base.clone();
        match (self.loan_days, self.loan_hours) {
            (Some(days), None) => {
                rule.loan_days = days;
                if days > 0 {
                    rule.loan_hours = 0;
                }
            }
            (None, Some(hours)) => {
                rule.loan_hours = hours;
                if hours > 0 {
                    rule.loan_days = 0;
                }
            }
            (Some(days), Some(hours)) => {
                rule.loan_days = days;
                rule.loan_hours = hours;
            }
            (None, None) => {}
        }
        let set = |field: &mut u32, value: Option<u32>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        set(&mut rule.max_loans, self.max_loans);
        set(&mut rule.max_renewals, self.max_renewals);
        set(&mut rule.renewal_days, self.renewal_days);
        set(&mut rule.block_overdue, self.block_overdue);
        set(&mut rule.max_holds, self.max_holds);
        rule.fine_per_day = self.fine_per_day.unwrap_or(rule.fine_per_day);
        rule.fine_cap = self.fine_cap.unwrap_or(rule.fine_cap);
        rule.block_fines = self.block_fines.unwrap_or(rule.block_fines);
        rule.loanable = self.loanable.unwrap_or(rule.loanable);
        rule
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn rules_merge_over_the_default() {
        let c = parse(
            "[policy.default]\nmax_loans = 8\nfine_per_day = 0.5\n\
             [[policy.rules]]\ncategory = \"reading-room\"\nitem_type = \"default\"\nloan_hours = 4\n\
             [[policy.rules]]\ncategory = \"child\"\nitem_type = \"dvd\"\nloan_days = 3\nfine_per_day = 0\n",
        );
        let rules = c.policy.resolved_rules();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            (rules[0].0.as_str(), rules[0].1.as_str()),
            ("default", "default")
        );
        let hourly = &rules[1].2;
        // Giving only hours replaces the inherited day period.
        assert_eq!(
            (hourly.loan_days, hourly.loan_hours, hourly.max_loans),
            (0, 4, 8)
        );
        let dvd = &rules[2].2;
        assert_eq!(
            (
                dvd.loan_days,
                dvd.loan_hours,
                dvd.fine_per_day_cents(),
                dvd.max_loans
            ),
            (3, 0, 0, 8)
        );
    }
}
