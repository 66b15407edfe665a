//! The `cargo fuzz` entry point of the printer simulator (built only with
//! `cfg(fuzzing)`, and for the tests that run it).

use crate::devices::rfid::Simulator;

use super::sim::{SimPrinter, MAX_PENDING};
/// Fuzz entry point: feeds `data` to a `SimPrinter` whole and in pieces and
/// panics if it held an unbounded command or if the answers or the paper
/// depend on how the bytes were split.
pub fn fuzz_printer(data: &[u8]) {
    let mut whole = SimPrinter::new();
    let answers = whole.receive(data);
    let step = data.first().map_or(1, |b| usize::from(b % 7) + 1);
    let mut pieces = SimPrinter::new();
    let mut piece_answers = Vec::new();
    for chunk in data.chunks(step) {
        piece_answers.extend(pieces.receive(chunk));
        assert!(
            pieces.pending.len() <= MAX_PENDING,
            "simulator holds {} bytes of one command",
            pieces.pending.len()
        );
    }
    assert_eq!(answers, piece_answers, "answers depend on the split");
    assert_eq!(whole.printed, pieces.printed, "paper depends on the split");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::render::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn simulator_never_panics_on_random_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..600)
        ) {
            fuzz_printer(&data);
        }

        #[test]
        fn simulator_never_panics_on_command_soup(
            data in proptest::collection::vec(
                prop_oneof![
                    Just(ESC), Just(GS), Just(FS), Just(DLE), Just(EOT), Just(LF), Just(0u8),
                    any::<u8>(),
                ],
                0..400,
            )
        ) {
            fuzz_printer(&data);
        }

    }
}
