//! 3M framing: CRC-16/GENIBUS, [`Frame`] (D6 and the D5 probe) and the
//! sans-IO [`FrameDecoder`]. Bytes only: no port, no clock, no meaning.

/// Start byte of every ordinary frame, both directions.
pub const START: u8 = 0xD6;
/// Start byte of the 810 probe (version) exchange.
pub const START_PROBE: u8 = 0xD5;

/// Smallest LEN a frame can carry: CMD + CRC.
pub const MIN_LEN: usize = 3;
/// Largest LEN the decoder accepts: an inventory answer listing 255 tags
/// (`FE ERR AFI OPT COUNT` + 255 × 8 + CRC = 2047). Anything longer is noise,
/// and refusing it bounds the decoder's buffer.
pub const MAX_LEN: usize = 5 + 255 * 8 + 2;

/// Bytes a frame adds around its command and fields: start, LEN, CRC.
pub const FRAME_OVERHEAD: usize = 5;

const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_GENIBUS);

/// CRC-16/GENIBUS as the reader computes it (check value 0xD64E).
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// Command codes (the byte after LEN).
pub mod cmd {
    pub const INVENTORY: u8 = 0xFE;
    pub const READ_BLOCKS: u8 = 0x02;
    pub const CHECK_EAS: u8 = 0x03;
    pub const WRITE_BLOCKS: u8 = 0x04;
    pub const LOCK_AFI: u8 = 0x06;
    pub const WRITE_AFI: u8 = 0x09;
    pub const GET_AFI: u8 = 0x0A;
    pub const EAS_CONTROL: u8 = 0x0C;
    /// The version query; on the wire it is the D5 probe `04 00 11`.
    pub const VERSION: u8 = 0x11;
    /// ISO 15693 passthrough; not used by this driver.
    pub const ISO_PASSTHROUGH: u8 = 0x14;
}

/// Reader error codes (the byte after CMD in an answer).
pub mod err {
    pub const OK: u8 = 0x00;
    pub const NO_TRANSPONDER: u8 = 0x06;
    pub const LOCKED: u8 = 0x12;
    pub const WRITE_FAILED: u8 = 0x16;
}

/// Inventory options byte sent in practice.
pub const INVENTORY_OPTIONS: u8 = 0x05;

/// The payload of the D5 probe, request and answer prefix: `04 00 11`.
/// Only this exact exchange is known; the meaning of `04` and `00` is not.
pub(super) const PROBE_PAYLOAD: [u8; 3] = [0x04, 0x00, cmd::VERSION];

/// Text for a reader error code.
pub fn error_meaning(code: u8) -> &'static str {
    match code {
        err::OK => "ok",
        err::NO_TRANSPONDER => "no transponder",
        err::LOCKED => "locked",
        err::WRITE_FAILED => "write failed",
        _ => "unknown error",
    }
}

/// One frame as it travels: the start byte, the command byte and the
/// fields after it (LEN and CRC are computed by `encode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    /// `START` (D6) or `START_PROBE` (D5).
    pub start: u8,
    pub cmd: u8,
    pub body: Vec<u8>,
}

impl Frame {
    /// An ordinary D6 frame.
    pub fn new(cmd: u8, body: Vec<u8>) -> Frame {
        Frame {
            start: START,
            cmd,
            body,
        }
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Length of the encoded frame.
    pub fn wire_len(&self) -> usize {
        FRAME_OVERHEAD + 1 + self.body.len()
    }
}

/// Encodes a frame: start, LEN (u16 BE: CMD + fields + CRC), CMD, fields,
/// CRC-16/GENIBUS (BE) over everything after the start byte.
///
/// # Panics
/// If the body is longer than 65532 bytes (LEN would not fit in 16 bits);
/// no request or answer of this protocol comes near that.
pub fn encode(frame: &Frame) -> Vec<u8> {
    let len = u16::try_from(frame.body.len() + 3).expect("3M frame body too long for LEN");
    let mut out = Vec::with_capacity(frame.wire_len());
    out.push(frame.start);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(frame.cmd);
    out.extend_from_slice(&frame.body);
    let crc = crc16(&out[1..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// Why bytes that began with a start byte were not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("bad CRC on a {len}-byte frame (start {start:#04x}, command {cmd:#04x}): got {got:#06x}, computed {computed:#06x}")]
    BadCrc {
        start: u8,
        cmd: u8,
        /// The LEN field.
        len: u16,
        got: u16,
        computed: u16,
    },
    #[error("impossible LEN {len} after start byte {start:#04x}")]
    BadLength { start: u8, len: u16 },
    #[error("frame cut short: {have} of {need} bytes arrived")]
    Truncated { have: usize, need: usize },
}

/// What the decoder has seen, for logs and the noise counters. Every byte
/// fed ends up in exactly one of `frame_bytes`, `garbage_bytes` or the
/// buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FrameStats {
    pub bytes_in: u64,
    pub frames_ok: u64,
    pub frame_bytes: u64,
    pub bad_crc: u64,
    pub bad_len: u64,
    pub truncated: u64,
    /// Bytes that were not part of a good frame (skipped before a start
    /// byte, or the start byte of a rejected frame, or cleared).
    pub garbage_bytes: u64,
}

/// Sans-IO frame decoder: feed bytes in any pieces, get frames out.
///
/// It skips bytes until a start byte (D5 or D6), checks LEN and CRC, and
/// after a rejected frame resumes scanning at the byte after that frame's
/// start byte, so a real frame inside garbage is still found. A candidate
/// whose LEN points beyond the bytes received waits for more; when the line
/// has gone quiet the owner calls `flush` to give up on it.
#[derive(Debug, Default, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    stats: FrameStats,
}

impl FrameDecoder {
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// Adds bytes and returns every frame (or rejected frame) completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        self.stats.bytes_in += bytes.len() as u64;
        self.buf.extend_from_slice(bytes);
        self.scan(false)
    }

    /// The line went quiet: whatever is buffered will not complete. Gives
    /// up on the pending candidate(s) and rescans the bytes after them.
    pub fn flush(&mut self) -> Vec<Result<Frame, FrameError>> {
        self.scan(true)
    }

    /// Drops the buffer (counted as garbage); returns how many bytes.
    pub fn clear(&mut self) -> usize {
        let n = self.buf.len();
        self.stats.garbage_bytes += n as u64;
        self.buf.clear();
        n
    }

    /// Bytes held waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn stats(&self) -> FrameStats {
        self.stats
    }

    fn scan(&mut self, flush: bool) -> Vec<Result<Frame, FrameError>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < self.buf.len() {
            let rest = &self.buf[pos..];
            let Some(skip) = rest.iter().position(|&b| b == START || b == START_PROBE) else {
                self.stats.garbage_bytes += rest.len() as u64;
                pos = self.buf.len();
                break;
            };
            self.stats.garbage_bytes += skip as u64;
            pos += skip;
            let rest = &self.buf[pos..];
            let start = rest[0];
            if rest.len() < 3 {
                if !flush {
                    break;
                }
                out.push(Err(self.reject_truncated(rest.len(), 3)));
                pos += 1;
                continue;
            }
            let len = u16::from_be_bytes([rest[1], rest[2]]);
            let n = usize::from(len);
            if !(MIN_LEN..=MAX_LEN).contains(&n) {
                self.stats.bad_len += 1;
                self.stats.garbage_bytes += 1;
                out.push(Err(FrameError::BadLength { start, len }));
                pos += 1;
                continue;
            }
            let total = 3 + n;
            if rest.len() < total {
                if !flush {
                    break;
                }
                out.push(Err(self.reject_truncated(rest.len(), total)));
                pos += 1;
                continue;
            }
            let computed = crc16(&rest[1..1 + n]);
            let got = u16::from_be_bytes([rest[1 + n], rest[2 + n]]);
            if computed != got {
                self.stats.bad_crc += 1;
                self.stats.garbage_bytes += 1;
                out.push(Err(FrameError::BadCrc {
                    start,
                    cmd: rest[3],
                    len,
                    got,
                    computed,
                }));
                pos += 1;
                continue;
            }
            self.stats.frames_ok += 1;
            self.stats.frame_bytes += total as u64;
            out.push(Ok(Frame {
                start,
                cmd: rest[3],
                body: rest[4..1 + n].to_vec(),
            }));
            pos += total;
        }
        self.buf.drain(..pos);
        out
    }

    fn reject_truncated(&mut self, have: usize, need: usize) -> FrameError {
        self.stats.truncated += 1;
        self.stats.garbage_bytes += 1;
        FrameError::Truncated { have, need }
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::m3::test_support::*;
    use crate::devices::m3::{Request, Response};
    use proptest::prelude::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0xD64E);
    }

    #[test]
    fn split_byte_by_byte() {
        let mut stream = Vec::new();
        for r in all_responses() {
            stream.extend(r.encode());
        }
        let mut d = FrameDecoder::new();
        let mut got = Vec::new();
        for b in &stream {
            got.extend(only_ok(d.feed(&[*b])));
        }
        let parsed: Vec<Response> = got
            .iter()
            .map(|f| Response::from_frame(f).unwrap())
            .collect();
        assert_eq!(parsed, all_responses());
        assert_eq!(d.stats().garbage_bytes, 0);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn garbage_before_and_between_frames_is_skipped_and_counted() {
        let a = Request::GetAfi { uid: UID }.encode();
        let b = Request::Inventory { afi: 0, options: 5 }.encode();
        let mut stream = vec![0x00, 0xFF, 0x13];
        stream.extend(&a);
        stream.extend([0x55, 0xAA]);
        stream.extend(&b);
        let mut d = FrameDecoder::new();
        let got = d.feed(&stream);
        assert_eq!(got.len(), 2);
        assert_eq!(d.stats().garbage_bytes, 5);
        assert_eq!(d.stats().frames_ok, 2);
        assert_eq!(d.stats().frame_bytes, (a.len() + b.len()) as u64);
    }

    #[test]
    fn bad_crc_resyncs_at_the_byte_after_the_start() {
        let good = Response::Afi { uid: UID, afi: 7 }.encode();
        // A fake frame whose LEN covers the real one: the CRC fails, and the
        // real frame inside is found.
        let mut stream = vec![START, 0x00, (good.len() + 4) as u8, 0x0A];
        stream.extend(&good);
        stream.extend([0x01, 0x02, 0x03]);
        let mut d = FrameDecoder::new();
        let got = d.feed(&stream);
        assert!(matches!(got[0], Err(FrameError::BadCrc { .. })), "{got:?}");
        assert_eq!(
            only_ok(got),
            vec![FrameDecoder::new().feed(&good).remove(0).unwrap()]
        );
        assert_eq!(d.stats().bad_crc, 1);

        // A corrupted CRC on its own.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        let mut d = FrameDecoder::new();
        let got = d.feed(&bad);
        assert!(matches!(got[0], Err(FrameError::BadCrc { .. })));
        assert_eq!(d.stats().frames_ok, 0);
        assert_eq!(only_ok(d.feed(&good)).len(), 1);
    }

    #[test]
    fn impossible_len_is_refused_without_allocating() {
        let good = Request::Version.encode();
        let mut stream = vec![START, 0xFF, 0xFF, START, 0x00, 0x02];
        stream.extend(&good);
        let mut d = FrameDecoder::new();
        let got = d.feed(&stream);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(matches!(
            got[0],
            Err(FrameError::BadLength { len: 0xFFFF, .. })
        ));
        assert!(matches!(got[1], Err(FrameError::BadLength { len: 2, .. })));
        assert_eq!(got[2].as_ref().unwrap().start, START_PROBE);
        assert_eq!(d.stats().bad_len, 2);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn a_stalled_candidate_gives_way_on_flush() {
        let good = Request::GetAfi { uid: UID }.encode();
        let mut stream = vec![START, 0x04, 0x00]; // LEN 1024: waits for more
        stream.extend(&good);
        let mut d = FrameDecoder::new();
        assert!(d.feed(&stream).is_empty());
        assert_eq!(d.buffered(), stream.len());
        let got = d.flush();
        assert!(matches!(got[0], Err(FrameError::Truncated { .. })));
        assert_eq!(only_ok(got).len(), 1);
        assert_eq!(d.buffered(), 0);
        let s = d.stats();
        assert_eq!(s.bytes_in, s.frame_bytes + s.garbage_bytes);
    }

    fn frame_strategy() -> impl Strategy<Value = Frame> {
        (
            prop_oneof![Just(START), Just(START_PROBE)],
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(start, cmd, body)| Frame { start, cmd, body })
    }

    proptest! {

        #[test]
        fn a_valid_frame_after_garbage_is_found(
            garbage in prop::collection::vec(prop_oneof![Just(START), Just(0u8), any::<u8>()], 0..200),
            frame in frame_strategy(),
            step in 1usize..17,
        ) {
            let mut stream = garbage.clone();
            stream.extend(encode(&frame));
            let mut d = FrameDecoder::new();
            let mut got = Vec::new();
            for chunk in stream.chunks(step) {
                got.extend(only_ok(d.feed(chunk)));
            }
            got.extend(only_ok(d.flush()));
            let found = got.last() == Some(&frame);
            // The only way to lose it: the garbage began a frame with a
            // valid CRC that overlaps it (1 in 65536 per candidate), which
            // no decoder could tell from a real one.
            let swallowed = got.iter().any(|f| f != &frame);
            prop_assert!(found || swallowed, "lost {frame:?} after {garbage:02X?}");
        }
    }
}
