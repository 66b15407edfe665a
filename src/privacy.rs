//! Reader data at the edges: card numbers masked for logs and screens,
//! PINs hashed (argon2id) and checked. A leaf: it imports no other room, so
//! every room (store, sync, ui, central, the command line) may use it.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};

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
