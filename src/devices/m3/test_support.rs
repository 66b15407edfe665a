//! Helpers shared by the 3M unit tests.

use std::time::Duration;

use crate::devices::rfid::{parse_hex, Faults, Field, SimPort, SimTag, Simulator, Uid};

use super::*;
pub(crate) const UID: Uid = [0xE0, 0x04, 0x01, 0x00, 0x12, 0x34, 0x56, 0x78];
pub(crate) const UID2: Uid = [0xE0, 0x04, 0x01, 0x00, 0x12, 0x34, 0x56, 0x79];
pub(crate) const T: Duration = Duration::from_millis(30);

pub(crate) fn h(s: &str) -> Vec<u8> {
    parse_hex(s).expect("test hex")
}

pub(crate) fn only_ok(items: Vec<Result<Frame, FrameError>>) -> Vec<Frame> {
    items.into_iter().filter_map(Result::ok).collect()
}

pub(crate) fn tag(uid: Uid, afi: u8) -> SimTag {
    SimTag::new(uid, b"\x04\x11\x00\x01000123456789\0\0\0\0", afi)
}

pub(crate) fn rig(tags: Vec<SimTag>) -> (Reader3m<SimPort<Sim3m>>, Field) {
    let field = Field::new(tags);
    let reader = Reader3m::new(SimPort::new(Sim3m::new(field.clone())), T);
    (reader, field)
}

pub(crate) fn faults(r: &mut Reader3m<SimPort<Sim3m>>) -> &mut Faults {
    r.port_mut().sim.faults()
}

// --- codec ---------------------------------------------------------------

pub(crate) fn all_requests() -> Vec<Request> {
    vec![
        Request::Version,
        Request::Inventory {
            afi: 0x07,
            options: 5,
        },
        Request::ReadBlocks {
            uid: UID,
            first: 3,
            count: 8,
        },
        Request::WriteBlocks {
            uid: UID,
            first: 1,
            blocks: vec![*b"abcd", *b"efgh"],
        },
        Request::GetAfi { uid: UID },
        Request::WriteAfi {
            uid: UID,
            afi: 0xC2,
        },
        Request::LockAfi { uid: UID },
        Request::CheckEas { uid: UID },
        Request::SetEas { uid: UID, on: true },
        Request::SetEas {
            uid: UID,
            on: false,
        },
    ]
}

pub(crate) fn all_responses() -> Vec<Response> {
    vec![
        Response::Version([1, 2, 3, 4]),
        Response::Inventory {
            afi: 0,
            options: 5,
            uids: vec![],
        },
        Response::Inventory {
            afi: 0,
            options: 5,
            uids: vec![UID, UID2],
        },
        Response::Blocks {
            uid: UID,
            blocks: vec![(7, *b"wxyz"), (8, [0; 4])],
        },
        Response::BlocksWritten { uid: UID, count: 2 },
        Response::Afi {
            uid: UID,
            afi: 0xDA,
        },
        Response::AfiWritten { uid: UID },
        Response::AfiLocked { uid: UID },
        Response::Eas { uid: UID, on: true },
        Response::EasSet { uid: UID },
        Response::Error {
            cmd: cmd::GET_AFI,
            code: err::NO_TRANSPONDER,
            uid: Some(UID),
        },
        Response::Error {
            cmd: cmd::INVENTORY,
            code: 0x01,
            uid: None,
        },
    ]
}
