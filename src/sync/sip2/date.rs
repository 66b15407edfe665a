//! SIP2 dates: the 18-character `YYYYMMDDZZZZHHMMSS` form, where ZZZZ is
//! four spaces for the server's local time or `   Z` for UTC, and 18 spaces
//! means "no date". Anything else of the right length is kept verbatim
//! (some servers put a zone name such as `EST ` there), so a date never
//! makes a whole message unreadable and always re-encodes byte for byte.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use std::fmt;

/// Width of every SIP2 date, fixed or variable.
pub const DATE_LEN: usize = 18;

/// A SIP2 date as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum SipDate {
    /// 18 spaces: no date.
    #[default]
    Blank,
    /// `YYYYMMDD    HHMMSS`: the ACS's local time, zone not stated.
    Local(NaiveDateTime),
    /// `YYYYMMDD   ZHHMMSS`: UTC.
    Utc(DateTime<Utc>),
    /// 18 characters that are neither: kept as they came.
    Other(String),
}

/// Why a date could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("a SIP2 date has 18 characters, {text:?} has {len}")]
    Length { text: String, len: usize },
    #[error("year {0} does not fit the 4 digits of a SIP2 date")]
    Year(i32),
}

impl SipDate {
    /// Reads an 18-character date. Only a wrong length is an error: a
    /// date that is not one of the standard forms becomes `Other`.
    pub fn parse(text: &str) -> Result<SipDate, DateError> {
        let len = text.chars().count();
        if len != DATE_LEN {
            return Err(DateError::Length {
                text: text.to_string(),
                len,
            });
        }
        if text.chars().all(|c| c == ' ') {
            return Ok(SipDate::Blank);
        }
        let b = text.as_bytes();
        // Length 18 in characters and 18 in bytes: all ASCII.
        let standard = b.len() == DATE_LEN
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[12..].iter().all(u8::is_ascii_digit);
        let at = standard.then(|| naive(b)).flatten();
        Ok(match (at, &b[8..12]) {
            (Some(at), b"    ") => SipDate::Local(at),
            (Some(at), b"   Z") => SipDate::Utc(at.and_utc()),
            _ => SipDate::Other(text.to_string()),
        })
    }

    /// The 18 characters on the wire.
    pub fn format(&self) -> Result<String, DateError> {
        match self {
            SipDate::Blank => Ok(" ".repeat(DATE_LEN)),
            SipDate::Local(at) => digits(at, "    "),
            SipDate::Utc(at) => digits(&at.naive_utc(), "   Z"),
            SipDate::Other(text) => {
                let len = text.chars().count();
                if len == DATE_LEN {
                    Ok(text.clone())
                } else {
                    Err(DateError::Length {
                        text: text.clone(),
                        len,
                    })
                }
            }
        }
    }

    /// Local form of a time, seconds kept, fractions dropped.
    pub fn local(at: NaiveDateTime) -> SipDate {
        SipDate::Local(at.with_nanosecond(0).unwrap_or(at))
    }

    /// UTC form of a time, seconds kept, fractions dropped.
    pub fn utc(at: DateTime<Utc>) -> SipDate {
        SipDate::Utc(at.with_nanosecond(0).unwrap_or(at))
    }

    /// The wall-clock time written, whatever the zone (none for blank or
    /// non-standard dates).
    pub fn naive(&self) -> Option<NaiveDateTime> {
        match self {
            SipDate::Local(at) => Some(*at),
            SipDate::Utc(at) => Some(at.naive_utc()),
            SipDate::Blank | SipDate::Other(_) => None,
        }
    }

    pub fn is_blank(&self) -> bool {
        matches!(self, SipDate::Blank)
    }
}

fn naive(b: &[u8]) -> Option<NaiveDateTime> {
    let n = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let year = i32::try_from(n(0..4)).ok()?;
    NaiveDate::from_ymd_opt(year, n(4..6), n(6..8))?.and_hms_opt(n(12..14), n(14..16), n(16..18))
}

fn digits(at: &NaiveDateTime, zone: &str) -> Result<String, DateError> {
    if !(0..=9999).contains(&at.year()) {
        return Err(DateError::Year(at.year()));
    }
    Ok(format!(
        "{:04}{:02}{:02}{zone}{:02}{:02}{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

impl fmt::Display for SipDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format() {
            Ok(s) => f.write_str(&s),
            Err(e) => write!(f, "<{e}>"),
        }
    }
}

impl serde::Serialize for SipDate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .unwrap()
            .and_hms_opt(h, mi, s)
            .unwrap()
    }

    #[test]
    fn local_utc_blank_and_other() {
        assert_eq!(
            SipDate::parse("20260301    093005").unwrap(),
            SipDate::Local(at(2026, 3, 1, 9, 30, 5))
        );
        assert_eq!(
            SipDate::parse("20260301   Z093005").unwrap(),
            SipDate::Utc(Utc.with_ymd_and_hms(2026, 3, 1, 9, 30, 5).unwrap())
        );
        assert_eq!(SipDate::parse(&" ".repeat(18)).unwrap(), SipDate::Blank);
        for odd in [
            "20260301EST 093005",
            "20261301    093005",
            "2026030A    093005",
        ] {
            assert_eq!(SipDate::parse(odd).unwrap(), SipDate::Other(odd.into()));
        }
        assert!(SipDate::parse("20260301 093005").is_err());
    }

    #[test]
    fn formats_exactly() {
        for text in [
            "20260301    093005",
            "00010101   Z000000",
            "99991231    235959",
            "                  ",
            "19980821EST 085721",
        ] {
            assert_eq!(SipDate::parse(text).unwrap().format().unwrap(), text);
        }
        assert!(SipDate::Other("short".into()).format().is_err());
        assert!(SipDate::Local(at(10000, 1, 1, 0, 0, 0)).format().is_err());
    }

    #[test]
    fn fractions_are_dropped() {
        let t = at(2026, 1, 2, 3, 4, 5).with_nanosecond(123).unwrap();
        assert_eq!(SipDate::local(t).format().unwrap(), "20260102    030405");
    }
}
