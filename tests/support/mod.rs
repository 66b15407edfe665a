//! What the integration tests share: `mod support;` at the top of a test
//! file brings in
//! - `peer`: external peers (pysip2, PostgreSQL, …) and the honest skip
//!   (`support::require(Peer::Pysip2)`), counted at the end of the run;
//! - `kiosk`: running the real `kiosk` binary in a directory of its own
//!   and reading its JSON lines;
//! - `ils`: the scripted SIP2 ILS behind pysip2 (tests/sip2/ils_server.py).
//!
//! The central runner (`central.rs`), the PostgreSQL cluster (`pg.rs`) and
//! the SMTP sink (`smtp.rs`) beside this file are included on their own
//! with `#[path = "support/…"]`, as before; `pg.rs` reports its skips
//! through `crate::support::peer`, so a file that includes it also says
//! `mod support;`.

#![allow(dead_code, unused_imports)]

pub mod ils;
pub mod kiosk;
pub mod peer;

pub use peer::{found, require, Peer};
