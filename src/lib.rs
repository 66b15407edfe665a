//! The self-service library kiosk: borrow, return, renew and reserve at a
//! touch screen, offline first, with every transaction in a local journal.
//!
//! Rooms (see docs/architecture.md): `domain` (pure rules), `store`
//! (SQLite), `devices`, `sync`, `ui`, `central`. Arrows point down only.

pub mod central;
pub mod cli;
pub mod config;
pub mod csvfmt;
pub mod devices;
pub mod domain;
pub mod i18n;
pub mod launch;
pub mod pad;
pub mod privacy;
pub mod protocol;
pub mod store;
pub mod sync;
pub mod textkiosk;
pub mod ui;
