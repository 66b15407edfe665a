//! The receipt printer: a language-neutral receipt model and its rendering
//! to ESC/POS bytes (Chinese as GB18030 in Chinese mode, English as plain
//! ASCII), sending those bytes over serial, TCP or a device file, the paper
//! roll status (DLE EOT 4), and `SimPrinter`, a byte-exact simulator that
//! decodes what a real printer would put on paper.
//!
//! Nothing here translates or decides: the caller hands over text already in
//! the reader's language, and whether to print at all is the kiosk's call.

//!
//! # Layers
//!
//! - `receipt`: the model ([`Receipt`], [`Line`], [`loan_receipt`]);
//! - `layout`: text shaping for the paper (widths, wrapping, columns,
//!   what the printer can print, CODE128);
//! - `render`: the receipt as ESC/POS bytes ([`render`]) or plain text;
//! - `status`: [`PrinterError`] and the paper roll status (DLE EOT 4) over
//!   any `Read + Write` line;
//! - `transport`: [`PrinterTarget`] and sending bytes over serial, TCP or a
//!   device file;
//! - `sim`: [`SimPrinter`], the byte-exact simulator;
//! - `fuzz` (only with `cfg(fuzzing)` and in tests): the `cargo fuzz` entry.
//!
//! May import: `devices::rfid` (the simulator trait and faults) and
//! `domain::Lang`. Nothing else above `devices`.

mod error;
#[cfg(any(fuzzing, test))]
mod fuzz;
mod layout;
mod receipt;
mod render;
mod sim;
mod status;
#[cfg(test)]
mod test_support;
mod transport;

// The door: every layer's API, whether or not today's callers use all of it.
#[allow(unused_imports)]
pub use error::*;
#[cfg(fuzzing)]
pub use fuzz::fuzz_printer;
pub use receipt::*;
pub use render::*;
pub use sim::*;
pub use status::*;
pub use transport::*;
