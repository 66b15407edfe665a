//! What every RFID book reader offers, whatever its wire protocol: the
//! `RfidReader` operations, the errors they end in, the tags a simulator
//! holds, and `SimPort`, an in-memory serial port with a simulator behind
//! it. Protocol modules (`m3`, `feig`) implement both sides on one codec.
//!
//! Nothing here knows about loans: the kiosk decides, the reader obeys.

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An ISO 15693 tag UID, 8 bytes in the order it is displayed
/// (`E0 04 01 00 …`).
pub type Uid = [u8; 8];

/// Upper-case hex of a UID, as shown and configured (`E004010012345678`).
pub fn uid_hex(uid: &Uid) -> String {
    hex(uid)
}

/// Parses 16 hex digits (spaces and colons allowed) into a UID.
pub fn parse_uid(s: &str) -> Option<Uid> {
    let bytes = parse_hex(s)?;
    bytes.try_into().ok()
}

/// Upper-case hex, no separators.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Parses hex digits, ignoring spaces, colons and dashes; None if odd or not hex.
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b':' | b'-' | b'\t' | b'\n' | b'\r'))
        .collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

/// Why a reader operation did not complete.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    #[error("no answer from the reader within {0:?}")]
    Timeout(Duration),
    #[error("frame with a bad CRC: {0}")]
    BadCrc(String),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("no tag {0} in the field")]
    NoTransponder(String),
    #[error("the reader answered error {code:#04x} ({meaning})")]
    Reader { code: u8, meaning: &'static str },
    #[error("writing to tag {uid} failed after {tries} tries")]
    WriteFailed { uid: String, tries: u32 },
    #[error("this reader cannot {0}")]
    Unsupported(&'static str),
}

/// The operations the kiosk needs from a book reader. One call is one
/// request/response exchange (or a few, for long reads); retries of
/// writes are the caller's (`set_afi_with_retries`).
pub trait RfidReader {
    /// Checks the reader answers; returns its version text.
    fn probe(&mut self) -> Result<String, DeviceError>;
    /// UIDs of all tags in the field.
    fn inventory(&mut self) -> Result<Vec<Uid>, DeviceError>;
    /// `count` 4-byte blocks from `first`.
    fn read_blocks(&mut self, uid: &Uid, first: u8, count: u8)
        -> Result<Vec<[u8; 4]>, DeviceError>;
    /// Writes 4-byte blocks from `first`.
    fn write_blocks(&mut self, uid: &Uid, first: u8, blocks: &[[u8; 4]])
        -> Result<(), DeviceError>;
    fn get_afi(&mut self, uid: &Uid) -> Result<u8, DeviceError>;
    /// One attempt at writing the AFI.
    fn write_afi(&mut self, uid: &Uid, afi: u8) -> Result<(), DeviceError>;
    /// The tag's EAS bit, where the protocol has one.
    fn eas(&mut self, _uid: &Uid) -> Result<bool, DeviceError> {
        Err(DeviceError::Unsupported("check EAS"))
    }
    fn set_eas(&mut self, _uid: &Uid, _on: bool) -> Result<(), DeviceError> {
        Err(DeviceError::Unsupported("set EAS"))
    }
}

/// Writes the AFI, retrying up to `tries` times in all (readers fail
/// writes now and then), and reads it back. Returns the attempts used.
pub fn set_afi_with_retries(
    reader: &mut dyn RfidReader,
    uid: &Uid,
    afi: u8,
    tries: u32,
) -> Result<u32, DeviceError> {
    let tries = tries.max(1);
    let mut last = None;
    for attempt in 1..=tries {
        match reader.write_afi(uid, afi) {
            Ok(()) => match reader.get_afi(uid) {
                Ok(a) if a == afi => return Ok(attempt),
                Ok(_) => last = None,
                Err(e) => last = Some(e),
            },
            Err(e @ DeviceError::Io(_)) => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    tracing::warn!(uid = %uid_hex(uid), afi, tries, error = ?last, "AFI write failed");
    Err(DeviceError::WriteFailed {
        uid: uid_hex(uid),
        tries,
    })
}

/// One tag as a simulator holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTag {
    pub uid: Uid,
    pub blocks: Vec<[u8; 4]>,
    pub afi: u8,
    pub dsfid: u8,
    pub eas: bool,
    pub afi_locked: bool,
}

impl SimTag {
    /// A tag with `data` split into 4-byte blocks (zero-padded), 28 blocks
    /// at least (a typical 112-byte ISO 15693 library tag).
    pub fn new(uid: Uid, data: &[u8], afi: u8) -> SimTag {
        let mut blocks: Vec<[u8; 4]> = data
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                b
            })
            .collect();
        while blocks.len() < 28 {
            blocks.push([0; 4]);
        }
        SimTag {
            uid,
            blocks,
            afi,
            dsfid: 0,
            eas: false,
            afi_locked: false,
        }
    }

    /// The tag's memory as one byte string.
    pub fn data(&self) -> Vec<u8> {
        self.blocks.iter().flatten().copied().collect()
    }
}

/// Faults a simulator injects, each counted down as it is used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// The next N answers go out with a corrupted CRC.
    pub bad_crc: u32,
    /// The next N requests get no answer at all (the host times out).
    pub no_answer: u32,
    /// The next N writes (blocks or AFI) fail with the protocol's error.
    pub write_failures: u32,
    /// The next N addressed requests answer "no transponder".
    pub no_transponder: u32,
    /// Deliver answers in pieces of at most this many bytes per read.
    pub split: Option<usize>,
    /// Garbage bytes sent before the next answer.
    pub noise: Vec<u8>,
}

impl Faults {
    /// Whether this request goes unanswered (counts the fault down).
    pub fn swallow(&mut self) -> bool {
        if self.no_answer > 0 {
            self.no_answer -= 1;
            return true;
        }
        false
    }

    /// The bytes to send for an encoded answer: a pending CRC fault breaks
    /// its last byte, pending noise goes first.
    pub fn deliver(&mut self, mut answer: Vec<u8>) -> Vec<u8> {
        if self.bad_crc > 0 {
            self.bad_crc -= 1;
            if let Some(last) = answer.last_mut() {
                *last ^= 0xA5;
            }
        }
        let mut out = std::mem::take(&mut self.noise);
        out.append(&mut answer);
        out
    }
}

/// The tags on the pad, shared between a simulator and whoever puts tags
/// on and takes them off (tests, `kiosk sim`).
#[derive(Debug, Clone, Default)]
pub struct Field(Arc<Mutex<BTreeMap<Uid, SimTag>>>);

impl Field {
    pub fn new(tags: impl IntoIterator<Item = SimTag>) -> Field {
        let f = Field::default();
        for t in tags {
            f.put(t);
        }
        f
    }
    pub fn put(&self, tag: SimTag) {
        self.lock().insert(tag.uid, tag);
    }
    pub fn take(&self, uid: &Uid) -> Option<SimTag> {
        self.lock().remove(uid)
    }
    pub fn get(&self, uid: &Uid) -> Option<SimTag> {
        self.lock().get(uid).cloned()
    }
    pub fn uids(&self) -> Vec<Uid> {
        self.lock().keys().copied().collect()
    }
    /// Runs `f` on the tag if it is in the field.
    pub fn with<T>(&self, uid: &Uid, f: impl FnOnce(&mut SimTag) -> T) -> Option<T> {
        self.lock().get_mut(uid).map(f)
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Uid, SimTag>> {
        // A panic elsewhere must not take the pad down with it.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A device simulator: bytes from the host in, bytes to the host out.
/// It keeps partial frames between calls, exactly as a device would.
pub trait Simulator {
    fn receive(&mut self, bytes: &[u8]) -> Vec<u8>;
    /// Faults to inject from now on.
    fn faults(&mut self) -> &mut Faults;
}

/// An in-memory serial port with a simulator on the other end: what the
/// driver writes goes to the simulator, its answers come back on read. A
/// read with nothing to deliver fails with `TimedOut`, as a serial port
/// with a read timeout does.
pub struct SimPort<S: Simulator> {
    pub sim: S,
    pending: VecDeque<u8>,
}

impl<S: Simulator> SimPort<S> {
    pub fn new(sim: S) -> Self {
        SimPort {
            sim,
            pending: VecDeque::new(),
        }
    }
}

impl<S: Simulator> Write for SimPort<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let answer = self.sim.receive(buf);
        self.pending.extend(answer);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<S: Simulator> Read for SimPort<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
        }
        let max = self.sim.faults().split.unwrap_or(usize::MAX).max(1);
        let n = buf.len().min(self.pending.len()).min(max);
        for (slot, b) in buf.iter_mut().zip(self.pending.drain(..n)) {
            *slot = b;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let uid = [0xE0, 0x04, 0x01, 0x00, 0x12, 0x34, 0x56, 0x78];
        assert_eq!(uid_hex(&uid), "E004010012345678");
        assert_eq!(parse_uid("e0:04:01:00:12:34:56:78"), Some(uid));
        assert_eq!(parse_uid("E0 04 01 00 12 34 56 78"), Some(uid));
        assert_eq!(parse_uid("E00401001234567"), None);
        assert_eq!(parse_uid("E00401001234567G"), None);
        assert_eq!(parse_uid("E0040100123456"), None);
        assert_eq!(parse_hex(""), Some(vec![]));
    }

    #[test]
    fn sim_tag_pads_to_blocks() {
        let t = SimTag::new([1; 8], &[1, 2, 3, 4, 5], 0x07);
        assert_eq!(t.blocks.len(), 28);
        assert_eq!(t.blocks[1], [5, 0, 0, 0]);
        assert_eq!(&t.data()[..5], &[1, 2, 3, 4, 5]);
    }

    struct Echo(Faults);
    impl Simulator for Echo {
        fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
            bytes.to_vec()
        }
        fn faults(&mut self) -> &mut Faults {
            &mut self.0
        }
    }

    #[test]
    fn sim_port_splits_and_times_out() {
        let mut p = SimPort::new(Echo(Faults {
            split: Some(2),
            ..Faults::default()
        }));
        p.write_all(&[1, 2, 3]).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(p.read(&mut buf).unwrap(), 2);
        assert_eq!(p.read(&mut buf).unwrap(), 1);
        assert_eq!(buf[0], 3);
        let e = p.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    /// A reader whose AFI writes fail a set number of times.
    struct Flaky {
        fail: u32,
        afi: u8,
    }
    impl RfidReader for Flaky {
        fn probe(&mut self) -> Result<String, DeviceError> {
            Ok("flaky".into())
        }
        fn inventory(&mut self) -> Result<Vec<Uid>, DeviceError> {
            Ok(vec![])
        }
        fn read_blocks(&mut self, _: &Uid, _: u8, _: u8) -> Result<Vec<[u8; 4]>, DeviceError> {
            Ok(vec![])
        }
        fn write_blocks(&mut self, _: &Uid, _: u8, _: &[[u8; 4]]) -> Result<(), DeviceError> {
            Ok(())
        }
        fn get_afi(&mut self, _: &Uid) -> Result<u8, DeviceError> {
            Ok(self.afi)
        }
        fn write_afi(&mut self, _: &Uid, afi: u8) -> Result<(), DeviceError> {
            if self.fail > 0 {
                self.fail -= 1;
                return Err(DeviceError::Reader {
                    code: 0x16,
                    meaning: "write failed",
                });
            }
            self.afi = afi;
            Ok(())
        }
    }

    #[test]
    fn afi_writes_are_retried_a_bounded_number_of_times() {
        let mut r = Flaky { fail: 2, afi: 0x07 };
        assert_eq!(set_afi_with_retries(&mut r, &[0; 8], 0xC2, 3).unwrap(), 3);
        assert_eq!(r.afi, 0xC2);
        let mut r = Flaky { fail: 3, afi: 0x07 };
        let e = set_afi_with_retries(&mut r, &[0; 8], 0xC2, 3).unwrap_err();
        assert!(
            matches!(e, DeviceError::WriteFailed { tries: 3, .. }),
            "{e}"
        );
        assert_eq!(r.afi, 0x07);
    }
}
