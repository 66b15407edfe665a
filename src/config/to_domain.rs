//! The configuration in the domain's types. Kept here so that the rest of
//! the crate never has to know how a kiosk.toml value maps onto a domain
//! value (money in units vs cents, lengths as u32 vs usize).
//!
//! May use: `domain`; in this room, the section types.

use super::{BarcodeMode, CodeSection, Config, Rule};
use crate::domain::barcode::{BarcodeRules, CodeRules, ValidationMode};
use crate::domain::{Calendar, Lang};
use chrono::NaiveDate;

impl Rule {
    /// This rule as the circulation engine stores it (money in cents).
    pub fn to_domain(&self) -> crate::domain::Rule {
        crate::domain::Rule {
            loan_days: self.loan_days,
            loan_hours: self.loan_hours,
            max_loans: self.max_loans,
            max_renewals: self.max_renewals,
            renewal_days: self.renewal_days,
            fine_per_day: self.fine_per_day_cents(),
            fine_cap: self.fine_cap_cents(),
            block_fines: self.block_fines_cents(),
            block_overdue: self.block_overdue,
            max_holds: self.max_holds,
            loanable: self.loanable,
        }
    }
}

/// Policy rows, kiosk-wide settings and holidays, as `Store::configure`
/// takes them.
pub fn circulation(
    config: &Config,
) -> (
    Vec<(String, String, crate::domain::Rule)>,
    crate::domain::Settings,
    Vec<NaiveDate>,
) {
    let p = &config.policy;
    let rows = p
        .resolved_rules()
        .into_iter()
        .map(|(category, item_type, rule)| (category, item_type, rule.to_domain()))
        .collect();
    let settings = crate::domain::Settings {
        calendar: Calendar::new(
            p.closed_weekdays.iter().copied(),
            p.holidays.iter().copied(),
        ),
        charge_closed_days: p.charge_closed_days,
        hold_pickup_days: p.hold_pickup_days,
        require_pin: p.require_pin,
        pin_attempts: p.pin_attempts,
        pin_lock_minutes: p.pin_lock_minutes,
        sort_bins: p.sort_bins.clone(),
    };
    (rows, settings, p.holidays.clone())
}

/// The language shown before a reader picks one.
pub fn default_lang(config: &Config) -> Lang {
    config.kiosk.default_language()
}

/// The `[barcode]` section as the barcode checker takes it.
pub fn barcode_rules(config: &Config) -> BarcodeRules {
    let codes = |c: &CodeSection| CodeRules {
        lengths: c.lengths.iter().map(|&l| l as usize).collect(),
        prefixes: c.prefixes.clone(),
        codabar_check: c.codabar_check,
    };
    BarcodeRules {
        mode: match config.barcode.mode {
            BarcodeMode::Off => ValidationMode::Off,
            BarcodeMode::Warn => ValidationMode::Warn,
            BarcodeMode::Reject => ValidationMode::Reject,
        },
        patron: codes(&config.barcode.patron),
        item: codes(&config.barcode.item),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use chrono::Weekday;

    #[test]
    fn adapters_match_the_domain_defaults() {
        let c = Config::default();
        let (rows, settings, holidays) = circulation(&c);
        assert_eq!(
            rows,
            [(
                "default".to_string(),
                "default".to_string(),
                crate::domain::Rule::default()
            )]
        );
        let domain_default = crate::domain::Settings::default();
        assert_eq!(
            (
                settings.hold_pickup_days,
                settings.pin_attempts,
                settings.pin_lock_minutes,
                &settings.sort_bins
            ),
            (
                domain_default.hold_pickup_days,
                domain_default.pin_attempts,
                domain_default.pin_lock_minutes,
                &domain_default.sort_bins
            )
        );
        assert_eq!(settings.calendar, Calendar::new([Weekday::Sun], []));
        assert!(holidays.is_empty());
        assert_eq!(barcode_rules(&c), BarcodeRules::default());
        assert_eq!(default_lang(&c), Lang::ZhCn);
    }

    #[test]
    fn adapters_carry_the_configured_values() {
        let c = parse(
            "[kiosk]\nlanguages = [\"en\"]\n[policy]\nholidays = [\"2026-12-07\"]\n\
             [policy.default]\nfine_per_day = 0.5\n[[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\nmax_loans = 1\n\
             [barcode]\nmode = \"reject\"\n[barcode.item]\nlengths = [10, 13]\n",
        );
        let (rows, settings, holidays) = circulation(&c);
        assert_eq!(rows[0].2.fine_per_day, 50);
        assert_eq!(
            (
                rows[1].0.as_str(),
                rows[1].2.max_loans,
                rows[1].2.fine_per_day
            ),
            ("child", 1, 50)
        );
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(holidays, [day]);
        assert!(!settings.calendar.is_open(day));
        let rules = barcode_rules(&c);
        assert_eq!(rules.mode, ValidationMode::Reject);
        assert_eq!(rules.item.lengths, [10, 13]);
        assert_eq!(default_lang(&c), Lang::En);
    }
}
