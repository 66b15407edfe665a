//! Devices: barcode scanners, RFID book readers, receipt printers, the tag
//! and barcode codecs, and byte-exact simulators of each device.
//!
//! Codecs are sans-IO (bytes in, frames out); drivers are generic over
//! `Read + Write`, so one driver runs on a real serial port, a pty or an
//! in-memory `rfid::SimPort`. Nothing here decides anything about loans.
//!
//! Each reader protocol is a folder by layer (`codec`, `commands`,
//! `reader`, `sim`, and `fuzz` for `cargo fuzz`); [`presence`] turns any
//! reader's inventories into arrivals and departures; [`runner`] starts
//! the configured devices on threads and sends [`events`].
//!
//! May import: `domain` (barcode rules, `Lang`) and `config` (the device
//! sections the runner starts). Nothing else: no store, no sync, no ui.
//!
//! Public to other crates (integration tests, benches): the runner, its
//! events, the RFID model and simulator port, tag codecs, the 3M driver
//! the benches time, and the scanner codecs (a documented door of their
//! own). The FEIG and printer drivers, MIFARE, presence, pty and sim files
//! are `pub(crate)`; what of their API only their unit tests use may look
//! unused outside test builds, and a test build still reports code that
//! nothing uses.

pub mod events;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod feig;
pub mod m3;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod mifare;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod presence;
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) mod printer;
pub(crate) mod pty;
pub mod rfid;
pub mod runner;
pub mod scanner;
pub(crate) mod simfile;
pub mod tag;

/// Entry points for `cargo fuzz` (fuzz/fuzz_targets/*.rs), one per target;
/// built only with `--cfg fuzzing`, which cargo-fuzz sets. Each feeds any
/// bytes to a decoder (and, where there is one, a simulator) and panics
/// only when an invariant breaks.
#[cfg(fuzzing)]
pub mod fuzz {
    pub use super::feig::fuzz_frames as feig_frames;
    pub use super::m3::fuzz_frames as m3_frames;
    pub use super::printer::fuzz_printer as printer;
    pub use super::scanner::fuzz_scanner as scanner;
    pub use super::tag::fuzz_decode as tag_decode;
}
