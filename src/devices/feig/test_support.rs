//! Helpers shared by the FEIG unit tests.

use std::time::Duration;

use proptest::prelude::ProptestConfig;
use proptest::test_runner::RngSeed;

use crate::devices::rfid::{Faults, Field, SimPort, SimTag, Simulator, Uid};

use super::*;
/// CRC-16/MCRF4XX bit by bit, independent of the `crc` crate.
pub(crate) fn crc_bitwise(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x8408
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Appends the CRC, LSB first.
pub(crate) fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let crc = crc_bitwise(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

pub(crate) fn uid(n: u8) -> Uid {
    [0xE0, 0x04, 0x01, 0x00, 0x12, 0x34, 0x56, n]
}

pub(crate) fn tag(n: u8) -> SimTag {
    let data: Vec<u8> = (0..112u8).map(|i| i.wrapping_add(n)).collect();
    let mut t = SimTag::new(uid(n), &data, 0x07);
    t.dsfid = 0x3E;
    t
}

pub(crate) type Rig = ReaderFeig<SimPort<SimFeig>>;

pub(crate) fn rig_with(sim: SimFeig) -> Rig {
    ReaderFeig::new(SimPort::new(sim), ANY_ADDRESS, Duration::from_millis(30))
        .with_frame_gap(Duration::ZERO)
}

pub(crate) fn rig(field: &Field) -> Rig {
    rig_with(SimFeig::new(field.clone()))
}

pub(crate) fn faults(r: &mut Rig) -> &mut Faults {
    r.port_mut().sim.faults()
}

pub(crate) fn decode_all(bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
    FrameDecoder::new().feed(bytes)
}

pub(crate) fn seeded(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x4645_4947),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
