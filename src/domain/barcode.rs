//! Library barcodes: cleaning up what a scanner sends, check digits
//! (14-digit Codabar library numbers, EAN-13, ISBN-10/13), telling patron
//! cards from item labels and books, and deciding what the kiosk does with a
//! code that fails the library's configured rules.
//!
//! This module must never do IO, read a clock or panic on any input: it is
//! fed raw scanner bytes (already decoded to text) and must stay a pure,
//! table-testable function of its arguments.

use serde::{Deserialize, Serialize};

/// How strictly the kiosk enforces the configured barcode rules.
///
/// Configurable per library because some libraries print numbers that do not
/// validate, and refusing a real card at the kiosk is worse than a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationMode {
    Off,
    Warn,
    Reject,
}

/// The shape one kind of library barcode (patron or item) must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRules {
    /// Allowed lengths in characters; empty means any length.
    pub lengths: Vec<usize>,
    /// Allowed prefixes; empty means any prefix.
    pub prefixes: Vec<String>,
    /// Whether the last digit is the library mod-10 check digit. The rule of
    /// protocols.md §1 is the Luhn rule, so it is applied to the whole code
    /// whatever its length (for 14 digits it is exactly the library rule).
    pub codabar_check: bool,
}

/// The library's barcode configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarcodeRules {
    pub mode: ValidationMode,
    pub patron: CodeRules,
    pub item: CodeRules,
}

impl Default for BarcodeRules {
    /// The common 14-digit Codabar layout (type digit 2 = patron, 3 = item),
    /// in warn mode so an unusual local numbering never locks readers out.
    fn default() -> Self {
        BarcodeRules {
            mode: ValidationMode::Warn,
            patron: CodeRules {
                lengths: vec![14],
                prefixes: vec!["2".to_string()],
                codabar_check: true,
            },
            item: CodeRules {
                lengths: vec![14],
                prefixes: vec!["3".to_string()],
                codabar_check: true,
            },
        }
    }
}

/// What a scanned code appears to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BarcodeKind {
    Patron,
    Item,
    Isbn,
    Ean13,
    Unknown,
}

/// The result of [`check`]: the raw input, its normalized form, what it
/// appears to be and whether it passed that kind's checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BarcodeCheck {
    pub input: String,
    pub normalized: String,
    pub kind: BarcodeKind,
    pub valid: bool,
}

/// What the kiosk does with a scanned code, see [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// Carry on, but log this plain-English reason.
    Warn(String),
    /// Refuse the code; the plain-English reason is for the log.
    Reject(String),
}

/// Codabar start/stop characters; scanners may be set to transmit them.
fn is_codabar_guard(c: char) -> bool {
    matches!(c, 'A'..='D' | 'a'..='d')
}

/// Cleans up a scanned code so that the same printed barcode always gives
/// the same string, whatever the scanner's prefix/suffix settings:
///
/// - trims whitespace and control characters (CR/LF/TAB suffixes) at both ends;
/// - strips Codabar start/stop characters A–D (either case) when the code is
///   digits wrapped in them (`A21234567890124B` → `21234567890124`);
/// - drops hyphens/spaces inside an ISBN-looking code (`0-306-40615-2`);
/// - uppercases a trailing ISBN-10 `x`.
///
/// Idempotent: `normalize(&normalize(s)) == normalize(s)`.
pub fn normalize(input: &str) -> String {
    let trimmed = input.trim_matches(|c: char| c.is_whitespace() || c.is_control());

    if let Some(inner) = strip_codabar_guards(trimmed) {
        return inner.to_string();
    }
    if let Some(isbn) = compact_isbn(trimmed) {
        return isbn;
    }
    trimmed.to_string()
}

/// The digits between a leading and trailing A–D, if that is all there is.
fn strip_codabar_guards(s: &str) -> Option<&str> {
    let mut chars = s.chars();
    let first = chars.next()?;
    let last = chars.next_back()?;
    let inner = chars.as_str();
    let wrapped = is_codabar_guard(first)
        && is_codabar_guard(last)
        && !inner.is_empty()
        && inner.bytes().all(|b| b.is_ascii_digit());
    wrapped.then_some(inner)
}

/// The ISBN with separators removed and a final `x` uppercased, if `s` has
/// the shape of an ISBN-10 (9 digits + digit/X) or ISBN-13 (978/979 + 10
/// digits) once hyphens and spaces are ignored. Only the shape is looked at:
/// the check digit is judged later, so a mistyped ISBN still reads as one.
fn compact_isbn(s: &str) -> Option<String> {
    let is_sep = |c: char| c == '-' || c == ' ';
    // Separators only make sense between groups, not at the ends.
    if s.starts_with(is_sep) || s.ends_with(is_sep) {
        return None;
    }
    // Cheap bound so a huge scan is not copied just to be rejected.
    if s.len() > 40
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || c == 'x' || c == 'X' || is_sep(c))
    {
        return None;
    }
    let compact: String = s.chars().filter(|&c| !is_sep(c)).collect();
    let bytes = compact.as_bytes();
    let digits_then = |n: usize| bytes[..n].iter().all(u8::is_ascii_digit);
    match bytes.len() {
        10 if digits_then(9) => Some(compact.to_ascii_uppercase()),
        13 if digits_then(13) && (compact.starts_with("978") || compact.starts_with("979")) => {
            Some(compact)
        }
        _ => None,
    }
}

/// Luhn check digit for a body of any length: doubling starts with the digit
/// next to the check digit. For a 13-digit body this is exactly the library
/// rule "double positions 1, 3, …, 13", and it lets `codabar_check` also
/// work for libraries whose numbers are not 14 digits long.
fn luhn_check_digit(body: &str) -> Option<u8> {
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Reduce mod 10 as we go so very long inputs cannot overflow.
    let sum = body.bytes().rev().enumerate().fold(0u32, |acc, (i, b)| {
        let d = u32::from(b - b'0');
        let v = if i % 2 == 0 {
            let twice = d * 2;
            if twice > 9 {
                twice - 9
            } else {
                twice
            }
        } else {
            d
        };
        (acc + v) % 10
    });
    Some(((10 - sum) % 10) as u8)
}

/// Whether the last character of `code` is the Luhn check digit of the rest.
fn luhn_valid(code: &str) -> bool {
    match code.len().checked_sub(1) {
        Some(n) if n > 0 && code.is_char_boundary(n) => {
            let (body, last) = code.split_at(n);
            luhn_check_digit(body).is_some_and(|d| last.as_bytes() == [b'0' + d])
        }
        _ => false,
    }
}

/// The check digit of a 14-digit library barcode from its first 13 digits:
/// double the digits in odd positions (1-based, subtracting 9 from results
/// over 9), add the even-position digits, check = (10 − sum mod 10) mod 10.
/// `None` unless `first13` is exactly 13 ASCII digits.
pub fn codabar_check_digit(first13: &str) -> Option<u8> {
    if first13.len() != 13 {
        return None;
    }
    luhn_check_digit(first13)
}

/// Whether `code` is exactly 14 ASCII digits ending in the right library
/// check digit. Expects a normalized code (no start/stop characters).
pub fn is_valid_codabar14(code: &str) -> bool {
    code.len() == 14 && luhn_valid(code)
}

/// The EAN-13 check digit from the first 12 digits (weights 1, 3, 1, 3, …
/// from the left). `None` unless `first12` is exactly 12 ASCII digits.
pub fn ean13_check_digit(first12: &str) -> Option<u8> {
    if first12.len() != 12 {
        return None;
    }
    if !first12.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first12
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                d
            } else {
                d * 3
            }
        })
        .sum();
    Some(((10 - sum % 10) % 10) as u8)
}

/// Whether `code` is exactly 13 ASCII digits with a correct EAN-13 check
/// digit (every ISBN-13 is one). Expects a normalized code.
pub fn is_valid_ean13(code: &str) -> bool {
    if code.len() != 13 || !code.is_char_boundary(12) {
        return false;
    }
    let (body, last) = code.split_at(12);
    ean13_check_digit(body).is_some_and(|d| last.as_bytes() == [b'0' + d])
}

/// Whether `code` is a valid ISBN-10: 9 digits then a digit or `X` (= 10;
/// lowercase accepted too), weights 10..1, sum divisible by 11. Expects a
/// normalized code (no hyphens).
pub fn is_valid_isbn10(code: &str) -> bool {
    let bytes = code.as_bytes();
    if bytes.len() != 10 {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'X' | b'x' if i == 9 => 10,
            _ => return false,
        };
        sum += v * (10 - i as u32);
    }
    sum % 11 == 0
}

/// The ISBN-13 (978 prefix) of a valid ISBN-10, or `None` if it is not one.
/// Expects a normalized code (no hyphens).
pub fn isbn10_to_isbn13(code: &str) -> Option<String> {
    if !is_valid_isbn10(code) {
        return None;
    }
    let body = format!("978{}", &code[..9]);
    let check = ean13_check_digit(&body)?;
    Some(format!("{body}{check}"))
}

/// Book or retail codes: a valid ISBN-13/ISBN-10, or another valid EAN-13.
fn looks_like_book_or_product(code: &str) -> Option<BarcodeKind> {
    if is_valid_ean13(code) {
        if code.starts_with("978") || code.starts_with("979") {
            Some(BarcodeKind::Isbn)
        } else {
            Some(BarcodeKind::Ean13)
        }
    } else if is_valid_isbn10(code) {
        Some(BarcodeKind::Isbn)
    } else {
        None
    }
}

/// How a code fares against one [`CodeRules`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum RuleFit {
    /// Length, prefix and (if enabled) check digit all fine.
    Pass,
    /// Length and prefix fine, check digit wrong or not computable.
    BadCheck(String),
    /// Wrong length or prefix.
    WrongShape(String),
}

fn fit(code: &str, rules: &CodeRules) -> RuleFit {
    let len = code.chars().count();
    if !rules.lengths.is_empty() && !rules.lengths.contains(&len) {
        return RuleFit::WrongShape(format!(
            "has {len} characters but {} expected",
            join_or(rules.lengths.iter().map(|l| l.to_string()))
        ));
    }
    if !rules.prefixes.is_empty() && !rules.prefixes.iter().any(|p| code.starts_with(p.as_str())) {
        return RuleFit::WrongShape(format!(
            "does not start with {}",
            join_or(rules.prefixes.iter().map(|p| format!("\"{p}\"")))
        ));
    }
    if rules.codabar_check && !luhn_valid(code) {
        let reason = if code.bytes().all(|b| b.is_ascii_digit()) && len >= 2 {
            "fails its check digit".to_string()
        } else {
            "cannot carry a check digit (it must be all digits, at least two)".to_string()
        };
        return RuleFit::BadCheck(reason);
    }
    RuleFit::Pass
}

/// "a, b or c" for reasons a person reads in the log.
fn join_or(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A rule that passes *and* names this code's length explicitly is the
/// library telling us what its numbers look like: that outranks the guess
/// that a 10- or 13-digit number with a lucky check digit is a book
/// (1 in 10 EAN-13s and 1 in 11 ISBN-10s pass by chance).
fn explicitly_fits(code: &str, rules: &CodeRules) -> bool {
    !rules.lengths.is_empty() && fit(code, rules) == RuleFit::Pass
}

/// Which of patron/item to prefer when a code fits both rule sets equally.
fn tie_break(code: &str, rules: &BarcodeRules) -> BarcodeKind {
    // The type digit of a 14-digit library number.
    if code.len() == 14 && code.bytes().all(|b| b.is_ascii_digit()) {
        match code.as_bytes()[0] {
            b'2' => return BarcodeKind::Patron,
            b'3' => return BarcodeKind::Item,
            _ => {}
        }
    }
    // Otherwise the rule that asked for a prefix is the more specific one.
    match (
        rules.patron.prefixes.is_empty(),
        rules.item.prefixes.is_empty(),
    ) {
        (false, true) => BarcodeKind::Patron,
        // Patron wins only when item rules don't also claim the code.
        _ => BarcodeKind::Item,
    }
}

/// Classifies a scanned code (normalizing it first):
///
/// - a valid EAN-13 starting 978/979 or a valid ISBN-10 → `Isbn`; any other
///   valid EAN-13 → `Ean13` — unless the patron or item rules list this
///   code's length explicitly and it fully passes them (see below);
/// - fits the patron rules (length, prefix, check digit if `codabar_check`)
///   → `Patron`; fits the item rules → `Item`; fits both → the 14-digit type
///   digit decides (2 patron, 3 item), then the rule with a prefix, then Item;
/// - fits a rule's length and prefix but fails its check digit → that kind
///   with `valid = false` (ties broken the same way);
/// - anything else, including empty input → `Unknown`, `valid = false`.
///
/// Why explicit lengths outrank the book/product guess: a library whose own
/// numbers are 10 or 13 digits long would otherwise see about one card in
/// ten classified as a book or product, purely by check-digit luck.
///
/// Never panics, whatever the input.
pub fn check(input: &str, rules: &BarcodeRules) -> BarcodeCheck {
    let normalized = normalize(input);
    let (kind, valid) = classify(&normalized, rules);
    BarcodeCheck {
        input: input.to_string(),
        normalized,
        kind,
        valid,
    }
}

fn classify(code: &str, rules: &BarcodeRules) -> (BarcodeKind, bool) {
    if code.is_empty() {
        return (BarcodeKind::Unknown, false);
    }
    let explicit = explicitly_fits(code, &rules.patron) || explicitly_fits(code, &rules.item);
    if !explicit {
        if let Some(kind) = looks_like_book_or_product(code) {
            return (kind, true);
        }
    }
    let patron = fit(code, &rules.patron);
    let item = fit(code, &rules.item);
    use RuleFit::*;
    match (&patron, &item) {
        (Pass, Pass) => (tie_break(code, rules), true),
        (Pass, _) => (BarcodeKind::Patron, true),
        (_, Pass) => (BarcodeKind::Item, true),
        (BadCheck(_), BadCheck(_)) => (tie_break(code, rules), false),
        (BadCheck(_), _) => (BarcodeKind::Patron, false),
        (_, BadCheck(_)) => (BarcodeKind::Item, false),
        _ => (BarcodeKind::Unknown, false),
    }
}

/// What the kiosk does with a code scanned where a code of `expected` kind
/// belongs, under `rules.mode`: `Off` always accepts; otherwise a failed
/// check gives `Warn(reason)` or `Reject(reason)` and a passed one `Accept`.
///
/// For `Patron` and `Item` a failed check is: empty, wrong length or prefix,
/// or a wrong check digit when `codabar_check` is on. For `Patron`, a valid
/// ISBN/EAN also fails — unless the patron rules list its length explicitly
/// (then it is taken to be one of the library's own numbers). For `Isbn` the
/// code must be a valid ISBN-13 or ISBN-10, for `Ean13` a valid EAN-13; for
/// `Unknown` anything non-empty passes.
///
/// The type digit is never trusted alone: a code that satisfies the
/// expected kind's rules is accepted even if it looks like the other kind.
/// When it fails and [`check`] would call it something else, the reason
/// says so, so staff can see that the reader scanned the wrong thing.
///
/// Reasons never repeat the code itself: a patron number identifies a
/// person and the log is not the place for it.
pub fn validate(input: &str, expected: BarcodeKind, rules: &BarcodeRules) -> Verdict {
    if rules.mode == ValidationMode::Off {
        return Verdict::Accept;
    }
    let code = normalize(input);
    let Some(reason) = failed_check(&code, expected, rules) else {
        return Verdict::Accept;
    };
    match rules.mode {
        ValidationMode::Off => Verdict::Accept,
        ValidationMode::Warn => Verdict::Warn(reason),
        ValidationMode::Reject => Verdict::Reject(reason),
    }
}

/// How a kind is named in log reasons.
fn noun(kind: BarcodeKind) -> &'static str {
    match kind {
        BarcodeKind::Patron => "patron barcode",
        BarcodeKind::Item => "item barcode",
        BarcodeKind::Isbn => "ISBN",
        BarcodeKind::Ean13 => "EAN-13",
        BarcodeKind::Unknown => "barcode",
    }
}

/// The same, with an article, for "it looks like …".
fn described(kind: BarcodeKind) -> &'static str {
    match kind {
        BarcodeKind::Patron => "a patron barcode",
        BarcodeKind::Item => "an item barcode",
        BarcodeKind::Isbn => "a book's ISBN",
        BarcodeKind::Ean13 => "a product EAN-13",
        BarcodeKind::Unknown => "an unknown barcode",
    }
}

/// The reason `code` fails as `expected`, or `None` if it passes.
fn failed_check(code: &str, expected: BarcodeKind, rules: &BarcodeRules) -> Option<String> {
    let what = noun(expected);
    if code.is_empty() {
        return Some(format!("{what} is empty"));
    }
    let code_rules = match expected {
        BarcodeKind::Patron => &rules.patron,
        BarcodeKind::Item => &rules.item,
        BarcodeKind::Isbn => {
            let ok = looks_like_book_or_product(code) == Some(BarcodeKind::Isbn);
            return (!ok).then(|| format!("{what} is not a valid ISBN-13 or ISBN-10"));
        }
        BarcodeKind::Ean13 => {
            return (!is_valid_ean13(code)).then(|| format!("{what} is not a valid EAN-13"));
        }
        BarcodeKind::Unknown => return None,
    };
    let why = match fit(code, code_rules) {
        RuleFit::WrongShape(why) | RuleFit::BadCheck(why) => why,
        RuleFit::Pass => {
            let book = looks_like_book_or_product(code);
            return match book {
                Some(kind)
                    if expected == BarcodeKind::Patron && !explicitly_fits(code, code_rules) =>
                {
                    Some(format!("{what} is {}, not a patron card", described(kind)))
                }
                _ => None,
            };
        }
    };
    // Say what it looks like instead, the way check() would classify it.
    let (kind, valid) = classify(code, rules);
    if valid && kind != expected {
        Some(format!("{what} {why}; it looks like {}", described(kind)))
    } else {
        Some(format!("{what} {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Example codes, each verified independently with python-stdnum
    // (luhn / ean / isbn modules) and with a hand-written Python version of
    // the protocols.md §1 rule before being used here.
    const PATRON: &str = "21234567890124";
    const ITEM: &str = "31234567890122";
    const PATRON_BAD: &str = "21234567890123";
    const ITEM_BAD: &str = "31234567890121";
    const ISBN13: &str = "9780306406157";
    const ISBN13_CN: &str = "9787020002207";
    const ISBN13_979: &str = "9791000000008";
    const ISBN10: &str = "0306406152";
    const ISBN10_X: &str = "080442957X";
    const EAN: &str = "4006381333931";

    fn any_rules() -> CodeRules {
        CodeRules {
            lengths: vec![],
            prefixes: vec![],
            codabar_check: false,
        }
    }

    fn with_mode(mode: ValidationMode) -> BarcodeRules {
        BarcodeRules {
            mode,
            ..BarcodeRules::default()
        }
    }

    fn kind_valid(input: &str, rules: &BarcodeRules) -> (BarcodeKind, bool) {
        let c = check(input, rules);
        (c.kind, c.valid)
    }

    fn reason(v: Verdict) -> String {
        match v {
            Verdict::Warn(r) | Verdict::Reject(r) => r,
            Verdict::Accept => panic!("expected a failed check, got Accept"),
        }
    }

    /// The protocols.md §1 rule written out literally, as a reference for
    /// the Luhn implementation.
    fn literal_library_rule(first13: &[u8]) -> u8 {
        let mut sum = 0u32;
        for (idx, &d) in first13.iter().enumerate() {
            let pos = idx + 1;
            let d = u32::from(d);
            sum += if pos % 2 == 1 {
                if d * 2 > 9 {
                    d * 2 - 9
                } else {
                    d * 2
                }
            } else {
                d
            };
        }
        ((10 - sum % 10) % 10) as u8
    }

    // ---- defaults and serde ----

    #[test]
    fn default_rules_are_14_digit_codabar_in_warn_mode() {
        let r = BarcodeRules::default();
        assert_eq!(r.mode, ValidationMode::Warn);
        assert_eq!(r.patron.lengths, vec![14]);
        assert_eq!(r.patron.prefixes, vec!["2".to_string()]);
        assert!(r.patron.codabar_check);
        assert_eq!(r.item.lengths, vec![14]);
        assert_eq!(r.item.prefixes, vec!["3".to_string()]);
        assert!(r.item.codabar_check);
    }

    #[test]
    fn validation_mode_deserializes_from_lowercase() {
        use serde::de::value::{Error, StrDeserializer};
        use serde::de::IntoDeserializer;
        let parse = |s: &str| {
            let d: StrDeserializer<'_, Error> = s.into_deserializer();
            ValidationMode::deserialize(d)
        };
        assert_eq!(parse("off").unwrap(), ValidationMode::Off);
        assert_eq!(parse("warn").unwrap(), ValidationMode::Warn);
        assert_eq!(parse("reject").unwrap(), ValidationMode::Reject);
        assert!(parse("Warn").is_err());
        assert!(parse("strict").is_err());
    }

    // ---- normalize ----

    #[test]
    fn normalize_trims_scanner_suffixes_and_whitespace() {
        assert_eq!(normalize("21234567890124\r\n"), PATRON);
        assert_eq!(normalize("21234567890124\n"), PATRON);
        assert_eq!(normalize("21234567890124\r"), PATRON);
        assert_eq!(normalize("\t 21234567890124 \t"), PATRON);
        assert_eq!(normalize("\u{2}21234567890124\u{3}"), PATRON);
        assert_eq!(normalize("\u{0}21234567890124\u{0}"), PATRON);
        // Full-width (IME) and no-break spaces are whitespace too.
        assert_eq!(normalize("\u{3000}21234567890124\u{a0}"), PATRON);
    }

    #[test]
    fn normalize_keeps_inner_characters() {
        assert_eq!(normalize("AB 12"), "AB 12");
        assert_eq!(normalize("P-123"), "P-123");
        assert_eq!(normalize("2-1234-56789012-4"), "2-1234-56789012-4");
        assert_eq!(normalize("abcx"), "abcx");
        assert_eq!(normalize(" 条码 "), "条码");
    }

    #[test]
    fn normalize_empty_and_blank() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \r\n\t"), "");
    }

    #[test]
    fn normalize_strips_codabar_start_stop_any_letter_any_case() {
        for start in ['A', 'B', 'C', 'D', 'a', 'b', 'c', 'd'] {
            for stop in ['A', 'B', 'C', 'D', 'a', 'b', 'c', 'd'] {
                let scanned = format!("{start}{PATRON}{stop}");
                assert_eq!(normalize(&scanned), PATRON, "{scanned}");
            }
        }
        assert_eq!(normalize(" A21234567890124B\r\n"), PATRON);
        assert_eq!(normalize("A1B"), "1");
    }

    #[test]
    fn normalize_leaves_guards_unless_digits_are_wrapped() {
        assert_eq!(normalize("A21234567890124"), "A21234567890124");
        assert_eq!(normalize("21234567890124B"), "21234567890124B");
        assert_eq!(normalize("A12X4B"), "A12X4B");
        assert_eq!(normalize("A 1234 B"), "A 1234 B");
        assert_eq!(normalize("E1234E"), "E1234E");
        assert_eq!(normalize("AB"), "AB");
        assert_eq!(normalize("A"), "A");
        // Only one layer is stripped: the inner part is not all digits.
        assert_eq!(normalize("AA123BB"), "AA123BB");
    }

    #[test]
    fn normalize_compacts_isbns() {
        assert_eq!(normalize("978-0-306-40615-7"), ISBN13);
        assert_eq!(normalize("978 0 306 40615 7"), ISBN13);
        assert_eq!(normalize("979-10-00000-00-8"), ISBN13_979);
        assert_eq!(normalize("0-306-40615-2"), ISBN10);
        assert_eq!(normalize("0-8044-2957-X"), ISBN10_X);
        assert_eq!(normalize("0-8044-2957-x"), ISBN10_X);
        assert_eq!(normalize("080442957x"), ISBN10_X);
        assert_eq!(normalize(" 0-306-40615-2\r\n"), ISBN10);
        // Shape only: a mistyped ISBN is still compacted.
        assert_eq!(normalize("978-0-306-40615-8"), "9780306406158");
    }

    #[test]
    fn normalize_leaves_non_isbn_shapes_alone() {
        // 13 digits not starting 978/979 (an EAN with hyphens).
        assert_eq!(normalize("400-6381-333931"), "400-6381-333931");
        // Separators at the ends, x not at the end, wrong lengths.
        assert_eq!(normalize("-0306406152"), "-0306406152");
        assert_eq!(normalize("0306406152-"), "0306406152-");
        assert_eq!(normalize("03064x0615"), "03064x0615");
        assert_eq!(normalize("0-306-40615"), "0-306-40615");
        assert_eq!(normalize("12-34"), "12-34");
    }

    // ---- Codabar ----

    #[test]
    fn codabar_check_digit_known_values() {
        assert_eq!(codabar_check_digit("2123456789012"), Some(4));
        assert_eq!(codabar_check_digit("3123456789012"), Some(2));
        assert_eq!(codabar_check_digit("2000100000000"), Some(4));
        assert_eq!(codabar_check_digit("3000100000000"), Some(2));
        assert_eq!(codabar_check_digit("2999999999999"), Some(8));
        assert_eq!(codabar_check_digit("3941100123456"), Some(0));
        assert_eq!(codabar_check_digit("4123456789012"), Some(0));
    }

    #[test]
    fn codabar_check_digit_needs_13_ascii_digits() {
        assert_eq!(codabar_check_digit(""), None);
        assert_eq!(codabar_check_digit("212345678901"), None);
        assert_eq!(codabar_check_digit("21234567890124"), None);
        assert_eq!(codabar_check_digit("212345678901X"), None);
        assert_eq!(codabar_check_digit("２１２３４５６７８９０１２"), None);
        assert_eq!(codabar_check_digit("21234567890é"), None);
    }

    #[test]
    fn codabar14_validity() {
        for ok in [
            PATRON,
            ITEM,
            "20001000000004",
            "30001000000002",
            "29999999999998",
        ] {
            assert!(is_valid_codabar14(ok), "{ok}");
        }
        assert!(!is_valid_codabar14(PATRON_BAD));
        assert!(!is_valid_codabar14(ITEM_BAD));
        assert!(!is_valid_codabar14("2123456789012"));
        assert!(!is_valid_codabar14("212345678901244"));
        assert!(!is_valid_codabar14("A21234567890124B"));
        assert!(!is_valid_codabar14("2123456789012X"));
        assert!(!is_valid_codabar14(""));
        assert!(!is_valid_codabar14("2123456789012é"));
    }

    #[test]
    fn every_wrong_final_digit_is_rejected() {
        for d in b'0'..=b'9' {
            let code = format!("2123456789012{}", d as char);
            assert_eq!(is_valid_codabar14(&code), d == b'4', "{code}");
        }
    }

    // ---- EAN-13 / ISBN ----

    #[test]
    fn ean13_known_values() {
        assert_eq!(ean13_check_digit("978030640615"), Some(7));
        assert_eq!(ean13_check_digit("978702000220"), Some(7));
        assert_eq!(ean13_check_digit("400638133393"), Some(1));
        assert_eq!(ean13_check_digit("200000000000"), Some(8));
        assert_eq!(ean13_check_digit("97803064061"), None);
        assert_eq!(ean13_check_digit("9780306406157"), None);
        assert_eq!(ean13_check_digit("97803064061X"), None);
        assert_eq!(ean13_check_digit(""), None);
    }

    #[test]
    fn ean13_validity() {
        for ok in [ISBN13, ISBN13_CN, ISBN13_979, EAN, "2000000000008"] {
            assert!(is_valid_ean13(ok), "{ok}");
        }
        assert!(!is_valid_ean13("9780306406158"));
        assert!(!is_valid_ean13("4006381333932"));
        assert!(!is_valid_ean13("978030640615"));
        assert!(!is_valid_ean13("97803064061577"));
        assert!(!is_valid_ean13("978-0-306-40615-7"));
        assert!(!is_valid_ean13("978030640615X"));
        assert!(!is_valid_ean13("97803064061é"));
        assert!(!is_valid_ean13(""));
    }

    #[test]
    fn isbn10_validity() {
        assert!(is_valid_isbn10(ISBN10));
        assert!(is_valid_isbn10(ISBN10_X));
        assert!(is_valid_isbn10("080442957x"));
        assert!(!is_valid_isbn10("0306406153"));
        assert!(!is_valid_isbn10("0804429571"));
        assert!(!is_valid_isbn10("X306406152"));
        assert!(!is_valid_isbn10("03064X6152"));
        assert!(!is_valid_isbn10("030640615"));
        assert!(!is_valid_isbn10("03064061522"));
        assert!(!is_valid_isbn10("0-306-40615-2"));
        assert!(!is_valid_isbn10("1234567890"));
        assert!(!is_valid_isbn10(""));
        assert!(!is_valid_isbn10("030640615é"));
    }

    #[test]
    fn isbn10_converts_to_isbn13() {
        assert_eq!(isbn10_to_isbn13(ISBN10).as_deref(), Some(ISBN13));
        assert_eq!(isbn10_to_isbn13(ISBN10_X).as_deref(), Some("9780804429573"));
        assert_eq!(isbn10_to_isbn13("0306406153"), None);
        assert_eq!(isbn10_to_isbn13("0-306-40615-2"), None);
        assert_eq!(isbn10_to_isbn13(""), None);
    }

    // ---- check ----

    #[test]
    fn check_library_codes_with_default_rules() {
        let r = BarcodeRules::default();
        assert_eq!(kind_valid(PATRON, &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid(ITEM, &r), (BarcodeKind::Item, true));
        assert_eq!(kind_valid(PATRON_BAD, &r), (BarcodeKind::Patron, false));
        assert_eq!(kind_valid(ITEM_BAD, &r), (BarcodeKind::Item, false));
        // Wrong prefix or length: not a library code at all.
        assert_eq!(
            kind_valid("41234567890120", &r),
            (BarcodeKind::Unknown, false)
        );
        assert_eq!(
            kind_valid("212345678901", &r),
            (BarcodeKind::Unknown, false)
        );
        assert_eq!(
            kind_valid("212345678901244", &r),
            (BarcodeKind::Unknown, false)
        );
    }

    #[test]
    fn check_reports_input_and_normalized_form() {
        let c = check("A21234567890124B\r\n", &BarcodeRules::default());
        assert_eq!(
            c,
            BarcodeCheck {
                input: "A21234567890124B\r\n".to_string(),
                normalized: PATRON.to_string(),
                kind: BarcodeKind::Patron,
                valid: true,
            }
        );
    }

    #[test]
    fn check_books_and_products() {
        let r = BarcodeRules::default();
        assert_eq!(
            kind_valid("978-0-306-40615-7", &r),
            (BarcodeKind::Isbn, true)
        );
        assert_eq!(kind_valid(ISBN13_CN, &r), (BarcodeKind::Isbn, true));
        assert_eq!(kind_valid(ISBN13_979, &r), (BarcodeKind::Isbn, true));
        assert_eq!(kind_valid("0-306-40615-2", &r), (BarcodeKind::Isbn, true));
        assert_eq!(kind_valid("0-8044-2957-x", &r), (BarcodeKind::Isbn, true));
        assert_eq!(kind_valid(EAN, &r), (BarcodeKind::Ean13, true));
        assert_eq!(
            kind_valid("9780306406158", &r),
            (BarcodeKind::Unknown, false)
        );
        assert_eq!(
            kind_valid("4006381333932", &r),
            (BarcodeKind::Unknown, false)
        );
        assert_eq!(kind_valid("0306406153", &r), (BarcodeKind::Unknown, false));
    }

    #[test]
    fn check_empty_and_junk_is_unknown() {
        let r = BarcodeRules::default();
        for junk in [
            "",
            "  \r\n",
            "hello",
            "😀😀😀",
            "条码２１２３",
            "\u{0}\u{1}",
            "AB",
        ] {
            assert_eq!(
                kind_valid(junk, &r),
                (BarcodeKind::Unknown, false),
                "{junk:?}"
            );
        }
        let huge = "9".repeat(1_000_000);
        assert_eq!(kind_valid(&huge, &r), (BarcodeKind::Unknown, false));
    }

    #[test]
    fn empty_rules_mean_any() {
        let r = BarcodeRules {
            patron: any_rules(),
            ..BarcodeRules::default()
        };
        assert_eq!(kind_valid("hello", &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid("P-77", &r), (BarcodeKind::Patron, true));
        // The item rules still claim real item codes; ISBNs are still books.
        assert_eq!(kind_valid(ITEM, &r), (BarcodeKind::Item, true));
        assert_eq!(kind_valid(ISBN13, &r), (BarcodeKind::Isbn, true));
        // Empty input is never "any".
        assert_eq!(kind_valid("", &r), (BarcodeKind::Unknown, false));
    }

    #[test]
    fn empty_lengths_with_prefix_and_check_digit() {
        let r = BarcodeRules {
            patron: CodeRules {
                lengths: vec![],
                prefixes: vec!["2".into()],
                codabar_check: true,
            },
            ..BarcodeRules::default()
        };
        // Luhn over the whole code whatever its length: "26" is valid.
        assert_eq!(kind_valid("26", &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid("27", &r), (BarcodeKind::Patron, false));
        assert_eq!(kind_valid("2", &r), (BarcodeKind::Patron, false));
        assert_eq!(kind_valid("2x", &r), (BarcodeKind::Patron, false));
        assert_eq!(kind_valid("16", &r), (BarcodeKind::Unknown, false));
    }

    #[test]
    fn several_lengths_and_prefixes() {
        let r = BarcodeRules {
            patron: CodeRules {
                lengths: vec![6, 8],
                prefixes: vec!["P".into(), "Q".into()],
                codabar_check: false,
            },
            ..BarcodeRules::default()
        };
        assert_eq!(kind_valid("P12345", &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid("Q1234567", &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid("P1234", &r), (BarcodeKind::Unknown, false));
        assert_eq!(kind_valid("R12345", &r), (BarcodeKind::Unknown, false));
        // Length counts characters, not bytes.
        assert_eq!(kind_valid("P条码条码条", &r), (BarcodeKind::Patron, true));
    }

    #[test]
    fn both_match_prefers_type_digit() {
        let loose = CodeRules {
            lengths: vec![14],
            prefixes: vec![],
            codabar_check: true,
        };
        let r = BarcodeRules {
            mode: ValidationMode::Warn,
            patron: loose.clone(),
            item: loose,
        };
        assert_eq!(kind_valid(PATRON, &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid(ITEM, &r), (BarcodeKind::Item, true));
        assert_eq!(kind_valid(PATRON_BAD, &r), (BarcodeKind::Patron, false));
        assert_eq!(kind_valid(ITEM_BAD, &r), (BarcodeKind::Item, false));
        // No usable type digit: patron does not win a tie.
        assert_eq!(kind_valid("41234567890120", &r), (BarcodeKind::Item, true));
    }

    #[test]
    fn both_match_without_type_digit_prefers_the_prefixed_rule() {
        let r = BarcodeRules {
            mode: ValidationMode::Warn,
            patron: CodeRules {
                prefixes: vec!["P".into()],
                ..any_rules()
            },
            item: any_rules(),
        };
        assert_eq!(kind_valid("P123", &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid("X123", &r), (BarcodeKind::Item, true));
        let both_any = BarcodeRules {
            mode: ValidationMode::Warn,
            patron: any_rules(),
            item: any_rules(),
        };
        assert_eq!(kind_valid("hello", &both_any), (BarcodeKind::Item, true));
    }

    #[test]
    fn a_passing_rule_beats_a_failed_check_digit() {
        let r = BarcodeRules {
            mode: ValidationMode::Warn,
            patron: CodeRules {
                lengths: vec![14],
                prefixes: vec![],
                codabar_check: true,
            },
            item: CodeRules {
                lengths: vec![14],
                prefixes: vec![],
                codabar_check: false,
            },
        };
        assert_eq!(kind_valid(PATRON_BAD, &r), (BarcodeKind::Item, true));
    }

    #[test]
    fn explicit_13_digit_library_numbers_beat_the_ean_guess() {
        let mut r = BarcodeRules {
            patron: CodeRules {
                lengths: vec![13],
                prefixes: vec!["2".into()],
                codabar_check: false,
            },
            ..BarcodeRules::default()
        };
        // A patron number whose last digit happens to make it a valid EAN.
        assert_eq!(kind_valid("2000000000008", &r), (BarcodeKind::Patron, true));
        assert_eq!(kind_valid("2000000000001", &r), (BarcodeKind::Patron, true));
        // Not explicit about length: the EAN guess comes first.
        r.patron.lengths.clear();
        assert_eq!(kind_valid("2000000000008", &r), (BarcodeKind::Ean13, true));
    }

    // ---- validate ----

    #[test]
    fn off_always_accepts() {
        let r = with_mode(ValidationMode::Off);
        for code in ["", "junk", PATRON_BAD, ISBN13, ITEM, "😀"] {
            assert_eq!(validate(code, BarcodeKind::Patron, &r), Verdict::Accept);
            assert_eq!(validate(code, BarcodeKind::Item, &r), Verdict::Accept);
        }
    }

    #[test]
    fn valid_codes_are_accepted_in_every_mode() {
        for mode in [
            ValidationMode::Off,
            ValidationMode::Warn,
            ValidationMode::Reject,
        ] {
            let r = with_mode(mode);
            assert_eq!(validate(PATRON, BarcodeKind::Patron, &r), Verdict::Accept);
            assert_eq!(
                validate("a21234567890124d\r\n", BarcodeKind::Patron, &r),
                Verdict::Accept
            );
            assert_eq!(validate(ITEM, BarcodeKind::Item, &r), Verdict::Accept);
        }
    }

    #[test]
    fn warn_and_reject_carry_the_reason() {
        let warn = validate(
            PATRON_BAD,
            BarcodeKind::Patron,
            &with_mode(ValidationMode::Warn),
        );
        let reject = validate(
            PATRON_BAD,
            BarcodeKind::Patron,
            &with_mode(ValidationMode::Reject),
        );
        assert!(
            matches!(&warn, Verdict::Warn(r) if r.contains("check digit")),
            "{warn:?}"
        );
        assert!(
            matches!(&reject, Verdict::Reject(r) if r.contains("check digit")),
            "{reject:?}"
        );
    }

    #[test]
    fn failed_checks_and_their_reasons() {
        let r = with_mode(ValidationMode::Reject);
        let why = |code: &str, kind| reason(validate(code, kind, &r));
        assert_eq!(why("", BarcodeKind::Patron), "patron barcode is empty");
        assert_eq!(why(" \r\n", BarcodeKind::Item), "item barcode is empty");
        assert_eq!(
            why("212345678901", BarcodeKind::Patron),
            "patron barcode has 12 characters but 14 expected"
        );
        assert_eq!(
            why("41234567890120", BarcodeKind::Patron),
            "patron barcode does not start with \"2\""
        );
        assert_eq!(
            why(ITEM_BAD, BarcodeKind::Item),
            "item barcode fails its check digit"
        );
        assert_eq!(
            why("2123456789012x", BarcodeKind::Patron),
            "patron barcode cannot carry a check digit (it must be all digits, at least two)"
        );
    }

    #[test]
    fn reasons_say_what_was_scanned_instead() {
        let r = with_mode(ValidationMode::Reject);
        let why = |code: &str, kind| reason(validate(code, kind, &r));
        assert_eq!(
            why(ITEM, BarcodeKind::Patron),
            "patron barcode does not start with \"2\"; it looks like an item barcode"
        );
        assert_eq!(
            why(PATRON, BarcodeKind::Item),
            "item barcode does not start with \"3\"; it looks like a patron barcode"
        );
        assert_eq!(
            why(ISBN13, BarcodeKind::Item),
            "item barcode has 13 characters but 14 expected; it looks like a book's ISBN"
        );
        assert_eq!(
            why(EAN, BarcodeKind::Patron),
            "patron barcode has 13 characters but 14 expected; it looks like a product EAN-13"
        );
        // A wrong item code with a bad check digit is not called anything.
        assert_eq!(
            why(ITEM_BAD, BarcodeKind::Patron),
            "patron barcode does not start with \"2\""
        );
    }

    #[test]
    fn reasons_never_repeat_the_code() {
        let r = with_mode(ValidationMode::Warn);
        for (code, kind) in [
            (PATRON_BAD, BarcodeKind::Patron),
            (ITEM, BarcodeKind::Patron),
            (PATRON, BarcodeKind::Item),
            ("21234567", BarcodeKind::Patron),
        ] {
            let why = reason(validate(code, kind, &r));
            assert!(!why.contains("1234567"), "{why}");
        }
    }

    #[test]
    fn lists_in_reasons_read_naturally() {
        let r = BarcodeRules {
            mode: ValidationMode::Reject,
            patron: CodeRules {
                lengths: vec![10, 13, 14],
                prefixes: vec!["2".into(), "29".into()],
                codabar_check: false,
            },
            ..BarcodeRules::default()
        };
        assert_eq!(
            reason(validate("2123", BarcodeKind::Patron, &r)),
            "patron barcode has 4 characters but 10, 13 or 14 expected"
        );
        assert_eq!(
            reason(validate("9123456789", BarcodeKind::Patron, &r)),
            "patron barcode does not start with \"2\" or \"29\""
        );
    }

    #[test]
    fn type_digit_alone_never_refuses() {
        // Rules that do not pin the prefix: a "3…" patron card is fine.
        let r = BarcodeRules {
            mode: ValidationMode::Reject,
            patron: CodeRules {
                lengths: vec![14],
                prefixes: vec![],
                codabar_check: true,
            },
            item: CodeRules {
                lengths: vec![14],
                prefixes: vec![],
                codabar_check: true,
            },
        };
        assert_eq!(validate(ITEM, BarcodeKind::Patron, &r), Verdict::Accept);
        assert_eq!(validate(PATRON, BarcodeKind::Item, &r), Verdict::Accept);
        // …even though check() would call it the other kind.
        assert_eq!(check(ITEM, &r).kind, BarcodeKind::Item);
    }

    #[test]
    fn books_and_products_fail_as_patrons_even_under_loose_rules() {
        let r = BarcodeRules {
            mode: ValidationMode::Reject,
            patron: any_rules(),
            item: any_rules(),
        };
        assert_eq!(
            reason(validate("978-0-306-40615-7", BarcodeKind::Patron, &r)),
            "patron barcode is a book's ISBN, not a patron card"
        );
        assert_eq!(
            reason(validate(ISBN10_X, BarcodeKind::Patron, &r)),
            "patron barcode is a book's ISBN, not a patron card"
        );
        assert_eq!(
            reason(validate(EAN, BarcodeKind::Patron, &r)),
            "patron barcode is a product EAN-13, not a patron card"
        );
        // For items only the item rules count.
        assert_eq!(validate(ISBN13, BarcodeKind::Item, &r), Verdict::Accept);
        // An invalid ISBN is not a book: it is just some number.
        assert_eq!(
            validate("9780306406158", BarcodeKind::Patron, &r),
            Verdict::Accept
        );
    }

    #[test]
    fn explicit_patron_length_accepts_ean_looking_cards() {
        let r = BarcodeRules {
            mode: ValidationMode::Reject,
            patron: CodeRules {
                lengths: vec![13],
                prefixes: vec![],
                codabar_check: false,
            },
            ..BarcodeRules::default()
        };
        assert_eq!(
            validate("2000000000008", BarcodeKind::Patron, &r),
            Verdict::Accept
        );
    }

    #[test]
    fn validate_other_expected_kinds() {
        let r = with_mode(ValidationMode::Reject);
        assert_eq!(validate(ISBN13, BarcodeKind::Isbn, &r), Verdict::Accept);
        assert_eq!(
            validate("0-306-40615-2", BarcodeKind::Isbn, &r),
            Verdict::Accept
        );
        assert_eq!(
            reason(validate(EAN, BarcodeKind::Isbn, &r)),
            "ISBN is not a valid ISBN-13 or ISBN-10"
        );
        assert_eq!(validate(EAN, BarcodeKind::Ean13, &r), Verdict::Accept);
        assert_eq!(validate(ISBN13, BarcodeKind::Ean13, &r), Verdict::Accept);
        assert_eq!(
            reason(validate("4006381333932", BarcodeKind::Ean13, &r)),
            "EAN-13 is not a valid EAN-13"
        );
        assert_eq!(
            validate("anything", BarcodeKind::Unknown, &r),
            Verdict::Accept
        );
        assert_eq!(
            reason(validate("", BarcodeKind::Unknown, &r)),
            "barcode is empty"
        );
    }

    // ---- properties ----

    fn arb_code_rules() -> impl Strategy<Value = CodeRules> {
        (
            prop::collection::vec(0usize..20, 0..3),
            prop::collection::vec("[0-9A-Za-z]{0,3}", 0..3),
            any::<bool>(),
        )
            .prop_map(|(lengths, prefixes, codabar_check)| CodeRules {
                lengths,
                prefixes,
                codabar_check,
            })
    }

    fn arb_rules() -> impl Strategy<Value = BarcodeRules> {
        (
            prop_oneof![
                Just(ValidationMode::Off),
                Just(ValidationMode::Warn),
                Just(ValidationMode::Reject)
            ],
            arb_code_rules(),
            arb_code_rules(),
        )
            .prop_map(|(mode, patron, item)| BarcodeRules { mode, patron, item })
    }

    /// Scanner-like strings: guards, digits, ISBN separators, x, whitespace.
    fn scanner_like() -> impl Strategy<Value = String> {
        "[ \t\r\n]{0,2}[A-Da-d]?[0-9xX -]{0,16}[A-Da-d]?[ \t\r\n]{0,2}"
    }

    fn flip_one_digit(code: &str, pos: usize, delta: u8) -> String {
        let mut bytes = code.as_bytes().to_vec();
        let d = bytes[pos] - b'0';
        bytes[pos] = b'0' + (d + delta) % 10;
        String::from_utf8(bytes).unwrap()
    }

    proptest! {
        #[test]
        fn check_and_validate_never_panic(input in any::<String>(), rules in arb_rules()) {
            let c = check(&input, &rules);
            prop_assert_eq!(&c.input, &input);
            for kind in [BarcodeKind::Patron, BarcodeKind::Item, BarcodeKind::Isbn,
                         BarcodeKind::Ean13, BarcodeKind::Unknown] {
                let _ = validate(&input, kind, &rules);
            }
        }

        #[test]
        fn check_never_panics_on_scanner_like_input(input in scanner_like(), rules in arb_rules()) {
            let c = check(&input, &rules);
            prop_assert_eq!(c.normalized, normalize(&input));
            let _ = validate(&input, BarcodeKind::Patron, &rules);
        }

        #[test]
        fn unknown_is_never_valid(input in any::<String>(), rules in arb_rules()) {
            let c = check(&input, &rules);
            if c.kind == BarcodeKind::Unknown {
                prop_assert!(!c.valid);
            }
        }

        #[test]
        fn codabar_matches_the_literal_rule(body in prop::collection::vec(0u8..10, 13)) {
            let s: String = body.iter().map(|d| char::from(b'0' + d)).collect();
            prop_assert_eq!(codabar_check_digit(&s), Some(literal_library_rule(&body)));
        }

        #[test]
        fn codabar_roundtrip_and_single_digit_errors(
            body in "[0-9]{13}", pos in 0usize..14, delta in 1u8..10,
        ) {
            let code = format!("{body}{}", codabar_check_digit(&body).unwrap());
            prop_assert!(is_valid_codabar14(&code));
            prop_assert!(!is_valid_codabar14(&flip_one_digit(&code, pos, delta)));
            // And as a library code through check(), with guards and CRLF.
            let rules = BarcodeRules {
                mode: ValidationMode::Reject,
                patron: CodeRules { lengths: vec![14], prefixes: vec![], codabar_check: true },
                item: CodeRules { lengths: vec![14], prefixes: vec![], codabar_check: true },
            };
            let scanned = format!("A{code}B\r\n");
            prop_assert!(check(&scanned, &rules).valid);
            prop_assert_eq!(validate(&scanned, BarcodeKind::Patron, &rules), Verdict::Accept);
            let broken = flip_one_digit(&code, pos, delta);
            prop_assert!(!check(&broken, &rules).valid);
            prop_assert!(matches!(validate(&broken, BarcodeKind::Item, &rules), Verdict::Reject(_)));
        }

        #[test]
        fn ean13_roundtrip_and_single_digit_errors(
            body in "[0-9]{12}", pos in 0usize..13, delta in 1u8..10,
        ) {
            let code = format!("{body}{}", ean13_check_digit(&body).unwrap());
            prop_assert!(is_valid_ean13(&code));
            prop_assert!(!is_valid_ean13(&flip_one_digit(&code, pos, delta)));
            let kind = check(&code, &BarcodeRules::default()).kind;
            prop_assert!(kind == BarcodeKind::Isbn || kind == BarcodeKind::Ean13);
        }

        #[test]
        fn isbn10_roundtrip_and_conversion(body in "[0-9]{9}", pos in 0usize..9, delta in 1u8..10) {
            let sum: u32 = body.bytes().enumerate()
                .map(|(i, b)| u32::from(b - b'0') * (10 - i as u32)).sum();
            let check_value = (11 - sum % 11) % 11;
            let last = if check_value == 10 { 'X' } else { char::from(b'0' + check_value as u8) };
            let code = format!("{body}{last}");
            prop_assert!(is_valid_isbn10(&code));
            let broken = format!("{}{}", flip_one_digit(&body, pos, delta), last);
            prop_assert!(!is_valid_isbn10(&broken));
            let isbn13 = isbn10_to_isbn13(&code).unwrap();
            prop_assert!(isbn13.starts_with("978"));
            prop_assert!(is_valid_ean13(&isbn13));
            prop_assert_eq!(&isbn13[3..12], body.as_str());
        }

        #[test]
        fn normalize_is_idempotent(input in any::<String>()) {
            let once = normalize(&input);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn normalize_is_idempotent_on_scanner_like_input(input in scanner_like()) {
            let once = normalize(&input);
            prop_assert_eq!(normalize(&once), once.clone());
            let edge = |c: char| c.is_whitespace() || c.is_control();
            prop_assert!(!once.starts_with(edge) && !once.ends_with(edge));
        }
    }
}
