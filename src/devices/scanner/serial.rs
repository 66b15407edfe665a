//! Serial scanners: a scanner on a serial port (or USB-serial, or a pty)
//! sends each code as `prefix code suffix`, typically at 9600 8N1 with a CR
//! or CR LF suffix. [`ScanFramer`] cuts that byte stream into codes;
//! [`SerialScanner`] reads a port and tells the framer when the line went
//! quiet. The framer never blocks, never panics and never keeps more than
//! one bounded line in memory, whatever arrives.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use super::{code_from_bytes, Noise, ScannerError};

/// How a serial scanner frames its codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramerConfig {
    /// Bytes the scanner sends before each code (often none, or STX 0x02).
    pub prefix: Vec<u8>,
    /// Bytes after each code. A suffix made only of CR/LF (`b"\r"`,
    /// `b"\r\n"`, `b"\n"`) accepts any of CR, LF or CR LF, since scanners
    /// are often set differently from what the kiosk was told. An empty
    /// suffix means codes are separated by quiet gaps only (see
    /// [`ScanFramer::idle`]).
    pub suffix: Vec<u8>,
    /// Longest code accepted, in bytes, not counting prefix and suffix.
    pub max_len: usize,
}

impl Default for FramerConfig {
    /// No prefix, CR LF suffix, codes up to 64 bytes (a 14-digit library
    /// number, an ISBN with hyphens and add-on, and room to spare).
    fn default() -> Self {
        FramerConfig {
            prefix: Vec::new(),
            suffix: b"\r\n".to_vec(),
            max_len: 64,
        }
    }
}

/// Running totals of a framer, for the kiosk's log and health counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Bytes fed in, terminators included.
    pub bytes: u64,
    /// Codes delivered.
    pub codes: u64,
    /// Noise events delivered.
    pub noise: u64,
    /// Bytes thrown away with noise (terminators not counted).
    pub bytes_discarded: u64,
}

/// How a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// Any of CR, LF, CR LF.
    LineEnd,
    /// The exact suffix bytes.
    Suffix,
    /// Only a quiet gap.
    Gap,
}

/// Cuts a serial scanner's byte stream into codes, sans-IO: bytes in,
/// `Ok(code)` or `Err(Noise)` out, one per terminated line.
#[derive(Debug, Clone)]
pub struct ScanFramer {
    config: FramerConfig,
    ending: Ending,
    /// Most bytes of one line kept; beyond that a line is only counted.
    cap: usize,
    line: Vec<u8>,
    /// Bytes in the current line, including those beyond `cap`.
    line_len: usize,
    /// The last `suffix.len()` bytes of the line (for `Ending::Suffix`).
    tail: Vec<u8>,
    /// The previous byte was a CR, so an LF now ends nothing.
    after_cr: bool,
    stats: FramerStats,
}

impl ScanFramer {
    pub fn new(config: FramerConfig) -> ScanFramer {
        let ending = if config.suffix.is_empty() {
            Ending::Gap
        } else if config.suffix.iter().all(|&b| b == b'\r' || b == b'\n') {
            Ending::LineEnd
        } else {
            Ending::Suffix
        };
        let cap = config
            .prefix
            .len()
            .saturating_add(config.max_len)
            .saturating_add(config.suffix.len());
        ScanFramer {
            config,
            ending,
            cap,
            line: Vec::new(),
            line_len: 0,
            tail: Vec::new(),
            after_cr: false,
            stats: FramerStats::default(),
        }
    }

    pub fn config(&self) -> &FramerConfig {
        &self.config
    }

    pub fn stats(&self) -> FramerStats {
        self.stats
    }

    /// Whether part of a line is waiting for its suffix.
    pub fn has_partial(&self) -> bool {
        self.line_len > 0
    }

    /// Feeds bytes as they arrived; returns one result per line they
    /// completed (two when junk precedes the prefix). Blank lines are
    /// skipped silently. A partial line is kept for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<String, Noise>> {
        let mut out = Vec::new();
        for &b in bytes {
            self.stats.bytes += 1;
            match self.ending {
                Ending::LineEnd => match b {
                    b'\r' => {
                        self.end_line(&mut out);
                        self.after_cr = true;
                    }
                    b'\n' => {
                        if !std::mem::take(&mut self.after_cr) {
                            self.end_line(&mut out);
                        }
                    }
                    _ => {
                        self.after_cr = false;
                        self.store(b);
                    }
                },
                Ending::Suffix => {
                    self.store(b);
                    if self.tail == self.config.suffix {
                        let n = self.config.suffix.len();
                        self.line_len -= n;
                        if self.line.len() >= n {
                            self.line.truncate(self.line.len() - n);
                        }
                        self.end_line(&mut out);
                    }
                }
                Ending::Gap => self.store(b),
            }
        }
        out
    }

    /// Tells the framer the line has been quiet for a while. A partial line
    /// is discarded as [`Noise::Partial`]; with an empty suffix the quiet
    /// gap is what ends a code, so the line is delivered instead.
    pub fn idle(&mut self) -> Vec<Result<String, Noise>> {
        self.after_cr = false;
        let mut out = Vec::new();
        if self.line_len == 0 {
            self.tail.clear();
            return out;
        }
        if self.ending == Ending::Gap {
            self.end_line(&mut out);
        } else {
            let len = self.take_line().1;
            self.discard(&mut out, Noise::Partial { len }, len);
        }
        out
    }

    fn store(&mut self, b: u8) {
        self.line_len = self.line_len.saturating_add(1);
        if self.line.len() < self.cap {
            self.line.push(b);
        }
        if self.ending == Ending::Suffix {
            if self.tail.len() == self.config.suffix.len() {
                self.tail.remove(0);
            }
            self.tail.push(b);
        }
    }

    /// The kept bytes and the full length of the current line; resets it.
    fn take_line(&mut self) -> (Vec<u8>, usize) {
        self.tail.clear();
        let len = std::mem::take(&mut self.line_len);
        (std::mem::take(&mut self.line), len)
    }

    fn end_line(&mut self, out: &mut Vec<Result<String, Noise>>) {
        let (line, len) = self.take_line();
        if len == 0 {
            return;
        }
        if len > line.len() {
            let max = self.config.max_len;
            let noise = Noise::TooLong {
                len: len.saturating_sub(self.config.prefix.len()),
                max,
            };
            self.discard(out, noise, len);
            return;
        }
        self.decode_line(&line, out);
    }

    fn decode_line(&mut self, line: &[u8], out: &mut Vec<Result<String, Noise>>) {
        let prefix_len = self.config.prefix.len();
        let body = if prefix_len == 0 {
            line
        } else {
            match find(line, &self.config.prefix) {
                Some(0) => &line[prefix_len..],
                Some(at) => {
                    self.discard(out, Noise::Junk { len: at }, at);
                    &line[at + prefix_len..]
                }
                None => {
                    let len = line.len();
                    self.discard(out, Noise::MissingPrefix { len }, len);
                    return;
                }
            }
        };
        let spent = body.len() + prefix_len;
        if body.len() > self.config.max_len {
            let noise = Noise::TooLong {
                len: body.len(),
                max: self.config.max_len,
            };
            self.discard(out, noise, spent);
            return;
        }
        match code_from_bytes(body) {
            Ok(code) => {
                self.stats.codes += 1;
                out.push(Ok(code));
            }
            Err(noise) => self.discard(out, noise, spent),
        }
    }

    fn discard(&mut self, out: &mut Vec<Result<String, Noise>>, noise: Noise, bytes: usize) {
        self.stats.noise += 1;
        self.stats.bytes_discarded = self.stats.bytes_discarded.saturating_add(bytes as u64);
        out.push(Err(noise));
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How long a partial line may sit before it is thrown away. A scanner
/// sends a whole code in one burst (14 digits at 9600 baud take 17 ms), so
/// a line quiet this long will never be finished.
pub const DEFAULT_IDLE_GAP: Duration = Duration::from_millis(200);

/// A serial scanner on any `Read`: a real port, a pty or a test buffer.
/// The port should have a short read timeout (or be non-blocking); a
/// timeout means "nothing now", not an error.
pub struct SerialScanner<P: Read> {
    port: P,
    framer: ScanFramer,
    gap: Duration,
    last_byte: Option<Instant>,
    /// An error met after codes were read; returned by the next poll so
    /// those codes are not lost.
    deferred: Option<io::Error>,
    buf: [u8; 256],
}

impl<P: Read> SerialScanner<P> {
    pub fn new(port: P, framer: ScanFramer) -> SerialScanner<P> {
        SerialScanner {
            port,
            framer,
            gap: DEFAULT_IDLE_GAP,
            last_byte: None,
            deferred: None,
            buf: [0; 256],
        }
    }

    /// Sets how long a partial line may stay quiet before it is discarded
    /// (or, with an empty suffix, delivered).
    pub fn with_idle_gap(mut self, gap: Duration) -> SerialScanner<P> {
        self.gap = gap;
        self
    }

    pub fn framer(&self) -> &ScanFramer {
        &self.framer
    }

    pub fn port_mut(&mut self) -> &mut P {
        &mut self.port
    }

    pub fn into_inner(self) -> P {
        self.port
    }

    /// Reads whatever the scanner has sent and returns the codes and noise
    /// it completed. `TimedOut`/`WouldBlock` mean nothing has arrived.
    pub fn poll(&mut self) -> io::Result<Vec<Result<String, Noise>>> {
        self.poll_at(Instant::now())
    }

    /// [`poll`](Self::poll) with the current time given, for tests.
    pub fn poll_at(&mut self, now: Instant) -> io::Result<Vec<Result<String, Noise>>> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let mut out = Vec::new();
        loop {
            match self.port.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => {
                    let n = n.min(self.buf.len());
                    out.extend(self.framer.feed(&self.buf[..n]));
                    self.last_byte = Some(now);
                    if n < self.buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    break
                }
                Err(e) if out.is_empty() => return Err(e),
                Err(e) => {
                    self.deferred = Some(e);
                    break;
                }
            }
        }
        let quiet = self
            .last_byte
            .is_some_and(|t| now.saturating_duration_since(t) >= self.gap);
        if quiet && self.framer.has_partial() {
            out.extend(self.framer.idle());
        }
        for noise in out.iter().filter_map(|r| r.as_ref().err()) {
            tracing::debug!(device = "scanner", noise = noise.code(), %noise, "scanner noise");
        }
        Ok(out)
    }
}

/// Opens a serial scanner at `baud` 8N1 with a short read timeout.
pub fn open_serial(
    port: &str,
    baud: u32,
    framer: ScanFramer,
) -> Result<SerialScanner<Box<dyn serialport::SerialPort>>, ScannerError> {
    let serial = serialport::new(port, baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        .timeout(Duration::from_millis(20))
        .open()
        .map_err(|source| ScannerError::Serial {
            port: port.to_string(),
            source,
        })?;
    Ok(SerialScanner::new(serial, framer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::scanner::SimScanner;
    use crate::domain::barcode::normalize;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    const PATRON: &str = "21234567890124";

    fn framer(prefix: &[u8], suffix: &[u8], max_len: usize) -> ScanFramer {
        ScanFramer::new(FramerConfig {
            prefix: prefix.to_vec(),
            suffix: suffix.to_vec(),
            max_len,
        })
    }

    fn ok(code: &str) -> Result<String, Noise> {
        Ok(code.to_string())
    }

    /// Everything the framer gives for `bytes`, fed in the given pieces.
    fn feed_pieces(f: &mut ScanFramer, pieces: &[&[u8]]) -> Vec<Result<String, Noise>> {
        pieces.iter().flat_map(|p| f.feed(p)).collect()
    }

    #[test]
    fn one_code_per_crlf_line() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(
            f.feed(b"21234567890124\r\n31234567890123\r\n"),
            vec![ok(PATRON), ok("31234567890123")]
        );
        let s = f.stats();
        assert_eq!(
            (s.codes, s.noise, s.bytes, s.bytes_discarded),
            (2, 0, 32, 0)
        );
        assert!(!f.has_partial());
    }

    #[test]
    fn line_end_suffix_accepts_cr_lf_and_crlf() {
        for suffix in [&b"\r"[..], b"\n", b"\r\n", b"\n\r"] {
            let mut f = framer(b"", suffix, 64);
            assert_eq!(
                f.feed(b"111\r222\n333\r\n444\n\r555\r\r\n"),
                vec![ok("111"), ok("222"), ok("333"), ok("444"), ok("555")],
                "suffix {suffix:?}"
            );
            assert_eq!(f.stats().noise, 0);
        }
    }

    #[test]
    fn crlf_split_between_feeds_is_one_line_end() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(f.feed(b"123\r"), vec![ok("123")]);
        assert_eq!(f.feed(b"\n456\r"), vec![ok("456")]);
        assert_eq!(f.feed(b"\n"), vec![]);
        assert_eq!(f.stats().codes, 2);
    }

    #[test]
    fn partial_lines_are_kept_across_feeds() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(f.feed(b"2123"), vec![]);
        assert!(f.has_partial());
        assert_eq!(f.feed(b"4567890"), vec![]);
        assert_eq!(f.feed(b"124\r\n"), vec![ok(PATRON)]);
    }

    #[test]
    fn every_split_point_gives_the_same_codes() {
        let sim = SimScanner::new(b"\x02".to_vec(), b"\r\n".to_vec());
        let mut stream = sim.frame(PATRON);
        stream.extend(b"\x01\xff\r\n");
        stream.extend(sim.clone().with_codabar(b'A', b'B').frame("31234567890123"));
        stream.extend(b"junk");
        stream.extend(sim.frame("978-0-306-40615-7"));
        let whole = framer(b"\x02", b"\r\n", 64).feed(&stream);
        assert_eq!(
            whole,
            vec![
                ok(PATRON),
                Err(Noise::MissingPrefix { len: 2 }),
                ok("31234567890123"),
                Err(Noise::Junk { len: 4 }),
                ok("9780306406157"),
            ]
        );
        for cut in 0..=stream.len() {
            let mut f = framer(b"\x02", b"\r\n", 64);
            let (a, b) = stream.split_at(cut);
            assert_eq!(feed_pieces(&mut f, &[a, b]), whole, "cut at {cut}");
        }
        for first in 0..stream.len() {
            for second in first..=stream.len() {
                let mut f = framer(b"\x02", b"\r\n", 64);
                let pieces = [&stream[..first], &stream[first..second], &stream[second..]];
                assert_eq!(feed_pieces(&mut f, &pieces), whole);
            }
        }
        let mut f = framer(b"\x02", b"\r\n", 64);
        let bytewise: Vec<_> = stream.iter().flat_map(|b| f.feed(&[*b])).collect();
        assert_eq!(bytewise, whole);
    }

    #[test]
    fn prefix_is_stripped_and_required() {
        let mut f = framer(b"]C1", b"\r", 64);
        assert_eq!(f.feed(b"]C121234567890124\r"), vec![ok(PATRON)]);
        assert_eq!(
            f.feed(b"21234567890124\r"),
            vec![Err(Noise::MissingPrefix { len: 14 })]
        );
        assert_eq!(f.feed(b"]C1\r"), vec![Err(Noise::Empty)]);
        let s = f.stats();
        assert_eq!((s.codes, s.noise, s.bytes_discarded), (1, 2, 17));
    }

    #[test]
    fn junk_before_the_prefix_is_noise_and_the_code_survives() {
        let mut f = framer(b"\x02", b"\r\n", 64);
        assert_eq!(
            f.feed(b"\xff\x00\x02123\r\n"),
            vec![Err(Noise::Junk { len: 2 }), ok("123")]
        );
        assert_eq!(f.stats().bytes_discarded, 2);
    }

    #[test]
    fn codabar_start_stop_is_stripped() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(
            f.feed(b"A21234567890124B\r\nc31234567890123d\r\nA12-34B\r\n"),
            // The last is not digits-only, so its letters are data.
            vec![ok(PATRON), ok("31234567890123"), ok("A12-34B")]
        );
    }

    #[test]
    fn garbage_lines_are_noise_with_reasons() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(
            f.feed(b"12\x003\r\n\xc3\x28\r\n   \r\n\x1b[A\r\n"),
            vec![
                Err(Noise::NonPrintable { byte: 0, at: 2 }),
                Err(Noise::NotUtf8 { len: 2 }),
                Err(Noise::Empty),
                Err(Noise::NonPrintable { byte: 0x1b, at: 0 }),
            ]
        );
        let s = f.stats();
        assert_eq!((s.codes, s.noise, s.bytes_discarded), (0, 4, 4 + 2 + 3 + 3));
    }

    #[test]
    fn blank_lines_are_skipped_silently() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(f.feed(b"\r\n\r\n\n\n\r\r123\r\n"), vec![ok("123")]);
        assert_eq!(f.stats().noise, 0);
    }

    #[test]
    fn over_long_lines_are_noise_and_memory_stays_bounded() {
        let mut f = framer(b"", b"\r\n", 8);
        assert_eq!(f.feed(b"12345678\r\n"), vec![ok("12345678")]);
        assert_eq!(
            f.feed(b"123456789\r\n"),
            vec![Err(Noise::TooLong { len: 9, max: 8 })]
        );
        let huge = vec![b'7'; 100_000];
        assert_eq!(f.feed(&huge), vec![]);
        assert!(f.line.len() <= f.cap);
        assert_eq!(
            f.feed(b"\r\n4\r\n"),
            vec![
                Err(Noise::TooLong {
                    len: 100_000,
                    max: 8
                }),
                ok("4")
            ]
        );
        assert_eq!(f.stats().bytes_discarded, 100_009);
    }

    #[test]
    fn max_len_does_not_count_the_prefix() {
        let mut f = framer(b"\x02\x02", b"\r", 4);
        assert_eq!(f.feed(b"\x02\x021234\r"), vec![ok("1234")]);
        assert_eq!(
            f.feed(b"\x02\x0212345\r"),
            vec![Err(Noise::TooLong { len: 5, max: 4 })]
        );
        // Junk plus a code longer than the cap: the line itself overflows.
        assert_eq!(
            f.feed(b"xxxxxx\x02\x021234\r"),
            vec![Err(Noise::TooLong { len: 10, max: 4 })]
        );
    }

    #[test]
    fn idle_discards_a_partial_line() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(f.idle(), vec![]);
        assert_eq!(f.feed(b"21234"), vec![]);
        assert_eq!(f.idle(), vec![Err(Noise::Partial { len: 5 })]);
        assert!(!f.has_partial());
        assert_eq!(f.feed(b"567\r\n"), vec![ok("567")]);
        let s = f.stats();
        assert_eq!((s.codes, s.noise, s.bytes_discarded), (1, 1, 5));
    }

    #[test]
    fn idle_forgets_a_pending_cr() {
        let mut f = framer(b"", b"\r\n", 64);
        assert_eq!(f.feed(b"1\r"), vec![ok("1")]);
        f.idle();
        // After a gap an LF is a line end of its own (here a blank line).
        assert_eq!(f.feed(b"\n2\n"), vec![ok("2")]);
    }

    #[test]
    fn custom_suffix_is_matched_exactly() {
        let mut f = framer(b"", b"\x03", 64);
        assert_eq!(f.feed(b"123\x03456\x03"), vec![ok("123"), ok("456")]);
        // CR LF are not line ends here: they are part of the line.
        assert_eq!(
            f.feed(b"7\r\n\x03"),
            vec![Err(Noise::NonPrintable { byte: b'\r', at: 1 })]
        );

        let mut f = framer(b"", b"#E", 64);
        let stream = b"12#E34##E5#";
        let whole = f.feed(stream);
        assert_eq!(whole, vec![ok("12"), ok("34#")]);
        assert!(f.has_partial());
        assert_eq!(f.idle(), vec![Err(Noise::Partial { len: 2 })]);
        for cut in 0..=stream.len() {
            let mut f = framer(b"", b"#E", 64);
            let (a, b) = stream.split_at(cut);
            assert_eq!(feed_pieces(&mut f, &[a, b]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn custom_suffix_found_after_overflow() {
        let mut f = framer(b"", b"\x03\x04", 4);
        let mut stream = vec![b'1'; 50];
        stream.extend(b"\x03\x04");
        stream.extend(b"9\x03\x04");
        assert_eq!(
            f.feed(&stream),
            vec![Err(Noise::TooLong { len: 50, max: 4 }), ok("9")]
        );
    }

    #[test]
    fn empty_suffix_ends_codes_by_quiet_gap() {
        let mut f = framer(b"", b"", 64);
        assert_eq!(f.feed(b"A21234567890124B"), vec![]);
        assert_eq!(f.idle(), vec![ok(PATRON)]);
        assert_eq!(f.idle(), vec![]);
        assert_eq!(f.feed(b"\x01\x02"), vec![]);
        assert_eq!(f.idle(), vec![Err(Noise::NonPrintable { byte: 1, at: 0 })]);
    }

    /// A port that hands out queued chunks, then times out.
    struct ScriptedPort {
        reads: VecDeque<io::Result<Vec<u8>>>,
    }

    impl ScriptedPort {
        fn new() -> ScriptedPort {
            ScriptedPort {
                reads: VecDeque::new(),
            }
        }
        fn push(&mut self, bytes: &[u8]) {
            self.reads.push_back(Ok(bytes.to_vec()));
        }
        fn fail(&mut self, kind: io::ErrorKind) {
            self.reads.push_back(Err(io::Error::new(kind, "scripted")));
        }
    }

    impl Read for ScriptedPort {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.reads.pop_front() {
                None => Err(io::Error::new(io::ErrorKind::TimedOut, "no data")),
                Some(Err(e)) => Err(e),
                Some(Ok(mut bytes)) => {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    if n < bytes.len() {
                        self.reads.push_front(Ok(bytes.split_off(n)));
                    }
                    Ok(n)
                }
            }
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn serial_scanner_reads_codes_and_treats_timeouts_as_nothing() {
        let t0 = Instant::now();
        let mut port = ScriptedPort::new();
        port.push(b"2123456");
        let mut s = SerialScanner::new(port, ScanFramer::new(FramerConfig::default()));
        assert_eq!(s.poll_at(t0).unwrap(), vec![]);
        assert_eq!(s.poll_at(t0 + ms(5)).unwrap(), vec![]);
        s.port_mut().push(b"7890124\r\n");
        assert_eq!(s.poll_at(t0 + ms(10)).unwrap(), vec![ok(PATRON)]);
        assert_eq!(s.poll_at(t0 + ms(1000)).unwrap(), vec![]);
        assert_eq!(s.framer().stats().codes, 1);
    }

    #[test]
    fn serial_scanner_idles_a_stale_partial_line() {
        let t0 = Instant::now();
        let mut port = ScriptedPort::new();
        port.push(b"\xfe\xfe12");
        let mut s = SerialScanner::new(port, ScanFramer::new(FramerConfig::default()))
            .with_idle_gap(ms(100));
        assert_eq!(s.poll_at(t0).unwrap(), vec![]);
        assert_eq!(s.poll_at(t0 + ms(99)).unwrap(), vec![]);
        assert_eq!(
            s.poll_at(t0 + ms(100)).unwrap(),
            vec![Err(Noise::Partial { len: 4 })]
        );
        // Bytes arriving keep the line alive: the gap counts from the last.
        s.port_mut().push(b"3123");
        assert_eq!(s.poll_at(t0 + ms(200)).unwrap(), vec![]);
        s.port_mut().push(b"4567890123");
        assert_eq!(s.poll_at(t0 + ms(290)).unwrap(), vec![]);
        s.port_mut().push(b"\r\n");
        assert_eq!(s.poll_at(t0 + ms(380)).unwrap(), vec![ok("31234567890123")]);
        let stats = s.framer().stats();
        assert_eq!((stats.codes, stats.noise, stats.bytes_discarded), (1, 1, 4));
    }

    #[test]
    fn serial_scanner_reads_more_than_one_buffer() {
        let sim = SimScanner::new(Vec::new(), b"\r".to_vec());
        let mut port = ScriptedPort::new();
        let mut expected = Vec::new();
        let mut all = Vec::new();
        for i in 0..100u32 {
            let code = format!("3{:013}", i);
            all.extend(sim.frame(&code));
            expected.push(ok(&code));
        }
        port.push(&all);
        let mut s = SerialScanner::new(port, ScanFramer::new(FramerConfig::default()));
        assert_eq!(s.poll_at(Instant::now()).unwrap(), expected);
    }

    #[test]
    fn serial_scanner_keeps_codes_when_the_port_fails() {
        let t0 = Instant::now();
        let mut port = ScriptedPort::new();
        port.fail(io::ErrorKind::Interrupted);
        port.fail(io::ErrorKind::WouldBlock);
        let mut s = SerialScanner::new(port, ScanFramer::new(FramerConfig::default()));
        assert_eq!(s.poll_at(t0).unwrap(), vec![]);

        s.port_mut().fail(io::ErrorKind::BrokenPipe);
        let err = s.poll_at(t0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);

        // A full buffer makes the driver read again; the failure then
        // waits for the next poll so the code is not lost.
        let mut long = vec![b'9'; 254];
        long.extend(b"\r\n");
        s.port_mut().push(&long);
        s.port_mut().fail(io::ErrorKind::BrokenPipe);
        let first = s.poll_at(t0).unwrap();
        assert_eq!(first, vec![Err(Noise::TooLong { len: 254, max: 64 })]);
        assert_eq!(s.poll_at(t0).unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(s.poll_at(t0).unwrap(), vec![]);
    }

    #[test]
    fn serial_scanner_with_gap_framing() {
        let t0 = Instant::now();
        let mut port = ScriptedPort::new();
        port.push(b"A3123");
        let framer = framer(b"", b"", 64);
        let mut s = SerialScanner::new(port, framer).with_idle_gap(ms(50));
        assert_eq!(s.poll_at(t0).unwrap(), vec![]);
        s.port_mut().push(b"4567890123B");
        assert_eq!(s.poll_at(t0 + ms(20)).unwrap(), vec![]);
        assert_eq!(s.poll_at(t0 + ms(70)).unwrap(), vec![ok("31234567890123")]);
        assert_eq!(s.into_inner().reads.len(), 0);
    }

    fn arb_config() -> impl Strategy<Value = FramerConfig> {
        (
            prop_oneof![
                Just(Vec::new()),
                Just(b"\x02".to_vec()),
                Just(b"]C1".to_vec()),
                prop::collection::vec(any::<u8>(), 1..3),
            ],
            prop_oneof![
                Just(b"\r\n".to_vec()),
                Just(b"\r".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"\x03".to_vec()),
                Just(b"\t".to_vec()),
                Just(Vec::new()),
                prop::collection::vec(any::<u8>(), 1..4),
            ],
            0usize..40,
        )
            .prop_map(|(prefix, suffix, max_len)| FramerConfig {
                prefix,
                suffix,
                max_len,
            })
    }

    /// Codes as scanners send them: digits, optionally Codabar-wrapped,
    /// or ISBNs with hyphens.
    fn arb_code() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,20}",
            "[A-D][0-9]{1,14}[A-D]",
            "[0-9]{1}-[0-9]{3}-[0-9]{5}-[0-9X]",
            "[0-9A-Z.$/+%-]{1,20}",
        ]
    }

    /// A config in which `code` can be framed unambiguously: nothing in
    /// the prefix or code ends the line early, and the code fits.
    fn frameable(config: &FramerConfig, code: &str) -> bool {
        let mut framed = config.prefix.clone();
        framed.extend(code.as_bytes());
        let suffix = &config.suffix;
        let ends_early = if suffix.is_empty() {
            false
        } else if suffix.iter().all(|&b| b == b'\r' || b == b'\n') {
            framed.iter().any(|&b| b == b'\r' || b == b'\n')
        } else {
            let mut full = framed.clone();
            full.extend(suffix);
            find(&full, suffix) != Some(framed.len())
        };
        !ends_early && code.len() <= config.max_len
    }

    proptest! {
        #[test]
        fn framer_never_panics_and_counts_add_up(
            config in arb_config(),
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
            idle_after in prop::collection::vec(any::<bool>(), 8),
        ) {
            let mut f = ScanFramer::new(config.clone());
            let mut results = Vec::new();
            let mut fed = 0u64;
            for (chunk, idle) in chunks.iter().zip(idle_after) {
                fed += chunk.len() as u64;
                results.extend(f.feed(chunk));
                if idle {
                    results.extend(f.idle());
                }
                prop_assert!(f.line.len() <= f.cap);
            }
            let s = f.stats();
            prop_assert_eq!(s.bytes, fed);
            prop_assert!(s.bytes_discarded <= fed);
            let codes = results.iter().filter(|r| r.is_ok()).count() as u64;
            prop_assert_eq!(s.codes, codes);
            prop_assert_eq!(s.noise, results.len() as u64 - codes);
            for code in results.iter().flatten() {
                prop_assert!(!code.is_empty());
                prop_assert!(code.len() <= config.max_len);
                prop_assert_eq!(&normalize(code), code);
            }
        }

        #[test]
        fn code_after_idled_garbage_is_delivered_once(
            config in arb_config(),
            garbage in prop::collection::vec(any::<u8>(), 0..100),
            code in arb_code(),
        ) {
            let config = FramerConfig { max_len: config.max_len.max(code.len()), ..config };
            prop_assume!(frameable(&config, &code));
            let mut f = ScanFramer::new(config.clone());
            f.feed(&garbage);
            f.idle();
            let sim = SimScanner::new(config.prefix.clone(), config.suffix.clone());
            let mut got = f.feed(&sim.frame(&code));
            got.extend(f.idle());
            prop_assert_eq!(got, vec![Ok(normalize(&code))]);
        }

        #[test]
        fn code_after_terminated_garbage_is_delivered_once(
            suffix in prop_oneof![Just(&b"\r\n"[..]), Just(&b"\r"[..]), Just(&b"\n"[..]), Just(&b"\x03"[..])],
            prefix in prop_oneof![Just(&b""[..]), Just(&b"\x02"[..])],
            garbage in prop::collection::vec(any::<u8>(), 0..100),
            code in arb_code(),
        ) {
            let mut f = framer(prefix, suffix, 64);
            f.feed(&garbage);
            f.feed(suffix);
            let sim = SimScanner::new(prefix.to_vec(), suffix.to_vec());
            let got = f.feed(&sim.frame(&code));
            prop_assert_eq!(got, vec![Ok(normalize(&code))]);
            prop_assert!(!f.has_partial());
        }

        #[test]
        fn split_feeding_matches_whole_feeding(
            codes in prop::collection::vec(arb_code(), 1..5),
            noise in prop::collection::vec(any::<u8>(), 0..20),
            cut in any::<prop::sample::Index>(),
        ) {
            let sim = SimScanner::new(b"\x02".to_vec(), b"\r\n".to_vec());
            let mut stream = noise;
            for code in &codes {
                stream.extend(sim.frame(code));
            }
            let whole = framer(b"\x02", b"\r\n", 64).feed(&stream);
            let (a, b) = stream.split_at(cut.index(stream.len() + 1));
            let mut f = framer(b"\x02", b"\r\n", 64);
            let mut split = f.feed(a);
            split.extend(f.feed(b));
            prop_assert_eq!(&split, &whole);
            let delivered: Vec<String> = whole.into_iter().flatten().collect();
            let expected: Vec<String> = codes.iter().map(|c| normalize(c)).collect();
            prop_assert!(delivered.ends_with(&expected[1..]));
        }
    }
}
