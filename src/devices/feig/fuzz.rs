//! The `cargo fuzz` entry point of the FEIG codec and simulator (built only
//! with `cfg(fuzzing)`, and for the tests that run it on examples).

use crate::devices::rfid::{hex, Field, SimTag, Simulator};

use super::codec::FrameDecoder;
use super::commands::{BlockOrder, NxpCommand, Reply, Request};
use super::sim::SimFeig;
/// Feeds arbitrary bytes to the decoder and to a simulator (for `cargo
/// fuzz`). Panics only if an invariant breaks: every decoded frame
/// re-encodes to itself, every simulator answer decodes cleanly.
pub fn fuzz_frames(data: &[u8]) {
    let step = data.first().map_or(1, |b| usize::from(b % 16) + 1);
    let mut dec = FrameDecoder::new();
    let mut frames = Vec::new();
    for chunk in data.chunks(step) {
        frames.extend(dec.feed(chunk).into_iter().filter_map(Result::ok));
    }
    let uid = [0xE0, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01];
    let requests = [
        Request::SoftwareVersion,
        Request::Inventory { more: false },
        Request::ReadBlocks {
            uid,
            first: 0,
            count: 4,
            security: false,
        },
        Request::WriteAfi { uid, afi: 0x07 },
        Request::SystemInfo { uid },
        Request::Nxp {
            uid,
            command: NxpCommand::EasAlarm,
        },
    ];
    for frame in &frames {
        let again = FrameDecoder::new().feed(&frame.encode());
        assert!(
            matches!(again.as_slice(), [Ok(f)] if f == frame),
            "frame does not survive a round trip: {frame:?}"
        );
        for request in &requests {
            let _ = Reply::parse(request, frame, BlockOrder::Reversed);
        }
        let _ = Request::parse(frame, BlockOrder::Memory);
    }

    let field = Field::new([
        SimTag::new(uid, b"fuzz", 0x07),
        SimTag::new([0xE0, 0x16, 0, 0, 0, 0, 0, 2], b"", 0xC2),
    ]);
    let mut sim = SimFeig::new(field).with_inventory_chunk(step);
    for chunk in data.chunks(step) {
        let out = sim.receive(chunk);
        for answer in FrameDecoder::new().feed(&out) {
            assert!(
                answer.is_ok(),
                "simulator sent a broken frame: {}",
                hex(&out)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::feig::test_support::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    #[test]
    fn fuzz_examples() {
        fuzz_frames(&[]);
        fuzz_frames(&[0x07, 0xFF, 0xB0, 0x01, 0x00, 0x1C, 0x56]);
        let mut all = Vec::new();
        for r in [
            Request::SoftwareVersion,
            Request::Inventory { more: false },
            Request::Inventory { more: true },
            Request::ReadBlocks {
                uid: [0xE0, 0x04, 0x01, 0x00, 0, 0, 0, 1],
                first: 0,
                count: 3,
                security: false,
            },
            Request::WriteAfi {
                uid: [0xE0, 0x04, 0x01, 0x00, 0, 0, 0, 1],
                afi: 0xC2,
            },
        ] {
            all.extend(r.encode(0xFF, BlockOrder::Reversed));
        }
        fuzz_frames(&all);
    }

    proptest! {
        #![proptest_config(seeded(512))]

        #[test]
        fn fuzz_target_never_panics(data in vec(any::<u8>(), 0..400)) {
            fuzz_frames(&data);
        }
    }
}
