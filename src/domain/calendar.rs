//! Opening days and due dates.
//!
//! A due date never falls on a day the library is closed, and overdue days
//! may skip closed days too (a reader cannot return a book to a locked door).
//! Pure: the caller supplies the closed days and the time.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use serde::{Serialize, Serializer};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

/// Closed weekdays plus closed dates (holidays).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    pub closed_weekdays: BTreeSet<u8>, // 0 = Monday … 6 = Sunday
    pub closed_days: BTreeSet<NaiveDate>,
}

/// How far ahead we look for an open day before giving up: a library closed
/// for more than a year is configured wrongly, and we must not loop forever.
const MAX_SEARCH_DAYS: i64 = 400;

impl Calendar {
    pub fn new(
        closed_weekdays: impl IntoIterator<Item = Weekday>,
        closed_days: impl IntoIterator<Item = NaiveDate>,
    ) -> Calendar {
        Calendar {
            closed_weekdays: closed_weekdays
                .into_iter()
                .map(|w| w.num_days_from_monday() as u8)
                .collect(),
            closed_days: closed_days.into_iter().collect(),
        }
    }

    pub fn is_open(&self, day: NaiveDate) -> bool {
        !self
            .closed_weekdays
            .contains(&(day.weekday().num_days_from_monday() as u8))
            && !self.closed_days.contains(&day)
    }

    /// The first open day on or after `day`; `day` itself when the calendar
    /// has no open day within a year (misconfigured: better a due date on a
    /// closed day than no loan at all).
    pub fn next_open(&self, day: NaiveDate) -> NaiveDate {
        (0..MAX_SEARCH_DAYS)
            .map(|n| day + Duration::days(n))
            .find(|d| self.is_open(*d))
            .unwrap_or(day)
    }

    /// Days in (from, to] that count for fines: all of them, or only open ones.
    pub fn chargeable_days(&self, from: NaiveDate, to: NaiveDate, charge_closed: bool) -> u32 {
        if to <= from {
            return 0;
        }
        let total = (to - from).num_days();
        if charge_closed {
            return total as u32;
        }
        (1..=total)
            .filter(|n| self.is_open(from + Duration::days(*n)))
            .count() as u32
    }
}

/// When a loan is due: end of a day (day loans) or an instant (hour loans,
/// e.g. reading-room or laptop loans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Due {
    Day(NaiveDate),
    At(NaiveDateTime),
}

impl Due {
    /// The last instant at which the item is not yet overdue.
    pub fn deadline(self) -> NaiveDateTime {
        match self {
            Due::Day(d) => d.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("valid time")),
            Due::At(t) => t,
        }
    }

    pub fn date(self) -> NaiveDate {
        match self {
            Due::Day(d) => d,
            Due::At(t) => t.date(),
        }
    }

    pub fn is_overdue(self, now: NaiveDateTime) -> bool {
        now > self.deadline()
    }

    /// Overdue days that count for fines. Day loans count calendar days
    /// after the due date; hour loans count each started 24 hours.
    pub fn overdue_days(self, now: NaiveDateTime, calendar: &Calendar, charge_closed: bool) -> u32 {
        if !self.is_overdue(now) {
            return 0;
        }
        match self {
            Due::Day(d) => calendar.chargeable_days(d, now.date(), charge_closed),
            Due::At(t) => {
                let minutes = (now - t).num_minutes().max(1);
                ((minutes + 24 * 60 - 1) / (24 * 60)) as u32
            }
        }
    }

    /// Parses what `Display` writes: `2026-12-06` or `2026-12-06T15:30`.
    pub fn parse(text: &str) -> Option<Due> {
        if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Some(Due::Day(d));
        }
        ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
            .map(Due::At)
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        self.deadline().cmp(&other.deadline())
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Due {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Due::Day(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Due::At(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M")),
        }
    }
}

impl Serialize for Due {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn next_open_skips_weekly_and_holidays() {
        // 2026-12-06 is a Sunday; 2026-12-07 a holiday in this calendar.
        let cal = Calendar::new([Weekday::Sun], [d("2026-12-07")]);
        assert!(!cal.is_open(d("2026-12-06")));
        assert_eq!(cal.next_open(d("2026-12-06")), d("2026-12-08"));
        assert_eq!(cal.next_open(d("2026-12-05")), d("2026-12-05"));
    }

    #[test]
    fn next_open_gives_up_on_an_always_closed_calendar() {
        use Weekday::*;
        let cal = Calendar::new([Mon, Tue, Wed, Thu, Fri, Sat, Sun], []);
        assert_eq!(cal.next_open(d("2026-12-06")), d("2026-12-06"));
    }

    #[test]
    fn chargeable_days_skip_closed_days_unless_asked() {
        let cal = Calendar::new([Weekday::Sun], []);
        // Sat 5th due; now Tue 8th: Sun 6 (closed), Mon 7, Tue 8.
        assert_eq!(
            cal.chargeable_days(d("2026-12-05"), d("2026-12-08"), false),
            2
        );
        assert_eq!(
            cal.chargeable_days(d("2026-12-05"), d("2026-12-08"), true),
            3
        );
        assert_eq!(
            cal.chargeable_days(d("2026-12-08"), d("2026-12-05"), true),
            0
        );
    }

    #[test]
    fn day_due_is_not_overdue_until_the_day_is_over() {
        let due = Due::Day(d("2026-12-05"));
        assert!(!due.is_overdue(t("2026-12-05 23:59")));
        assert!(due.is_overdue(t("2026-12-06 00:00")));
        let cal = Calendar::default();
        assert_eq!(due.overdue_days(t("2026-12-05 12:00"), &cal, true), 0);
        assert_eq!(due.overdue_days(t("2026-12-06 08:00"), &cal, true), 1);
        assert_eq!(due.overdue_days(t("2026-12-15 08:00"), &cal, true), 10);
    }

    #[test]
    fn hour_due_counts_started_days() {
        let due = Due::At(t("2026-12-05 15:00"));
        let cal = Calendar::default();
        assert!(!due.is_overdue(t("2026-12-05 15:00")));
        assert_eq!(due.overdue_days(t("2026-12-05 15:01"), &cal, false), 1);
        assert_eq!(due.overdue_days(t("2026-12-06 15:00"), &cal, false), 1);
        assert_eq!(due.overdue_days(t("2026-12-06 15:01"), &cal, false), 2);
    }

    #[test]
    fn due_round_trips_through_text_and_orders_by_deadline() {
        for s in ["2026-12-06", "2026-12-06T15:30"] {
            assert_eq!(Due::parse(s).unwrap().to_string(), s);
        }
        assert!(Due::parse("06/12/2026").is_none());
        assert!(Due::At(t("2026-12-06 15:30")) < Due::Day(d("2026-12-06")));
        assert!(Due::Day(d("2026-12-06")) < Due::At(t("2026-12-07 00:00")));
        assert_eq!(
            serde_json::to_string(&Due::Day(d("2026-12-06"))).unwrap(),
            "\"2026-12-06\""
        );
    }
}
