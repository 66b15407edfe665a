//! [`SimPrinter`]: a byte-exact ESC/POS printer that decodes what a real
//! one would put on paper (text in both modes, bold, alignment, barcodes,
//! cuts), answers the real-time status requests and injects [`Faults`].

use encoding_rs::GB18030;

use crate::devices::rfid::{Faults, Simulator};

use super::render::*;
use super::status::PaperStatus;

/// The longest command the simulator holds while waiting for the rest of it
/// (GS k 73 n with 255 data bytes); longer payloads are skipped as they come.
pub(super) const MAX_PENDING: usize = 4 + 255;

/// Justification of a printed line (ESC a).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// One line as it came out on paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedLine {
    /// Decoded text: GB18030 where it was sent in Chinese mode, ASCII
    /// otherwise (other bytes show as U+FFFD).
    pub text: String,
    /// Some of it was bold.
    pub bold: bool,
    /// Largest character size on the line, (width, height), 1 = normal.
    pub size: (u8, u8),
    pub align: Align,
}

/// What came out of the printer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Printed {
    Line(PrintedLine),
    /// A GS k barcode in one of the length-prefixed symbologies; CODE128
    /// code-set switches removed.
    Barcode(String),
    Cut {
        partial: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Realtime {
    Idle,
    Dle,
    DleEot,
}

/// The line being composed in the print buffer.
#[derive(Debug)]
struct LineBuf {
    text: String,
    /// Bytes not decoded yet, all sent in one mode (a GB18030 character may
    /// arrive split across calls).
    raw: Vec<u8>,
    raw_chinese: bool,
    started: bool,
    bold: bool,
    size: (u8, u8),
    align: Align,
}

impl Default for LineBuf {
    fn default() -> Self {
        LineBuf {
            text: String::new(),
            raw: Vec::new(),
            raw_chinese: false,
            started: false,
            bold: false,
            size: (1, 1),
            align: Align::Left,
        }
    }
}

impl LineBuf {
    fn decode(&mut self) {
        if self.raw.is_empty() {
            return;
        }
        if self.raw_chinese {
            let (text, _) = GB18030.decode_without_bom_handling(&self.raw);
            self.text.push_str(&text);
        } else {
            self.text.extend(self.raw.iter().map(|&b| {
                if b < 0x80 {
                    char::from(b)
                } else {
                    char::REPLACEMENT_CHARACTER
                }
            }));
        }
        self.raw.clear();
    }
}

/// A receipt printer on the other end of a `SimPort`: it parses ESC/POS as
/// it arrives (keeping a command cut short between calls), records the
/// lines, barcodes and cuts that come out, and answers DLE EOT n at once
/// wherever it appears in the stream, as real printers do.
///
/// ESC @ throws away the unprinted line and, as on printers whose memory
/// switch selects Chinese mode at power-on, returns to the power-on mode
/// (Chinese for `new()`); GS V and GS k are ignored unless at the beginning
/// of a line, as the ESC/POS reference has it. With the paper out nothing is
/// printed (lines and cuts are counted in `dropped`) but status is still
/// answered. Unknown commands are taken as ESC/GS/FS plus one byte.
/// Faults used: `no_answer`, `noise` (and `split`, by the port).
#[derive(Debug)]
pub struct SimPrinter {
    chinese_at_power_on: bool,
    paper: PaperStatus,
    faults: Faults,
    pub(super) printed: Vec<Printed>,
    dropped: usize,
    unknown: usize,
    chinese: bool,
    bold: bool,
    size: (u8, u8),
    align: Align,
    line: LineBuf,
    pub(super) pending: Vec<u8>,
    skip: u64,
    until_nul: bool,
    realtime: Realtime,
}

impl Default for SimPrinter {
    fn default() -> Self {
        SimPrinter::new()
    }
}

impl SimPrinter {
    /// A printer with paper that powers up in Chinese mode, as many do.
    pub fn new() -> Self {
        SimPrinter {
            chinese_at_power_on: true,
            paper: PaperStatus::Ok,
            faults: Faults::default(),
            printed: Vec::new(),
            dropped: 0,
            unknown: 0,
            chinese: true,
            bold: false,
            size: (1, 1),
            align: Align::Left,
            line: LineBuf::default(),
            pending: Vec::new(),
            skip: 0,
            until_nul: false,
            realtime: Realtime::Idle,
        }
    }

    /// Whether it powers up (and returns after ESC @) in Chinese mode.
    pub fn chinese_at_power_on(mut self, on: bool) -> Self {
        self.chinese_at_power_on = on;
        self.chinese = on;
        self
    }

    /// Loads, nearly empties or empties the paper roll.
    pub fn set_paper(&mut self, paper: PaperStatus) {
        self.paper = paper;
    }

    #[allow(dead_code)] // the counterpart of set_paper
    pub fn paper(&self) -> PaperStatus {
        self.paper
    }

    /// Everything printed so far, in order.
    pub fn printed(&self) -> &[Printed] {
        &self.printed
    }

    /// The printed lines.
    pub fn lines(&self) -> impl Iterator<Item = &PrintedLine> {
        self.printed.iter().filter_map(|p| match p {
            Printed::Line(line) => Some(line),
            _ => None,
        })
    }

    /// The text of every printed line, empty ones included.
    pub fn texts(&self) -> Vec<String> {
        self.lines().map(|l| l.text.clone()).collect()
    }

    /// How many cuts were made.
    pub fn cuts(&self) -> usize {
        self.printed
            .iter()
            .filter(|p| matches!(p, Printed::Cut { .. }))
            .count()
    }

    /// Lines and cuts lost because the paper was out.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Commands the simulator did not know (skipped as two bytes).
    pub fn unknown_commands(&self) -> usize {
        self.unknown
    }

    pub fn in_chinese_mode(&self) -> bool {
        self.chinese
    }

    pub fn bold(&self) -> bool {
        self.bold
    }

    fn answer(&mut self, byte: u8, out: &mut Vec<u8>) {
        if self.faults.no_answer > 0 {
            self.faults.no_answer -= 1;
            return;
        }
        out.append(&mut self.faults.noise);
        out.push(byte);
    }

    /// Real-time commands act on arrival, even inside other commands' data.
    fn scan_realtime(&mut self, b: u8, out: &mut Vec<u8>) {
        self.realtime = match self.realtime {
            Realtime::DleEot => {
                let out_of_paper = self.paper == PaperStatus::Out;
                let reply = match b {
                    // printer: offline (bit 3) when out of paper
                    1 => Some(0x12 | if out_of_paper { 0x08 } else { 0 }),
                    // offline cause: stopped by paper end (bit 5)
                    2 => Some(0x12 | if out_of_paper { 0x20 } else { 0 }),
                    // error cause: none
                    3 => Some(0x12),
                    4 => Some(self.paper.status_byte()),
                    _ => None,
                };
                if let Some(reply) = reply {
                    self.answer(reply, out);
                }
                Realtime::Idle
            }
            _ if b == DLE => Realtime::Dle,
            Realtime::Dle if b == EOT => Realtime::DleEot,
            _ => Realtime::Idle,
        };
    }

    fn byte(&mut self, b: u8, out: &mut Vec<u8>) {
        self.scan_realtime(b, out);
        if self.skip > 0 {
            self.skip -= 1;
            return;
        }
        if self.until_nul {
            self.until_nul = b != 0;
            return;
        }
        self.pending.push(b);
        while !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let used = self.command(&pending, out);
            self.pending = pending;
            match used {
                Some(n) => {
                    self.pending.drain(..n.min(self.pending.len()));
                }
                None if self.pending.len() > MAX_PENDING => {
                    // Cannot happen with the lengths above; never grow unbounded.
                    self.unknown += 1;
                    self.pending.remove(0);
                }
                None => break,
            }
            // Whatever is left over after a command with a payload is payload.
            if self.skip > 0 {
                let k = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(self.pending.len());
                self.pending.drain(..k);
                self.skip -= k as u64;
            }
            if self.until_nul {
                match self.pending.iter().position(|&b| b == 0) {
                    Some(i) => {
                        self.pending.drain(..=i);
                        self.until_nul = false;
                    }
                    None => self.pending.clear(),
                }
            }
        }
    }

    /// Executes the command at the start of `p`; the bytes it took, or None
    /// if it is not complete yet.
    fn command(&mut self, p: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        match p[0] {
            LF => {
                self.print_line();
                Some(1)
            }
            b'\t' => {
                self.text(b' ');
                Some(1)
            }
            DLE => self.dle(p),
            ESC => self.esc(p),
            GS => self.gs(p, out),
            FS => self.fs(p),
            // CR, FF, CAN, NUL and the rest put nothing on paper.
            0x00..=0x1F | 0x7F => Some(1),
            b => {
                self.text(b);
                Some(1)
            }
        }
    }

    fn dle(&mut self, p: &[u8]) -> Option<usize> {
        match *p.get(1)? {
            // Answered by scan_realtime already.
            EOT => match *p.get(2)? {
                7 | 8 | 18 => p.get(3).map(|_| 4),
                _ => Some(3),
            },
            // DLE ENQ n: recovery requests.
            0x05 => p.get(2).map(|_| 3),
            // DLE DC4 fn ...: pulse, power off, buzzer, clear buffer.
            0x14 => {
                let len = match *p.get(2)? {
                    7 => 6,
                    8 => 10,
                    _ => 5,
                };
                p.get(len - 1).map(|_| len)
            }
            _ => Some(1),
        }
    }

    fn esc(&mut self, p: &[u8]) -> Option<usize> {
        let c = *p.get(1)?;
        match c {
            b'@' => {
                self.initialize();
                Some(2)
            }
            b'E' => {
                self.bold = *p.get(2)? & 1 == 1;
                Some(3)
            }
            b'!' => {
                let n = *p.get(2)?;
                self.bold = n & 0x08 != 0;
                self.size = (1 + (n >> 5 & 1), 1 + (n >> 4 & 1));
                Some(3)
            }
            b'a' => {
                self.align = match *p.get(2)? {
                    1 | b'1' => Align::Center,
                    2 | b'2' => Align::Right,
                    _ => Align::Left,
                };
                Some(3)
            }
            b'd' => {
                let n = *p.get(2)?;
                if n == 0 {
                    if self.line.started {
                        self.print_line();
                    }
                } else {
                    for _ in 0..n {
                        self.print_line();
                    }
                }
                Some(3)
            }
            b'J' => {
                p.get(2)?;
                if self.line.started {
                    self.print_line();
                }
                Some(3)
            }
            // Obsolete one-byte cut commands.
            b'i' | b'm' => {
                self.cut(c == b'm');
                Some(2)
            }
            // ESC * m nL nH d...: bit image, 3 bytes a column in 24-dot modes.
            b'*' => {
                let m = *p.get(2)?;
                let columns = u16_at(p, 3)?;
                self.skip = columns * if matches!(m, 32 | 33) { 3 } else { 1 };
                Some(5)
            }
            // ESC ( x pL pH ...
            b'(' => {
                p.get(2)?;
                self.skip = u16_at(p, 3)?;
                Some(5)
            }
            // ESC D n... NUL: tab stops.
            b'D' => {
                self.until_nul = true;
                Some(2)
            }
            b'2' | b'<' | b'L' | b'S' | 0x0C => Some(2),
            b'-' | b'G' | b'M' | b'R' | b't' | b'3' | b' ' | b'V' | b'{' | b'=' | b'%' | b'r'
            | b'U' | b'T' | b'e' | b'K' | b'?' | b'u' | b'v' => p.get(2).map(|_| 3),
            b'$' | b'\\' | b'c' | b'B' => p.get(3).map(|_| 4),
            b'p' => p.get(4).map(|_| 5),
            b'W' => p.get(9).map(|_| 10),
            _ => {
                self.unknown += 1;
                Some(2)
            }
        }
    }

    fn gs(&mut self, p: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        let c = *p.get(1)?;
        match c {
            b'V' => {
                let m = *p.get(2)?;
                match m {
                    0 | 1 | 48 | 49 => {
                        self.cut(m & 1 == 1);
                        Some(3)
                    }
                    65 | 66 | 97 | 98 | 103 | 104 => {
                        p.get(3)?;
                        self.cut(matches!(m, 66 | 98 | 104));
                        Some(4)
                    }
                    _ => {
                        self.unknown += 1;
                        Some(3)
                    }
                }
            }
            b'!' => {
                let n = *p.get(2)?;
                self.size = (1 + (n >> 4 & 7), 1 + (n & 7));
                Some(3)
            }
            b'k' => {
                let m = *p.get(2)?;
                match m {
                    // Data up to a NUL; not recorded.
                    0..=6 => {
                        self.until_nul = true;
                        Some(3)
                    }
                    65..=79 => {
                        let n = usize::from(*p.get(3)?);
                        let data = p.get(4..4 + n)?;
                        self.barcode(m, data);
                        Some(4 + n)
                    }
                    _ => {
                        self.unknown += 1;
                        Some(3)
                    }
                }
            }
            // GS r n: transmit status (not real time), n = 1 paper sensor.
            b'r' => {
                match *p.get(2)? {
                    1 | 49 => {
                        let bits = match self.paper {
                            PaperStatus::Ok => 0x00,
                            PaperStatus::NearEnd => 0x03,
                            PaperStatus::Out => 0x0F,
                        };
                        self.answer(bits, out);
                    }
                    2 | 50 => self.answer(0x00, out),
                    _ => {}
                }
                Some(3)
            }
            // GS v 0 m xL xH yL yH d...: raster image, x bytes by y dots.
            b'v' => {
                if *p.get(2)? != b'0' {
                    self.unknown += 1;
                    return Some(3);
                }
                let x = u16_at(p, 4)?;
                let y = u16_at(p, 6)?;
                self.skip = x * y;
                Some(8)
            }
            // GS ( x pL pH ...
            b'(' => {
                p.get(2)?;
                self.skip = u16_at(p, 3)?;
                Some(5)
            }
            // GS 8 L p1 p2 p3 p4 ...: graphics with a 32-bit length.
            b'8' => {
                if *p.get(2)? != b'L' {
                    self.unknown += 1;
                    return Some(3);
                }
                let len = (0..4).try_fold(0u64, |acc, i| {
                    p.get(3 + i).map(|&b| acc | u64::from(b) << (8 * i))
                })?;
                self.skip = len;
                Some(7)
            }
            // GS * x y d...: downloaded bit image, x*8 by y dots.
            b'*' => {
                let x = u64::from(*p.get(2)?);
                let y = u64::from(*p.get(3)?);
                self.skip = x * y * 8;
                Some(4)
            }
            b':' => Some(2),
            b'B' | b'b' | b'H' | b'f' | b'h' | b'w' | b'a' | b'I' | b'E' | b'T' | b'/' => {
                p.get(2).map(|_| 3)
            }
            b'L' | b'W' | b'$' | b'\\' | b'P' => p.get(3).map(|_| 4),
            b'^' => p.get(4).map(|_| 5),
            _ => {
                self.unknown += 1;
                Some(2)
            }
        }
    }

    fn fs(&mut self, p: &[u8]) -> Option<usize> {
        match *p.get(1)? {
            b'&' => {
                self.chinese = true;
                Some(2)
            }
            b'.' => {
                self.chinese = false;
                Some(2)
            }
            b'!' | b'-' | b'W' | b'C' => p.get(2).map(|_| 3),
            b'S' | b'?' | b'p' => p.get(3).map(|_| 4),
            // FS 2 c1 c2 d1..d72: a user-defined 24x24 character.
            b'2' => {
                p.get(3)?;
                self.skip = 72;
                Some(4)
            }
            b'(' => {
                p.get(2)?;
                self.skip = u16_at(p, 3)?;
                Some(5)
            }
            _ => {
                self.unknown += 1;
                Some(2)
            }
        }
    }

    fn initialize(&mut self) {
        self.line = LineBuf::default();
        self.chinese = self.chinese_at_power_on;
        self.bold = false;
        self.size = (1, 1);
        self.align = Align::Left;
    }

    fn text(&mut self, b: u8) {
        let line = &mut self.line;
        if !line.started {
            line.started = true;
            line.align = self.align;
            line.size = self.size;
        }
        if line.raw_chinese != self.chinese {
            line.decode();
            line.raw_chinese = self.chinese;
        }
        line.raw.push(b);
        line.bold |= self.bold;
        line.size = (line.size.0.max(self.size.0), line.size.1.max(self.size.1));
    }

    fn print_line(&mut self) {
        let mut line = std::mem::take(&mut self.line);
        line.decode();
        if self.paper == PaperStatus::Out {
            self.dropped += 1;
            return;
        }
        self.printed.push(Printed::Line(PrintedLine {
            text: line.text,
            bold: line.bold,
            size: line.size,
            align: line.align,
        }));
    }

    fn cut(&mut self, partial: bool) {
        if self.line.started {
            return;
        }
        if self.paper == PaperStatus::Out {
            self.dropped += 1;
            return;
        }
        self.printed.push(Printed::Cut { partial });
    }

    fn barcode(&mut self, symbology: u8, data: &[u8]) {
        if self.line.started {
            return;
        }
        if self.paper == PaperStatus::Out {
            self.dropped += 1;
            return;
        }
        let mut text = String::new();
        let mut bytes = data.iter().copied();
        while let Some(b) = bytes.next() {
            if symbology == 73 && b == b'{' {
                // `{{` is a literal brace; `{A`, `{B`, `{C`... switch code sets.
                if bytes.next() == Some(b'{') {
                    text.push('{');
                }
                continue;
            }
            text.push(if b.is_ascii() {
                char::from(b)
            } else {
                char::REPLACEMENT_CHARACTER
            });
        }
        self.printed.push(Printed::Barcode(text));
    }
}

fn u16_at(p: &[u8], i: usize) -> Option<u64> {
    let lo = u64::from(*p.get(i)?);
    let hi = u64::from(*p.get(i + 1)?);
    Some(lo | hi << 8)
}

impl Simulator for SimPrinter {
    fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in bytes {
            self.byte(b, &mut out);
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
    use crate::devices::printer::fuzz::fuzz_printer;
    use crate::devices::printer::render;
    use crate::devices::printer::test_support::*;
    use crate::devices::rfid::SimPort;
    use crate::domain::Lang;
    use std::io::Write;

    #[test]
    fn simulator_keeps_split_sequences_and_characters() {
        let bytes = render(&zh_receipt(), Lang::ZhCn, 20);
        let mut port = SimPort::new(SimPrinter::new());
        for b in &bytes {
            port.write_all(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(non_empty(&port.sim), ["借书凭条", "到期日    2026-12-07"]);
        fuzz_printer(&bytes);
        fuzz_printer(&render(&en_receipt(), Lang::En, 20));
    }
    #[test]
    fn simulator_answers_real_time_status_anywhere() {
        let mut sim = SimPrinter::new();
        sim.set_paper(PaperStatus::Out);
        // Inside a half-sent ESC E and split over calls.
        assert_eq!(sim.receive(&[ESC, b'E', DLE]), Vec::<u8>::new());
        assert_eq!(sim.receive(&[EOT]), Vec::<u8>::new());
        assert_eq!(sim.receive(&[4]), vec![0x7E]);
        assert_eq!(
            sim.receive(&[DLE, EOT, 1, DLE, EOT, 2, DLE, EOT, 3]),
            vec![0x1A, 0x32, 0x12]
        );
        // GS r 1, the buffered paper status.
        assert_eq!(sim.receive(&[GS, b'r', 1]), vec![0x0F]);
        // The crate's four-byte form (with a trailing 0) is answered once.
        assert_eq!(sim.receive(&[DLE, EOT, 4, 0]), vec![0x7E]);
    }

    #[test]
    fn simulator_follows_the_printer_rules() {
        let mut sim = SimPrinter::new().chinese_at_power_on(false);
        // ESC @ throws away the unprinted line.
        sim.receive(b"lost\x1b@kept\n");
        // A cut in the middle of a line is ignored; at a line start it cuts.
        sim.receive(b"half\x1dV\x00line\n\x1dVA\x03");
        assert_eq!(sim.texts(), ["kept", "halfline"]);
        assert_eq!(sim.printed()[2], Printed::Cut { partial: false });
        assert_eq!(sim.cuts(), 1);
        // Mode switches mid-line decode each part in its own mode.
        sim.receive(&[b'A', FS, b'&', 0xD6, 0xD0, FS, b'.', b'B', LF]);
        assert_eq!(sim.texts().last().unwrap(), "A中B");
        // Raster images are skipped, even if their data looks like text.
        sim.receive(&[GS, b'v', b'0', 0, 2, 0, 1, 0, b'x', b'y', b'z', LF]);
        assert_eq!(sim.texts().last().unwrap(), "z");
        // Without paper nothing comes out.
        sim.set_paper(PaperStatus::Out);
        sim.receive(b"gone\n\x1dV\x01");
        assert_eq!(sim.texts().last().unwrap(), "z");
        assert_eq!(sim.dropped(), 2);
        assert_eq!(sim.cuts(), 1);
        assert_eq!(sim.unknown_commands(), 0);
    }
}
