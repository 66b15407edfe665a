//! Why printing or asking for the paper status did not work.

use std::io;
use std::time::Duration;

/// Why printing or asking for the paper status did not work.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    #[error(
        "printer port {0:?} is not understood: use a serial device (/dev/ttyUSB0, COM3), \
         tcp://HOST[:PORT] or a device file (/dev/usb/lp0, file:///path)"
    )]
    BadTarget(String),
    #[error("cannot open the receipt printer on {target}: {reason}; check its cable, power and the `port` setting")]
    Open { target: String, reason: String },
    #[error("sending the receipt to the printer on {target} failed: {reason}")]
    Send { target: String, reason: String },
    #[error("i/o error talking to the receipt printer: {0}")]
    Io(#[from] io::Error),
    #[error(
        "no paper status from the receipt printer within {0:?}; is it switched on and connected?"
    )]
    NoAnswer(Duration),
    #[error(
        "the receipt printer answered {0:#04x}, which is not a paper status (bit pattern 0xx1xx10)"
    )]
    BadStatus(u8),
}
