//! The 3M / Bibliotheca 210/810 RFID pad protocol: a sans-IO frame codec,
//! typed requests and answers, a driver generic over `Read + Write`, and a
//! byte-exact simulator built on the same codec. (The protocol-neutral
//! presence tracker the runner puts behind it is `devices::presence`.)
//!
//! Wire facts (docs/protocols.md §3): 19200 baud 8N1; a frame is
//! `D6 | LEN (u16 BE, bytes after LEN incl. CRC) | CMD | fields | CRC (u16 BE)`,
//! CRC-16/GENIBUS over every byte after the start byte; the 810 is probed
//! with start byte D5. The request/answer shapes these files mark *inferred*
//! are not in those notes and must be checked against a real reader.
//!
//! Nothing here decides about loans, and nothing here sleeps for longer than
//! a millisecond: the driver waits for answers against an `Instant` deadline.
//!
//! # Layers
//!
//! - `codec`: CRC, [`Frame`], the sans-IO [`FrameDecoder`], command codes;
//! - `commands`: typed [`Request`]s and [`Response`]s, error codes, and the
//!   wire budget ([`WireCost`]) of an inventory with reads;
//! - `reader`: the [`Reader3m`] driver, generic over `Read + Write`;
//! - `sim`: the byte-exact [`Sim3m`] on the same codec;
//! - `fuzz` (only with `cfg(fuzzing)` and in tests): the `cargo fuzz` entry.
//!
//! May import: `devices::rfid` (the reader-neutral types). Nothing above
//! `devices`.

mod codec;
mod commands;
#[cfg(any(fuzzing, test))]
mod fuzz;
mod reader;
mod sim;
#[cfg(test)]
mod test_support;

pub use codec::*;
pub use commands::*;
#[cfg(fuzzing)]
pub use fuzz::fuzz_frames;
pub use reader::*;
pub use sim::*;
