//! The SIP2 wire format, sans IO: a line of text is a 2-character command
//! code, fixed-width fields, variable fields `XXvalue|`, an optional
//! `AY<digit>AZ<4 hex>` trailer and a terminator (docs/protocols.md §5).
//!
//! This layer knows only how wide each command's fixed part is (from
//! `messages::layout`); it keeps every variable field, known or not, in
//! wire order, so a decoded line re-encodes byte for byte. The checksum is
//! computed over the *encoded* bytes, so it depends on the charset.
//!
//! A field value cannot contain `|`, CR or LF: SIP2 has no escape, so the
//! encoder refuses such values rather than sending a line the server
//! would split differently. Nothing here panics on any input.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use super::charset::{Charset, CharsetError};
use super::messages::layout;

/// Longest line the `LineSplitter` keeps; longer ones are reported and
/// dropped. A patron information response listing a few hundred items
/// stays far below this.
pub const MAX_LINE: usize = 64 * 1024;

/// The checksum the sender appends: the byte sum of everything from the
/// first byte through `AZ`, low 16 bits, two's complement.
pub fn checksum(bytes: &[u8]) -> u16 {
    bytes
        .iter()
        .fold(0u16, |sum, &b| sum.wrapping_add(u16::from(b)))
        .wrapping_neg()
}

/// `97` (SC asks the ACS to resend) and `96` (ACS asks the SC): they carry
/// a checksum but never a sequence number.
pub fn is_resend(code: &str) -> bool {
    code == "96" || code == "97"
}

// ---------------------------------------------------------------------------
// Field identifiers
// ---------------------------------------------------------------------------

/// A two-character field identifier such as `AO`. Any two printable ASCII
/// characters other than `|` are accepted, so vendor extensions survive.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId([u8; 2]);

macro_rules! field_ids {
    ($($id:ident $name:literal,)*) => {
        impl FieldId {
            $(#[doc = $name] pub const $id: FieldId = FieldId([stringify!($id).as_bytes()[0], stringify!($id).as_bytes()[1]]);)*

            /// The spec's name for a SIP2 2.00 field identifier.
            pub fn name(self) -> Option<&'static str> {
                match &self.0 {
                    $(x if x.as_slice() == stringify!($id).as_bytes() => Some($name),)*
                    _ => None,
                }
            }
        }
    };
}

field_ids! {
    AA "patron identifier",
    AB "item identifier",
    AC "terminal password",
    AD "patron password",
    AE "personal name",
    AF "screen message",
    AG "print line",
    AH "due date",
    AJ "title identifier",
    AL "blocked card msg",
    AM "library name",
    AN "terminal location",
    AO "institution id",
    AP "current location",
    AQ "permanent location",
    AS "hold items",
    AT "overdue items",
    AU "charged items",
    AV "fine items",
    AY "sequence number",
    AZ "checksum",
    BD "home address",
    BE "e-mail address",
    BF "home phone number",
    BG "owner",
    BH "currency type",
    BI "cancel",
    BK "transaction id",
    BL "valid patron",
    BM "renewed items",
    BN "unrenewed items",
    BO "fee acknowledged",
    BP "start item",
    BQ "end item",
    BR "queue position",
    BS "pickup location",
    BT "fee type",
    BU "recall items",
    BV "fee amount",
    BW "expiration date",
    BX "supported messages",
    BY "hold type",
    BZ "hold items limit",
    CA "overdue items limit",
    CB "charged items limit",
    CC "fee limit",
    CD "unavailable hold items",
    CF "hold queue length",
    CG "fee identifier",
    CH "item properties",
    CI "security inhibit",
    CJ "recall date",
    CK "media type",
    CL "sort bin",
    CM "hold pickup date",
    CN "login user id",
    CO "login password",
    CP "location code",
    CQ "valid patron password",
}

impl FieldId {
    /// Two printable ASCII characters, not `|`.
    pub fn parse(text: &str) -> Option<FieldId> {
        let mut chars = text.chars();
        let (a, b) = (chars.next()?, chars.next()?);
        if chars.next().is_some() {
            return None;
        }
        FieldId::from_chars(a, b)
    }

    fn from_chars(a: char, b: char) -> Option<FieldId> {
        let ok = |c: char| c.is_ascii_graphic() && c != '|';
        (ok(a) && ok(b)).then_some(FieldId([a as u8, b as u8]))
    }

    pub fn as_str(&self) -> &str {
        // Always two ASCII bytes (see `from_chars`).
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Debug for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for FieldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for FieldId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One variable field: identifier and value (without the `|`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Field {
    pub id: FieldId,
    pub value: String,
}

impl Field {
    pub fn new(id: FieldId, value: impl Into<String>) -> Field {
        Field {
            id,
            value: value.into(),
        }
    }
}

/// Puts fields in `order` (a decoded message's wire order); what `order`
/// does not mention follows in the order given. Each identifier's values
/// keep their relative order.
pub(crate) fn arrange(fields: Vec<Field>, order: &[FieldId]) -> Vec<Field> {
    if order.is_empty() {
        return fields;
    }
    let mut rank: Vec<FieldId> = Vec::new();
    let mut pool: HashMap<FieldId, VecDeque<Field>> = HashMap::new();
    for f in fields {
        if !pool.contains_key(&f.id) {
            rank.push(f.id);
        }
        pool.entry(f.id).or_default().push_back(f);
    }
    let mut out = Vec::new();
    for id in order {
        if let Some(f) = pool.get_mut(id).and_then(VecDeque::pop_front) {
            out.push(f);
        }
    }
    // Leftovers, in the order the caller gave them.
    let mut left: Vec<(usize, Field)> = Vec::new();
    for (i, id) in rank.iter().enumerate() {
        if let Some(q) = pool.remove(id) {
            left.extend(q.into_iter().map(|f| (i, f)));
        }
    }
    out.extend(left.into_iter().map(|(_, f)| f));
    out
}

// ---------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------

/// One SIP2 message, untyped: what every typed message converts to.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Message {
    /// The two-character command code, e.g. `"11"`.
    pub code: String,
    /// The fixed-width fields, concatenated, exactly as on the wire. For a
    /// code this codec does not know, everything between the code and the
    /// trailer.
    pub fixed: String,
    /// Variable fields in wire order, known and unknown.
    pub fields: Vec<Field>,
    /// The last field had no closing `|` (some servers omit it); kept so
    /// the line re-encodes as it came.
    pub last_unterminated: bool,
    /// `AY` sequence number, 0–9.
    pub seq: Option<u8>,
    /// `None`: no `AZ` checksum. `Some(ok)`: a checksum was present and
    /// matched (`ok`) or not. When encoding, `Some(_)` means "append a
    /// checksum", always computed afresh.
    pub checksum_ok: Option<bool>,
}

/// How a line ends. The standard says CR; some servers want CR LF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Terminator {
    #[default]
    Cr,
    CrLf,
    Lf,
}

impl Terminator {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Cr => b"\r",
            Terminator::CrLf => b"\r\n",
            Terminator::Lf => b"\n",
        }
    }
}

/// How the kiosk writes messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Append `AY<seq>AZ<checksum>` (only `AZ` on 96/97).
    pub error_detection: bool,
    pub charset: Charset,
    pub terminator: Terminator,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            error_detection: true,
            charset: Charset::Cp850,
            terminator: Terminator::Cr,
        }
    }
}

/// How the kiosk reads messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Require a checksum on every message. A checksum that is present is
    /// always verified.
    pub error_detection: bool,
    pub charset: Charset,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            error_detection: true,
            charset: Charset::Cp850,
        }
    }
}

/// Why bytes were not a SIP2 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("SIP2 message too short ({len} bytes): a message starts with a 2-character code")]
    TooShort { len: usize },
    #[error("line break inside a SIP2 message at byte {offset}: split lines first")]
    EmbeddedTerminator { offset: usize },
    #[error("SIP2 line of {len} bytes is longer than {MAX_LINE}: dropped")]
    TooLong { len: usize },
    #[error("SIP2 message: {0}")]
    Charset(#[from] CharsetError),
    #[error("message {code} needs {need} characters of fixed fields, has {have}")]
    ShortFixed {
        code: String,
        need: usize,
        have: usize,
    },
    #[error("message {code}: {text:?} at character {offset} is not a field identifier")]
    BadFieldId {
        code: String,
        offset: usize,
        text: String,
    },
    #[error(
        "message {code}: bad checksum {given:04X}, computed {computed:04X}: ask for a resend (97)"
    )]
    BadChecksum {
        code: String,
        given: u16,
        computed: u16,
    },
    #[error("message {code} has no checksum, but error detection is on")]
    MissingChecksum { code: String },
    #[error("expected message {expected}, got {got}")]
    WrongCode { expected: &'static str, got: String },
    #[error("message {code}, field {field}: {reason} ({text:?})")]
    BadFixed {
        code: String,
        field: &'static str,
        text: String,
        reason: String,
    },
}

/// Why a message could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("SIP2 message: {0}")]
    Charset(#[from] CharsetError),
    #[error("{0:?} is not a SIP2 command code (2 characters, no line break)")]
    BadCode(String),
    #[error("message {code}: fixed fields must be {need} characters, are {have}")]
    FixedWidth {
        code: String,
        need: usize,
        have: usize,
    },
    #[error("message {code}: field {field} {text:?}: {reason}")]
    BadFixed {
        code: String,
        field: &'static str,
        text: String,
        reason: String,
    },
    #[error("field {id}: {value:?} contains '|', CR or LF, which SIP2 cannot carry")]
    BadValue { id: FieldId, value: String },
    #[error("message {code}: a line break cannot be sent in fixed fields")]
    BadLine { code: String },
    #[error("sequence number {0} is not a single digit")]
    BadSeq(u8),
    #[error("message {code}: this field layout would read back differently")]
    Ambiguous { code: String },
}

fn bad_value(v: &str) -> bool {
    v.contains(['|', '\r', '\n'])
}

impl Message {
    /// A message with no fields and no trailer.
    pub fn new(code: impl Into<String>, fixed: impl Into<String>) -> Message {
        Message {
            code: code.into(),
            fixed: fixed.into(),
            ..Message::default()
        }
    }

    /// Adds a variable field.
    pub fn with(mut self, id: FieldId, value: impl Into<String>) -> Message {
        self.fields.push(Field::new(id, value));
        self
    }

    /// The first value of a field.
    pub fn get(&self, id: FieldId) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.value.as_str())
    }

    /// Every value of a field, in order.
    pub fn all(&self, id: FieldId) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(move |f| f.id == id)
            .map(|f| f.value.as_str())
    }

    /// The bytes on the wire, trailer exactly as `seq` and `checksum_ok`
    /// say (see `encode_message` for the kiosk's own choice).
    pub fn encode(&self, charset: Charset, terminator: Terminator) -> Result<Vec<u8>, EncodeError> {
        let mut out = self.body(charset)?;
        if let Some(seq) = self.seq {
            if seq > 9 {
                return Err(EncodeError::BadSeq(seq));
            }
            out.extend_from_slice(b"AY");
            out.push(b'0' + seq);
        }
        if self.checksum_ok.is_some() {
            out.extend_from_slice(b"AZ");
            let sum = checksum(&out);
            out.extend_from_slice(format!("{sum:04X}").as_bytes());
        }
        // A layout this encoder cannot vouch for is read back to be sure.
        if self.last_unterminated || self.fields.is_empty() || layout(&self.code).is_none() {
            let back = parse_line(&out, charset).ok().map(|(m, _)| m);
            let same = back.is_some_and(|m| {
                m.code == self.code
                    && m.fixed == self.fixed
                    && m.fields == self.fields
                    && m.last_unterminated == (self.last_unterminated && !self.fields.is_empty())
                    && m.seq == self.seq
                    && m.checksum_ok.is_some() == self.checksum_ok.is_some()
            });
            if !same {
                return Err(EncodeError::Ambiguous {
                    code: self.code.clone(),
                });
            }
        }
        out.extend_from_slice(terminator.bytes());
        Ok(out)
    }

    /// Code, fixed part and variable fields, encoded; no trailer.
    fn body(&self, charset: Charset) -> Result<Vec<u8>, EncodeError> {
        if self.code.chars().count() != 2 || self.code.contains(['\r', '\n']) {
            return Err(EncodeError::BadCode(self.code.clone()));
        }
        if self.fixed.contains(['\r', '\n']) {
            return Err(EncodeError::BadLine {
                code: self.code.clone(),
            });
        }
        if let Some(l) = layout(&self.code) {
            let have = self.fixed.chars().count();
            if have != l.fixed_width() {
                return Err(EncodeError::FixedWidth {
                    code: self.code.clone(),
                    need: l.fixed_width(),
                    have,
                });
            }
        }
        let mut text = String::with_capacity(64);
        text.push_str(&self.code);
        text.push_str(&self.fixed);
        let n = self.fields.len();
        for (i, f) in self.fields.iter().enumerate() {
            if bad_value(&f.value) {
                return Err(EncodeError::BadValue {
                    id: f.id,
                    value: f.value.clone(),
                });
            }
            text.push_str(f.id.as_str());
            text.push_str(&f.value);
            if !(self.last_unterminated && i + 1 == n) {
                text.push('|');
            }
        }
        Ok(charset.encode(&text)?)
    }
}

/// Encodes a message the way the kiosk sends it: with error detection,
/// `AY<seq>AZ<checksum>` (96/97: only `AZ`), otherwise no trailer at all,
/// whatever `msg.seq` and `msg.checksum_ok` say.
pub fn encode_message(
    msg: &Message,
    seq: u8,
    opts: &EncodeOptions,
) -> Result<Vec<u8>, EncodeError> {
    let mut m = msg.clone();
    if opts.error_detection {
        m.seq = (!is_resend(&m.code)).then_some(seq);
        m.checksum_ok = Some(true);
    } else {
        m.seq = None;
        m.checksum_ok = None;
    }
    m.encode(opts.charset, opts.terminator)
}

/// Appends `AY<seq>AZ<checksum>` to a message typed without one (`AZ`
/// only for 96/97, or when `seq` is `None`). The checksum covers the
/// message encoded in `charset`.
pub fn append_checksum(
    text: &str,
    seq: Option<u8>,
    charset: Charset,
) -> Result<String, EncodeError> {
    let mut bytes = charset.encode(text)?;
    let mut tail = String::new();
    if let Some(seq) = seq.filter(|_| !is_resend(text.get(..2).unwrap_or(""))) {
        if seq > 9 {
            return Err(EncodeError::BadSeq(seq));
        }
        tail.push_str(&format!("AY{seq}"));
    }
    tail.push_str("AZ");
    bytes.extend_from_slice(tail.as_bytes());
    tail.push_str(&format!("{:04X}", checksum(&bytes)));
    Ok(format!("{text}{tail}"))
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Strips one CR, CR LF or LF from the end.
fn strip_terminator(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n")
        .or_else(|| line.strip_suffix(b"\r"))
        .or_else(|| line.strip_suffix(b"\n"))
        .unwrap_or(line)
}

/// Reads one line (a terminator at the end is optional) without judging
/// its checksum: `checksum_ok` says what was found. For the tools that show
/// a bad message; a kiosk talking to a server uses `decode`.
pub fn parse(line: &[u8], charset: Charset) -> Result<Message, DecodeError> {
    parse_line(line, charset).map(|(m, _)| m)
}

/// Reads one line and checks it: a bad checksum, or a missing one when
/// error detection is on, is an error (answer it with a 97).
pub fn decode(line: &[u8], opts: &DecodeOptions) -> Result<Message, DecodeError> {
    let (m, sums) = parse_line(line, opts.charset)?;
    match sums {
        Some((given, computed)) if given != computed => Err(DecodeError::BadChecksum {
            code: m.code,
            given,
            computed,
        }),
        None if opts.error_detection => Err(DecodeError::MissingChecksum { code: m.code }),
        _ => Ok(m),
    }
}

/// The parser behind `parse` and `decode`; also returns (given, computed)
/// checksums when there was one.
fn parse_line(line: &[u8], charset: Charset) -> Result<(Message, Option<(u16, u16)>), DecodeError> {
    let line = strip_terminator(line);
    if let Some(offset) = line.iter().position(|&b| b == b'\r' || b == b'\n') {
        return Err(DecodeError::EmbeddedTerminator { offset });
    }
    let mut body = line;
    let mut sums = None;
    let n = body.len();
    if n >= 8 && &body[n - 6..n - 4] == b"AZ" && body[n - 4..].iter().all(u8::is_ascii_hexdigit) {
        let given = body[n - 4..]
            .iter()
            .fold(0u16, |acc, &h| (acc << 4) | hex_value(h));
        sums = Some((given, checksum(&body[..n - 4])));
        body = &body[..n - 6];
    }
    let mut text = charset.decode(body)?;
    let Some(code_len) = text
        .char_indices()
        .nth(2)
        .map(|(i, _)| i)
        .or_else(|| (text.chars().count() == 2).then_some(text.len()))
    else {
        return Err(DecodeError::TooShort { len: line.len() });
    };
    let fixed_width = layout(&text[..code_len]).map(|l| l.fixed_width());
    let mut seq = None;
    let n = text.len();
    let tail = text.as_bytes();
    if n >= code_len + 3 && &tail[n - 3..n - 1] == b"AY" && tail[n - 1].is_ascii_digit() {
        let before = n - 3;
        // With a checksum the trailer is certain; without one, AY<digit>
        // counts only where a field could start.
        let at_field_start = tail.get(before.wrapping_sub(1)) == Some(&b'|')
            || fixed_width.is_some_and(|w| text[code_len..before].chars().count() == w);
        if sums.is_some() || at_field_start {
            seq = Some(tail[n - 1] - b'0');
            text.truncate(before);
        }
    }
    let code = text[..code_len].to_string();
    let rest = &text[code_len..];
    let (fixed, vars) = match fixed_width {
        None => (rest, ""),
        Some(w) => {
            let cut = rest.char_indices().nth(w).map(|(i, _)| i);
            match cut {
                Some(i) => rest.split_at(i),
                None if rest.chars().count() == w => (rest, ""),
                None => {
                    return Err(DecodeError::ShortFixed {
                        code,
                        need: w,
                        have: rest.chars().count(),
                    })
                }
            }
        }
    };
    let mut fields = Vec::new();
    let mut last_unterminated = false;
    let mut rest = vars;
    let mut offset = 2 + fixed.chars().count();
    while !rest.is_empty() {
        let mut chars = rest.chars();
        let id = match (chars.next(), chars.next()) {
            (Some(a), Some(b)) => FieldId::from_chars(a, b),
            _ => None,
        };
        let Some(id) = id else {
            return Err(DecodeError::BadFieldId {
                code,
                offset,
                text: rest.chars().take(2).collect(),
            });
        };
        let after = &rest[2..];
        let (value, next) = match after.find('|') {
            Some(i) => (&after[..i], &after[i + 1..]),
            None => {
                last_unterminated = true;
                (after, "")
            }
        };
        offset += 3 + value.chars().count();
        fields.push(Field::new(id, value));
        rest = next;
    }
    let msg = Message {
        code,
        fixed: fixed.to_string(),
        fields,
        last_unterminated,
        seq,
        checksum_ok: sums.map(|(g, c)| g == c),
    };
    Ok((msg, sums))
}

fn hex_value(h: u8) -> u16 {
    u16::from(match h {
        b'0'..=b'9' => h - b'0',
        b'a'..=b'f' => h - b'a' + 10,
        b'A'..=b'F' => h - b'A' + 10,
        _ => 0,
    })
}

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

/// Splits a byte stream into lines at CR, CR LF or LF, in any pieces.
/// Empty lines are skipped; a line longer than `MAX_LINE` is reported once
/// and dropped up to its terminator.
#[derive(Debug, Default, Clone)]
pub struct LineSplitter {
    buf: Vec<u8>,
    after_cr: bool,
    /// Bytes dropped from the current over-long line.
    overflow: usize,
}

impl LineSplitter {
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Adds bytes; returns every line completed (without its terminator).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, DecodeError>> {
        let mut out = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    if self.overflow > 0 {
                        out.push(Err(DecodeError::TooLong {
                            len: self.overflow + self.buf.len(),
                        }));
                        self.overflow = 0;
                        self.buf.clear();
                    } else if !self.buf.is_empty() {
                        out.push(Ok(std::mem::take(&mut self.buf)));
                    }
                }
                _ if self.overflow > 0 => self.overflow += 1,
                _ if self.buf.len() >= MAX_LINE => {
                    self.overflow = self.buf.len() + 1;
                    self.buf.clear();
                }
                _ => self.buf.push(b),
            }
        }
        out
    }

    /// Bytes waiting for a terminator.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// Sans-IO reader: feed bytes as they arrive, get decoded messages.
#[derive(Debug, Clone)]
pub struct Decoder {
    lines: LineSplitter,
    opts: DecodeOptions,
}

impl Decoder {
    pub fn new(opts: DecodeOptions) -> Decoder {
        Decoder {
            lines: LineSplitter::new(),
            opts,
        }
    }

    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Message, DecodeError>> {
        self.lines
            .feed(bytes)
            .into_iter()
            .map(|line| line.and_then(|l| decode(&l, &self.opts)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(s: &str) -> Vec<u8> {
        Charset::Cp850.encode(s).unwrap()
    }

    #[test]
    fn checksum_of_the_well_known_status_request() {
        assert_eq!(checksum(b"9900302.00AY1AZ"), 0xFCA5);
        assert_eq!(
            append_checksum("9900302.00", Some(1), Charset::Cp850).unwrap(),
            "9900302.00AY1AZFCA5"
        );
        assert_eq!(
            append_checksum("97", Some(3), Charset::Ascii).unwrap(),
            "97AZFEF5"
        );
    }

    #[test]
    fn field_ids() {
        assert_eq!(FieldId::AO.as_str(), "AO");
        assert_eq!(FieldId::AO.name(), Some("institution id"));
        assert_eq!(FieldId::parse("ZZ").unwrap().name(), None);
        assert!(FieldId::parse("A|").is_none());
        assert!(FieldId::parse("A").is_none());
        assert!(FieldId::parse("AÉ").is_none());
    }

    #[test]
    fn splits_fixed_and_variable_fields() {
        let m = parse(
            &cp("2300120260301    093005AOlib|AA123|AC|AD1234|AY2AZF5B3\r"),
            Charset::Cp850,
        );
        let m = m.unwrap();
        assert_eq!(m.code, "23");
        assert_eq!(m.fixed, "00120260301    093005");
        assert_eq!(m.get(FieldId::AA), Some("123"));
        assert_eq!(m.get(FieldId::AC), Some(""));
        assert_eq!(m.seq, Some(2));
        assert_eq!(m.fields.len(), 4);
    }

    #[test]
    fn unterminated_last_field_round_trips() {
        let line = b"941";
        let m = parse(line, Charset::Ascii).unwrap();
        assert_eq!(m.fixed, "1");
        let line = b"2300120260301    093005AOlib|AA123";
        let m = parse(line, Charset::Ascii).unwrap();
        assert!(m.last_unterminated);
        assert_eq!(m.get(FieldId::AA), Some("123"));
        let out = m.encode(Charset::Ascii, Terminator::Cr).unwrap();
        assert_eq!(&out[..out.len() - 1], line);
    }

    #[test]
    fn seq_without_checksum_only_at_a_field_start() {
        let m = parse(b"2300120260301    093005AOlib|AY4", Charset::Ascii).unwrap();
        assert_eq!(m.seq, Some(4));
        let m = parse(b"2300120260301    093005AOlibAY4", Charset::Ascii).unwrap();
        assert_eq!(m.seq, None);
        assert_eq!(m.get(FieldId::AO), Some("libAY4"));
    }

    #[test]
    fn an_ambiguous_message_is_refused() {
        let mut m = Message::new("23", "00120260301    093005").with(FieldId::AF, "xAZ1234");
        m.last_unterminated = true;
        assert!(matches!(
            m.encode(Charset::Ascii, Terminator::Cr),
            Err(EncodeError::Ambiguous { .. })
        ));
        m.last_unterminated = false;
        assert!(m.encode(Charset::Ascii, Terminator::Cr).is_ok());
    }

    #[test]
    fn arrange_follows_wire_order_then_the_rest() {
        let f = |id, v: &str| Field::new(id, v);
        let got = arrange(
            vec![
                f(FieldId::AO, "1"),
                f(FieldId::AA, "2"),
                f(FieldId::AF, "a"),
                f(FieldId::AF, "b"),
            ],
            &[FieldId::AF, FieldId::AA, FieldId::AF],
        );
        let ids: Vec<_> = got.iter().map(|f| (f.id, f.value.as_str())).collect();
        assert_eq!(
            ids,
            vec![
                (FieldId::AF, "a"),
                (FieldId::AA, "2"),
                (FieldId::AF, "b"),
                (FieldId::AO, "1")
            ]
        );
    }

    #[test]
    fn splitter_handles_every_terminator_in_pieces() {
        let mut s = LineSplitter::new();
        let mut got = Vec::new();
        for chunk in [&b"94"[..], b"1\r", b"\n941\n", b"\r\r941", b"\r"] {
            got.extend(s.feed(chunk));
        }
        let lines: Vec<_> = got.into_iter().map(Result::unwrap).collect();
        assert_eq!(
            lines,
            vec![b"941".to_vec(), b"941".to_vec(), b"941".to_vec()]
        );
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn splitter_drops_overlong_lines() {
        let mut s = LineSplitter::new();
        let mut got = s.feed(&vec![b'9'; MAX_LINE + 10]);
        assert!(got.is_empty());
        got = s.feed(b"\r941\r");
        assert_eq!(got.len(), 2);
        assert!(matches!(got[0], Err(DecodeError::TooLong { len }) if len == MAX_LINE + 10));
        assert_eq!(got[1].as_ref().unwrap(), b"941");
    }
}
