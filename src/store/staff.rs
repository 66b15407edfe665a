//! The staff PIN's wrong tries and lock-out, kept in the database so that
//! restarting the kiosk (or pulling its plug) does not give someone at the
//! screen a fresh five tries. The PIN itself is an argon2 hash in
//! kiosk.toml (`[staff] pin_hash`); nothing here stores it.

use super::{Result, Store};
use chrono::{DateTime, Duration, FixedOffset};

const FAILURES: &str = "staff_pin_failures";
const LOCKED_UNTIL: &str = "staff_pin_locked_until";

/// What a wrong staff PIN left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffPin {
    /// Wrong; this many tries are left before the lock.
    TriesLeft(u32),
    /// Wrong, and the pad is locked until then.
    LockedUntil(DateTime<FixedOffset>),
}

impl Store {
    /// When the staff PIN pad is locked at `now`: the instant it opens
    /// again, or None.
    pub fn staff_pin_locked(
        &self,
        now: DateTime<FixedOffset>,
    ) -> Result<Option<DateTime<FixedOffset>>> {
        let until = self
            .sync_state(LOCKED_UNTIL)?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
        Ok(until.filter(|u| *u > now))
    }

    /// Counts a wrong staff PIN: after `attempts` wrong ones in a row the
    /// pad locks for `lock_minutes` and the count starts again.
    pub fn staff_pin_wrong(
        &self,
        attempts: u32,
        lock_minutes: u32,
        now: DateTime<FixedOffset>,
    ) -> Result<StaffPin> {
        let failures = self
            .sync_state(FAILURES)?
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
            + 1;
        if failures >= attempts.max(1) {
            let until = now + Duration::minutes(lock_minutes as i64);
            self.set_sync_state(LOCKED_UNTIL, &until.to_rfc3339())?;
            self.set_sync_state(FAILURES, "0")?;
            Ok(StaffPin::LockedUntil(until))
        } else {
            self.set_sync_state(FAILURES, &failures.to_string())?;
            Ok(StaffPin::TriesLeft(attempts - failures))
        }
    }

    /// The right staff PIN: the count of wrong ones starts again.
    pub fn staff_pin_right(&self) -> Result<()> {
        self.set_sync_state(FAILURES, "0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn the_lock_outlives_a_restart_and_opens_on_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let now = at("2026-12-07T10:00:00+08:00");
        {
            let s = Store::open(&db, "k1").unwrap();
            assert_eq!(
                s.staff_pin_wrong(3, 15, now).unwrap(),
                StaffPin::TriesLeft(2)
            );
            assert_eq!(
                s.staff_pin_wrong(3, 15, now).unwrap(),
                StaffPin::TriesLeft(1)
            );
        }
        // Restarted: the two wrong tries are still counted.
        let s = Store::open(&db, "k1").unwrap();
        assert_eq!(
            s.staff_pin_wrong(3, 15, now).unwrap(),
            StaffPin::LockedUntil(at("2026-12-07T10:15:00+08:00"))
        );
        drop(s);
        let s = Store::open(&db, "k1").unwrap();
        assert!(s
            .staff_pin_locked(at("2026-12-07T10:14:59+08:00"))
            .unwrap()
            .is_some());
        assert_eq!(
            s.staff_pin_locked(at("2026-12-07T10:15:00+08:00")).unwrap(),
            None
        );
        // After the lock, a fresh count; the right PIN resets it too.
        assert_eq!(
            s.staff_pin_wrong(3, 15, now).unwrap(),
            StaffPin::TriesLeft(2)
        );
        s.staff_pin_right().unwrap();
        assert_eq!(
            s.staff_pin_wrong(3, 15, now).unwrap(),
            StaffPin::TriesLeft(2)
        );
    }
}
