//! Value readers with messages a librarian can act on: integers and money
//! in a range, one of two values, weekdays and dates, the barcode tables
//! with their own defaults. Out-of-range and wrong-type errors say only
//! "expected ..."; `error` adds "found ..." with the value as written.
//!
//! May use: no other room; in this room, `sections` (the barcode tables
//! it fills).

use super::sections::CodeSection;
use chrono::{NaiveDate, Weekday};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serializer};
use std::fmt;

struct IntIn {
    min: i64,
    max: i64,
}

impl IntIn {
    fn err<E: de::Error>(&self) -> E {
        E::custom(format_args!(
            "expected an integer from {} to {}",
            self.min, self.max
        ))
    }
}

impl Visitor<'_> for IntIn {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer from {} to {}", self.min, self.max)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        if (self.min..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(self.err())
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v)
            .map_err(|_| self.err())
            .and_then(|v| self.visit_i64(v))
    }
}

pub(super) fn int_in<'de, D, T, const MIN: i64, const MAX: i64>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let range = IntIn { min: MIN, max: MAX };
    let v = d.deserialize_any(IntIn { min: MIN, max: MAX })?;
    T::try_from(v).map_err(|_| range.err())
}

pub(super) fn opt_int_in<'de, D, T, const MIN: i64, const MAX: i64>(
    d: D,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    int_in::<D, T, MIN, MAX>(d).map(Some)
}

/// An integer checked while deserializing a list (barcode lengths).
struct Ranged<const MIN: i64, const MAX: i64>(i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Ranged<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntIn { min: MIN, max: MAX }).map(Ranged)
    }
}

pub(super) fn either<'de, D: Deserializer<'de>, const A: i64, const B: i64>(
    d: D,
) -> Result<u8, D::Error> {
    struct Either(i64, i64);
    impl Visitor<'_> for Either {
        type Value = u8;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} or {}", self.0, self.1)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u8, E> {
            if v == self.0 || v == self.1 {
                Ok(v as u8)
            } else {
                Err(E::custom(format_args!("expected {} or {}", self.0, self.1)))
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u8, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(-1))
        }
    }
    d.deserialize_any(Either(A, B))
}

/// Money in currency units: 0..=MAX and a whole number of cents, so that
/// converting to integer cents never rounds away a configured amount.
struct Money(i64);

impl Visitor<'_> for Money {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an amount from 0 to {}", self.0)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        if !(0.0..=self.0 as f64).contains(&v) {
            return Err(E::custom(format_args!(
                "expected an amount from 0 to {}",
                self.0
            )));
        }
        let hundredths = v * 100.0;
        if (hundredths - hundredths.round()).abs() > 1e-6 {
            return Err(E::custom(
                "expected an amount in whole cents (at most 2 decimal places)",
            ));
        }
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
}

pub(super) fn money_in<'de, D: Deserializer<'de>, const MAX: i64>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(Money(MAX))
}

pub(super) fn opt_money_in<'de, D: Deserializer<'de>, const MAX: i64>(
    d: D,
) -> Result<Option<f64>, D::Error> {
    money_in::<D, MAX>(d).map(Some)
}

/// A list element parsed from a string by a fixed function, e.g. weekdays.
struct Parsed<T> {
    what: &'static str,
    parse: fn(&str) -> Option<T>,
}

impl<T> Visitor<'_> for Parsed<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).ok_or_else(|| E::custom(format_args!("expected {}", self.what)))
    }
}

/// `closed_weekdays` as "mon" .. "sun".
pub(super) mod weekdays {
    use super::*;

    const NAMES: [(&str, Weekday); 7] = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];

    struct Day(Weekday);

    impl<'de> Deserialize<'de> for Day {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Parsed {
                what: "one of: mon, tue, wed, thu, fri, sat, sun",
                parse: |s| NAMES.iter().find(|(n, _)| *n == s).map(|(_, w)| *w),
            })
            .map(Day)
        }
    }

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        let name = |w: &Weekday| NAMES.iter().find(|(_, d)| d == w).map_or("?", |(n, _)| *n);
        s.collect_seq(days.iter().map(name))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Ok(Vec::<Day>::deserialize(d)?
            .into_iter()
            .map(|d| d.0)
            .collect())
    }
}

/// `holidays` as "YYYY-MM-DD".
pub(super) mod dates {
    use super::*;

    struct Date(NaiveDate);

    impl<'de> Deserialize<'de> for Date {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Parsed {
                what: "a date written YYYY-MM-DD",
                // The length check rejects chrono's lenient forms like 2025-1-1.
                parse: |s| {
                    (s.len() == 10).then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())?
                },
            })
            .map(Date)
        }
    }

    pub fn serialize<S: Serializer>(days: &[NaiveDate], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(days.iter().map(|d| d.format("%Y-%m-%d").to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
        Ok(Vec::<Date>::deserialize(d)?
            .into_iter()
            .map(|d| d.0)
            .collect())
    }
}

/// What `[barcode.patron]` / `[barcode.item]` may contain, before the
/// table-specific defaults are filled in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeSectionInput {
    #[serde(default, deserialize_with = "opt_lengths")]
    lengths: Option<Vec<u32>>,
    prefixes: Option<Vec<String>>,
    codabar_check: Option<bool>,
}

fn codes_with_defaults<'de, D: Deserializer<'de>>(
    d: D,
    defaults: CodeSection,
) -> Result<CodeSection, D::Error> {
    let input = CodeSectionInput::deserialize(d)?;
    Ok(CodeSection {
        lengths: input.lengths.unwrap_or(defaults.lengths),
        prefixes: input.prefixes.unwrap_or(defaults.prefixes),
        codabar_check: input.codabar_check.unwrap_or(defaults.codabar_check),
    })
}

pub(super) fn patron_codes<'de, D: Deserializer<'de>>(d: D) -> Result<CodeSection, D::Error> {
    codes_with_defaults(d, CodeSection::with_prefix("2"))
}

pub(super) fn item_codes<'de, D: Deserializer<'de>>(d: D) -> Result<CodeSection, D::Error> {
    codes_with_defaults(d, CodeSection::with_prefix("3"))
}

fn opt_lengths<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u32>>, D::Error> {
    let v = Vec::<Ranged<1, 64>>::deserialize(d)?;
    Ok(Some(v.into_iter().map(|r| r.0 as u32).collect()))
}

/// Holidays may be written as TOML dates (2025-01-01) or strings
/// ("2025-01-01"); both reach the date parser as text.
pub(super) fn normalize_dates(raw: &mut toml::Value) {
    let holidays = raw
        .get_mut("policy")
        .and_then(|p| p.get_mut("holidays"))
        .and_then(toml::Value::as_array_mut);
    for value in holidays.into_iter().flatten() {
        if let toml::Value::Datetime(dt) = value {
            *value = toml::Value::String(dt.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use chrono::{NaiveDate, Weekday};

    #[test]
    fn bad_weekday() {
        let text = "[policy]\nclosed_weekdays = [\n  \"sat\",\n  \"sunday\",\n]\n";
        assert_at(
            &err(text),
            4,
            "policy.closed_weekdays[1]",
            "expected one of: mon, tue, wed, thu, fri, sat, sun, found \"sunday\"",
        );
        let c = parse("[policy]\nclosed_weekdays = [\"sat\", \"sun\"]\n");
        assert_eq!(c.policy.closed_weekdays, [Weekday::Sat, Weekday::Sun]);
    }

    #[test]
    fn holidays_as_strings_or_dates() {
        let c = parse("[policy]\nholidays = [\"2025-01-01\", 2025-10-01]\n");
        let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
        assert_eq!(c.policy.holidays, [d(1, 1), d(10, 1)]);
        assert_at(
            &err("[policy]\nholidays = [\"2025-01-01\", \"2025-13-01\"]\n"),
            2,
            "policy.holidays[1]",
            "expected a date written YYYY-MM-DD",
        );
        assert_at(
            &err("[policy]\nholidays = [\"2025-1-1\"]\n"),
            2,
            "policy.holidays[0]",
            "YYYY-MM-DD",
        );
    }

    #[test]
    fn bad_money_precision() {
        let text = "[[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\nfine_per_day = 0.105\n";
        assert_eq!(
            err(text).to_string(),
            "kiosk.toml:4: key policy.rules[0].fine_per_day: expected an amount in whole cents (at most 2 decimal places), found 0.105"
        );
        assert_at(
            &err("[policy.default]\nfine_cap = 100000.01\n"),
            2,
            "policy.default.fine_cap",
            "from 0 to 100000",
        );
        assert_at(
            &err("[policy.default]\nblock_fines = -1\n"),
            2,
            "policy.default.block_fines",
            "found -1",
        );
        let c = parse("[policy.default]\nfine_per_day = 0.3\nfine_cap = 5\nblock_fines = 19.99\n");
        let r = &c.policy.default;
        assert_eq!(
            (
                r.fine_per_day_cents(),
                r.fine_cap_cents(),
                r.block_fines_cents()
            ),
            (30, 500, 1999)
        );
    }

    #[test]
    fn barcode_tables_keep_their_own_defaults() {
        let c = parse("[barcode.item]\nlengths = [13, 14]\n[barcode.patron]\nprefixes = []\n");
        assert_eq!(c.barcode.item.prefixes, ["3"]);
        assert_eq!(c.barcode.item.lengths, [13, 14]);
        assert!(c.barcode.patron.prefixes.is_empty());
        assert_eq!(c.barcode.patron.lengths, [14]);
    }
}
