//! The 3M pad's requests and answers, typed: [`Request`] and [`Response`]
//! to and from [`Frame`]s, the reader's error codes, and [`WireCost`], the
//! bytes an inventory with block reads puts on the line. Sans-IO.

use crate::devices::rfid::{uid_hex, DeviceError, Uid};

use super::codec::*;
/// A frame that passed its CRC but does not have the shape its command
/// code calls for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} frame (start {start:#04x}, command {cmd:#04x}, {len} field bytes)")]
pub struct Malformed {
    pub start: u8,
    pub cmd: u8,
    pub what: &'static str,
    pub len: usize,
}

fn malformed(f: &Frame, what: &'static str) -> Malformed {
    Malformed {
        start: f.start,
        cmd: f.cmd,
        what,
        len: f.body.len(),
    }
}

fn uid_at(b: &[u8], at: usize) -> Uid {
    let mut u = [0u8; 8];
    u.copy_from_slice(&b[at..at + 8]);
    u
}

/// Host → reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `D5 | 04 00 11` — the 810 probe / version query.
    Version,
    /// `FE | AFI | options`. AFI 0 asks every tag.
    Inventory { afi: u8, options: u8 },
    /// `02 | UID | first block | count`.
    ReadBlocks { uid: Uid, first: u8, count: u8 },
    /// `04 | UID | first block | count | 00 | count × 4 data bytes`.
    /// *Inferred*: the one captured write on a real 810 (first block 0)
    /// reads `04 UID 00 count 00 data`; the meaning of the byte before the
    /// data is unknown and is sent as 00. At most 255 blocks.
    WriteBlocks {
        uid: Uid,
        first: u8,
        blocks: Vec<[u8; 4]>,
    },
    /// `0A | UID`.
    GetAfi { uid: Uid },
    /// `09 | UID | AFI`.
    WriteAfi { uid: Uid, afi: u8 },
    /// `06 | UID` (*inferred*).
    LockAfi { uid: Uid },
    /// `03 | UID` (*inferred*).
    CheckEas { uid: Uid },
    /// `0C | UID | 01 on / 00 off` (*inferred*).
    SetEas { uid: Uid, on: bool },
}

impl Request {
    /// The command byte (`cmd::VERSION` for the probe).
    pub fn cmd(&self) -> u8 {
        match self {
            Request::Version => cmd::VERSION,
            Request::Inventory { .. } => cmd::INVENTORY,
            Request::ReadBlocks { .. } => cmd::READ_BLOCKS,
            Request::WriteBlocks { .. } => cmd::WRITE_BLOCKS,
            Request::GetAfi { .. } => cmd::GET_AFI,
            Request::WriteAfi { .. } => cmd::WRITE_AFI,
            Request::LockAfi { .. } => cmd::LOCK_AFI,
            Request::CheckEas { .. } => cmd::CHECK_EAS,
            Request::SetEas { .. } => cmd::EAS_CONTROL,
        }
    }

    /// The tag addressed, if any.
    pub fn uid(&self) -> Option<&Uid> {
        match self {
            Request::Version | Request::Inventory { .. } => None,
            Request::ReadBlocks { uid, .. }
            | Request::WriteBlocks { uid, .. }
            | Request::GetAfi { uid }
            | Request::WriteAfi { uid, .. }
            | Request::LockAfi { uid }
            | Request::CheckEas { uid }
            | Request::SetEas { uid, .. } => Some(uid),
        }
    }

    /// Whether the request changes a tag (such requests are never resent
    /// by the driver on its own).
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Request::WriteBlocks { .. }
                | Request::WriteAfi { .. }
                | Request::LockAfi { .. }
                | Request::SetEas { .. }
        )
    }

    pub fn to_frame(&self) -> Frame {
        let addressed = |c: u8, uid: &Uid, extra: &[u8]| {
            let mut body = uid.to_vec();
            body.extend_from_slice(extra);
            Frame::new(c, body)
        };
        match self {
            Request::Version => Frame {
                start: START_PROBE,
                cmd: PROBE_PAYLOAD[0],
                body: PROBE_PAYLOAD[1..].to_vec(),
            },
            Request::Inventory { afi, options } => Frame::new(cmd::INVENTORY, vec![*afi, *options]),
            Request::ReadBlocks { uid, first, count } => {
                addressed(cmd::READ_BLOCKS, uid, &[*first, *count])
            }
            Request::WriteBlocks { uid, first, blocks } => {
                let n = blocks.len().min(255);
                let mut extra = vec![*first, n as u8, 0x00];
                extra.extend(blocks[..n].iter().flatten());
                addressed(cmd::WRITE_BLOCKS, uid, &extra)
            }
            Request::GetAfi { uid } => addressed(cmd::GET_AFI, uid, &[]),
            Request::WriteAfi { uid, afi } => addressed(cmd::WRITE_AFI, uid, &[*afi]),
            Request::LockAfi { uid } => addressed(cmd::LOCK_AFI, uid, &[]),
            Request::CheckEas { uid } => addressed(cmd::CHECK_EAS, uid, &[]),
            Request::SetEas { uid, on } => addressed(cmd::EAS_CONTROL, uid, &[u8::from(*on)]),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(&self.to_frame())
    }

    /// Parses a host frame (what the simulator receives). Strict: a frame
    /// that parses re-encodes to the same bytes.
    pub fn from_frame(f: &Frame) -> Result<Request, Malformed> {
        let b = &f.body;
        if f.start == START_PROBE {
            return if f.cmd == PROBE_PAYLOAD[0] && b[..] == PROBE_PAYLOAD[1..] {
                Ok(Request::Version)
            } else {
                Err(malformed(f, "probe"))
            };
        }
        match f.cmd {
            cmd::INVENTORY if b.len() == 2 => Ok(Request::Inventory {
                afi: b[0],
                options: b[1],
            }),
            cmd::READ_BLOCKS if b.len() == 10 => Ok(Request::ReadBlocks {
                uid: uid_at(b, 0),
                first: b[8],
                count: b[9],
            }),
            cmd::WRITE_BLOCKS
                if b.len() >= 11 && b[10] == 0 && b.len() == 11 + 4 * usize::from(b[9]) =>
            {
                Ok(Request::WriteBlocks {
                    uid: uid_at(b, 0),
                    first: b[8],
                    blocks: b[11..]
                        .chunks_exact(4)
                        .map(|c| [c[0], c[1], c[2], c[3]])
                        .collect(),
                })
            }
            cmd::GET_AFI if b.len() == 8 => Ok(Request::GetAfi { uid: uid_at(b, 0) }),
            cmd::WRITE_AFI if b.len() == 9 => Ok(Request::WriteAfi {
                uid: uid_at(b, 0),
                afi: b[8],
            }),
            cmd::LOCK_AFI if b.len() == 8 => Ok(Request::LockAfi { uid: uid_at(b, 0) }),
            cmd::CHECK_EAS if b.len() == 8 => Ok(Request::CheckEas { uid: uid_at(b, 0) }),
            cmd::EAS_CONTROL if b.len() == 9 && b[8] <= 1 => Ok(Request::SetEas {
                uid: uid_at(b, 0),
                on: b[8] == 1,
            }),
            _ => Err(malformed(f, "request")),
        }
    }
}

/// Reader → host. Every D6 answer is `CMD | ERR | …`; an answer with
/// ERR ≠ 0 is `Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `D5 | 04 00 11 | 4 version bytes`.
    Version([u8; 4]),
    /// `FE | ERR | AFI echo | options echo | count | count × UID`.
    Inventory {
        afi: u8,
        options: u8,
        uids: Vec<Uid>,
    },
    /// `02 | ERR | UID | count | count × (block number u16 LE, 4 bytes)`.
    Blocks {
        uid: Uid,
        blocks: Vec<(u16, [u8; 4])>,
    },
    /// `04 | ERR | UID | count written`.
    BlocksWritten { uid: Uid, count: u8 },
    /// `0A | ERR | UID | AFI`.
    Afi { uid: Uid, afi: u8 },
    /// `09 | ERR | UID`.
    AfiWritten { uid: Uid },
    /// `06 | ERR | UID` (*inferred*).
    AfiLocked { uid: Uid },
    /// `03 | ERR | UID | 01 armed / 00 not` (*inferred*).
    Eas { uid: Uid, on: bool },
    /// `0C | ERR | UID` (*inferred*).
    EasSet { uid: Uid },
    /// `CMD | ERR | UID` for addressed commands, `CMD | ERR` otherwise
    /// (*inferred*: what follows ERR in an error answer is not documented;
    /// the parser takes a UID if 8 bytes follow and ignores nothing else).
    Error { cmd: u8, code: u8, uid: Option<Uid> },
}

impl Response {
    pub fn cmd(&self) -> u8 {
        match self {
            Response::Version(_) => cmd::VERSION,
            Response::Inventory { .. } => cmd::INVENTORY,
            Response::Blocks { .. } => cmd::READ_BLOCKS,
            Response::BlocksWritten { .. } => cmd::WRITE_BLOCKS,
            Response::Afi { .. } => cmd::GET_AFI,
            Response::AfiWritten { .. } => cmd::WRITE_AFI,
            Response::AfiLocked { .. } => cmd::LOCK_AFI,
            Response::Eas { .. } => cmd::CHECK_EAS,
            Response::EasSet { .. } => cmd::EAS_CONTROL,
            Response::Error { cmd, .. } => *cmd,
        }
    }

    pub fn uid(&self) -> Option<&Uid> {
        match self {
            Response::Version(_) | Response::Inventory { .. } => None,
            Response::Error { uid, .. } => uid.as_ref(),
            Response::Blocks { uid, .. }
            | Response::BlocksWritten { uid, .. }
            | Response::Afi { uid, .. }
            | Response::AfiWritten { uid }
            | Response::AfiLocked { uid }
            | Response::Eas { uid, .. }
            | Response::EasSet { uid } => Some(uid),
        }
    }

    pub fn to_frame(&self) -> Frame {
        let ok = |c: u8, uid: &Uid, extra: &[u8]| {
            let mut body = vec![err::OK];
            body.extend_from_slice(uid);
            body.extend_from_slice(extra);
            Frame::new(c, body)
        };
        match self {
            Response::Version(v) => {
                let mut body = PROBE_PAYLOAD[1..].to_vec();
                body.extend_from_slice(v);
                Frame {
                    start: START_PROBE,
                    cmd: PROBE_PAYLOAD[0],
                    body,
                }
            }
            Response::Inventory { afi, options, uids } => {
                let n = uids.len().min(255);
                let mut body = vec![err::OK, *afi, *options, n as u8];
                body.extend(uids[..n].iter().flatten());
                Frame::new(cmd::INVENTORY, body)
            }
            Response::Blocks { uid, blocks } => {
                let n = blocks.len().min(255);
                let mut extra = vec![n as u8];
                for (no, data) in &blocks[..n] {
                    extra.extend_from_slice(&no.to_le_bytes());
                    extra.extend_from_slice(data);
                }
                ok(cmd::READ_BLOCKS, uid, &extra)
            }
            Response::BlocksWritten { uid, count } => ok(cmd::WRITE_BLOCKS, uid, &[*count]),
            Response::Afi { uid, afi } => ok(cmd::GET_AFI, uid, &[*afi]),
            Response::AfiWritten { uid } => ok(cmd::WRITE_AFI, uid, &[]),
            Response::AfiLocked { uid } => ok(cmd::LOCK_AFI, uid, &[]),
            Response::Eas { uid, on } => ok(cmd::CHECK_EAS, uid, &[u8::from(*on)]),
            Response::EasSet { uid } => ok(cmd::EAS_CONTROL, uid, &[]),
            Response::Error { cmd, code, uid } => {
                let mut body = vec![*code];
                if let Some(u) = uid {
                    body.extend_from_slice(u);
                }
                Frame::new(*cmd, body)
            }
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        encode(&self.to_frame())
    }

    /// Parses a reader frame. Strict: a frame that parses re-encodes to the
    /// same bytes.
    pub fn from_frame(f: &Frame) -> Result<Response, Malformed> {
        let b = &f.body;
        if f.start == START_PROBE {
            return if f.cmd == PROBE_PAYLOAD[0] && b.len() == 6 && b[..2] == PROBE_PAYLOAD[1..] {
                Ok(Response::Version([b[2], b[3], b[4], b[5]]))
            } else {
                Err(malformed(f, "probe answer"))
            };
        }
        let Some(&code) = b.first() else {
            return Err(malformed(f, "answer"));
        };
        if code != err::OK {
            return match b.len() {
                1 => Ok(Response::Error {
                    cmd: f.cmd,
                    code,
                    uid: None,
                }),
                9 => Ok(Response::Error {
                    cmd: f.cmd,
                    code,
                    uid: Some(uid_at(b, 1)),
                }),
                _ => Err(malformed(f, "error answer")),
            };
        }
        let n = b.len();
        match f.cmd {
            cmd::INVENTORY if n >= 4 && n == 4 + 8 * usize::from(b[3]) => Ok(Response::Inventory {
                afi: b[1],
                options: b[2],
                uids: b[4..].chunks_exact(8).map(|c| uid_at(c, 0)).collect(),
            }),
            cmd::READ_BLOCKS if n >= 10 && n == 10 + 6 * usize::from(b[9]) => {
                Ok(Response::Blocks {
                    uid: uid_at(b, 1),
                    blocks: b[10..]
                        .chunks_exact(6)
                        .map(|c| (u16::from_le_bytes([c[0], c[1]]), [c[2], c[3], c[4], c[5]]))
                        .collect(),
                })
            }
            cmd::WRITE_BLOCKS if n == 10 => Ok(Response::BlocksWritten {
                uid: uid_at(b, 1),
                count: b[9],
            }),
            cmd::GET_AFI if n == 10 => Ok(Response::Afi {
                uid: uid_at(b, 1),
                afi: b[9],
            }),
            cmd::WRITE_AFI if n == 9 => Ok(Response::AfiWritten { uid: uid_at(b, 1) }),
            cmd::LOCK_AFI if n == 9 => Ok(Response::AfiLocked { uid: uid_at(b, 1) }),
            cmd::CHECK_EAS if n == 10 && b[9] <= 1 => Ok(Response::Eas {
                uid: uid_at(b, 1),
                on: b[9] == 1,
            }),
            cmd::EAS_CONTROL if n == 9 => Ok(Response::EasSet { uid: uid_at(b, 1) }),
            _ => Err(malformed(f, "answer")),
        }
    }
}

/// The `DeviceError` for a reader error code on a request about `uid`.
pub fn reader_error(code: u8, uid: Option<&Uid>) -> DeviceError {
    match (code, uid) {
        (err::NO_TRANSPONDER, Some(u)) => DeviceError::NoTransponder(uid_hex(u)),
        _ => DeviceError::Reader {
            code,
            meaning: error_meaning(code),
        },
    }
}

/// Frames and bytes one way and the other for a piece of work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct WireCost {
    pub frames_to_reader: usize,
    pub bytes_to_reader: usize,
    pub frames_from_reader: usize,
    pub bytes_from_reader: usize,
}

impl WireCost {
    /// Seconds on the wire at `bytes_per_second` (1920 at 19200 baud 8N1).
    /// The exchange is half-duplex (the host waits for each answer), so
    /// both directions add up. The reader's own RF time is not included.
    pub fn seconds(&self, bytes_per_second: f64) -> f64 {
        (self.bytes_to_reader + self.bytes_from_reader) as f64 / bytes_per_second
    }
}

/// One inventory finding `tags` tags, then reading `blocks` blocks from
/// each, `per_request` blocks per read request (the driver's default is
/// `DEFAULT_BLOCKS_PER_REQUEST`).
///
/// Inventory: 8 bytes out, 10 + 8·tags back. Each read request: 16 bytes
/// out, 16 + 6·k back for k blocks.
pub fn inventory_and_read_cost(tags: usize, blocks: usize, per_request: usize) -> WireCost {
    let per = per_request.clamp(1, 255);
    let reads = tags * blocks.div_ceil(per);
    WireCost {
        frames_to_reader: 1 + reads,
        bytes_to_reader: (FRAME_OVERHEAD + 3) + reads * (FRAME_OVERHEAD + 11),
        frames_from_reader: 1 + reads,
        bytes_from_reader: (FRAME_OVERHEAD + 5 + 8 * tags)
            + reads * (FRAME_OVERHEAD + 11)
            + tags * blocks * 6,
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::m3::test_support::*;
    use crate::devices::m3::Sim3m;
    use crate::devices::rfid::{hex, Field, Simulator};
    #[test]
    fn golden_worked_example() {
        // LEN 9 = CMD 03 + 6 field bytes + CRC. Command 03 is check EAS, but
        // 6 field bytes cannot hold an 8-byte UID: a CRC example, not a
        // request or answer of a documented shape.
        let frame = Frame::new(0x03, h("00 02 00 00 00 03"));
        assert_eq!(encode(&frame), h("D6 00 09 03 00 02 00 00 00 03 12 E6"));
        let mut d = FrameDecoder::new();
        assert_eq!(d.feed(&encode(&frame)), vec![Ok(frame.clone())]);
        assert!(Request::from_frame(&frame).is_err());
        assert!(Response::from_frame(&frame).is_err());
    }

    #[test]
    fn golden_probe() {
        assert_eq!(Request::Version.encode(), h("D5 00 05 04 00 11 8C 66"));
        let answer = h("D5 00 09 04 00 11 0A 05 00 02 72 50");
        assert_eq!(Response::Version([0x0A, 5, 0, 2]).encode(), answer);
        let mut sim = Sim3m::new(Field::default());
        assert_eq!(sim.receive(&h("D5 00 05 04 00 11 8C 66")), answer);
        let f = FrameDecoder::new().feed(&answer).remove(0).unwrap();
        assert_eq!(
            Response::from_frame(&f),
            Ok(Response::Version([0x0A, 5, 0, 2]))
        );
    }

    /// CRCs below were computed independently (a bitwise Python CRC).
    #[test]
    fn golden_commands() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                Request::Inventory { afi: 0, options: 5 }.encode(),
                "D6 00 05 FE 00 05 FA 40",
            ),
            (
                Response::Inventory {
                    afi: 0,
                    options: 5,
                    uids: vec![UID],
                }
                .encode(),
                "D6 00 0F FE 00 00 05 01 E0 04 01 00 12 34 56 78 13 EC",
            ),
            (
                Request::ReadBlocks {
                    uid: UID,
                    first: 0,
                    count: 2,
                }
                .encode(),
                "D6 00 0D 02 E0 04 01 00 12 34 56 78 00 02 01 33",
            ),
            (
                Response::Blocks {
                    uid: UID,
                    blocks: vec![(0, [0x04, 0x11, 0x00, 0x00]), (1, *b"1234")],
                }
                .encode(),
                "D6 00 19 02 00 E0 04 01 00 12 34 56 78 02 00 00 04 11 00 00 01 00 31 32 33 34 BA B9",
            ),
            (
                Request::GetAfi { uid: UID }.encode(),
                "D6 00 0B 0A E0 04 01 00 12 34 56 78 7F 9F",
            ),
            (
                Response::Afi { uid: UID, afi: 0x07 }.encode(),
                "D6 00 0D 0A 00 E0 04 01 00 12 34 56 78 07 8B E4",
            ),
            (
                Request::WriteAfi { uid: UID, afi: 0xC2 }.encode(),
                "D6 00 0C 09 E0 04 01 00 12 34 56 78 C2 6F 0B",
            ),
            (
                Response::AfiWritten { uid: UID }.encode(),
                "D6 00 0C 09 00 E0 04 01 00 12 34 56 78 ED B2",
            ),
            (
                Response::Error {
                    cmd: cmd::WRITE_AFI,
                    code: err::WRITE_FAILED,
                    uid: Some(UID),
                }
                .encode(),
                "D6 00 0C 09 16 E0 04 01 00 12 34 56 78 E4 C4",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(hex(&got), hex(&h(want)), "{want}");
        }
    }

    #[test]
    fn golden_blocks_answer_decodes_block_numbers_little_endian() {
        let bytes =
            h("D6 00 19 02 00 E0 04 01 00 12 34 56 78 02 00 00 04 11 00 00 01 00 31 32 33 34");
        let mut framed = bytes.clone();
        framed.extend_from_slice(&crc16(&bytes[1..]).to_be_bytes());
        assert_eq!(&framed[framed.len() - 2..], &[0xBA, 0xB9][..]);
        let f = FrameDecoder::new().feed(&framed).remove(0).unwrap();
        assert_eq!(
            Response::from_frame(&f),
            Ok(Response::Blocks {
                uid: UID,
                blocks: vec![(0, [0x04, 0x11, 0x00, 0x00]), (1, *b"1234")],
            })
        );
    }

    #[test]
    fn requests_and_responses_round_trip() {
        for req in all_requests() {
            let bytes = req.encode();
            let frames = only_ok(FrameDecoder::new().feed(&bytes));
            assert_eq!(frames.len(), 1, "{req:?}");
            assert_eq!(Request::from_frame(&frames[0]), Ok(req.clone()));
            assert_eq!(frames[0].wire_len(), bytes.len());
        }
        for resp in all_responses() {
            let bytes = resp.encode();
            let frames = only_ok(FrameDecoder::new().feed(&bytes));
            assert_eq!(
                Response::from_frame(&frames[0]),
                Ok(resp.clone()),
                "{resp:?}"
            );
        }
    }

    #[test]
    fn malformed_frames_are_refused() {
        let short = Frame::new(cmd::GET_AFI, vec![0x00, 1, 2]);
        assert!(Response::from_frame(&short).is_err());
        assert!(Request::from_frame(&short).is_err());
        let bad_count = Frame::new(cmd::INVENTORY, vec![0, 0, 5, 2, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(Response::from_frame(&bad_count).is_err());
        assert!(Response::from_frame(&Frame::new(cmd::INVENTORY, vec![])).is_err());
        let bad_probe = Frame {
            start: START_PROBE,
            cmd: 0x04,
            body: vec![0x00, 0x12],
        };
        assert!(Request::from_frame(&bad_probe).is_err());
    }
}
