//! Devices: barcode scanners, RFID book readers, receipt printers, the tag
//! and barcode codecs, and byte-exact simulators of each device.
//!
//! Codecs are sans-IO (bytes in, frames out); drivers are generic over
//! `Read + Write`, so one driver runs on a real serial port, a pty or an
//! in-memory `rfid::SimPort`. Nothing here decides anything about loans.

pub mod events;
pub mod feig;
pub mod m3;
pub mod mifare;
pub mod presence;
pub mod printer;
pub mod pty;
pub mod rfid;
pub mod runner;
pub mod scanner;
pub mod simfile;
pub mod tag;
