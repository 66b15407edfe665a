//! Sync: the kiosk ↔ upstream protocol (`protocol`), the `Upstream`
//! trait and its implementations, the outbox drain and the schedules.
//! Never decides a loan itself: it moves journal entries up and the
//! central state down.

pub mod protocol;
