//! Readers' PINs checked at the server (`POST /v1/pin-check`), for kiosks
//! it withholds PIN hashes from (tokens without `--offline-pins`): the
//! hash never leaves the server, the PIN is compared with
//! `privacy::verify_pin` (argon2, constant time), and wrong PINs are
//! counted per card across all kiosks.
//!
//! The count lives in memory, in the serving process ([`PinTries`]): no
//! table holds it (schema 6 has none), so a restart forgets it, and
//! several server processes sharing one PostgreSQL database each count
//! on their own (docs/central.md, "PIN checks"). Each kiosk also counts
//! the wrong PINs it sees and locks the card itself, in its database.
//! A card's count starts again after a right PIN, when its lock ends, or
//! when its last wrong PIN is older than `pin_lock_minutes`. Only cards
//! the server knows and that have a PIN are counted, so the map holds at
//! most one row per such reader.

use super::*;
use std::sync::Mutex;

/// What the server knows of a card's PIN: None, no such reader; Some(None),
/// a reader without a PIN; Some(Some(hash)).
pub(crate) async fn pin_of<S: Sql>(tx: &mut S, barcode: &str) -> Result<Option<Option<String>>> {
    let row = tx
        .query_opt(
            "SELECT pin_hash FROM patrons WHERE barcode = $1",
            p![barcode],
        )
        .await?;
    Ok(row.map(|r| r.os("pin_hash").filter(|h| !h.is_empty())))
}

#[derive(Debug, Clone, Copy)]
struct Tries {
    wrong: u32,
    last: DateTime<Utc>,
    locked_until: Option<DateTime<Utc>>,
}

/// Wrong PINs per card, for this server process.
#[derive(Debug, Default)]
pub struct PinTries {
    cards: Mutex<HashMap<String, Tries>>,
}

impl PinTries {
    pub fn new() -> PinTries {
        PinTries::default()
    }

    fn cards(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tries>> {
        // A panic elsewhere while holding the lock leaves counts that are
        // still counts: carry on with them.
        self.cards.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When `card` is locked until, if it is at `now`.
    pub fn locked(&self, card: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cards()
            .get(card)
            .and_then(|t| t.locked_until)
            .filter(|u| *u > now)
    }

    /// A right PIN: the count starts again.
    pub fn right(&self, card: &str) {
        self.cards().remove(card);
    }

    /// A wrong PIN at `now`: (tries left, the lock it caused).
    pub fn wrong(
        &self,
        card: &str,
        now: DateTime<Utc>,
        settings: &Settings,
    ) -> (u32, Option<DateTime<Utc>>) {
        let attempts = settings.pin_attempts.max(1);
        let lock = Duration::minutes(settings.pin_lock_minutes as i64);
        let mut cards = self.cards();
        if cards.len() > 10_000 {
            cards.retain(|_, t| now - t.last <= lock || t.locked_until.is_some_and(|u| u > now));
        }
        let t = cards.entry(card.to_string()).or_insert(Tries {
            wrong: 0,
            last: now,
            locked_until: None,
        });
        let stale = now - t.last > lock || t.locked_until.is_some_and(|u| u <= now);
        if stale {
            *t = Tries {
                wrong: 0,
                last: now,
                locked_until: None,
            };
        }
        t.wrong += 1;
        t.last = now;
        if t.wrong >= attempts {
            let until = now + lock;
            t.locked_until = Some(until);
            return (0, Some(until));
        }
        (attempts - t.wrong, None)
    }
}

/// The server's answer for `card` and `pin` at `now`, given what it knows
/// of the card's PIN (`pin_of`). Runs argon2: call it off the async
/// threads (`spawn_blocking`).
pub fn pin_verdict(
    tries: &PinTries,
    settings: &Settings,
    card: &str,
    pin: &str,
    known: Option<Option<String>>,
    now: DateTime<Utc>,
) -> PinCheckResponse {
    let answer = |valid, locked_until: Option<DateTime<Utc>>, attempts_left| PinCheckResponse {
        known: true,
        valid,
        locked_until: locked_until.map(stamp),
        attempts_left,
    };
    let hash = match known {
        None => {
            return PinCheckResponse {
                known: false,
                valid: None,
                locked_until: None,
                attempts_left: None,
            }
        }
        Some(None) => return answer(Some(true), None, None),
        Some(Some(h)) => h,
    };
    if let Some(until) = tries.locked(card, now) {
        return answer(None, Some(until), None);
    }
    if crate::privacy::verify_pin(pin, &hash) {
        tries.right(card);
        return answer(Some(true), None, None);
    }
    let (left, locked) = tries.wrong(card, now, settings);
    if locked.is_some() {
        tracing::warn!(card = %crate::privacy::mask(card), "card locked after wrong PINs from kiosks");
    }
    answer(Some(false), locked, Some(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_pins_lock_the_card_then_the_count_starts_again() {
        let tries = PinTries::new();
        let s = Settings {
            pin_attempts: 3,
            pin_lock_minutes: 15,
            ..Settings::default()
        };
        let hash = crate::privacy::hash_pin("1234");
        let t0 = Utc::now();
        let check =
            |pin: &str, at| pin_verdict(&tries, &s, "P1", pin, Some(Some(hash.clone())), at);
        let a = check("0000", t0);
        assert_eq!((a.valid, a.attempts_left), (Some(false), Some(2)));
        assert_eq!(check("0000", t0).attempts_left, Some(1));
        let c = check("0000", t0);
        assert_eq!((c.valid, c.attempts_left), (Some(false), Some(0)));
        assert!(c.locked_until.is_some());
        // Locked: not even the right PIN is checked.
        let d = check("1234", t0 + Duration::minutes(14));
        assert_eq!((d.valid, d.locked_until.is_some()), (None, true));
        // After the lock: right, and the count starts again.
        assert_eq!(check("1234", t0 + Duration::minutes(16)).valid, Some(true));
        assert_eq!(
            check("0000", t0 + Duration::minutes(17)).attempts_left,
            Some(2)
        );
        // Unknown cards and readers without a PIN are not counted.
        let u = pin_verdict(&tries, &s, "NOBODY", "1", None, t0);
        assert!(!u.known && u.valid.is_none());
        let n = pin_verdict(&tries, &s, "P2", "1", Some(None), t0);
        assert_eq!((n.known, n.valid), (true, Some(true)));
        assert!(tries.locked("NOBODY", t0).is_none());
    }
}
