//! Reader PINs: argon2id hashes only, wrong-PIN counting and lock-out per
//! card at this kiosk. A PIN is never stored, logged or journaled.

use super::circ::find_patron;
use super::{Result, Store};
use crate::domain::Refusal;
use crate::privacy::{mask, verify_pin};
use chrono::{DateTime, Duration, FixedOffset};
use rusqlite::{params, OptionalExtension};

/// What the kiosk's cache holds of a reader's PIN (`Store::pin_kept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinKept {
    /// The card is not in the cache.
    NoCard,
    /// The reader has no PIN (as far as the cache knows).
    NoPin,
    /// The reader has a PIN whose hash the server keeps from this kiosk
    /// (`protocol::PIN_WITHHELD`): checked online only.
    Withheld,
    /// A hash the kiosk checks itself.
    Hash,
}

impl Store {
    /// Checks a reader's PIN before a session: Ok(()) to go on, or the
    /// refusal to show. Unknown cards pass here (the request itself is
    /// refused with `unknown_patron`). Cards without a PIN pass unless a
    /// PIN was typed (then it must be right).
    pub fn check_pin(
        &mut self,
        patron: &str,
        pin: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<std::result::Result<(), Refusal>> {
        let Some(p) = find_patron(&self.conn, patron)? else {
            return Ok(Ok(()));
        };
        let Some(hash) = p.pin_hash else {
            return Ok(Ok(()));
        };
        let Some(pin) = pin else {
            return Ok(if self.settings.require_pin {
                Err(Refusal::PinRequired)
            } else {
                Ok(())
            });
        };
        let state: Option<(u32, Option<String>)> = self
            .conn
            .query_row(
                "SELECT failures, locked_until FROM pin_failures WHERE patron_id = ?1",
                [p.patron.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((_, Some(until))) = &state {
            if let Ok(until) = DateTime::parse_from_rfc3339(until) {
                if until > now {
                    return Ok(Err(Refusal::PinLocked {
                        until: until.format("%H:%M").to_string(),
                    }));
                }
            }
        }
        if hash == crate::protocol::PIN_WITHHELD {
            // The reader has a PIN; the server keeps its hash from this
            // kiosk (token without --offline-pins): it cannot be checked.
            return Ok(Err(Refusal::PinUnavailable));
        }
        if verify_pin(pin, &hash) {
            self.conn.execute(
                "DELETE FROM pin_failures WHERE patron_id = ?1",
                [p.patron.id],
            )?;
            return Ok(Ok(()));
        }
        self.count_failure(p.patron.id, state, now)
    }
}

impl Store {
    /// What the cache holds of `patron`'s PIN: a hash the kiosk checks
    /// itself (imported or pulled), or not (then only an upstream can).
    pub fn pin_kept(&self, patron: &str) -> Result<PinKept> {
        Ok(match find_patron(&self.conn, patron)? {
            None => PinKept::NoCard,
            Some(p) => match p.pin_hash.as_deref() {
                None => PinKept::NoPin,
                Some(crate::protocol::PIN_WITHHELD) => PinKept::Withheld,
                Some(_) => PinKept::Hash,
            },
        })
    }

    /// The lock on `patron`'s card at this kiosk, if one holds at `now`.
    pub fn pin_lock(&self, patron: &str, now: DateTime<FixedOffset>) -> Result<Option<Refusal>> {
        let Some(p) = find_patron(&self.conn, patron)? else {
            return Ok(None);
        };
        let until: Option<String> = self
            .conn
            .query_row(
                "SELECT locked_until FROM pin_failures WHERE patron_id = ?1",
                [p.patron.id],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        Ok(until
            .and_then(|u| DateTime::parse_from_rfc3339(&u).ok())
            .filter(|u| *u > now)
            .map(|u| Refusal::PinLocked {
                until: u.format("%H:%M").to_string(),
            }))
    }

    /// Records a PIN verdict the upstream gave (it knows the PIN, the
    /// kiosk does not): a right PIN clears the count, a wrong one counts
    /// towards the lock at this kiosk exactly like a wrong local PIN. A
    /// card the cache does not know yet is added (barcode and `name`, as
    /// the upstream gave them) so that its wrong PINs can be counted.
    pub fn record_pin_verdict(
        &mut self,
        patron: &str,
        name: &str,
        right: bool,
        now: DateTime<FixedOffset>,
    ) -> Result<std::result::Result<(), Refusal>> {
        if find_patron(&self.conn, patron)?.is_none() {
            self.conn.execute(
                "INSERT INTO patrons (barcode, name, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(barcode) DO NOTHING",
                params![patron, name, now.to_rfc3339()],
            )?;
        }
        let p = find_patron(&self.conn, patron)?.ok_or_else(|| {
            super::StoreError::Corrupt(format!("patron row for {} vanished", mask(patron)))
        })?;
        if right {
            self.conn.execute(
                "DELETE FROM pin_failures WHERE patron_id = ?1",
                [p.patron.id],
            )?;
            return Ok(Ok(()));
        }
        let state: Option<(u32, Option<String>)> = self
            .conn
            .query_row(
                "SELECT failures, locked_until FROM pin_failures WHERE patron_id = ?1",
                [p.patron.id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        self.count_failure(p.patron.id, state, now)
    }

    /// One more wrong PIN for `patron_id`: the refusal to show (attempts
    /// left, or the lock once `pin_attempts` is reached).
    fn count_failure(
        &mut self,
        patron_id: i64,
        state: Option<(u32, Option<String>)>,
        now: DateTime<FixedOffset>,
    ) -> Result<std::result::Result<(), Refusal>> {
        let failures = match &state {
            Some((f, None)) => f + 1,
            _ => 1, // first failure, or the first after a lock expired
        };
        let attempts = self.settings.pin_attempts.max(1);
        if failures >= attempts {
            let until = now + Duration::minutes(self.settings.pin_lock_minutes as i64);
            self.conn.execute(
                "INSERT INTO pin_failures (patron_id, failures, locked_until) VALUES (?1, ?2, ?3)
                 ON CONFLICT(patron_id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                params![patron_id, failures, until.to_rfc3339()],
            )?;
            tracing::warn!(patron_id, "card locked after wrong PINs");
            return Ok(Err(Refusal::PinLocked {
                until: until.format("%H:%M").to_string(),
            }));
        }
        self.conn.execute(
            "INSERT INTO pin_failures (patron_id, failures, locked_until) VALUES (?1, ?2, NULL)
             ON CONFLICT(patron_id) DO UPDATE SET failures = excluded.failures, locked_until = NULL",
            params![patron_id, failures],
        )?;
        Ok(Err(Refusal::WrongPin {
            attempts_left: attempts - failures,
        }))
    }
}
