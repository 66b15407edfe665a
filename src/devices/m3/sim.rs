//! [`Sim3m`]: a 3M 810 pad answering byte-exactly from the tags of a shared
//! [`Field`], on the same codec, with injected [`Faults`]. For tests,
//! benches, `kiosk devices simulate` and fuzzing.

use crate::devices::rfid::{Faults, Field, SimTag, Simulator};

use super::codec::*;
use super::commands::*;
/// A 3M 810 pad answering byte-exactly from the tags in a shared `Field`.
///
/// Frames with a bad CRC, unknown commands and malformed requests get no
/// answer (the host times out), as the reader "ignores" what it cannot
/// take. Faults are applied per answered request.
pub struct Sim3m {
    field: Field,
    faults: Faults,
    dec: FrameDecoder,
    /// The four version bytes the probe returns.
    pub version: [u8; 4],
    answered: u64,
    ignored: u64,
}

impl Sim3m {
    pub fn new(field: Field) -> Sim3m {
        Sim3m {
            field,
            faults: Faults::default(),
            dec: FrameDecoder::new(),
            version: [0x0A, 0x05, 0x00, 0x02],
            answered: 0,
            ignored: 0,
        }
    }

    pub fn with_faults(mut self, faults: Faults) -> Sim3m {
        self.faults = faults;
        self
    }

    pub fn field(&self) -> &Field {
        &self.field
    }

    /// Requests answered, and frames ignored (bad or unknown).
    pub fn counts(&self) -> (u64, u64) {
        (self.answered, self.ignored)
    }

    pub fn decoder_stats(&self) -> FrameStats {
        self.dec.stats()
    }

    /// The answer to one request, with the tag-level faults
    /// (`no_transponder`, `write_failures`) applied.
    pub fn respond(&mut self, req: &Request) -> Response {
        let c = req.cmd();
        let Some(uid) = req.uid().copied() else {
            return match req {
                Request::Inventory { afi, options } => {
                    let uids = self
                        .field
                        .uids()
                        .into_iter()
                        .filter(|u| *afi == 0 || self.field.get(u).is_some_and(|t| t.afi == *afi))
                        .take(255)
                        .collect();
                    Response::Inventory {
                        afi: *afi,
                        options: *options,
                        uids,
                    }
                }
                _ => Response::Version(self.version),
            };
        };
        let error = |code| Response::Error {
            cmd: c,
            code,
            uid: Some(uid),
        };
        if self.faults.no_transponder > 0 {
            self.faults.no_transponder -= 1;
            return error(err::NO_TRANSPONDER);
        }
        let faults = &mut self.faults;
        self.field
            .with(&uid, |tag| {
                if matches!(req, Request::WriteBlocks { .. } | Request::WriteAfi { .. })
                    && faults.write_failures > 0
                {
                    faults.write_failures -= 1;
                    return error(err::WRITE_FAILED);
                }
                apply(req, tag).unwrap_or_else(error)
            })
            .unwrap_or_else(|| error(err::NO_TRANSPONDER))
    }
}

/// Carries out an addressed request on a tag; `Err(code)` on failure.
fn apply(req: &Request, tag: &mut SimTag) -> Result<Response, u8> {
    let uid = tag.uid;
    match req {
        Request::ReadBlocks { first, count, .. } => {
            let from = usize::from(*first);
            let to = (from + usize::from(*count)).min(tag.blocks.len());
            let blocks = (from..to).map(|i| (i as u16, tag.blocks[i])).collect();
            Ok(Response::Blocks { uid, blocks })
        }
        Request::WriteBlocks { first, blocks, .. } => {
            let from = usize::from(*first);
            if from + blocks.len() > tag.blocks.len() {
                return Err(err::WRITE_FAILED);
            }
            tag.blocks[from..from + blocks.len()].copy_from_slice(blocks);
            Ok(Response::BlocksWritten {
                uid,
                count: blocks.len() as u8,
            })
        }
        Request::GetAfi { .. } => Ok(Response::Afi { uid, afi: tag.afi }),
        Request::WriteAfi { afi, .. } => {
            if tag.afi_locked {
                return Err(err::LOCKED);
            }
            tag.afi = *afi;
            Ok(Response::AfiWritten { uid })
        }
        Request::LockAfi { .. } => {
            if tag.afi_locked {
                return Err(err::LOCKED);
            }
            tag.afi_locked = true;
            Ok(Response::AfiLocked { uid })
        }
        Request::CheckEas { .. } => Ok(Response::Eas { uid, on: tag.eas }),
        Request::SetEas { on, .. } => {
            tag.eas = *on;
            Ok(Response::EasSet { uid })
        }
        Request::Version | Request::Inventory { .. } => Err(err::NO_TRANSPONDER),
    }
}

impl Simulator for Sim3m {
    fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for item in self.dec.feed(bytes) {
            let Ok(frame) = item else {
                self.ignored += 1;
                continue;
            };
            let Ok(req) = Request::from_frame(&frame) else {
                self.ignored += 1;
                continue;
            };
            if self.faults.swallow() {
                continue;
            }
            let answer = self.respond(&req).encode();
            out.extend(self.faults.deliver(answer));
            self.answered += 1;
        }
        out
    }

    fn faults(&mut self) -> &mut Faults {
        &mut self.faults
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::m3::test_support::*;
    #[test]
    fn simulator_ignores_bad_requests_and_keeps_partial_input() {
        let field = Field::new([tag(UID, 0x07)]);
        let mut sim = Sim3m::new(field);
        let mut bad = Request::GetAfi { uid: UID }.encode();
        *bad.last_mut().unwrap() ^= 1;
        assert!(sim.receive(&bad).is_empty());
        assert!(sim.receive(&Frame::new(0x77, vec![1]).encode()).is_empty());
        let req = Request::GetAfi { uid: UID }.encode();
        assert!(sim.receive(&req[..4]).is_empty());
        let answer = sim.receive(&req[4..]);
        assert_eq!(answer, Response::Afi { uid: UID, afi: 7 }.encode());
        assert_eq!(sim.counts(), (1, 2));
    }
}
