//! The receipt printer: a language-neutral receipt model and its rendering
//! to ESC/POS bytes (Chinese as GB18030 in Chinese mode, English as plain
//! ASCII), sending those bytes over serial, TCP or a device file, the paper
//! roll status (DLE EOT 4), and `SimPrinter`, a byte-exact simulator that
//! decodes what a real printer would put on paper.
//!
//! Nothing here translates or decides: the caller hands over text already in
//! the reader's language, and whether to print at all is the kiosk's call.

use std::cell::RefCell;
use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use encoding_rs::GB18030;
use escpos::driver::{Driver, FileDriver, NetworkDriver};
use escpos::printer::Printer;
use escpos::utils::{
    Encoder, JustifyMode, Protocol, RealTimeStatusRequest, RealTimeStatusResponse,
};
use serde::{Deserialize, Serialize};

use crate::devices::rfid::{Faults, Simulator};
use crate::domain::Lang;

const DLE: u8 = 0x10;
const EOT: u8 = 0x04;
const LF: u8 = 0x0A;
const ESC: u8 = 0x1B;
const FS: u8 = 0x1C;
const GS: u8 = 0x1D;

/// FS & : Chinese mode on; from here bytes from 0x81 up start GB18030 characters.
const CHINESE_ON: [u8; 2] = [FS, b'&'];
/// FS . : Chinese mode off; bytes from 0x80 up are single code-page characters.
const CHINESE_OFF: [u8; 2] = [FS, b'.'];
/// GS V 1: partial cut where the paper stands (function A).
const PARTIAL_CUT: [u8; 3] = [GS, b'V', 1];
/// Lines fed after the last text so that it clears the cutter.
const FEED_BEFORE_CUT: u8 = 4;
/// DLE EOT 4: real-time status of the roll paper sensor, answered with one byte.
pub const PAPER_STATUS_REQUEST: [u8; 3] = [DLE, EOT, 4];
/// The raw TCP port network receipt printers listen on.
pub const DEFAULT_TCP_PORT: u16 = 9100;
/// How long opening a port or sending one receipt may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------- receipts

/// A receipt as lines of already-translated text; `render` lays it out for
/// one paper width and one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub lines: Vec<Line>,
}

/// One element of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Line {
    /// Centred, bold, double height.
    Heading(String),
    /// Wrapped to the paper width; `\n` starts a new line.
    Text(String),
    /// A label on the left and its value on the right edge ("Due" ...
    /// "2026-12-07"). A label too long for one line wraps, and the value goes
    /// right-aligned on its last line or, if there is no room, under it.
    Pair(String, String),
    /// A row of `-` across the paper.
    Rule,
    /// An empty line.
    Blank,
    /// A centred CODE128 barcode with its text under it. Printable ASCII
    /// only (anything else is printed as text instead); keep it under about
    /// 14 characters on 58 mm paper so that it fits.
    Barcode(String),
}

/// The slip for one borrowing (or return, or renewal) session: the library's
/// name, when, one line per item with its due date or status, and a footer.
/// Every string comes translated from the caller.
pub fn loan_receipt(
    library: &str,
    when: &str,
    items: &[(String, String)],
    footer: &str,
) -> Receipt {
    let mut lines = vec![Line::Heading(library.to_owned())];
    if !when.is_empty() {
        lines.push(Line::Text(when.to_owned()));
    }
    lines.push(Line::Rule);
    for (title, due) in items {
        lines.push(Line::Pair(title.clone(), due.clone()));
    }
    lines.push(Line::Rule);
    if !footer.is_empty() {
        lines.push(Line::Text(footer.to_owned()));
    }
    Receipt { lines }
}

// ----------------------------------------------------------- text shaping

/// The text as the printer will get it. In Chinese mode every character
/// GB18030 encodes in one or two bytes is kept (plus CJK Extension A, which
/// GB18030 printers carry although it takes four bytes); in English only
/// printable ASCII, with typographic quotes, dashes and spaces folded to
/// their ASCII look-alikes. Anything else becomes `?`. Control characters
/// never reach the printer, so a title cannot smuggle in a command.
fn shape(text: &str, lang: Lang) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\t' => out.push(' '),
            '\r' => {}
            // Invisible: soft hyphen, zero-width and format characters,
            // combining accents (the base letter is printed on its own).
            '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' => {}
            '\u{0300}'..='\u{036F}' => {}
            c if c.is_control() => out.push('?'),
            c if c.is_ascii() => out.push(c),
            c => match lang {
                Lang::ZhCn if printable_in_chinese_mode(c) => out.push(c),
                Lang::ZhCn => out.push('?'),
                Lang::En => fold_to_ascii(c, &mut out),
            },
        }
    }
    out
}

fn printable_in_chinese_mode(c: char) -> bool {
    let mut buf = [0u8; 4];
    let (bytes, _, _) = GB18030.encode(c.encode_utf8(&mut buf));
    bytes.len() <= 2 || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

fn fold_to_ascii(c: char, out: &mut String) {
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' => {
            out.push('\'')
        }
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{2033}' | '\u{00AB}' | '\u{00BB}' => {
            out.push('"')
        }
        '\u{2010}'..='\u{2015}' | '\u{2212}' => out.push('-'),
        '\u{2026}' => out.push_str("..."),
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => {
            out.push(' ')
        }
        '\u{00D7}' => out.push('x'),
        _ => out.push('?'),
    }
}

/// Columns a shaped character takes: after `shape`, anything outside ASCII
/// is a double-byte character in Chinese mode, which the printer draws in
/// its full-width (Kanji) font, two columns wide.
fn columns(c: char) -> usize {
    if c.is_ascii() {
        1
    } else {
        2
    }
}

fn width_of(text: &str) -> usize {
    text.chars().map(columns).sum()
}

enum Token<'a> {
    Spaces(usize),
    Word(&'a str),
}

/// Runs of ASCII non-spaces are words; each wide character is a word of its
/// own, since Chinese may break between any two characters.
fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut word_start = None;
    for (i, c) in text.char_indices() {
        if c != ' ' && c.is_ascii() {
            word_start.get_or_insert(i);
            continue;
        }
        if let Some(start) = word_start.take() {
            out.push(Token::Word(&text[start..i]));
        }
        if c == ' ' {
            match out.last_mut() {
                Some(Token::Spaces(n)) => *n += 1,
                _ => out.push(Token::Spaces(1)),
            }
        } else {
            out.push(Token::Word(&text[i..i + c.len_utf8()]));
        }
    }
    if let Some(start) = word_start {
        out.push(Token::Word(&text[start..]));
    }
    out
}

/// Greedy word wrap by display columns. Spaces at a break are dropped (an
/// indent at the start of a paragraph is kept); a word wider than the paper
/// is split between characters. Always at least one row per paragraph.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = Vec::new();
    for paragraph in text.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        let mut first_row = true;
        let mut spaces = 0;
        for token in tokens(paragraph) {
            let word = match token {
                Token::Spaces(n) => {
                    spaces += n;
                    continue;
                }
                Token::Word(word) => word,
            };
            let w = width_of(word);
            let gap = if row.is_empty() && !first_row {
                0
            } else {
                spaces
            };
            spaces = 0;
            if used + gap + w <= width {
                row.extend(std::iter::repeat_n(' ', gap));
                row.push_str(word);
                used += gap + w;
                continue;
            }
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            first_row = false;
            if w <= width {
                row.push_str(word);
                used = w;
                continue;
            }
            for c in word.chars() {
                let cw = columns(c);
                if used + cw > width && !row.is_empty() {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += cw;
            }
        }
        rows.push(row);
    }
    rows
}

fn right_aligned(text: &str, width: usize) -> Vec<String> {
    wrap(text, width)
        .into_iter()
        .map(|row| {
            let pad = width.saturating_sub(width_of(&row));
            format!("{}{row}", " ".repeat(pad))
        })
        .collect()
}

/// Rows for a `Line::Pair` (both sides already shaped, one line each).
fn pair(left: &str, right: &str, width: usize) -> Vec<String> {
    if right.is_empty() {
        return wrap(left, width);
    }
    if left.is_empty() {
        return right_aligned(right, width);
    }
    let (lw, rw) = (width_of(left), width_of(right));
    if lw + 1 + rw <= width {
        return vec![format!("{left}{}{right}", " ".repeat(width - lw - rw))];
    }
    let mut rows = wrap(left, width);
    let last_w = rows.last().map_or(0, |r| width_of(r));
    match rows.last_mut() {
        Some(last) if last_w + 1 + rw <= width => {
            last.push_str(&" ".repeat(width - last_w - rw));
            last.push_str(right);
        }
        _ => rows.extend(right_aligned(right, width)),
    }
    rows
}

/// GS H / GS h / GS w / GS k 73 for a CODE128 symbol in code set B, or None
/// if the data cannot be one (empty, not printable ASCII, too long). The
/// escpos crate's barcode API sits behind its `barcodes` feature, which this
/// crate does not enable, so the bytes are written here.
fn code128(data: &str) -> Option<Vec<u8>> {
    if data.is_empty() || !data.bytes().all(|b| (0x20..0x7F).contains(&b)) {
        return None;
    }
    let mut symbol = b"{B".to_vec();
    for b in data.bytes() {
        // In GS k 73 data `{` starts a code-set switch; a literal one is `{{`.
        if b == b'{' {
            symbol.push(b'{');
        }
        symbol.push(b);
    }
    let n = u8::try_from(symbol.len()).ok()?;
    let mut cmd = vec![GS, b'H', 2, GS, b'h', 80, GS, b'w', 2, GS, b'k', 73, n];
    cmd.extend(symbol);
    Some(cmd)
}

// -------------------------------------------------------------- rendering

/// An escpos driver that keeps the bytes in memory, so that `render` stays
/// free of IO and the result can be sent, simulated or compared.
#[derive(Clone, Default)]
struct Spool(Rc<RefCell<Vec<u8>>>);

impl Driver for Spool {
    fn name(&self) -> String {
        "memory".to_owned()
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(())
    }
    fn read(&self, _buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(0)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(())
    }
}

/// An escpos driver over a serial port. escpos has one of its own, but its
/// `serial_port` feature turns on serialport's libudev default, which needs
/// libudev-dev and pkg-config to build (see docs/deploy.md).
struct SerialDriver {
    path: String,
    port: Mutex<Box<dyn serialport::SerialPort>>,
}

impl SerialDriver {
    fn open(path: &str, baud: u32, timeout: Duration) -> Result<SerialDriver, serialport::Error> {
        let port = serialport::new(path, baud).timeout(timeout).open()?;
        Ok(SerialDriver {
            path: path.to_owned(),
            port: Mutex::new(port),
        })
    }

    fn port(&self) -> std::sync::MutexGuard<'_, Box<dyn serialport::SerialPort>> {
        self.port.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Driver for SerialDriver {
    fn name(&self) -> String {
        format!("Serial port ({})", self.path)
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        Ok(self.port().write_all(data)?)
    }
    fn read(&self, buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(self.port().read(buf)?)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(self.port().flush()?)
    }
}

/// A receipt as plain text (an e-mailed receipt): one line per element,
/// a label and its value joined by " — ", rules as dashes, barcodes as
/// their text.
pub fn plain_text(receipt: &Receipt) -> String {
    let mut out = String::new();
    for line in &receipt.lines {
        match line {
            Line::Heading(t) | Line::Text(t) | Line::Barcode(t) => out.push_str(t),
            Line::Pair(label, value) => {
                out.push_str(label);
                out.push_str(" — ");
                out.push_str(value);
            }
            Line::Rule => out.push_str(&"-".repeat(32)),
            Line::Blank => {}
        }
        out.push('\n');
    }
    out
}

/// The ESC/POS bytes for `receipt` on paper `width_chars` columns wide
/// (Font A: 48 on 80 mm paper, 32 on 58 mm): ESC @, Chinese mode on (zh) or
/// off (en, as many printers power up in it), the lines, a feed of four
/// lines and a partial cut.
pub fn render(receipt: &Receipt, lang: Lang, width_chars: usize) -> Vec<u8> {
    let spool = Spool::default();
    // Text goes through escpos's encoder as GB18030: in Chinese mode that is
    // what the printer reads, and in English `shape` has left only ASCII,
    // which GB18030 encodes as itself.
    let mut printer = Printer::new(spool.clone(), Protocol::new(Encoder::new(GB18030)), None);
    let composed = compose(&mut printer, receipt, lang, width_chars.max(1));
    // The spool only appends to memory and GB18030 encodes every character,
    // so there is nothing left for escpos to fail on.
    composed.expect("escpos failed to compose a receipt in memory");
    spool.0.take()
}

fn compose(
    p: &mut Printer<Spool>,
    receipt: &Receipt,
    lang: Lang,
    width: usize,
) -> escpos::errors::Result<()> {
    p.init()?;
    // escpos has no command for Chinese mode (FS & / FS .), so raw bytes.
    p.custom(match lang {
        Lang::ZhCn => &CHINESE_ON,
        Lang::En => &CHINESE_OFF,
    })?;
    for line in &receipt.lines {
        match line {
            Line::Heading(text) => {
                p.justify(JustifyMode::CENTER)?.bold(true)?.size(1, 2)?;
                for row in wrap(&shape(text, lang), width) {
                    p.writeln(&row)?;
                }
                p.reset_size()?.bold(false)?.justify(JustifyMode::LEFT)?;
            }
            Line::Text(text) => {
                for row in wrap(&shape(text, lang), width) {
                    p.writeln(&row)?;
                }
            }
            Line::Pair(left, right) => {
                let left = shape(left, lang).replace('\n', " ");
                let right = shape(right, lang).replace('\n', " ");
                for row in pair(&left, &right, width) {
                    p.writeln(&row)?;
                }
            }
            Line::Rule => {
                p.writeln(&"-".repeat(width))?;
            }
            Line::Blank => {
                p.feed()?;
            }
            Line::Barcode(data) => match code128(data) {
                Some(cmd) => {
                    p.justify(JustifyMode::CENTER)?
                        .custom(&cmd)?
                        .justify(JustifyMode::LEFT)?;
                }
                None => {
                    for row in wrap(&shape(data, lang), width) {
                        p.writeln(&row)?;
                    }
                }
            },
        }
    }
    p.feeds(FEED_BEFORE_CUT)?;
    // protocols.md §6 gives the cut as GS V 0/1 (function A); escpos's cut()
    // sends function B (GS V 'A' n) instead, so the cut is written raw, after
    // an explicit feed that brings the last line past the cutter.
    p.custom(&PARTIAL_CUT)?;
    p.print()?;
    Ok(())
}

// ----------------------------------------------------------------- errors

/// Why printing or asking for the paper status did not work.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    #[error(
        "printer port {0:?} is not understood: use a serial device (/dev/ttyUSB0, COM3), \
         tcp://HOST[:PORT] or a device file (/dev/usb/lp0, file:///path)"
    )]
    BadTarget(String),
    #[error("cannot open the receipt printer on {target}: {reason}; check its cable, power and the `port` setting")]
    Open { target: String, reason: String },
    #[error("sending the receipt to the printer on {target} failed: {reason}")]
    Send { target: String, reason: String },
    #[error("i/o error talking to the receipt printer: {0}")]
    Io(#[from] io::Error),
    #[error(
        "no paper status from the receipt printer within {0:?}; is it switched on and connected?"
    )]
    NoAnswer(Duration),
    #[error(
        "the receipt printer answered {0:#04x}, which is not a paper status (bit pattern 0xx1xx10)"
    )]
    BadStatus(u8),
}

// ------------------------------------------------------------ paper status

/// What the roll paper sensors say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaperStatus {
    Ok,
    /// The near-end sensor sees the end of the roll coming: change it soon.
    NearEnd,
    /// No paper: the printer has stopped.
    Out,
}

impl PaperStatus {
    /// The DLE EOT 4 answer of a printer in this state: fixed bits 0x12,
    /// near end 0x0C, paper end 0x60 (an empty roll trips both sensors).
    pub fn status_byte(self) -> u8 {
        match self {
            PaperStatus::Ok => 0x12,
            PaperStatus::NearEnd => 0x1E,
            PaperStatus::Out => 0x7E,
        }
    }
}

/// Reads a DLE EOT 4 answer: any of bits 0x60 set is paper out, else any of
/// 0x0C is near end. Bytes without the fixed bits (0xx1xx10) are not status
/// answers.
pub fn parse_paper_status(byte: u8) -> Result<PaperStatus, PrinterError> {
    let flags = RealTimeStatusResponse::parse(RealTimeStatusRequest::RollPaperSensor, byte)
        .map_err(|_| PrinterError::BadStatus(byte))?;
    let is = |flag| flags.get(&flag).copied().unwrap_or(false);
    Ok(
        if !is(RealTimeStatusResponse::RollPaperEndSensorPaperPresent) {
            PaperStatus::Out
        } else if !is(RealTimeStatusResponse::RollPaperNearEndSensorPaperAdequate) {
            PaperStatus::NearEnd
        } else {
            PaperStatus::Ok
        },
    )
}

/// Asks the printer on `port` for its paper status (DLE EOT 4) and waits up
/// to `timeout` for the answer. Bytes that are not status answers (XON/XOFF
/// on a serial line, stale data) are skipped; if nothing but such bytes
/// came, the last one is reported as `BadStatus`.
///
/// The request is written by hand: escpos's `real_time_status` appends a
/// parameter byte that DLE EOT 1-4 does not take.
pub fn status<P: Read + Write>(
    port: &mut P,
    timeout: Duration,
) -> Result<PaperStatus, PrinterError> {
    port.write_all(&PAPER_STATUS_REQUEST)?;
    port.flush()?;
    let deadline = Instant::now() + timeout;
    let mut rejected = None;
    loop {
        let mut byte = [0u8; 1];
        let got = match port.read(&mut byte) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) =>
            {
                0
            }
            Err(e) => return Err(e.into()),
        };
        if got == 1 {
            match parse_paper_status(byte[0]) {
                Ok(status) => {
                    tracing::debug!(?status, "printer paper status");
                    return Ok(status);
                }
                Err(_) => rejected = Some(byte[0]),
            }
            continue;
        }
        if Instant::now() >= deadline {
            return Err(match rejected {
                Some(b) => PrinterError::BadStatus(b),
                None => PrinterError::NoAnswer(timeout),
            });
        }
        // Ports that give up at once (in-memory, non-blocking) would spin.
        std::thread::sleep(Duration::from_millis(1));
    }
}

// --------------------------------------------------------------- transport

/// Where the receipt printer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PrinterTarget {
    /// A serial port (`/dev/ttyUSB0`, `COM3`).
    Serial { path: String, baud: u32 },
    /// A network printer's raw port (usually 9100).
    Network { host: String, port: u16 },
    /// A device file such as `/dev/usb/lp0` (or a plain file, for tests and
    /// dry runs).
    File { path: PathBuf },
}

impl PrinterTarget {
    /// Reads a device `port` setting: `tcp://HOST[:PORT]` (port 9100 by
    /// default, `[v6]:PORT` for IPv6), `file://PATH`, a `/dev/usb/lp*` or
    /// `/dev/lp*` path as a file, anything else as a serial port at `baud`.
    pub fn from_port(port: &str, baud: u32) -> Result<PrinterTarget, PrinterError> {
        let port = port.trim();
        let bad = || PrinterError::BadTarget(port.to_owned());
        if let Some(rest) = port.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, tcp_port) = if let Some(v6) = rest.strip_prefix('[') {
                let (host, after) = v6.split_once(']').ok_or_else(bad)?;
                match after {
                    "" => (host, None),
                    _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
                }
            } else {
                match rest.split_once(':') {
                    Some((host, p)) => (host, Some(p)),
                    None => (rest, None),
                }
            };
            let tcp_port = match tcp_port {
                Some(p) => p.parse::<u16>().map_err(|_| bad())?,
                None => DEFAULT_TCP_PORT,
            };
            if host.is_empty() {
                return Err(bad());
            }
            return Ok(PrinterTarget::Network {
                host: host.to_owned(),
                port: tcp_port,
            });
        }
        if let Some(path) = port.strip_prefix("file://") {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(PrinterTarget::File { path: path.into() });
        }
        if port.is_empty() {
            return Err(bad());
        }
        if port.starts_with("/dev/usb/lp") || port.starts_with("/dev/lp") {
            return Ok(PrinterTarget::File { path: port.into() });
        }
        Ok(PrinterTarget::Serial {
            path: port.to_owned(),
            baud,
        })
    }
}

impl fmt::Display for PrinterTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterTarget::Serial { path, baud } => write!(f, "{path} at {baud} baud"),
            PrinterTarget::Network { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            PrinterTarget::Network { host, port } => write!(f, "tcp://{host}:{port}"),
            PrinterTarget::File { path } => write!(f, "{}", path.display()),
        }
    }
}

fn open_error(target: &PrinterTarget, reason: impl fmt::Display) -> PrinterError {
    PrinterError::Open {
        target: target.to_string(),
        reason: reason.to_string(),
    }
}

fn resolve(target: &PrinterTarget, host: &str, port: u16) -> Result<Vec<SocketAddr>, PrinterError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| open_error(target, e))?
        .collect();
    if addrs.is_empty() {
        return Err(open_error(target, "the host name has no address"));
    }
    Ok(addrs)
}

/// Opens one of escpos's drivers for the target.
fn open_driver(target: &PrinterTarget) -> Result<Box<dyn Driver>, PrinterError> {
    match target {
        PrinterTarget::Serial { path, baud } => SerialDriver::open(path, *baud, SEND_TIMEOUT)
            .map(|d| Box::new(d) as Box<dyn Driver>)
            .map_err(|e| open_error(target, e)),
        PrinterTarget::Network { host, port } => {
            // escpos's NetworkDriver only applies a connect timeout to an IP
            // literal, so names are resolved here first.
            let mut last = None;
            for addr in resolve(target, host, *port)? {
                match NetworkDriver::open(&addr.ip().to_string(), addr.port(), Some(SEND_TIMEOUT)) {
                    Ok(d) => return Ok(Box::new(d)),
                    Err(e) => last = Some(e),
                }
            }
            Err(open_error(
                target,
                last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
            ))
        }
        PrinterTarget::File { path } => {
            let mut options = OpenOptions::new();
            // Never create a device node: with the printer unplugged that
            // would leave a plain file in /dev swallowing every receipt.
            options.append(true).create(!path.starts_with("/dev"));
            FileDriver::open_with_options(path, &options)
                .map(|d| Box::new(d) as Box<dyn Driver>)
                .map_err(|e| open_error(target, e))
        }
    }
}

/// Sends `bytes` (from `render`) to the printer and waits until they are
/// handed over; it does not check the paper first (see `paper_status`).
pub fn print(target: &PrinterTarget, bytes: &[u8]) -> Result<(), PrinterError> {
    let driver = open_driver(target).inspect_err(|e| {
        tracing::warn!(device = %target, error = %e, "cannot open the receipt printer");
    })?;
    driver
        .write(bytes)
        .and_then(|()| driver.flush())
        .map_err(|e| {
            tracing::warn!(device = %target, error = %e, "sending a receipt failed");
            PrinterError::Send {
                target: target.to_string(),
                reason: e.to_string(),
            }
        })?;
    tracing::info!(device = %target, bytes = bytes.len(), "receipt sent to the printer");
    Ok(())
}

/// Opens the target and asks for its paper status (`status`).
pub fn paper_status(
    target: &PrinterTarget,
    timeout: Duration,
) -> Result<PaperStatus, PrinterError> {
    match target {
        PrinterTarget::Serial { path, baud } => {
            let mut port = serialport::new(path, *baud)
                .timeout(timeout)
                .open()
                .map_err(|e| open_error(target, e))?;
            status(&mut port, timeout)
        }
        PrinterTarget::Network { host, port } => {
            let mut last = None;
            for addr in resolve(target, host, *port)? {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(mut stream) => {
                        stream.set_read_timeout(Some(timeout))?;
                        stream.set_write_timeout(Some(timeout))?;
                        return status(&mut stream, timeout);
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(open_error(
                target,
                last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
            ))
        }
        PrinterTarget::File { path } => {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| open_error(target, e))?;
            status(&mut file, timeout)
        }
    }
}

// --------------------------------------------------------------- simulator

/// The longest command the simulator holds while waiting for the rest of it
/// (GS k 73 n with 255 data bytes); longer payloads are skipped as they come.
const MAX_PENDING: usize = 4 + 255;

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
    printed: Vec<Printed>,
    dropped: usize,
    unknown: usize,
    chinese: bool,
    bold: bool,
    size: (u8, u8),
    align: Align,
    line: LineBuf,
    pending: Vec<u8>,
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

/// Fuzz entry point: feeds `data` to a `SimPrinter` whole and in pieces and
/// panics if it held an unbounded command or if the answers or the paper
/// depend on how the bytes were split.
pub fn fuzz_printer(data: &[u8]) {
    let mut whole = SimPrinter::new();
    let answers = whole.receive(data);
    let step = data.first().map_or(1, |b| usize::from(b % 7) + 1);
    let mut pieces = SimPrinter::new();
    let mut piece_answers = Vec::new();
    for chunk in data.chunks(step) {
        piece_answers.extend(pieces.receive(chunk));
        assert!(
            pieces.pending.len() <= MAX_PENDING,
            "simulator holds {} bytes of one command",
            pieces.pending.len()
        );
    }
    assert_eq!(answers, piece_answers, "answers depend on the split");
    assert_eq!(whole.printed, pieces.printed, "paper depends on the split");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_has_every_line_in_order() {
        let r = loan_receipt(
            "Demo Library",
            "2026-11-23 10:00",
            &[("三体".into(), "due 2026-12-07".into())],
            "Thank you!",
        );
        let t = plain_text(&r);
        assert_eq!(
            t.lines().collect::<Vec<_>>(),
            [
                "Demo Library",
                "2026-11-23 10:00",
                &"-".repeat(32),
                "三体 — due 2026-12-07",
                &"-".repeat(32),
                "Thank you!",
            ]
        );
    }
    use crate::devices::rfid::SimPort;
    use proptest::prelude::*;
    use std::net::TcpListener;

    fn en_receipt() -> Receipt {
        Receipt {
            lines: vec![
                Line::Heading("Loan receipt".into()),
                Line::Pair("Due".into(), "2026-12-07".into()),
                Line::Rule,
                Line::Text("Thank you".into()),
            ],
        }
    }

    fn zh_receipt() -> Receipt {
        Receipt {
            lines: vec![
                Line::Heading("借书凭条".into()),
                Line::Pair("到期日".into(), "2026-12-07".into()),
            ],
        }
    }

    /// Prints through a SimPort, as the kiosk would over a serial port.
    fn print_on(sim: SimPrinter, bytes: &[u8]) -> SimPrinter {
        let mut port = SimPort::new(sim);
        port.write_all(bytes).unwrap();
        port.sim
    }

    fn non_empty(sim: &SimPrinter) -> Vec<String> {
        sim.texts().into_iter().filter(|t| !t.is_empty()).collect()
    }

    #[test]
    fn golden_english_receipt() {
        let expected: Vec<u8> = [
            &[0x1B, 0x40][..],       // ESC @ init
            &[0x1C, 0x2E],           // FS . leave Chinese mode
            &[0x1B, 0x61, 0x01],     // ESC a 1 centre
            &[0x1B, 0x45, 0x01],     // ESC E 1 bold
            &[0x1D, 0x21, 0x01],     // GS ! 01 double height
            b"Loan receipt",         //
            &[0x1B, 0x64, 0x01],     // ESC d 1 print and feed
            &[0x1D, 0x21, 0x00],     // GS ! 00 normal size
            &[0x1B, 0x45, 0x00],     // ESC E 0 bold off
            &[0x1B, 0x61, 0x00],     // ESC a 0 left
            b"Due       2026-12-07", // 3 + 7 spaces + 10 = 20 columns
            &[0x1B, 0x64, 0x01],
            b"--------------------",
            &[0x1B, 0x64, 0x01],
            b"Thank you",
            &[0x1B, 0x64, 0x01],
            &[0x1B, 0x64, 0x04], // ESC d 4 feed past the cutter
            &[0x1D, 0x56, 0x01], // GS V 1 partial cut
        ]
        .concat();
        assert_eq!(render(&en_receipt(), Lang::En, 20), expected);
    }

    #[test]
    fn golden_chinese_receipt() {
        let expected: Vec<u8> = [
            &[0x1B, 0x40][..],                                       // ESC @
            &[0x1C, 0x26],                                           // FS & Chinese mode
            &[0x1B, 0x61, 0x01, 0x1B, 0x45, 0x01, 0x1D, 0x21, 0x01], // centre, bold, tall
            &[0xBD, 0xE8, 0xCA, 0xE9, 0xC6, 0xBE, 0xCC, 0xF5],       // 借书凭条 in GB18030
            &[0x1B, 0x64, 0x01],
            &[0x1D, 0x21, 0x00, 0x1B, 0x45, 0x00, 0x1B, 0x61, 0x00],
            &[0xB5, 0xBD, 0xC6, 0xDA, 0xC8, 0xD5], // 到期日: 6 columns
            b"    2026-12-07",                     // 4 spaces + 10 = 20
            &[0x1B, 0x64, 0x01],
            &[0x1B, 0x64, 0x04, 0x1D, 0x56, 0x01],
        ]
        .concat();
        assert_eq!(render(&zh_receipt(), Lang::ZhCn, 20), expected);
    }

    #[test]
    fn chinese_receipt_round_trips_through_gb18030() {
        let sim = print_on(SimPrinter::new(), &render(&zh_receipt(), Lang::ZhCn, 20));
        assert_eq!(non_empty(&sim), ["借书凭条", "到期日    2026-12-07"]);
        let heading = sim.lines().next().unwrap();
        assert!(heading.bold);
        assert_eq!(heading.size, (1, 2));
        assert_eq!(heading.align, Align::Center);
        let pair = sim.lines().nth(1).unwrap();
        assert!(!pair.bold);
        assert_eq!(pair.size, (1, 1));
        assert_eq!(pair.align, Align::Left);
        assert_eq!(sim.cuts(), 1);
        assert_eq!(sim.printed().last(), Some(&Printed::Cut { partial: true }));
        assert_eq!(sim.unknown_commands(), 0);
        // Two text lines, then the four lines fed before the cut.
        assert_eq!(sim.texts().len(), 6);
    }

    #[test]
    fn english_receipt_prints_on_printers_starting_in_either_mode() {
        let bytes = render(&en_receipt(), Lang::En, 20);
        for chinese in [true, false] {
            let sim = print_on(SimPrinter::new().chinese_at_power_on(chinese), &bytes);
            assert!(!sim.in_chinese_mode());
            assert_eq!(
                non_empty(&sim),
                [
                    "Loan receipt",
                    "Due       2026-12-07",
                    "--------------------",
                    "Thank you"
                ]
            );
            assert_eq!(sim.cuts(), 1);
            assert!(!sim.bold());
        }
    }

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
    fn pair_padding_counts_cjk_as_two_columns() {
        assert_eq!(pair("到期日", "2026-12-07", 20), ["到期日    2026-12-07"]);
        assert_eq!(pair("Due", "2026-12-07", 20), ["Due       2026-12-07"]);
        // Mixed: "ISBN号" is 4 + 2 columns.
        assert_eq!(pair("ISBN号", "12", 10), ["ISBN号  12"]);
        for row in pair("三体：地球往事", "2026-12-07", 32) {
            assert_eq!(width_of(&row), 32, "{row}");
        }
    }

    #[test]
    fn long_pairs_wrap_and_keep_the_value_right_aligned() {
        // The title wraps; the due date fits on its last row.
        assert_eq!(
            pair("The Name of the Rose", "12-07", 16),
            ["The Name of the", "Rose       12-07"]
        );
        // No room on the last row: the date goes under it, right-aligned.
        assert_eq!(
            pair("三体地球往事三体", "2026-12-07", 16),
            ["三体地球往事三体", "      2026-12-07"]
        );
        assert_eq!(pair("", "right", 8), ["   right"]);
        assert_eq!(pair("left", "", 8), ["left"]);
    }

    #[test]
    fn text_wraps_at_spaces_and_between_chinese_characters() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(
            wrap("中文可以在任意字之间换行", 8),
            ["中文可以", "在任意字", "之间换行"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 4), ["a", "b"]);
        assert_eq!(wrap("  indented", 20), ["  indented"]);
        assert_eq!(wrap("", 4), [""]);
        // A wide character on paper narrower than itself still prints.
        assert_eq!(wrap("中文", 1), ["中", "文"]);
    }

    #[test]
    fn text_is_made_safe_for_the_printer() {
        assert_eq!(
            shape("Philosopher’s Stone — “Vol. 1”…", Lang::En),
            "Philosopher's Stone - \"Vol. 1\"..."
        );
        assert_eq!(shape("Café 三体 😀", Lang::En), "Caf? ?? ?");
        // Decomposed accents lose the accent rather than gaining a '?'.
        assert_eq!(shape("Cafe\u{301}", Lang::En), "Cafe");
        assert_eq!(shape("三体 😀 㐀 é", Lang::ZhCn), "三体 ? 㐀 é");
        // A control character in a title cannot become a command.
        assert_eq!(shape("a\u{1B}@b\tc\r", Lang::En), "a?@b c");
        let bytes = render(
            &Receipt {
                lines: vec![Line::Text("x\u{1B}i\u{1D}V\u{0}y".into())],
            },
            Lang::En,
            32,
        );
        let sim = print_on(SimPrinter::new(), &bytes);
        assert_eq!(non_empty(&sim), ["x?i?V?y"]);
        assert_eq!(sim.cuts(), 1);
    }

    #[test]
    fn loan_receipt_lays_out_items_with_due_dates() {
        let receipt = loan_receipt(
            "市图书馆",
            "2026-11-16 14:05",
            &[
                ("三体".to_owned(), "到期 2026-12-07".to_owned()),
                (
                    "The Very Hungry Caterpillar".to_owned(),
                    "到期 2026-12-07".to_owned(),
                ),
            ],
            "谢谢，欢迎再来",
        );
        assert_eq!(receipt.lines.len(), 7);
        let sim = print_on(SimPrinter::new(), &render(&receipt, Lang::ZhCn, 32));
        assert_eq!(
            non_empty(&sim),
            [
                "市图书馆",
                "2026-11-16 14:05",
                "--------------------------------",
                "三体             到期 2026-12-07",
                "The Very Hungry Caterpillar",
                "                 到期 2026-12-07",
                "--------------------------------",
                "谢谢，欢迎再来",
            ]
        );
        assert!(sim.lines().next().unwrap().bold);
        assert_eq!(sim.cuts(), 1);
    }

    #[test]
    fn barcodes_round_trip_and_fall_back_to_text() {
        let receipt = Receipt {
            lines: vec![
                Line::Barcode("31234{567".into()),
                Line::Barcode("书123".into()),
            ],
        };
        let bytes = render(&receipt, Lang::ZhCn, 32);
        let sim = print_on(SimPrinter::new(), &bytes);
        assert_eq!(sim.printed()[0], Printed::Barcode("31234{567".into()));
        assert_eq!(non_empty(&sim), ["书123"]);
        assert_eq!(sim.unknown_commands(), 0);
    }

    #[test]
    fn paper_status_bits() {
        let cases = [
            (0x12, PaperStatus::Ok),
            (0x16, PaperStatus::NearEnd), // bit 2
            (0x1A, PaperStatus::NearEnd), // bit 3
            (0x1E, PaperStatus::NearEnd), // 0x0C
            (0x32, PaperStatus::Out),     // bit 5
            (0x52, PaperStatus::Out),     // bit 6
            (0x72, PaperStatus::Out),     // 0x60
            (0x7E, PaperStatus::Out),     // both sensors
        ];
        for (byte, expected) in cases {
            assert_eq!(parse_paper_status(byte).unwrap(), expected, "{byte:#04x}");
        }
        for status in [PaperStatus::Ok, PaperStatus::NearEnd, PaperStatus::Out] {
            assert_eq!(parse_paper_status(status.status_byte()).unwrap(), status);
        }
        // Not status answers: fixed bits wrong (XON 0x11, XOFF 0x13, 0x00, 0xFF...).
        for byte in [0x00, 0x02, 0x10, 0x11, 0x13, 0x92, 0xFF] {
            assert!(
                matches!(parse_paper_status(byte), Err(PrinterError::BadStatus(b)) if b == byte),
                "{byte:#04x}"
            );
        }
    }

    #[test]
    fn status_through_sim_port() {
        for paper in [PaperStatus::Ok, PaperStatus::NearEnd, PaperStatus::Out] {
            let mut sim = SimPrinter::new();
            sim.set_paper(paper);
            let mut port = SimPort::new(sim);
            assert_eq!(status(&mut port, Duration::from_secs(1)).unwrap(), paper);
        }
        // Split answers and XON noise in front are fine.
        let mut port = SimPort::new(SimPrinter::new());
        port.sim.set_paper(PaperStatus::NearEnd);
        port.sim.faults().noise = vec![0x11, 0x13];
        port.sim.faults().split = Some(1);
        assert_eq!(
            status(&mut port, Duration::from_secs(1)).unwrap(),
            PaperStatus::NearEnd
        );
    }

    #[test]
    fn status_without_an_answer_fails() {
        let mut port = SimPort::new(SimPrinter::new());
        port.sim.faults().no_answer = 1;
        let e = status(&mut port, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, PrinterError::NoAnswer(_)), "{e}");
        // Only garbage came back: reported as such.
        let mut line = Garbage(vec![0x11, 0xFF]);
        let e = status(&mut line, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, PrinterError::BadStatus(0xFF)), "{e}");
    }

    /// A line that answers anything with fixed bytes, then stays silent.
    struct Garbage(Vec<u8>);
    impl Write for Garbage {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Read for Garbage {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            buf[0] = self.0.remove(0);
            Ok(1)
        }
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

    #[test]
    fn print_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receipt.bin");
        let target = PrinterTarget::File { path: path.clone() };
        let bytes = render(&en_receipt(), Lang::En, 32);
        print(&target, &bytes).unwrap();
        print(&target, &bytes).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [bytes.clone(), bytes].concat()
        );
    }

    #[test]
    fn print_over_a_serial_port() {
        use serialport::SerialPort;
        // The kiosk's own serial driver (not escpos's): the bytes arrive
        // as rendered.
        let (mut master, slave) = serialport::TTYPort::pair().unwrap();
        master.set_timeout(Duration::from_millis(100)).unwrap();
        let target = PrinterTarget::Serial {
            path: slave.name().unwrap(),
            baud: 19200,
        };
        let bytes = render(&en_receipt(), Lang::En, 32);
        let reader = std::thread::spawn(move || {
            let mut received = Vec::new();
            let until = Instant::now() + Duration::from_secs(30);
            let mut buf = [0u8; 4096];
            while Instant::now() < until {
                match master.read(&mut buf) {
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::TimedOut && !received.is_empty() => break,
                    Err(_) => {}
                }
            }
            received
        });
        print(&target, &bytes).unwrap();
        assert_eq!(reader.join().unwrap(), bytes);
        drop(slave);
    }

    #[test]
    fn print_and_status_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let printer = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            conn.read_to_end(&mut received).unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 3];
            conn.read_exact(&mut request).unwrap();
            conn.write_all(&[PaperStatus::Out.status_byte()]).unwrap();
            (received, request)
        });
        let target = PrinterTarget::Network {
            host: "127.0.0.1".into(),
            port,
        };
        let bytes = render(&zh_receipt(), Lang::ZhCn, 32);
        print(&target, &bytes).unwrap();
        assert_eq!(
            paper_status(&target, Duration::from_secs(5)).unwrap(),
            PaperStatus::Out
        );
        let (received, request) = printer.join().unwrap();
        assert_eq!(received, bytes);
        assert_eq!(request, PAPER_STATUS_REQUEST);
    }

    #[test]
    fn a_missing_printer_is_an_open_error_naming_it() {
        let target = PrinterTarget::Serial {
            path: "/nonexistent/ttyPRINTER".into(),
            baud: 9600,
        };
        let e = print(&target, b"x").unwrap_err();
        assert!(matches!(e, PrinterError::Open { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/ttyPRINTER"), "{e}");
    }

    #[test]
    fn port_settings_become_targets() {
        let t = |s| PrinterTarget::from_port(s, 19200);
        assert_eq!(
            t("/dev/ttyUSB0").unwrap(),
            PrinterTarget::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 19200
            }
        );
        assert_eq!(
            t("COM3").unwrap(),
            PrinterTarget::Serial {
                path: "COM3".into(),
                baud: 19200
            }
        );
        assert_eq!(
            t("tcp://192.168.1.50").unwrap(),
            PrinterTarget::Network {
                host: "192.168.1.50".into(),
                port: 9100
            }
        );
        assert_eq!(
            t("tcp://printer.local:9101").unwrap(),
            PrinterTarget::Network {
                host: "printer.local".into(),
                port: 9101
            }
        );
        let v6 = t("tcp://[::1]:9100").unwrap();
        assert_eq!(
            v6,
            PrinterTarget::Network {
                host: "::1".into(),
                port: 9100
            }
        );
        assert_eq!(v6.to_string(), "tcp://[::1]:9100");
        assert_eq!(
            t("/dev/usb/lp0").unwrap(),
            PrinterTarget::File {
                path: "/dev/usb/lp0".into()
            }
        );
        assert_eq!(
            t("file:///tmp/r.bin").unwrap(),
            PrinterTarget::File {
                path: "/tmp/r.bin".into()
            }
        );
        for bad in ["", "tcp://", "tcp://host:port", "tcp://[::1", "file://"] {
            assert!(matches!(t(bad), Err(PrinterError::BadTarget(_))), "{bad:?}");
        }
    }

    fn any_line() -> impl Strategy<Value = Line> {
        let text = || any::<String>();
        prop_oneof![
            text().prop_map(Line::Heading),
            text().prop_map(Line::Text),
            (text(), text()).prop_map(|(l, r)| Line::Pair(l, r)),
            Just(Line::Rule),
            Just(Line::Blank),
            text().prop_map(Line::Barcode),
        ]
    }

    proptest! {
        #[test]
        fn simulator_never_panics_on_random_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..600)
        ) {
            fuzz_printer(&data);
        }

        #[test]
        fn simulator_never_panics_on_command_soup(
            data in proptest::collection::vec(
                prop_oneof![
                    Just(ESC), Just(GS), Just(FS), Just(DLE), Just(EOT), Just(LF), Just(0u8),
                    any::<u8>(),
                ],
                0..400,
            )
        ) {
            fuzz_printer(&data);
        }

        #[test]
        fn rendered_lines_fit_the_paper(
            lines in proptest::collection::vec(any_line(), 0..8),
            width in 2usize..64,
            chinese in any::<bool>(),
        ) {
            let lang = if chinese { Lang::ZhCn } else { Lang::En };
            let bytes = render(&Receipt { lines }, lang, width);
            let sim = print_on(SimPrinter::new(), &bytes);
            for text in sim.texts() {
                prop_assert!(width_of(&text) <= width, "{text:?} wider than {width}");
            }
            prop_assert_eq!(sim.cuts(), 1);
            prop_assert_eq!(sim.unknown_commands(), 0);
        }

        #[test]
        fn chinese_text_round_trips(text in "[a-zA-Z0-9一-龥，。：？！]{0,40}") {
            let bytes = render(&Receipt { lines: vec![Line::Text(text.clone())] }, Lang::ZhCn, 200);
            let sim = print_on(SimPrinter::new(), &bytes);
            prop_assert_eq!(&sim.texts()[0], &text);
        }
    }
}
