//! Reader data at the edges: card numbers masked for logs and screens,
//! PINs hashed (argon2id) and checked, and past history's texts and
//! details scrubbed of readers (retention, on the kiosk and the server
//! alike: [`scrub_detail`], [`scrub_text`]). A leaf: it imports no other room, so
//! every room (store, sync, ui, central, the command line) may use it.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use serde_json::Value;
use std::collections::BTreeSet;

/// Shows only the last 4 characters of a card number (logs, never a full one).
pub fn mask(code: &str) -> String {
    let n = code.chars().count();
    let tail: String = code.chars().skip(n.saturating_sub(4)).collect();
    format!("…{tail}")
}

/// An argon2id PHC string for `pin` (OWASP default parameters).
pub fn hash_pin(pin: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// Whether `pin` matches `hash`; a malformed hash never matches.
pub fn verify_pin(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Keys of an entry's detail that name a reader (the borrower of a
/// returned copy, the reader a hold waits for, the hold's pickup code)
/// or hold one of their particulars: dropped outright.
pub const IDENTIFYING: &[&str] = &[
    "borrower",
    "hold_for",
    "patron",
    "reader",
    "card",
    "name",
    "email",
    "pickup_code",
];

/// Words of the texts in `v` that could be card numbers (five characters
/// or more, four of them digits), to be looked up among the readers.
pub fn card_like(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => o.values().for_each(|v| card_like(v, out)),
        Value::Array(a) => a.iter().for_each(|v| card_like(v, out)),
        Value::String(s) => {
            for w in s.split(|c: char| !c.is_alphanumeric()) {
                if w.chars().count() >= 5 && w.chars().filter(char::is_ascii_digit).count() >= 4 {
                    out.insert(w.to_string());
                }
            }
        }
        _ => {}
    }
}

/// An entry's detail without the reader: [`IDENTIFYING`] keys dropped (at
/// any depth), and `cards` masked wherever they appear in text.
pub fn scrub_detail(v: Value, cards: &[String]) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| !IDENTIFYING.contains(&k.as_str()))
                .map(|(k, v)| (k, scrub_detail(v, cards)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| scrub_detail(v, cards)).collect()),
        Value::String(s) => Value::String(scrub_text(&s, cards)),
        other => other,
    }
}

/// Text without card numbers: `cards` masked wherever they appear, and
/// the reader named in messages written before cards were masked ("on
/// loan to reader 2000…", "reader \"2000…\" is not known").
pub fn scrub_text(text: &str, cards: &[String]) -> String {
    let mut out = text.to_string();
    for card in cards.iter().filter(|c| c.chars().count() > 4) {
        out = out.replace(card.as_str(), &mask(card));
    }
    for lead in ["to reader ", "reader \""] {
        let mut from = 0;
        while let Some(i) = out[from..].find(lead) {
            let start = from + i + lead.len();
            let end = out[start..]
                .find(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == ')')
                .map_or(out.len(), |n| start + n);
            let token = &out[start..end];
            let masked = if token.is_empty() || token.starts_with('…') {
                token.to_string()
            } else {
                mask(token)
            };
            out.replace_range(start..end, &masked);
            from = start + masked.len();
        }
    }
    out
}
