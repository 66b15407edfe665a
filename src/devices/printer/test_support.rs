//! Helpers shared by the printer unit tests.

use std::io::Write;

use crate::devices::rfid::SimPort;

use super::*;

pub(crate) fn en_receipt() -> Receipt {
    Receipt {
        lines: vec![
            Line::Heading("Loan receipt".into()),
            Line::Pair("Due".into(), "2026-12-07".into()),
            Line::Rule,
            Line::Text("Thank you".into()),
        ],
    }
}

pub(crate) fn zh_receipt() -> Receipt {
    Receipt {
        lines: vec![
            Line::Heading("借书凭条".into()),
            Line::Pair("到期日".into(), "2026-12-07".into()),
        ],
    }
}

/// Prints through a SimPort, as the kiosk would over a serial port.
pub(crate) fn print_on(sim: SimPrinter, bytes: &[u8]) -> SimPrinter {
    let mut port = SimPort::new(sim);
    port.write_all(bytes).unwrap();
    port.sim
}

pub(crate) fn non_empty(sim: &SimPrinter) -> Vec<String> {
    sim.texts().into_iter().filter(|t| !t.is_empty()).collect()
}
