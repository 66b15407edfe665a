//! The `cargo fuzz` entry point of the 3M codec and simulator (built only
//! with `cfg(fuzzing)`, and for the tests that run it on examples).

use crate::devices::rfid::{Field, SimTag, Simulator};

use super::codec::*;
use super::commands::{Request, Response};
use super::sim::Sim3m;
/// Feeds arbitrary bytes to the decoder (whole and in pieces) and to the
/// simulator, checking the invariants a fuzzer should never break: no
/// panic, piecewise decoding equals whole decoding, every byte accounted
/// for, parsed frames re-encode exactly, and the simulator only ever sends
/// well-formed answers.
pub fn fuzz_frames(data: &[u8]) {
    let mut whole = FrameDecoder::new();
    let got_whole = whole.feed(data);
    let mut pieces = FrameDecoder::new();
    let step = usize::from(data.first().copied().unwrap_or(1) % 7) + 1;
    let mut got_pieces = Vec::new();
    for chunk in data.chunks(step) {
        got_pieces.extend(pieces.feed(chunk));
    }
    assert_eq!(
        got_whole, got_pieces,
        "decoding depends on how bytes are split"
    );
    assert_eq!(whole.stats(), pieces.stats());
    let s = whole.stats();
    assert_eq!(
        s.bytes_in,
        s.frame_bytes + s.garbage_bytes + whole.buffered() as u64
    );
    assert!(whole.buffered() <= 3 + MAX_LEN);
    let flushed = whole.flush();
    assert_eq!(whole.buffered(), 0);
    let s = whole.stats();
    assert_eq!(s.bytes_in, s.frame_bytes + s.garbage_bytes);

    for frame in got_whole.iter().chain(flushed.iter()).flatten() {
        let bytes = encode(frame);
        let mut again = FrameDecoder::new();
        assert_eq!(again.feed(&bytes), vec![Ok(frame.clone())]);
        if let Ok(req) = Request::from_frame(frame) {
            assert_eq!(&req.to_frame(), frame);
        }
        if let Ok(resp) = Response::from_frame(frame) {
            assert_eq!(&resp.to_frame(), frame);
        }
    }

    let uid = [0xE0, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01];
    let mut sim = Sim3m::new(Field::new([SimTag::new(uid, b"fuzz", 0x07)]));
    let answer = sim.receive(data);
    let mut check = FrameDecoder::new();
    for item in check.feed(&answer) {
        let frame = item.expect("the simulator sent a bad frame");
        Response::from_frame(&frame).expect("the simulator sent a malformed answer");
    }
    assert_eq!(check.buffered(), 0);
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::m3::test_support::*;
    use proptest::prelude::*;

    // --- fuzz / properties -----------------------------------------------------

    #[test]
    fn fuzz_entry_point_on_known_inputs() {
        fuzz_frames(&[]);
        fuzz_frames(&h("D6 00 09 03 00 02 00 00 00 03 12 E6"));
        let mut all = Vec::new();
        for r in all_requests() {
            all.extend(r.encode());
        }
        all.extend([START, 0xFF, 0xFF, START, 0x00]);
        fuzz_frames(&all);
    }

    proptest! {
        #[test]
        fn decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..600)) {
            fuzz_frames(&data);
        }

        #[test]
        fn decoder_never_panics_on_start_heavy_input(
            data in prop::collection::vec(prop_oneof![Just(START), Just(START_PROBE), Just(0u8), any::<u8>()], 0..300)
        ) {
            fuzz_frames(&data);
        }
    }
}
