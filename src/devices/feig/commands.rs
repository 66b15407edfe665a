//! The FEIG host-mode commands a kiosk needs, typed: [`Request`] and
//! [`Reply`] to and from [`Frame`]s, the STATUS and ISO 15693 error codes
//! and what they mean. Sans-IO, like the codec beneath it.

use crate::devices::rfid::{uid_hex, DeviceError, Uid};

use super::codec::*;
/// Blocks per read or write request: the manuals allow 128 data bytes.
pub const MAX_BLOCKS_PER_REQUEST: u8 = 32;
/// Block size of the library tags this driver reads and writes.
pub const BLOCK_SIZE: u8 = 4;

/// `[0xB0]` sub-commands.
pub const ISO_INVENTORY: u8 = 0x01;
pub const ISO_READ_BLOCKS: u8 = 0x23;
pub const ISO_WRITE_BLOCKS: u8 = 0x24;
pub const ISO_WRITE_AFI: u8 = 0x27;
pub const ISO_LOCK_AFI: u8 = 0x28;
pub const ISO_SYSTEM_INFO: u8 = 0x2B;

/// IC manufacturer code of NXP (Philips), UID byte 1 and the `[0xB1]` MFR byte.
pub const MFR_NXP: u8 = 0x04;
/// TR-TYPE of an ISO 15693 transponder in an inventory data set.
pub const TR_TYPE_ISO15693: u8 = 0x03;

const MODE_ADDRESSED: u8 = 0x01;
const MODE_ADR_MASK: u8 = 0x07;
const MODE_SEC: u8 = 0x08;
const MODE_MORE: u8 = 0x80;
/// Data sets that fit a standard answer: 7 + 10 × 24 = 247 ≤ 255.
pub(super) const SHORT_INVENTORY_CHUNK: usize = 24;
/// DATA-SETS is one byte.
pub(super) const LONG_INVENTORY_CHUNK: usize = 255;

/// STATUS bytes (FEIG manuals, Annex "Index of Status Bytes").
#[allow(dead_code)] // the manual's table by name; the driver matches only some
pub mod status {
    pub const OK: u8 = 0x00;
    pub const NO_TRANSPONDER: u8 = 0x01;
    pub const DATA_FALSE: u8 = 0x02;
    pub const WRITE_ERROR: u8 = 0x03;
    pub const ADDRESS_ERROR: u8 = 0x04;
    pub const WRONG_TRANSPONDER_TYPE: u8 = 0x05;
    pub const PARAMETER_RANGE: u8 = 0x11;
    pub const UNKNOWN_COMMAND: u8 = 0x80;
    pub const LENGTH_ERROR: u8 = 0x81;
    pub const COMMAND_NOT_AVAILABLE: u8 = 0x82;
    pub const RF_COMMUNICATION: u8 = 0x83;
    pub const RF_WARNING: u8 = 0x84;
    pub const MORE_DATA: u8 = 0x94;
    pub const ISO_ERROR: u8 = 0x95;
}

/// ISO/IEC 15693-3 error codes a tag returns (behind STATUS 0x95).
#[allow(dead_code)] // ISO/IEC 15693-3 by name; the simulator sends only some
pub mod iso_error {
    pub const NOT_SUPPORTED: u8 = 0x01;
    pub const BLOCK_NOT_AVAILABLE: u8 = 0x10;
    pub const ALREADY_LOCKED: u8 = 0x11;
    pub const LOCKED: u8 = 0x12;
    pub const NOT_PROGRAMMED: u8 = 0x13;
    pub const NOT_LOCKED: u8 = 0x14;
}

/// What a STATUS byte means.
pub fn status_meaning(code: u8) -> &'static str {
    match code {
        0x00 => "OK",
        0x01 => "no transponder",
        0x02 => "data false (CRC error on the RF data)",
        0x03 => "write error",
        0x04 => "address error (block outside the tag's memory)",
        0x05 => "wrong transponder type",
        0x08 => "authentication error",
        0x0B => "collision error",
        0x0E => "general error",
        0x10 => "reader EEPROM failure",
        0x11 => "parameter range error",
        0x13 => "login request",
        0x14 => "login error",
        0x15 => "read protect",
        0x16 => "write protect",
        0x17 => "firmware activation required",
        0x80 => "unknown command",
        0x81 => "length error",
        0x82 => "command not available",
        0x83 => "RF communication error",
        0x84 => "RF warning",
        0x85 => "EPC error",
        0x93 => "data buffer overflow",
        0x94 => "more data",
        0x95 => "ISO 15693 error",
        0x96 => "ISO 14443 error",
        0x97 => "crypto processing error",
        0xF1 => "hardware warning",
        _ => "unknown status",
    }
}

/// What a tag's ISO 15693 error code (STATUS 0x95) means.
pub fn iso_error_meaning(code: Option<u8>) -> &'static str {
    match code {
        Some(0x01) => "tag: command not supported (ISO 15693 error 0x01)",
        Some(0x02) => "tag: command not recognised (ISO 15693 error 0x02)",
        Some(0x03) => "tag: option not supported (ISO 15693 error 0x03)",
        Some(0x0F) => "tag: unknown error (ISO 15693 error 0x0F)",
        Some(0x10) => "tag: block not available (ISO 15693 error 0x10)",
        Some(0x11) => "tag: already locked (ISO 15693 error 0x11)",
        Some(0x12) => "tag: locked, cannot be changed (ISO 15693 error 0x12)",
        Some(0x13) => "tag: not successfully programmed (ISO 15693 error 0x13)",
        Some(0x14) => "tag: not successfully locked (ISO 15693 error 0x14)",
        Some(_) => "tag: vendor-specific ISO 15693 error",
        None => "tag: ISO 15693 error without a code",
    }
}

/// How the bytes of each data block travel on the serial line (see the
/// module notes: this is inferred, not documented).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BlockOrder {
    /// Each block most significant byte first, i.e. reversed against tag
    /// memory — what FEIG's SDK implies by swapping every block.
    #[default]
    Reversed,
    /// Each block in tag memory order.
    Memory,
}

impl BlockOrder {
    /// Wire ↔ memory (the same operation both ways).
    fn apply(self, block: [u8; 4]) -> [u8; 4] {
        match self {
            BlockOrder::Reversed => [block[3], block[2], block[1], block[0]],
            BlockOrder::Memory => block,
        }
    }
}

/// NXP ICODE SLI custom commands (`[0xB1]` with MFR 0x04).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NxpCommand {
    SetEas,
    ResetEas,
    LockEas,
    EasAlarm,
}

impl NxpCommand {
    pub fn code(self) -> u8 {
        match self {
            NxpCommand::SetEas => 0xA2,
            NxpCommand::ResetEas => 0xA3,
            NxpCommand::LockEas => 0xA4,
            NxpCommand::EasAlarm => 0xA5,
        }
    }

    fn from_code(code: u8) -> Option<NxpCommand> {
        match code {
            0xA2 => Some(NxpCommand::SetEas),
            0xA3 => Some(NxpCommand::ResetEas),
            0xA4 => Some(NxpCommand::LockEas),
            0xA5 => Some(NxpCommand::EasAlarm),
            _ => None,
        }
    }
}

/// The requests this driver sends; tag commands always in addressed mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `[0x65]`.
    SoftwareVersion,
    /// `[0xB0][0x01]`, MODE 0x00 (new inventory) or 0x80 (more data).
    Inventory { more: bool },
    /// `[0xB0][0x23]`; `security` sets MODE bit SEC.
    ReadBlocks {
        uid: Uid,
        first: u8,
        count: u8,
        security: bool,
    },
    /// `[0xB0][0x24]`, blocks in tag memory order (at most 255).
    WriteBlocks {
        uid: Uid,
        first: u8,
        blocks: Vec<[u8; 4]>,
    },
    /// `[0xB0][0x27]`.
    WriteAfi { uid: Uid, afi: u8 },
    /// `[0xB0][0x28]`.
    LockAfi { uid: Uid },
    /// `[0xB0][0x2B]`.
    SystemInfo { uid: Uid },
    /// `[0xB1][0x04]` NXP custom command.
    Nxp { uid: Uid, command: NxpCommand },
}

fn take_uid(bytes: &[u8]) -> Uid {
    let mut uid = [0u8; 8];
    uid.copy_from_slice(&bytes[..8]);
    uid
}

fn addressed(mode: u8) -> Result<(), u8> {
    if mode & MODE_ADR_MASK == MODE_ADDRESSED {
        Ok(())
    } else {
        Err(status::PARAMETER_RANGE)
    }
}

impl Request {
    /// The control byte the answer carries too.
    pub fn command(&self) -> u8 {
        match self {
            Request::SoftwareVersion => CMD_SOFTWARE_VERSION,
            Request::Nxp { .. } => CMD_CUSTOM,
            _ => CMD_ISO15693,
        }
    }

    /// The tag this request addresses.
    pub fn uid(&self) -> Option<&Uid> {
        match self {
            Request::SoftwareVersion | Request::Inventory { .. } => None,
            Request::ReadBlocks { uid, .. }
            | Request::WriteBlocks { uid, .. }
            | Request::WriteAfi { uid, .. }
            | Request::LockAfi { uid }
            | Request::SystemInfo { uid }
            | Request::Nxp { uid, .. } => Some(uid),
        }
    }

    /// Request data (after CMD).
    pub fn data(&self, order: BlockOrder) -> Vec<u8> {
        let mut d = Vec::new();
        match self {
            Request::SoftwareVersion => {}
            Request::Inventory { more } => {
                d.push(ISO_INVENTORY);
                d.push(if *more { MODE_MORE } else { 0x00 });
            }
            Request::ReadBlocks {
                uid,
                first,
                count,
                security,
            } => {
                d.push(ISO_READ_BLOCKS);
                d.push(MODE_ADDRESSED | if *security { MODE_SEC } else { 0 });
                d.extend_from_slice(uid);
                d.push(*first);
                d.push(*count);
            }
            Request::WriteBlocks { uid, first, blocks } => {
                let blocks = &blocks[..blocks.len().min(255)];
                d.push(ISO_WRITE_BLOCKS);
                d.push(MODE_ADDRESSED);
                d.extend_from_slice(uid);
                d.push(*first);
                d.push(blocks.len() as u8);
                d.push(BLOCK_SIZE);
                for b in blocks {
                    d.extend_from_slice(&order.apply(*b));
                }
            }
            Request::WriteAfi { uid, afi } => {
                d.push(ISO_WRITE_AFI);
                d.push(MODE_ADDRESSED);
                d.extend_from_slice(uid);
                d.push(*afi);
            }
            Request::LockAfi { uid } => {
                d.push(ISO_LOCK_AFI);
                d.push(MODE_ADDRESSED);
                d.extend_from_slice(uid);
            }
            Request::SystemInfo { uid } => {
                d.push(ISO_SYSTEM_INFO);
                d.push(MODE_ADDRESSED);
                d.extend_from_slice(uid);
            }
            Request::Nxp { uid, command } => {
                d.push(MFR_NXP);
                d.push(command.code());
                d.push(MODE_ADDRESSED);
                d.extend_from_slice(uid);
            }
        }
        d
    }

    /// The request as a (standard) frame to `address`.
    pub fn to_frame(&self, address: u8, order: BlockOrder) -> Frame {
        Frame::request(address, self.command(), &self.data(order))
    }

    /// The request's bytes on the wire (standard form).
    pub fn encode(&self, address: u8, order: BlockOrder) -> Vec<u8> {
        self.to_frame(address, order).encode()
    }

    /// What a reader makes of a frame; `Err` is the STATUS it answers with.
    /// Only addressed mode is understood (the driver never sends others).
    pub fn parse(frame: &Frame, order: BlockOrder) -> Result<Request, u8> {
        let body = frame.body.as_slice();
        match frame.command {
            CMD_SOFTWARE_VERSION if body.is_empty() => Ok(Request::SoftwareVersion),
            CMD_SOFTWARE_VERSION => Err(status::LENGTH_ERROR),
            CMD_ISO15693 => {
                let (&sub, rest) = body.split_first().ok_or(status::LENGTH_ERROR)?;
                let (&mode, args) = rest.split_first().ok_or(status::LENGTH_ERROR)?;
                match sub {
                    // Other MODE bits (only-new-tags, antenna) are ignored.
                    ISO_INVENTORY if args.is_empty() => Ok(Request::Inventory {
                        more: mode & MODE_MORE != 0,
                    }),
                    ISO_READ_BLOCKS if args.len() == 10 => {
                        addressed(mode)?;
                        Ok(Request::ReadBlocks {
                            uid: take_uid(args),
                            first: args[8],
                            count: args[9],
                            security: mode & MODE_SEC != 0,
                        })
                    }
                    ISO_WRITE_BLOCKS if args.len() >= 11 => {
                        addressed(mode)?;
                        let (n, size) = (usize::from(args[9]), args[10]);
                        if size != BLOCK_SIZE {
                            return Err(status::PARAMETER_RANGE);
                        }
                        let data = &args[11..];
                        if data.len() != n * 4 {
                            return Err(status::LENGTH_ERROR);
                        }
                        let blocks = data
                            .chunks_exact(4)
                            .map(|c| order.apply([c[0], c[1], c[2], c[3]]))
                            .collect();
                        Ok(Request::WriteBlocks {
                            uid: take_uid(args),
                            first: args[8],
                            blocks,
                        })
                    }
                    ISO_WRITE_AFI if args.len() == 9 => {
                        addressed(mode)?;
                        Ok(Request::WriteAfi {
                            uid: take_uid(args),
                            afi: args[8],
                        })
                    }
                    ISO_LOCK_AFI if args.len() == 8 => {
                        addressed(mode)?;
                        Ok(Request::LockAfi {
                            uid: take_uid(args),
                        })
                    }
                    ISO_SYSTEM_INFO if args.len() == 8 => {
                        addressed(mode)?;
                        Ok(Request::SystemInfo {
                            uid: take_uid(args),
                        })
                    }
                    ISO_INVENTORY | ISO_READ_BLOCKS | ISO_WRITE_BLOCKS | ISO_WRITE_AFI
                    | ISO_LOCK_AFI | ISO_SYSTEM_INFO => Err(status::LENGTH_ERROR),
                    _ => Err(status::UNKNOWN_COMMAND),
                }
            }
            CMD_CUSTOM => {
                if body.len() != 11 {
                    return Err(status::LENGTH_ERROR);
                }
                if body[0] != MFR_NXP {
                    return Err(status::PARAMETER_RANGE);
                }
                let command = NxpCommand::from_code(body[1]).ok_or(status::UNKNOWN_COMMAND)?;
                addressed(body[2])?;
                Ok(Request::Nxp {
                    uid: take_uid(&body[3..]),
                    command,
                })
            }
            _ => Err(status::UNKNOWN_COMMAND),
        }
    }
}

/// `[0x65]` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftwareVersion {
    pub sw_rev: u16,
    pub d_rev: u8,
    pub hw_type: u8,
    /// Reader model (FEIG "Codes of Reader Types").
    pub sw_type: u8,
    /// Bit field of supported transponders (bit 3 = ISO 15693).
    pub transponders: u16,
}

impl SoftwareVersion {
    /// Model name by SW-TYPE (codes from FEIG's SDK reader-type list).
    pub fn reader_name(&self) -> &'static str {
        match self.sw_type {
            41 => "ID ISC.LR200",
            42 => "ID ISC.LR2000",
            45 => "ID ISC.LR1002",
            60 => "ID ISC.PRH101",
            63 => "ID ISC.PRH102",
            72 => "ID ISC.PRH100",
            74 => "ID ISC.MR100/PR100",
            75 => "ID ISC.MR200",
            76 => "ID ISC.MR101",
            77 => "ID ISC.MR102",
            78 => "ID ISC.MR101-U",
            _ => "ISC reader",
        }
    }

    /// The text `probe` returns.
    pub fn describe(&self) -> String {
        let [major, minor] = self.sw_rev.to_be_bytes();
        format!(
            "FEIG {} (SW-TYPE {}) firmware {major:02X}.{minor:02X}, D-REV {:02X}, HW-TYPE {:02X}, transponders {:04X}",
            self.reader_name(),
            self.sw_type,
            self.d_rev,
            self.hw_type,
            self.transponders
        )
    }
}

/// One inventory data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InventoryTag {
    pub tr_type: u8,
    pub dsfid: u8,
    /// Displayed order (`E0 04 …`), which is also the wire order.
    pub uid: Uid,
}

/// One block of a `[0x23]` answer, in tag memory order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRead {
    /// SEC-STATUS (0x00 unless asked for and the block is locked).
    pub security: u8,
    pub data: [u8; 4],
}

/// `[0x2B]` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemInfo {
    pub dsfid: u8,
    pub uid: Uid,
    pub afi: u8,
    /// Bytes per block.
    pub block_size: u8,
    pub block_count: u16,
    pub ic_ref: u8,
}

/// Typed answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    SoftwareVersion(SoftwareVersion),
    /// `more`: STATUS 0x94, ask again with MORE.
    Inventory {
        tags: Vec<InventoryTag>,
        more: bool,
    },
    Blocks(Vec<BlockRead>),
    /// A write, lock or EAS switch went through.
    Done,
    SystemInfo(SystemInfo),
    /// EAS alarm: true = the tag answered (EAS on).
    EasAlarm(bool),
}

pub(super) fn malformed(request: &Request, what: impl std::fmt::Display) -> DeviceError {
    DeviceError::Malformed(format!("answer to {request:?}: {what}"))
}

/// The error a STATUS other than OK ends in.
pub fn status_error(code: u8, data: &[u8], uid: Option<&Uid>) -> DeviceError {
    match code {
        status::NO_TRANSPONDER => {
            DeviceError::NoTransponder(uid.map_or_else(|| "(any)".to_string(), uid_hex))
        }
        status::ISO_ERROR => DeviceError::Reader {
            code,
            meaning: iso_error_meaning(data.first().copied()),
        },
        _ => DeviceError::Reader {
            code,
            meaning: status_meaning(code),
        },
    }
}

impl Reply {
    /// STATUS and answer data, as a reader sends them.
    pub fn status_and_data(&self, order: BlockOrder) -> (u8, Vec<u8>) {
        let mut d = Vec::new();
        let status = match self {
            Reply::SoftwareVersion(v) => {
                d.extend_from_slice(&v.sw_rev.to_be_bytes());
                d.extend_from_slice(&[v.d_rev, v.hw_type, v.sw_type]);
                d.extend_from_slice(&v.transponders.to_be_bytes());
                status::OK
            }
            Reply::Inventory { tags, more } => {
                let tags = &tags[..tags.len().min(255)];
                d.push(tags.len() as u8);
                for t in tags {
                    d.push(t.tr_type);
                    d.push(t.dsfid);
                    d.extend_from_slice(&t.uid);
                }
                if *more {
                    status::MORE_DATA
                } else {
                    status::OK
                }
            }
            Reply::Blocks(blocks) => {
                let blocks = &blocks[..blocks.len().min(255)];
                d.push(blocks.len() as u8);
                d.push(BLOCK_SIZE);
                for b in blocks {
                    d.push(b.security);
                    d.extend_from_slice(&order.apply(b.data));
                }
                status::OK
            }
            Reply::Done => status::OK,
            Reply::SystemInfo(s) => {
                d.push(s.dsfid);
                d.extend_from_slice(&s.uid);
                d.push(s.afi);
                d.push(s.block_size.saturating_sub(1) & 0x1F);
                let blocks = s.block_count.saturating_sub(1);
                if blocks <= 0xFF {
                    d.push(blocks as u8);
                } else {
                    d.extend_from_slice(&blocks.to_be_bytes());
                }
                d.push(s.ic_ref);
                status::OK
            }
            Reply::EasAlarm(true) => status::OK,
            Reply::EasAlarm(false) => status::NO_TRANSPONDER,
        };
        (status, d)
    }

    /// The answer frame a reader at `address` sends for `command`.
    pub fn to_frame(&self, address: u8, command: u8, order: BlockOrder) -> Frame {
        let (status, data) = self.status_and_data(order);
        Frame::response(address, command, status, &data)
    }

    /// Reads an answer to `request`. A STATUS other than OK (or 0x94, or
    /// 0x01 where it means "nothing") becomes its `DeviceError`; an answer
    /// of the wrong shape is `Malformed` (the driver takes it for a stray
    /// frame and keeps waiting).
    pub fn parse(
        request: &Request,
        frame: &Frame,
        order: BlockOrder,
    ) -> Result<Reply, DeviceError> {
        if frame.command != request.command() {
            return Err(malformed(
                request,
                format_args!("command {:#04x}", frame.command),
            ));
        }
        let code = frame
            .status()
            .ok_or_else(|| malformed(request, "no STATUS byte"))?;
        let data = frame.data();
        match (request, code) {
            (Request::Inventory { .. }, status::NO_TRANSPONDER) => Ok(Reply::Inventory {
                tags: Vec::new(),
                more: false,
            }),
            (Request::Inventory { .. }, status::OK | status::MORE_DATA) => {
                let (&n, mut rest) = data
                    .split_first()
                    .ok_or_else(|| malformed(request, "no DATA-SETS byte"))?;
                let mut tags = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    let (&tr_type, after) = rest
                        .split_first()
                        .ok_or_else(|| malformed(request, "fewer data sets than announced"))?;
                    // I-Code 1 (0x00), Tag-it HF (0x01) and ISO 15693 (0x03)
                    // share the DSFID + 8-byte UID layout; others differ.
                    if !matches!(tr_type, 0x00 | 0x01 | TR_TYPE_ISO15693) {
                        return Err(malformed(
                            request,
                            format_args!("transponder type {tr_type:#04x} not supported"),
                        ));
                    }
                    if after.len() < 9 {
                        return Err(malformed(request, "data set cut short"));
                    }
                    tags.push(InventoryTag {
                        tr_type,
                        dsfid: after[0],
                        uid: take_uid(&after[1..]),
                    });
                    rest = &after[9..];
                }
                if !rest.is_empty() {
                    return Err(malformed(request, "bytes after the data sets"));
                }
                Ok(Reply::Inventory {
                    tags,
                    more: code == status::MORE_DATA,
                })
            }
            (
                Request::Nxp {
                    command: NxpCommand::EasAlarm,
                    ..
                },
                status::OK | status::NO_TRANSPONDER,
            ) => {
                if data.is_empty() {
                    Ok(Reply::EasAlarm(code == status::OK))
                } else {
                    Err(malformed(request, "unexpected data"))
                }
            }
            (_, status::OK) => Self::parse_ok(request, data, order),
            (_, code) => Err(status_error(code, data, request.uid())),
        }
    }

    fn parse_ok(request: &Request, data: &[u8], order: BlockOrder) -> Result<Reply, DeviceError> {
        match request {
            Request::SoftwareVersion => {
                if data.len() < 7 {
                    return Err(malformed(request, "version data cut short"));
                }
                Ok(Reply::SoftwareVersion(SoftwareVersion {
                    sw_rev: u16::from_be_bytes([data[0], data[1]]),
                    d_rev: data[2],
                    hw_type: data[3],
                    sw_type: data[4],
                    transponders: u16::from_be_bytes([data[5], data[6]]),
                }))
            }
            Request::ReadBlocks { count, .. } => {
                let [n, size, blocks @ ..] = data else {
                    return Err(malformed(request, "no DB-N / DB-SIZE"));
                };
                if n != count {
                    return Err(malformed(
                        request,
                        format_args!("{n} blocks, asked {count}"),
                    ));
                }
                if *size != BLOCK_SIZE {
                    return Err(DeviceError::Unsupported(
                        "read tags whose blocks are not 4 bytes",
                    ));
                }
                if blocks.len() != usize::from(*n) * 5 {
                    return Err(malformed(request, "block data of the wrong length"));
                }
                Ok(Reply::Blocks(
                    blocks
                        .chunks_exact(5)
                        .map(|c| BlockRead {
                            security: c[0],
                            data: order.apply([c[1], c[2], c[3], c[4]]),
                        })
                        .collect(),
                ))
            }
            Request::SystemInfo { uid } => {
                // DSFID · UID · AFI · MEM-SIZE (2, or 3 for > 256 blocks) · IC-REF
                let (size, count) = match data.len() {
                    13 => (data[10], u16::from(data[11])),
                    14 => (data[10], u16::from_be_bytes([data[11], data[12]])),
                    _ => return Err(malformed(request, "system information of the wrong length")),
                };
                let info = SystemInfo {
                    dsfid: data[0],
                    uid: take_uid(&data[1..]),
                    afi: data[9],
                    block_size: (size & 0x1F) + 1,
                    block_count: count.saturating_add(1),
                    ic_ref: data[data.len() - 1],
                };
                if info.uid != *uid {
                    return Err(malformed(
                        request,
                        format_args!("system information of tag {}", uid_hex(&info.uid)),
                    ));
                }
                Ok(Reply::SystemInfo(info))
            }
            Request::WriteBlocks { .. }
            | Request::WriteAfi { .. }
            | Request::LockAfi { .. }
            | Request::Nxp { .. } => {
                if data.is_empty() {
                    Ok(Reply::Done)
                } else {
                    Err(malformed(request, "unexpected data"))
                }
            }
            Request::Inventory { .. } => unreachable!("inventory answers are parsed above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::feig::test_support::*;

    #[test]
    fn golden_inventory_request() {
        let golden = [0x07, 0xFF, 0xB0, 0x01, 0x00, 0x1C, 0x56];
        let req = Request::Inventory { more: false };
        assert_eq!(req.encode(ANY_ADDRESS, BlockOrder::Reversed), golden);
        let frames = decode_all(&golden);
        let [Ok(frame)] = frames.as_slice() else {
            panic!("{frames:?}")
        };
        assert_eq!(
            *frame,
            Frame::request(ANY_ADDRESS, CMD_ISO15693, &[0x01, 0x00])
        );
        assert_eq!(Request::parse(frame, BlockOrder::Reversed), Ok(req));
    }

    #[test]
    fn golden_inventory_request_advanced_form() {
        // Accada/Fosstrak FEIG HAL: "02 00 09 FF B0 01 00 18 43".
        let golden = [0x02, 0x00, 0x09, 0xFF, 0xB0, 0x01, 0x00, 0x18, 0x43];
        let mut frame =
            Request::Inventory { more: false }.to_frame(ANY_ADDRESS, BlockOrder::Reversed);
        frame.long = true;
        assert_eq!(frame.encode(), golden);
        assert_eq!(decode_all(&golden), vec![Ok(frame)]);
    }

    #[test]
    fn golden_more_and_version_requests() {
        let more = Request::Inventory { more: true }.encode(ANY_ADDRESS, BlockOrder::Reversed);
        assert_eq!(more, with_crc(vec![0x07, 0xFF, 0xB0, 0x01, 0x80]));
        let version = Request::SoftwareVersion.encode(ANY_ADDRESS, BlockOrder::Reversed);
        assert_eq!(version, [0x05, 0xFF, 0x65, 0xE5, 0xCB]);
    }

    #[test]
    fn golden_addressed_requests() {
        let u = [0xE0, 0x04, 0x01, 0x00, 0x12, 0x34, 0x56, 0x78];
        let o = BlockOrder::Reversed;
        let mut want = vec![0x11, 0x00, 0xB0, 0x23, 0x01];
        want.extend_from_slice(&u);
        want.extend_from_slice(&[0x00, 0x1C]);
        let read = Request::ReadBlocks {
            uid: u,
            first: 0,
            count: 28,
            security: false,
        };
        assert_eq!(read.encode(0x00, o), with_crc(want));

        let mut want = vec![0x10, 0xFF, 0xB0, 0x27, 0x01];
        want.extend_from_slice(&u);
        want.push(0xC2);
        assert_eq!(
            Request::WriteAfi { uid: u, afi: 0xC2 }.encode(0xFF, o),
            with_crc(want)
        );

        let mut want = vec![0x0F, 0xFF, 0xB0, 0x2B, 0x01];
        want.extend_from_slice(&u);
        assert_eq!(
            Request::SystemInfo { uid: u }.encode(0xFF, o),
            with_crc(want)
        );

        let mut want = vec![0x0F, 0xFF, 0xB0, 0x28, 0x01];
        want.extend_from_slice(&u);
        assert_eq!(Request::LockAfi { uid: u }.encode(0xFF, o), with_crc(want));

        let mut want = vec![0x10, 0xFF, 0xB1, 0x04, 0xA2, 0x01];
        want.extend_from_slice(&u);
        let set_eas = Request::Nxp {
            uid: u,
            command: NxpCommand::SetEas,
        };
        assert_eq!(set_eas.encode(0xFF, o), with_crc(want));
    }

    #[test]
    fn write_blocks_travel_reversed_by_default() {
        let u = uid(1);
        let req = Request::WriteBlocks {
            uid: u,
            first: 2,
            blocks: vec![[1, 2, 3, 4], [5, 6, 7, 8]],
        };
        let mut want = vec![0x1A, 0xFF, 0xB0, 0x24, 0x01];
        want.extend_from_slice(&u);
        want.extend_from_slice(&[0x02, 0x02, 0x04, 4, 3, 2, 1, 8, 7, 6, 5]);
        assert_eq!(
            req.encode(0xFF, BlockOrder::Reversed),
            with_crc(want.clone())
        );
        want[16..].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(req.encode(0xFF, BlockOrder::Memory), with_crc(want));
    }

    #[test]
    fn requests_round_trip_through_the_simulators_parser() {
        let u = uid(3);
        let requests = vec![
            Request::SoftwareVersion,
            Request::Inventory { more: false },
            Request::Inventory { more: true },
            Request::ReadBlocks {
                uid: u,
                first: 4,
                count: 9,
                security: true,
            },
            Request::WriteBlocks {
                uid: u,
                first: 1,
                blocks: vec![[9, 8, 7, 6]; 3],
            },
            Request::WriteAfi { uid: u, afi: 0xDA },
            Request::LockAfi { uid: u },
            Request::SystemInfo { uid: u },
            Request::Nxp {
                uid: u,
                command: NxpCommand::ResetEas,
            },
            Request::Nxp {
                uid: u,
                command: NxpCommand::EasAlarm,
            },
        ];
        for order in [BlockOrder::Reversed, BlockOrder::Memory] {
            for r in &requests {
                let [Ok(frame)] = &decode_all(&r.encode(0x01, order))[..] else {
                    panic!()
                };
                assert_eq!(Request::parse(frame, order).as_ref(), Ok(r));
            }
        }
    }

    #[test]
    fn replies_round_trip() {
        let u = uid(5);
        let cases = vec![
            (
                Request::SoftwareVersion,
                Reply::SoftwareVersion(SoftwareVersion {
                    sw_rev: 0x0210,
                    d_rev: 1,
                    hw_type: 2,
                    sw_type: 77,
                    transponders: 0x0008,
                }),
            ),
            (
                Request::ReadBlocks {
                    uid: u,
                    first: 0,
                    count: 2,
                    security: true,
                },
                Reply::Blocks(vec![
                    BlockRead {
                        security: 1,
                        data: [1, 2, 3, 4],
                    },
                    BlockRead {
                        security: 0,
                        data: [5, 6, 7, 8],
                    },
                ]),
            ),
            (Request::WriteAfi { uid: u, afi: 7 }, Reply::Done),
            (
                Request::SystemInfo { uid: u },
                Reply::SystemInfo(SystemInfo {
                    dsfid: 6,
                    uid: u,
                    afi: 7,
                    block_size: 4,
                    block_count: 28,
                    ic_ref: 1,
                }),
            ),
            (
                Request::SystemInfo { uid: u },
                Reply::SystemInfo(SystemInfo {
                    dsfid: 6,
                    uid: u,
                    afi: 7,
                    block_size: 4,
                    block_count: 2048,
                    ic_ref: 1,
                }),
            ),
            (
                Request::Nxp {
                    uid: u,
                    command: NxpCommand::EasAlarm,
                },
                Reply::EasAlarm(false),
            ),
        ];
        for order in [BlockOrder::Reversed, BlockOrder::Memory] {
            for (req, reply) in &cases {
                let frame = reply.to_frame(0x00, req.command(), order);
                let [Ok(decoded)] = &decode_all(&frame.encode())[..] else {
                    panic!()
                };
                assert_eq!(Reply::parse(req, decoded, order).as_ref().ok(), Some(reply));
            }
        }
    }

    #[test]
    fn statuses_map_to_device_errors() {
        let u = uid(1);
        let req = Request::WriteAfi { uid: u, afi: 1 };
        let f = |status, data: &[u8]| Frame::response(0, CMD_ISO15693, status, data);
        let o = BlockOrder::Reversed;
        assert!(matches!(
            Reply::parse(&req, &f(0x01, &[]), o),
            Err(DeviceError::NoTransponder(s)) if s == "E004010012345601"
        ));
        assert!(matches!(
            Reply::parse(&req, &f(0x03, &[]), o),
            Err(DeviceError::Reader {
                code: 0x03,
                meaning: "write error"
            })
        ));
        assert!(matches!(
            Reply::parse(&req, &f(0x95, &[0x12]), o),
            Err(DeviceError::Reader { code: 0x95, meaning }) if meaning.contains("0x12")
        ));
        assert!(matches!(
            Reply::parse(&req, &f(0x83, &[]), o),
            Err(DeviceError::Reader {
                code: 0x83,
                meaning: "RF communication error"
            })
        ));
        assert!(matches!(
            Reply::parse(&req, &f(0x00, &[0x00]), o),
            Err(DeviceError::Malformed(_))
        ));
        assert!(matches!(
            Reply::parse(&req, &Frame::request(0, 0xB0, &[]), o),
            Err(DeviceError::Malformed(_))
        ));
    }

    #[test]
    fn long_answers_decode_in_pieces() {
        let tags: Vec<InventoryTag> = (0..60)
            .map(|i| InventoryTag {
                tr_type: 3,
                dsfid: 0,
                uid: uid(i),
            })
            .collect();
        let reply = Reply::Inventory { tags, more: false };
        let frame = reply.to_frame(0x00, CMD_ISO15693, BlockOrder::Reversed);
        let bytes = frame.encode();
        assert_eq!(bytes[0], 0x02);
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[1], bytes[2]])),
            bytes.len()
        );
        assert_eq!(bytes.len(), 7 + 2 + 600);
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        for c in bytes.chunks(7) {
            got.extend(dec.feed(c));
        }
        let [Ok(f)] = got.as_slice() else { panic!() };
        assert_eq!(
            Reply::parse(&Request::Inventory { more: false }, f, BlockOrder::Reversed).unwrap(),
            reply
        );
    }
}
