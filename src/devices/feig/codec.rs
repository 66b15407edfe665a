//! FEIG framing: the CRC, [`Frame`] in its standard and advanced forms and
//! the sans-IO [`FrameDecoder`] that finds frames on a line with no start
//! byte. Bytes only: no port, no clock, no meaning of commands.

use std::time::Duration;

use crate::devices::rfid::hex;
/// Baud rate of FEIG ISC readers (8 data bits, even parity, 1 stop bit).
#[allow(dead_code)] // the line setting, for whoever opens the port (config holds the number)
pub const BAUD_RATE: u32 = 38_400;
/// COM-ADR every reader on the line answers to.
pub const ANY_ADDRESS: u8 = 0xFF;
/// Minimum silence between two frames on a real line.
pub const FRAME_GAP: Duration = Duration::from_millis(5);
/// Largest standard frame.
pub const MAX_SHORT_FRAME_LEN: usize = 255;
/// Largest advanced frame this codec accepts (readers buffer far less).
pub const MAX_FRAME_LEN: usize = 4096;

/// `[0x65]` get software version.
pub const CMD_SOFTWARE_VERSION: u8 = 0x65;
/// `[0xB0]` ISO 15693 host commands.
pub const CMD_ISO15693: u8 = 0xB0;
/// `[0xB1]` ISO 15693 custom (manufacturer) commands.
pub const CMD_CUSTOM: u8 = 0xB1;

const STX: u8 = 0x02;
const SHORT_MIN: usize = 5; // LEN ADR CMD CRC CRC
const LONG_MIN: usize = 7; // STX ALEN ALEN ADR CMD CRC CRC

/// Control bytes a resynchronising decoder accepts as a frame start (FEIG
/// host-mode commands seen in the manuals). A frame at a clean boundary
/// may carry any command.
const KNOWN_COMMANDS: [u8; 16] = [
    0x52, 0x65, 0x66, 0x69, 0x6A, 0x6E, 0x72, 0x80, 0x81, 0x82, 0x83, 0x85, 0x86, 0xA0, 0xB0, 0xB1,
];

const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MCRF4XX);

/// CRC-16/MCRF4XX of `bytes` (check value 0x6F91 for "123456789").
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// One frame without its length and CRC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Sent (or received) in the advanced form `02 | ALEN | …`. Frames that
    /// do not fit 255 bytes always use it.
    pub long: bool,
    /// COM-ADR: the reader's bus address, `FF` = any.
    pub address: u8,
    /// Control byte (`0x65`, `0xB0`, …).
    pub command: u8,
    /// Everything between CMD and CRC: request data, or STATUS + answer data.
    pub body: Vec<u8>,
}

impl Frame {
    /// A host request.
    pub fn request(address: u8, command: u8, data: &[u8]) -> Frame {
        Frame {
            long: false,
            address,
            command,
            body: data.to_vec(),
        }
    }

    /// A reader answer: STATUS goes first in the body.
    pub fn response(address: u8, command: u8, status: u8, data: &[u8]) -> Frame {
        let mut body = Vec::with_capacity(1 + data.len());
        body.push(status);
        body.extend_from_slice(data);
        Frame {
            long: false,
            address,
            command,
            body,
        }
    }

    /// STATUS of an answer.
    pub fn status(&self) -> Option<u8> {
        self.body.first().copied()
    }

    /// Answer data after STATUS.
    pub fn data(&self) -> &[u8] {
        self.body.get(1..).unwrap_or(&[])
    }

    /// Whether [`Frame::encode`] uses the advanced form.
    pub fn uses_long_form(&self) -> bool {
        self.long || self.body.len() + SHORT_MIN > MAX_SHORT_FRAME_LEN
    }

    /// Bytes on the wire, CRC included.
    pub fn wire_len(&self) -> usize {
        self.body.len()
            + if self.uses_long_form() {
                LONG_MIN
            } else {
                SHORT_MIN
            }
    }

    /// The frame with its length and CRC, ready for the line. Bodies beyond
    /// 65 528 bytes cannot be expressed (ALEN saturates; no peer accepts it).
    pub fn encode(&self) -> Vec<u8> {
        let total = self.wire_len();
        let mut out = Vec::with_capacity(total);
        if self.uses_long_form() {
            out.push(STX);
            let alen = u16::try_from(total).unwrap_or(u16::MAX);
            out.extend_from_slice(&alen.to_be_bytes());
        } else {
            out.push(u8::try_from(total).unwrap_or(u8::MAX));
        }
        out.push(self.address);
        out.push(self.command);
        out.extend_from_slice(&self.body);
        let crc = crc16(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// [`Frame::encode`], as a free function.
#[allow(dead_code)] // the codec's free-function form (house style); callers use the method
pub fn encode(frame: &Frame) -> Vec<u8> {
    frame.encode()
}

/// A frame the decoder found but could not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame {} failed its CRC (received {received:#06x}, computed {computed:#06x})", hex(.bytes))]
    BadCrc {
        bytes: Vec<u8>,
        computed: u16,
        received: u16,
    },
}

/// What the decoder has seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Frames delivered with a good CRC.
    pub frames_ok: u64,
    /// Frame-shaped byte runs whose CRC failed (each reported once).
    pub bad_crc: u64,
    /// Bytes skipped while looking for a frame start (not counting the
    /// bytes of a frame already reported with a bad CRC).
    pub garbage_bytes: u64,
}

/// Sans-IO frame decoder: feed it bytes in any pieces, get frames out.
///
/// The line has no start byte, so a frame starts wherever a length byte,
/// the bytes it announces and a matching CRC agree. While bytes are
/// missing, the decoder also looks further on for a complete, valid frame
/// (so a garbage byte announcing 240 bytes cannot hide a real 7-byte
/// answer). After garbage it only accepts frames whose command byte is a
/// known FEIG command, which makes false matches rarer.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    stats: DecoderStats,
    /// At a clean frame boundary (start, after a good frame, after a reset).
    synced: bool,
    /// Bytes still to skip of a frame reported with a bad CRC.
    bad_left: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new()
    }
}

enum Candidate {
    Invalid,
    Incomplete,
    Complete(usize),
}

enum Step {
    Skip(usize),
    Emit(Frame, usize),
    BadCrc(FrameError, usize),
    Wait,
}

fn candidate(buf: &[u8]) -> Candidate {
    match buf.first() {
        None => Candidate::Incomplete,
        Some(&STX) => {
            if buf.len() < 3 {
                return Candidate::Incomplete;
            }
            let alen = usize::from(u16::from_be_bytes([buf[1], buf[2]]));
            if !(LONG_MIN..=MAX_FRAME_LEN).contains(&alen) {
                Candidate::Invalid
            } else if buf.len() < alen {
                Candidate::Incomplete
            } else {
                Candidate::Complete(alen)
            }
        }
        Some(&len) => {
            let len = usize::from(len);
            if len < SHORT_MIN {
                Candidate::Invalid
            } else if buf.len() < len {
                Candidate::Incomplete
            } else {
                Candidate::Complete(len)
            }
        }
    }
}

/// CRC received and computed over a complete candidate.
fn crc_pair(bytes: &[u8]) -> (u16, u16) {
    let n = bytes.len();
    let received = u16::from_le_bytes([bytes[n - 2], bytes[n - 1]]);
    (received, crc16(&bytes[..n - 2]))
}

fn plausible(bytes: &[u8]) -> bool {
    let cmd_at = if bytes[0] == STX { 4 } else { 2 };
    bytes
        .get(cmd_at)
        .is_some_and(|cmd| KNOWN_COMMANDS.contains(cmd))
}

fn decode_frame(bytes: &[u8]) -> Frame {
    let long = bytes[0] == STX;
    let h = if long { 3 } else { 1 };
    Frame {
        long,
        address: bytes[h],
        command: bytes[h + 1],
        body: bytes[h + 2..bytes.len() - 2].to_vec(),
    }
}

/// First offset in `1..limit` where a complete, plausible frame with a good
/// CRC starts.
fn find_frame_after(buf: &[u8], limit: usize) -> Option<usize> {
    (1..limit.min(buf.len())).find(|&k| {
        let rest = &buf[k..];
        match candidate(rest) {
            Candidate::Complete(n) => {
                let bytes = &rest[..n];
                let (received, computed) = crc_pair(bytes);
                plausible(bytes) && received == computed
            }
            _ => false,
        }
    })
}

impl FrameDecoder {
    pub fn new() -> FrameDecoder {
        FrameDecoder {
            buf: Vec::new(),
            stats: DecoderStats::default(),
            synced: true,
            bad_left: 0,
        }
    }

    /// Counters since the decoder was made.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Bytes held while waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Drops a partial frame (counted as garbage) and starts at a clean
    /// boundary: a driver calls this before a request, when anything still
    /// buffered can only be stale. Returns the bytes dropped.
    pub fn discard_partial(&mut self) -> usize {
        let n = self.buf.len();
        self.skip(n);
        self.buf.clear();
        self.synced = true;
        self.bad_left = 0;
        n
    }

    fn skip(&mut self, n: usize) {
        let inside_bad = n.min(self.bad_left);
        self.bad_left -= inside_bad;
        self.stats.garbage_bytes += (n - inside_bad) as u64;
        if n > 0 {
            self.synced = false;
        }
    }

    fn step(&self, rest: &[u8]) -> Step {
        match candidate(rest) {
            Candidate::Invalid => Step::Skip(1),
            Candidate::Incomplete => match find_frame_after(rest, rest.len()) {
                Some(k) => Step::Skip(k),
                None => Step::Wait,
            },
            Candidate::Complete(n) => {
                let bytes = &rest[..n];
                let (received, computed) = crc_pair(bytes);
                let plausible = plausible(bytes);
                if received == computed && (self.synced || plausible) {
                    Step::Emit(decode_frame(bytes), n)
                } else if received != computed && plausible && self.bad_left == 0 {
                    // A real frame may start inside this one (garbage that
                    // happened to look like a header): prefer it.
                    match find_frame_after(rest, n) {
                        Some(k) => Step::Skip(k),
                        None => Step::BadCrc(
                            FrameError::BadCrc {
                                bytes: bytes.to_vec(),
                                computed,
                                received,
                            },
                            n,
                        ),
                    }
                } else {
                    Step::Skip(1)
                }
            }
        }
    }

    /// Feeds bytes; returns every frame (or bad frame) completed by them.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < self.buf.len() {
            match self.step(&self.buf[pos..]) {
                Step::Skip(k) => {
                    self.skip(k);
                    pos += k;
                }
                Step::Emit(frame, n) => {
                    out.push(Ok(frame));
                    self.stats.frames_ok += 1;
                    self.synced = true;
                    self.bad_left = 0;
                    pos += n;
                }
                Step::BadCrc(err, n) => {
                    out.push(Err(err));
                    self.stats.bad_crc += 1;
                    self.synced = false;
                    // Resync one byte on: a real frame may start inside.
                    self.bad_left = n - 1;
                    pos += 1;
                }
                Step::Wait => break,
            }
        }
        self.buf.drain(..pos);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::feig::test_support::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0x6F91);
        assert_eq!(crc_bitwise(b"123456789"), 0x6F91);
        for n in 0..64u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
            assert_eq!(crc16(&data), crc_bitwise(&data));
        }
    }

    // --- codec ------------------------------------------------------------

    fn sample_frames() -> Vec<Frame> {
        let mut long = Frame::response(0x00, 0xB0, 0x00, &[0x55; 600]);
        long.long = true;
        let mut long_small = Frame::request(0xFF, 0x65, &[]);
        long_small.long = true;
        vec![
            Frame::request(0xFF, 0xB0, &[0x01, 0x00]),
            Frame::request(0x03, 0x65, &[]),
            Frame::response(0x00, 0xB0, 0x95, &[0x12]),
            Frame::response(0x00, 0xB0, 0x00, &[0xAA; 249]), // exactly 255 bytes
            long,
            long_small,
        ]
    }

    #[test]
    fn frames_round_trip() {
        for f in sample_frames() {
            let bytes = f.encode();
            assert_eq!(bytes.len(), f.wire_len());
            let mut expect = f.clone();
            expect.long = f.uses_long_form();
            assert_eq!(decode_all(&bytes), vec![Ok(expect.clone())], "{f:?}");
            assert_eq!(expect.encode(), bytes);
        }
        let edge = Frame::response(0x00, 0xB0, 0x00, &[0xAA; 249]);
        assert_eq!(edge.encode()[0], 0xFF);
        assert!(!edge.uses_long_form());
        let over = Frame::response(0x00, 0xB0, 0x00, &[0xAA; 250]);
        assert!(over.uses_long_form());
        assert_eq!(&over.encode()[..3], &[0x02, 0x01, 0x02]);
    }

    #[test]
    fn split_byte_by_byte() {
        let frames = sample_frames();
        let stream: Vec<u8> = frames.iter().flat_map(|f| f.encode()).collect();
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        for b in &stream {
            got.extend(dec.feed(std::slice::from_ref(b)));
        }
        let got: Vec<Frame> = got.into_iter().map(|r| r.unwrap()).collect();
        assert_eq!(got.len(), frames.len());
        for (g, f) in got.iter().zip(&frames) {
            assert_eq!(g.body, f.body);
            assert_eq!(g.command, f.command);
        }
        assert_eq!(dec.stats().frames_ok, frames.len() as u64);
        assert_eq!(dec.stats().garbage_bytes, 0);
        assert_eq!(dec.buffered(), 0);
    }

    #[test]
    fn garbage_is_skipped_and_counted() {
        let a = Frame::request(0xFF, 0xB0, &[0x01, 0x00]);
        let b = Frame::response(0x00, 0x65, 0x00, &[3, 5, 0, 0, 76, 0, 8]);
        let mut stream = vec![0x00, 0x01, 0x03];
        stream.extend(a.encode());
        stream.extend([0x04, 0x00]);
        stream.extend(b.encode());
        let mut dec = FrameDecoder::new();
        let got = dec.feed(&stream);
        assert_eq!(got, vec![Ok(a), Ok(b)]);
        assert_eq!(dec.stats().garbage_bytes, 5);
        assert_eq!(dec.stats().bad_crc, 0);
    }

    #[test]
    fn a_garbage_length_cannot_hide_a_real_frame() {
        // 0xF0 announces 240 bytes; the real 7-byte frame behind it must
        // come out without waiting for them.
        let a = Frame::request(0xFF, 0xB0, &[0x01, 0x00]);
        let mut stream = vec![0xF0, 0x13];
        stream.extend(a.encode());
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        for b in &stream {
            got.extend(dec.feed(std::slice::from_ref(b)));
        }
        assert_eq!(got, vec![Ok(a)]);
        assert_eq!(dec.buffered(), 0);
        assert_eq!(dec.stats().garbage_bytes, 2);
    }

    #[test]
    fn bad_crc_is_reported_once_and_the_next_frame_found() {
        let good = Frame::response(0x00, 0xB0, 0x00, &[0x00]);
        let mut broken = Frame::response(
            0x00,
            0xB0,
            0x00,
            &[0x01, 0x03, 0x3E, 1, 2, 3, 4, 5, 6, 7, 8],
        )
        .encode();
        let n = broken.len();
        broken[n - 1] ^= 0x5A;
        let mut stream = broken.clone();
        stream.extend(good.encode());
        for chunk in [1, 3, stream.len()] {
            let mut dec = FrameDecoder::new();
            let mut got = Vec::new();
            for c in stream.chunks(chunk) {
                got.extend(dec.feed(c));
            }
            assert_eq!(got.len(), 2, "chunk {chunk}: {got:?}");
            assert!(matches!(&got[0], Err(FrameError::BadCrc { bytes, .. }) if *bytes == broken));
            assert_eq!(got[1], Ok(good.clone()));
            assert_eq!(dec.stats().bad_crc, 1);
            assert_eq!(dec.stats().frames_ok, 1);
            assert_eq!(
                dec.stats().garbage_bytes,
                0,
                "bytes of a bad frame are not garbage"
            );
        }
    }

    #[test]
    fn real_frame_inside_a_header_lookalike() {
        // "07 FF B0" looks like a frame start and, with the real frame's
        // first bytes, completes a 7-byte candidate whose CRC fails.
        let real = Frame::response(0x00, 0xB0, 0x00, &[0x00]).encode();
        let mut stream = vec![0x07, 0xFF, 0xB0];
        stream.extend(&real);
        for chunk in [1, 2, stream.len()] {
            let mut dec = FrameDecoder::new();
            let mut oks = Vec::new();
            for c in stream.chunks(chunk) {
                oks.extend(dec.feed(c).into_iter().filter_map(Result::ok));
            }
            assert_eq!(oks.len(), 1, "chunk {chunk}");
            assert_eq!(oks[0].encode(), real);
        }
    }

    #[test]
    fn lengths_are_bounded() {
        // ALEN beyond MAX_FRAME_LEN and LEN below the minimum are garbage.
        let real = Frame::request(0xFF, 0x65, &[]);
        let mut stream = vec![0x02, 0xFF, 0xFF, 0x02, 0x00, 0x03, 0x04];
        stream.extend(real.encode());
        let mut dec = FrameDecoder::new();
        assert_eq!(dec.feed(&stream), vec![Ok(real)]);
        assert_eq!(dec.stats().garbage_bytes, 7);
        // A long candidate never makes the decoder hold more than it claims.
        let mut dec = FrameDecoder::new();
        dec.feed(&[0x02, 0x10, 0x00]);
        for _ in 0..MAX_FRAME_LEN {
            dec.feed(&[0x00]);
            assert!(dec.buffered() <= MAX_FRAME_LEN);
        }
    }

    proptest! {
        #![proptest_config(seeded(512))]

        #[test]
        fn decoder_never_loses_a_frame_after_garbage(
            garbage in vec(any::<u8>(), 0..300),
            address in any::<u8>(),
            command in prop::sample::select(vec![0x65u8, 0xB0, 0xB1]),
            body in vec(any::<u8>(), 0..60),
            long in any::<bool>(),
            chunk in 1usize..20,
        ) {
            let frame = Frame { long, address, command, body };
            let mut stream = garbage.clone();
            stream.extend(frame.encode());
            let mut dec = FrameDecoder::new();
            let mut oks = Vec::new();
            for c in stream.chunks(chunk) {
                oks.extend(dec.feed(c).into_iter().filter_map(Result::ok));
            }
            prop_assert_eq!(oks.last(), Some(&frame));
            prop_assert_eq!(dec.buffered(), 0);
        }

        #[test]
        fn decoder_never_panics(data in vec(any::<u8>(), 0..1500), chunk in 1usize..64) {
            let mut dec = FrameDecoder::new();
            let mut consumed = 0u64;
            for c in data.chunks(chunk) {
                for f in dec.feed(c).into_iter().flatten() {
                    consumed += f.wire_len() as u64;
                }
            }
            let s = dec.stats();
            prop_assert!(consumed + s.garbage_bytes + dec.buffered() as u64 <= data.len() as u64);
        }
    }
}
