//! [`SimFeig`]: a FEIG reader with the tags of a shared [`Field`] on its
//! antenna, answering byte-exactly on the same codec and injecting
//! [`Faults`]. For tests, benches, `kiosk devices simulate` and fuzzing.

use std::collections::VecDeque;

use crate::devices::rfid::{Faults, Field, SimTag, Simulator};

use super::codec::*;
use super::commands::*;
/// A FEIG ISC reader in host mode with the tags of a shared [`Field`] on
/// its antenna. Answers every request byte-exactly on the same codec and
/// injects the [`Faults`] it is given.
pub struct SimFeig {
    field: Field,
    faults: Faults,
    dec: FrameDecoder,
    address: u8,
    block_order: BlockOrder,
    inventory_chunk: Option<usize>,
    version: SoftwareVersion,
    /// Data sets of the last inventory not yet sent (STATUS 0x94).
    more: VecDeque<InventoryTag>,
}

impl SimFeig {
    /// An ID ISC.MR101 at bus address 0.
    pub fn new(field: Field) -> SimFeig {
        SimFeig {
            field,
            faults: Faults::default(),
            dec: FrameDecoder::new(),
            address: 0x00,
            block_order: BlockOrder::default(),
            inventory_chunk: None,
            version: SoftwareVersion {
                sw_rev: 0x0305,
                d_rev: 0x00,
                hw_type: 0x00,
                sw_type: 76,
                transponders: 0x0008,
            },
            more: VecDeque::new(),
        }
    }

    /// The reader's own COM-ADR (it also answers `FF`).
    pub fn with_address(mut self, address: u8) -> Self {
        self.address = address;
        self
    }

    #[allow(dead_code)] // simulator API, as Sim3m has it
    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    pub fn with_block_order(mut self, order: BlockOrder) -> Self {
        self.block_order = order;
        self
    }

    /// Data sets per inventory answer (1–255). By default as many as fit a
    /// standard frame (24) for standard requests, 255 for advanced ones;
    /// more than 24 in answer to a standard request makes the answer an
    /// advanced frame.
    pub fn with_inventory_chunk(mut self, sets: usize) -> Self {
        self.inventory_chunk = Some(sets.clamp(1, LONG_INVENTORY_CHUNK));
        self
    }

    #[allow(dead_code)] // simulator API, as Sim3m has it
    pub fn field(&self) -> &Field {
        &self.field
    }

    /// Counters of the requests seen.
    pub fn decoder_stats(&self) -> DecoderStats {
        self.dec.stats()
    }

    /// The answer to one request frame (faults that change the answer's
    /// content are applied here; CRC corruption, noise and silence in
    /// `receive`).
    pub fn answer(&mut self, request: &Frame) -> Frame {
        let (status, data) = match Request::parse(request, self.block_order) {
            Ok(req) => self.execute(&req, request.long),
            Err(status) => (status, Vec::new()),
        };
        let mut frame = Frame::response(self.address, request.command, status, &data);
        frame.long = request.long;
        frame
    }

    fn execute(&mut self, request: &Request, long: bool) -> (u8, Vec<u8>) {
        let tag = match request.uid() {
            Some(uid) => {
                if self.faults.no_transponder > 0 {
                    self.faults.no_transponder -= 1;
                    return (status::NO_TRANSPONDER, Vec::new());
                }
                match self.field.get(uid) {
                    Some(tag) => Some(tag),
                    None => return (status::NO_TRANSPONDER, Vec::new()),
                }
            }
            None => None,
        };
        let reply = match (request, tag) {
            (Request::SoftwareVersion, _) => Reply::SoftwareVersion(self.version),
            (Request::Inventory { more }, _) => {
                if !more {
                    self.more = self
                        .field
                        .uids()
                        .into_iter()
                        .filter_map(|uid| self.field.get(&uid))
                        .map(|t| InventoryTag {
                            tr_type: TR_TYPE_ISO15693,
                            dsfid: t.dsfid,
                            uid: t.uid,
                        })
                        .collect();
                }
                if self.more.is_empty() {
                    return (status::NO_TRANSPONDER, Vec::new());
                }
                let limit = self.inventory_chunk.unwrap_or(if long {
                    LONG_INVENTORY_CHUNK
                } else {
                    SHORT_INVENTORY_CHUNK
                });
                let n = limit.min(self.more.len());
                let tags = self.more.drain(..n).collect();
                Reply::Inventory {
                    tags,
                    more: !self.more.is_empty(),
                }
            }
            (Request::ReadBlocks { first, count, .. }, Some(tag)) => {
                let (first, count) = (usize::from(*first), usize::from(*count));
                if count == 0 {
                    return (status::PARAMETER_RANGE, Vec::new());
                }
                let Some(blocks) = tag.blocks.get(first..first + count) else {
                    return (status::ISO_ERROR, vec![iso_error::BLOCK_NOT_AVAILABLE]);
                };
                // SimTag keeps no per-block locks: SEC-STATUS is 0 either way.
                Reply::Blocks(
                    blocks
                        .iter()
                        .map(|b| BlockRead {
                            security: 0x00,
                            data: *b,
                        })
                        .collect(),
                )
            }
            (Request::WriteBlocks { uid, first, blocks }, Some(tag)) => {
                let first = usize::from(*first);
                if blocks.is_empty() {
                    return (status::PARAMETER_RANGE, Vec::new());
                }
                if first + blocks.len() > tag.blocks.len() {
                    return (status::ISO_ERROR, vec![iso_error::BLOCK_NOT_AVAILABLE]);
                }
                if self.faults.write_failures > 0 {
                    self.faults.write_failures -= 1;
                    return (status::WRITE_ERROR, vec![first as u8]);
                }
                self.field.with(uid, |t| {
                    t.blocks[first..first + blocks.len()].copy_from_slice(blocks)
                });
                Reply::Done
            }
            (Request::WriteAfi { uid, afi }, Some(tag)) => {
                if tag.afi_locked {
                    return (status::ISO_ERROR, vec![iso_error::LOCKED]);
                }
                if self.faults.write_failures > 0 {
                    self.faults.write_failures -= 1;
                    return (status::WRITE_ERROR, Vec::new());
                }
                self.field.with(uid, |t| t.afi = *afi);
                Reply::Done
            }
            (Request::LockAfi { uid }, Some(tag)) => {
                if tag.afi_locked {
                    return (status::ISO_ERROR, vec![iso_error::ALREADY_LOCKED]);
                }
                self.field.with(uid, |t| t.afi_locked = true);
                Reply::Done
            }
            (Request::SystemInfo { .. }, Some(tag)) => Reply::SystemInfo(system_info_of(&tag)),
            (Request::Nxp { uid, .. }, Some(_)) if uid[1] != MFR_NXP => {
                // Custom commands carry the maker's code; other tags stay silent.
                return (status::NO_TRANSPONDER, Vec::new());
            }
            (Request::Nxp { uid, command }, Some(tag)) => match command {
                NxpCommand::SetEas | NxpCommand::ResetEas => {
                    let on = *command == NxpCommand::SetEas;
                    self.field.with(uid, |t| t.eas = on);
                    Reply::Done
                }
                NxpCommand::LockEas => Reply::Done,
                NxpCommand::EasAlarm => Reply::EasAlarm(tag.eas),
            },
            (_, None) => return (status::NO_TRANSPONDER, Vec::new()),
        };
        reply.status_and_data(self.block_order)
    }
}

pub(super) fn system_info_of(tag: &SimTag) -> SystemInfo {
    SystemInfo {
        dsfid: tag.dsfid,
        uid: tag.uid,
        afi: tag.afi,
        block_size: BLOCK_SIZE,
        block_count: u16::try_from(tag.blocks.len()).unwrap_or(u16::MAX),
        ic_ref: 0x01,
    }
}

impl Simulator for SimFeig {
    fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for item in self.dec.feed(bytes) {
            // A reader ignores what it cannot check.
            let Ok(request) = item else { continue };
            if request.address != ANY_ADDRESS && request.address != self.address {
                continue;
            }
            if self.faults.swallow() {
                continue;
            }
            let answer = self.answer(&request).encode();
            out.extend(self.faults.deliver(answer));
        }
        out
    }

    fn faults(&mut self) -> &mut Faults {
        &mut self.faults
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::feig::test_support::*;
    #[test]
    fn inventory_answer_carries_the_uid_in_displayed_order() {
        // TR-TYPE 03, DSFID 3E, UID E0 04 01 00 12 34 56 07, as displayed.
        let mut want = vec![0x11, 0x00, 0xB0, 0x00, 0x01, 0x03, 0x3E];
        want.extend_from_slice(&uid(7));
        let want = with_crc(want);
        let mut sim = SimFeig::new(Field::new([tag(7)]));
        let out =
            sim.receive(&Request::Inventory { more: false }.encode(0xFF, BlockOrder::Reversed));
        assert_eq!(out, want);
        let [Ok(frame)] = &decode_all(&out)[..] else {
            panic!()
        };
        assert_eq!(
            Reply::parse(
                &Request::Inventory { more: false },
                frame,
                BlockOrder::Reversed
            )
            .unwrap(),
            Reply::Inventory {
                tags: vec![InventoryTag {
                    tr_type: 0x03,
                    dsfid: 0x3E,
                    uid: uid(7)
                }],
                more: false
            }
        );
    }

    #[test]
    fn system_info_answer_is_byte_exact() {
        let mut t = tag(9);
        t.afi = 0xC2;
        let mut sim = SimFeig::new(Field::new([t]));
        let out =
            sim.receive(&Request::SystemInfo { uid: uid(9) }.encode(0xFF, BlockOrder::Reversed));
        let mut want = vec![0x13, 0x00, 0xB0, 0x00, 0x3E];
        want.extend_from_slice(&uid(9));
        want.extend_from_slice(&[0xC2, 0x03, 27, 0x01]);
        assert_eq!(out, with_crc(want));
    }

    #[test]
    fn error_answers_are_byte_exact() {
        let mut sim = SimFeig::new(Field::default());
        let absent =
            sim.receive(&Request::SystemInfo { uid: uid(1) }.encode(0xFF, BlockOrder::Reversed));
        assert_eq!(absent, with_crc(vec![0x06, 0x00, 0xB0, 0x01]));
        let unknown = sim.receive(&Frame::request(0xFF, 0x66, &[]).encode());
        assert_eq!(unknown, with_crc(vec![0x06, 0x00, 0x66, 0x80]));
        let short = sim.receive(&Frame::request(0xFF, 0xB0, &[0x2B, 0x01, 0xE0]).encode());
        assert_eq!(short, with_crc(vec![0x06, 0x00, 0xB0, 0x81]));
    }
}
