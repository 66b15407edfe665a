//! The paper roll status: the DLE EOT 4 request and its answer byte, read
//! over any `Read + Write` line (a serial port, a socket, `rfid::SimPort`).

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use escpos::utils::{RealTimeStatusRequest, RealTimeStatusResponse};
use serde::{Deserialize, Serialize};

use super::error::PrinterError;
use super::render::{DLE, EOT};
/// DLE EOT 4: real-time status of the roll paper sensor, answered with one byte.
pub const PAPER_STATUS_REQUEST: [u8; 3] = [DLE, EOT, 4];

/// What the roll paper sensors say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaperStatus {
    Ok,
    /// The near-end sensor sees the end of the roll coming: change it soon.
    NearEnd,
    /// No paper: the printer has stopped.
    Out,
}

impl PaperStatus {
    /// The DLE EOT 4 answer of a printer in this state: fixed bits 0x12,
    /// near end 0x0C, paper end 0x60 (an empty roll trips both sensors).
    pub fn status_byte(self) -> u8 {
        match self {
            PaperStatus::Ok => 0x12,
            PaperStatus::NearEnd => 0x1E,
            PaperStatus::Out => 0x7E,
        }
    }
}

/// Reads a DLE EOT 4 answer: any of bits 0x60 set is paper out, else any of
/// 0x0C is near end. Bytes without the fixed bits (0xx1xx10) are not status
/// answers.
pub fn parse_paper_status(byte: u8) -> Result<PaperStatus, PrinterError> {
    let flags = RealTimeStatusResponse::parse(RealTimeStatusRequest::RollPaperSensor, byte)
        .map_err(|_| PrinterError::BadStatus(byte))?;
    let is = |flag| flags.get(&flag).copied().unwrap_or(false);
    Ok(
        if !is(RealTimeStatusResponse::RollPaperEndSensorPaperPresent) {
            PaperStatus::Out
        } else if !is(RealTimeStatusResponse::RollPaperNearEndSensorPaperAdequate) {
            PaperStatus::NearEnd
        } else {
            PaperStatus::Ok
        },
    )
}

/// Asks the printer on `port` for its paper status (DLE EOT 4) and waits up
/// to `timeout` for the answer. Bytes that are not status answers (XON/XOFF
/// on a serial line, stale data) are skipped; if nothing but such bytes
/// came, the last one is reported as `BadStatus`.
///
/// The request is written by hand: escpos's `real_time_status` appends a
/// parameter byte that DLE EOT 1-4 does not take.
pub fn status<P: Read + Write>(
    port: &mut P,
    timeout: Duration,
) -> Result<PaperStatus, PrinterError> {
    port.write_all(&PAPER_STATUS_REQUEST)?;
    port.flush()?;
    let deadline = Instant::now() + timeout;
    let mut rejected = None;
    loop {
        let mut byte = [0u8; 1];
        let got = match port.read(&mut byte) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) =>
            {
                0
            }
            Err(e) => return Err(e.into()),
        };
        if got == 1 {
            match parse_paper_status(byte[0]) {
                Ok(status) => {
                    tracing::debug!(?status, "printer paper status");
                    return Ok(status);
                }
                Err(_) => rejected = Some(byte[0]),
            }
            continue;
        }
        if Instant::now() >= deadline {
            return Err(match rejected {
                Some(b) => PrinterError::BadStatus(b),
                None => PrinterError::NoAnswer(timeout),
            });
        }
        // Ports that give up at once (in-memory, non-blocking) would spin.
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::SimPrinter;
    use crate::devices::rfid::{SimPort, Simulator};

    #[test]
    fn paper_status_bits() {
        let cases = [
            (0x12, PaperStatus::Ok),
            (0x16, PaperStatus::NearEnd), // bit 2
            (0x1A, PaperStatus::NearEnd), // bit 3
            (0x1E, PaperStatus::NearEnd), // 0x0C
            (0x32, PaperStatus::Out),     // bit 5
            (0x52, PaperStatus::Out),     // bit 6
            (0x72, PaperStatus::Out),     // 0x60
            (0x7E, PaperStatus::Out),     // both sensors
        ];
        for (byte, expected) in cases {
            assert_eq!(parse_paper_status(byte).unwrap(), expected, "{byte:#04x}");
        }
        for status in [PaperStatus::Ok, PaperStatus::NearEnd, PaperStatus::Out] {
            assert_eq!(parse_paper_status(status.status_byte()).unwrap(), status);
        }
        // Not status answers: fixed bits wrong (XON 0x11, XOFF 0x13, 0x00, 0xFF...).
        for byte in [0x00, 0x02, 0x10, 0x11, 0x13, 0x92, 0xFF] {
            assert!(
                matches!(parse_paper_status(byte), Err(PrinterError::BadStatus(b)) if b == byte),
                "{byte:#04x}"
            );
        }
    }

    #[test]
    fn status_through_sim_port() {
        for paper in [PaperStatus::Ok, PaperStatus::NearEnd, PaperStatus::Out] {
            let mut sim = SimPrinter::new();
            sim.set_paper(paper);
            let mut port = SimPort::new(sim);
            assert_eq!(status(&mut port, Duration::from_secs(1)).unwrap(), paper);
        }
        // Split answers and XON noise in front are fine.
        let mut port = SimPort::new(SimPrinter::new());
        port.sim.set_paper(PaperStatus::NearEnd);
        port.sim.faults().noise = vec![0x11, 0x13];
        port.sim.faults().split = Some(1);
        assert_eq!(
            status(&mut port, Duration::from_secs(1)).unwrap(),
            PaperStatus::NearEnd
        );
    }

    #[test]
    fn status_without_an_answer_fails() {
        let mut port = SimPort::new(SimPrinter::new());
        port.sim.faults().no_answer = 1;
        let e = status(&mut port, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, PrinterError::NoAnswer(_)), "{e}");
        // Only garbage came back: reported as such.
        let mut line = Garbage(vec![0x11, 0xFF]);
        let e = status(&mut line, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, PrinterError::BadStatus(0xFF)), "{e}");
    }

    /// A line that answers anything with fixed bytes, then stays silent.
    struct Garbage(Vec<u8>);
    impl Write for Garbage {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Read for Garbage {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            buf[0] = self.0.remove(0);
            Ok(1)
        }
    }
}
