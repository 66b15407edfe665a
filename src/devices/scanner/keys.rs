//! Keyboard-wedge scanners: scanners that pretend to be a keyboard and type
//! each code followed by Enter. Three views of the same keystrokes:
//!
//! - [`WedgeDetector`]: characters as the GUI receives them, with their
//!   times; a fast burst ending in Enter is a scan, anything else is a
//!   person typing and goes back to the text field;
//! - [`BootKeyboard`]: 8-byte HID boot reports (hidraw);
//! - [`EvdevKeys`]: Linux input events (a grabbed `/dev/input/event*`).
//!
//! The last two share one key table (US layout, as scanners default to) and
//! one line builder, so they cannot disagree about a code.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{code_from_text, Noise};

/// What a key means to a scanner typing a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key {
    Char {
        plain: char,
        shifted: char,
    },
    Enter,
    /// Keys that type nothing in a code (Esc, Backspace, Tab, locks…).
    Ignored,
}

impl Key {
    fn same(c: char) -> Key {
        Key::Char {
            plain: c,
            shifted: c,
        }
    }

    fn pair(plain: char, shifted: char) -> Key {
        Key::Char { plain, shifted }
    }
}

/// The key for a HID keyboard usage (page 0x07), US layout. Keypad keys
/// type the same with or without Shift (NumLock assumed on, as scanners
/// that use the keypad expect).
pub(crate) fn hid_key(usage: u8) -> Key {
    const DIGITS: &[u8; 10] = b"1234567890";
    const SHIFTED_DIGITS: &[u8; 10] = b"!@#$%^&*()";
    const KEYPAD_DIGITS: &[u8; 10] = b"1234567890";
    match usage {
        0x04..=0x1D => {
            let c = char::from(b'a' + (usage - 0x04));
            Key::pair(c, c.to_ascii_uppercase())
        }
        0x1E..=0x27 => {
            let i = usize::from(usage - 0x1E);
            Key::pair(char::from(DIGITS[i]), char::from(SHIFTED_DIGITS[i]))
        }
        0x28 | 0x58 => Key::Enter,
        0x2C => Key::same(' '),
        0x2D => Key::pair('-', '_'),
        0x2E => Key::pair('=', '+'),
        0x2F => Key::pair('[', '{'),
        0x30 => Key::pair(']', '}'),
        0x31 => Key::pair('\\', '|'),
        0x33 => Key::pair(';', ':'),
        0x34 => Key::pair('\'', '"'),
        0x35 => Key::pair('`', '~'),
        0x36 => Key::pair(',', '<'),
        0x37 => Key::pair('.', '>'),
        0x38 => Key::pair('/', '?'),
        0x54 => Key::same('/'),
        0x55 => Key::same('*'),
        0x56 => Key::same('-'),
        0x57 => Key::same('+'),
        0x59..=0x62 => Key::same(char::from(KEYPAD_DIGITS[usize::from(usage - 0x59)])),
        0x63 => Key::same('.'),
        _ => Key::Ignored,
    }
}

/// The main-block HID usage and Shift state that type `c`, if any: the
/// inverse of [`hid_key`], used by the simulator.
pub(crate) fn hid_usage_for(c: char) -> Option<(u8, bool)> {
    (0x04..=0x38u8).find_map(|usage| match hid_key(usage) {
        Key::Char { plain, .. } if plain == c => Some((usage, false)),
        Key::Char { shifted, .. } if shifted == c => Some((usage, true)),
        _ => None,
    })
}

/// Linux `EV_KEY` event type.
pub(crate) const EV_KEY: u16 = 1;
const KEY_LEFTSHIFT: u16 = 42;
const KEY_RIGHTSHIFT: u16 = 54;

/// The HID usage of a Linux key code (`linux/input-event-codes.h`), for the
/// keys a scanner types. Linux numbers keys by their place on the board,
/// so letters follow the QWERTY rows.
pub(crate) fn linux_to_hid(code: u16) -> Option<u8> {
    const ROW_Q: &[u8] = b"qwertyuiop"; // KEY_Q = 16
    const ROW_A: &[u8] = b"asdfghjkl"; // KEY_A = 30
    const ROW_Z: &[u8] = b"zxcvbnm"; // KEY_Z = 44
    let letter = |row: &[u8], first: u16| {
        row.get(usize::from(code - first))
            .map(|&c| 0x04 + (c - b'a'))
    };
    let usage = match code {
        2..=10 => 0x1E + (code - 2) as u8, // KEY_1..KEY_9
        11 => 0x27,                        // KEY_0
        12 => 0x2D,                        // KEY_MINUS
        13 => 0x2E,                        // KEY_EQUAL
        14 => 0x2A,                        // KEY_BACKSPACE
        15 => 0x2B,                        // KEY_TAB
        16..=25 => letter(ROW_Q, 16)?,
        26 => 0x2F, // KEY_LEFTBRACE
        27 => 0x30, // KEY_RIGHTBRACE
        28 => 0x28, // KEY_ENTER
        30..=38 => letter(ROW_A, 30)?,
        39 => 0x33, // KEY_SEMICOLON
        40 => 0x34, // KEY_APOSTROPHE
        41 => 0x35, // KEY_GRAVE
        43 => 0x31, // KEY_BACKSLASH
        44..=50 => letter(ROW_Z, 44)?,
        51 => 0x36, // KEY_COMMA
        52 => 0x37, // KEY_DOT
        53 => 0x38, // KEY_SLASH
        55 => 0x55, // KEY_KPASTERISK
        57 => 0x2C, // KEY_SPACE
        71 => 0x5F, // KEY_KP7
        72 => 0x60, // KEY_KP8
        73 => 0x61, // KEY_KP9
        74 => 0x56, // KEY_KPMINUS
        75 => 0x5C, // KEY_KP4
        76 => 0x5D, // KEY_KP5
        77 => 0x5E, // KEY_KP6
        78 => 0x57, // KEY_KPPLUS
        79 => 0x59, // KEY_KP1
        80 => 0x5A, // KEY_KP2
        81 => 0x5B, // KEY_KP3
        82 => 0x62, // KEY_KP0
        83 => 0x63, // KEY_KPDOT
        96 => 0x58, // KEY_KPENTER
        98 => 0x54, // KEY_KPSLASH
        _ => return None,
    };
    Some(usage)
}

/// Longest code a keystroke decoder keeps, in characters, by default.
const DEFAULT_MAX_LEN: usize = 64;

/// Builds one code from keys until Enter; bounded in memory.
#[derive(Debug, Clone)]
struct KeyLine {
    text: String,
    /// Characters typed on this line, including those beyond `max_len`.
    chars: usize,
    max_len: usize,
}

impl KeyLine {
    fn new(max_len: usize) -> KeyLine {
        KeyLine {
            text: String::new(),
            chars: 0,
            max_len,
        }
    }

    /// Applies one key press; a finished line (code or noise) on Enter.
    fn press(&mut self, key: Key, shift: bool) -> Option<Result<String, Noise>> {
        match key {
            Key::Char { plain, shifted } => {
                self.chars = self.chars.saturating_add(1);
                if self.chars <= self.max_len {
                    self.text.push(if shift { shifted } else { plain });
                }
                None
            }
            Key::Enter => self.finish(),
            Key::Ignored => None,
        }
    }

    fn finish(&mut self) -> Option<Result<String, Noise>> {
        let chars = std::mem::take(&mut self.chars);
        let text = std::mem::take(&mut self.text);
        if chars == 0 {
            None
        } else if chars > self.max_len {
            Some(Err(Noise::TooLong {
                len: chars,
                max: self.max_len,
            }))
        } else {
            Some(code_from_text(&text))
        }
    }

    /// Drops a partial line (after a quiet gap), as noise.
    fn idle(&mut self) -> Option<Noise> {
        let len = std::mem::take(&mut self.chars);
        self.text.clear();
        (len > 0).then_some(Noise::Partial { len })
    }
}

/// Running totals of a keystroke decoder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyStats {
    /// Codes delivered.
    pub codes: u64,
    /// Lines discarded as noise (too long, empty, idled).
    pub noise: u64,
}

impl KeyStats {
    fn count(&mut self, line: Option<Result<String, Noise>>) -> Option<String> {
        match line? {
            Ok(code) => {
                self.codes += 1;
                Some(code)
            }
            Err(_) => {
                self.noise += 1;
                None
            }
        }
    }
}

/// Bytes in a HID boot keyboard report: `[modifiers, 0, k1..k6]`.
pub const BOOT_REPORT_LEN: usize = 8;
/// Left and right Shift in the modifier byte.
const SHIFT_BITS: u8 = 0x22;

/// Running totals of a [`BootKeyboard`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BootStats {
    /// Reports fed in.
    pub reports: u64,
    /// Reports ignored for having the wrong length.
    pub bad_reports: u64,
    /// Codes delivered and lines discarded.
    pub keys: KeyStats,
}

/// Decodes HID boot keyboard reports into codes. A key counts when it
/// first appears in a report, so a key held across reports (rollover) is
/// typed once, and a release report lets the same key be typed again.
#[derive(Debug, Clone)]
pub struct BootKeyboard {
    /// Keys down in the previous report.
    held: [u8; 6],
    line: KeyLine,
    /// Codes finished but not yet returned (two in one report is possible).
    ready: VecDeque<String>,
    stats: BootStats,
}

impl Default for BootKeyboard {
    fn default() -> Self {
        BootKeyboard::new()
    }
}

impl BootKeyboard {
    /// A decoder for codes of up to 64 characters.
    pub fn new() -> BootKeyboard {
        BootKeyboard::with_max_len(DEFAULT_MAX_LEN)
    }

    pub fn with_max_len(max_len: usize) -> BootKeyboard {
        BootKeyboard {
            held: [0; 6],
            line: KeyLine::new(max_len),
            ready: VecDeque::new(),
            stats: BootStats::default(),
        }
    }

    pub fn stats(&self) -> BootStats {
        self.stats
    }

    /// Feeds one report; returns a code when one is complete (on Enter).
    /// Reports of the wrong length are counted and ignored, and so is the
    /// keyboard's "too many keys" report (all key slots 0x01).
    pub fn feed(&mut self, report: &[u8]) -> Option<String> {
        self.stats.reports += 1;
        let Ok(report) = <&[u8; BOOT_REPORT_LEN]>::try_from(report) else {
            self.stats.bad_reports += 1;
            return self.ready.pop_front();
        };
        let keys = &report[2..];
        // 0x01..=0x03 are error states (rollover, POST fail, undefined):
        // the key slots say nothing about which keys are down.
        if keys.iter().any(|&k| (0x01..=0x03).contains(&k)) {
            return self.ready.pop_front();
        }
        let shift = report[0] & SHIFT_BITS != 0;
        for (i, &usage) in keys.iter().enumerate() {
            let new = usage != 0 && !self.held.contains(&usage) && !keys[..i].contains(&usage);
            if new {
                let line = self.line.press(hid_key(usage), shift);
                if let Some(code) = self.stats.keys.count(line) {
                    self.ready.push_back(code);
                }
            }
        }
        self.held.copy_from_slice(keys);
        self.ready.pop_front()
    }

    /// Drops a partial code after a quiet gap; the noise, if there was one.
    pub fn idle(&mut self) -> Option<Noise> {
        self.held = [0; 6];
        let noise = self.line.idle();
        if noise.is_some() {
            self.stats.keys.noise += 1;
        }
        noise
    }
}

/// Decodes Linux input events (`EV_KEY`) into codes, with the same key
/// table as [`BootKeyboard`]. Pure: feed it `(type, code, value)` triples.
#[derive(Debug, Clone)]
pub struct EvdevKeys {
    left_shift: bool,
    right_shift: bool,
    line: KeyLine,
    stats: KeyStats,
}

impl Default for EvdevKeys {
    fn default() -> Self {
        EvdevKeys::new()
    }
}

impl EvdevKeys {
    /// A decoder for codes of up to 64 characters.
    pub fn new() -> EvdevKeys {
        EvdevKeys::with_max_len(DEFAULT_MAX_LEN)
    }

    pub fn with_max_len(max_len: usize) -> EvdevKeys {
        EvdevKeys {
            left_shift: false,
            right_shift: false,
            line: KeyLine::new(max_len),
            stats: KeyStats::default(),
        }
    }

    pub fn stats(&self) -> KeyStats {
        self.stats
    }

    /// Feeds one input event; returns a code on Enter. Only key presses
    /// type (value 1); releases (0) and autorepeats (2) matter for Shift only.
    pub fn feed(&mut self, event_type: u16, code: u16, value: i32) -> Option<String> {
        if event_type != EV_KEY {
            return None;
        }
        match code {
            KEY_LEFTSHIFT => self.left_shift = value != 0,
            KEY_RIGHTSHIFT => self.right_shift = value != 0,
            _ if value == 1 => {
                let key = linux_to_hid(code).map_or(Key::Ignored, hid_key);
                let shift = self.left_shift || self.right_shift;
                return self.stats.count(self.line.press(key, shift));
            }
            _ => {}
        }
        None
    }

    /// Drops a partial code after a quiet gap; the noise, if there was one.
    pub fn idle(&mut self) -> Option<Noise> {
        let noise = self.line.idle();
        if noise.is_some() {
            self.stats.noise += 1;
        }
        noise
    }
}

/// How fast keys must come to be a scanner rather than a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WedgeConfig {
    /// Longest pause between keys of one scan (and before its Enter),
    /// seen while the kiosk was free to see keys. Scanners type every few
    /// ms; people rarely manage under 50 ms.
    pub max_gap: Duration,
    /// Fewest characters in a scan; shorter bursts are a person.
    pub min_len: usize,
}

impl Default for WedgeConfig {
    fn default() -> Self {
        WedgeConfig {
            max_gap: Duration::from_millis(30),
            min_len: 4,
        }
    }
}

/// What the GUI does with keystrokes after the detector has seen them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WedgeOut {
    /// A scanner's burst ending in Enter: the code, normalized.
    Scan(String),
    /// Characters a person typed, in order: hand them to the text field.
    Typed(String),
    /// A person pressed Enter (after any `Typed` before it): pass it on.
    Enter,
    /// The last this many characters handed back as `Typed` were the
    /// start of a scan after all (the scan follows at once): take them
    /// back out of the text field.
    Retract(usize),
}

/// Most characters held back at once; a longer fast run is a held key or
/// a stuck scanner, so it is handed on as typing.
const MAX_PENDING: usize = 256;

/// Longest pause inside one scan after which a burst handed over as
/// typing is still taken back when the scan's rest follows. The detector
/// does not split a burst across a pause the kiosk did not see while idle
/// (see [`WedgeDetector`]); some scanners do pause inside a code (a
/// Bluetooth wedge sends in chunks), and a stall the timer saw as quiet is
/// caught here. A burst cut off that way and a burst ending in Enter
/// right after it are one scan.
const STALL: Duration = Duration::from_secs(1);

/// The latest a tick may be handled after its timer fired and still show
/// that the kiosk was free to see keys (a quarter of `max_gap` when that
/// is shorter). A burst is split across a stall only if every tick since
/// its last key was this timely although the thread was busy for longer
/// than `max_gap` minus a scanner's key gap and the GUI's 10 ms period.
const TIMELY: Duration = Duration::from_millis(5);

/// Tells a keyboard-wedge scanner from a person typing, from key times.
///
/// Characters are held back while they might be a scan and then either
/// come out as one [`WedgeOut::Scan`] (Enter after at least `min_len`) or
/// are handed back as [`WedgeOut::Typed`] once the keys have paused for
/// more than `max_gap`.
///
/// A pause is only believed when the kiosk saw it while free to see keys.
/// The GUI stamps keys when it handles them, not when they were typed:
/// while its thread is busy (drawing a new screen takes tens of
/// milliseconds on a slow or loaded machine) a scanner's keys wait in the
/// window system's queue, and the gap between two keys of one burst, as
/// the app sees them, holds that busy time. So the gap between keys never
/// splits a burst; the GUI's timer does, through [`tick`](Self::tick)
/// with the instant the timer fired and the instant the tick is handled.
/// A tick handled late shows the thread was busy (keys may be queued
/// behind it), and so does a tick after more than `max_gap` with no tick
/// or key seen: both only move the start of the quiet time on. A tick
/// handled on time, `max_gap` into the quiet time, is a person's pause.
///
/// A burst handed back all the same (see [`STALL`]) is taken back
/// ([`WedgeOut::Retract`]) when the rest of the scan follows; people do
/// not type several keys within `max_gap`.
#[derive(Debug, Clone)]
pub struct WedgeDetector {
    config: WedgeConfig,
    pending: String,
    pending_chars: usize,
    /// Time of the first and of the last pending key.
    first: Option<Instant>,
    last: Option<Instant>,
    /// Since when no key came while the kiosk was free to see one: the
    /// last pending key's time, moved on by ticks that show it was busy.
    quiet_from: Option<Instant>,
    /// When the kiosk was last seen handling a key or a tick.
    seen: Option<Instant>,
    /// Fast keys handed back since the last Enter, and when the last of
    /// them came: the start of a scan if its rest follows within STALL.
    cut: Option<(String, Instant)>,
}

impl WedgeDetector {
    pub fn new(config: WedgeConfig) -> WedgeDetector {
        WedgeDetector {
            config,
            pending: String::new(),
            pending_chars: 0,
            first: None,
            last: None,
            quiet_from: None,
            seen: None,
            cut: None,
        }
    }

    pub fn config(&self) -> &WedgeConfig {
        &self.config
    }

    /// A character key was handled at `at`. CR and LF count as Enter.
    pub fn key(&mut self, ch: char, at: Instant) -> Vec<WedgeOut> {
        if ch == '\r' || ch == '\n' {
            return self.enter();
        }
        let mut out = Vec::new();
        if self.pending_chars >= MAX_PENDING {
            // A held key or a stuck scanner: never the start of a scan.
            out.extend(self.hand_back());
            self.cut = None;
        }
        if self.pending_chars == 0 {
            self.first = Some(at);
        }
        self.pending.push(ch);
        self.pending_chars += 1;
        self.last = Some(at);
        self.quiet_from = Some(at);
        self.seen = Some(at);
        out
    }

    /// Enter: a scan if at least `min_len` characters are held back (no
    /// pause seen since they began), with any start of it handed over as
    /// typing just before; otherwise the person's keys and their Enter.
    pub fn enter(&mut self) -> Vec<WedgeOut> {
        let mut out = Vec::new();
        let cut = self.cut.take();
        if self.pending_chars >= self.config.min_len.max(1) {
            if let Ok(code) = code_from_text(&self.pending) {
                // The scan's start, cut off by a pause just before?
                let resumed = match (&cut, self.first) {
                    (Some((_, cut_at)), Some(first)) => {
                        first.saturating_duration_since(*cut_at) <= STALL
                    }
                    _ => false,
                };
                let whole = cut.filter(|_| resumed).and_then(|(start, _)| {
                    let n = start.chars().count();
                    code_from_text(&(start + &self.pending))
                        .ok()
                        .map(|c| (n, c))
                });
                self.clear();
                match whole {
                    Some((n, code)) => {
                        out.push(WedgeOut::Retract(n));
                        out.push(WedgeOut::Scan(code));
                    }
                    None => out.push(WedgeOut::Scan(code)),
                }
                return out;
            }
        }
        out.extend(self.hand_back());
        self.cut = None;
        out.push(WedgeOut::Enter);
        out
    }

    /// The GUI's timer fired at `fired` and the tick is handled at `now`:
    /// keys held back through a pause of more than `max_gap`, watched by
    /// timely ticks, are a person's.
    pub fn tick(&mut self, fired: Instant, now: Instant) -> Vec<WedgeOut> {
        let (Some(from), Some(seen)) = (self.quiet_from, self.seen) else {
            return Vec::new();
        };
        let late = now.saturating_duration_since(fired) > self.timely();
        // Nothing seen of the kiosk for longer than max_gap (its timer did
        // not run): no more a sign of a pause than a late tick.
        let unwatched = fired.saturating_duration_since(seen) > self.config.max_gap;
        if late || unwatched {
            let busy_until = if late { now } else { fired };
            self.quiet_from = Some(from.max(busy_until));
            self.seen = Some(seen.max(busy_until));
            return Vec::new();
        }
        self.seen = Some(seen.max(fired));
        if fired.saturating_duration_since(from) > self.config.max_gap {
            return self.hand_back().into_iter().collect();
        }
        Vec::new()
    }

    fn timely(&self) -> Duration {
        TIMELY.min(self.config.max_gap / 4)
    }

    /// When a timely [`tick`](Self::tick) would next hand keys back, if
    /// any are held.
    pub fn deadline(&self) -> Option<Instant> {
        let from = self.quiet_from?;
        from.checked_add(self.config.max_gap + Duration::from_millis(1))
    }

    /// Whether characters are being held back.
    pub fn is_holding(&self) -> bool {
        self.pending_chars > 0
    }

    /// The held keys go out as typing. Several fast ones are remembered
    /// as a possible scan's start (joined to one cut just before); a
    /// single key ends any such start.
    fn hand_back(&mut self) -> Option<WedgeOut> {
        let text = std::mem::take(&mut self.pending);
        let (burst, first, last) = (self.pending_chars >= 2, self.first, self.last);
        self.clear();
        if text.is_empty() {
            return None;
        }
        self.cut = match (burst, first, last) {
            (true, Some(first), Some(last)) => Some(match self.cut.take() {
                Some((before, at)) if first.saturating_duration_since(at) <= STALL => {
                    (before + &text, last)
                }
                _ => (text.clone(), last),
            }),
            _ => None,
        };
        Some(WedgeOut::Typed(text))
    }

    fn clear(&mut self) {
        self.pending.clear();
        self.pending_chars = 0;
        self.first = None;
        self.last = None;
        self.quiet_from = None;
        self.seen = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::scanner::SimScanner;
    use crate::domain::barcode::normalize;
    use proptest::prelude::*;

    const PATRON: &str = "21234567890124";

    fn report(modifiers: u8, keys: &[u8]) -> [u8; 8] {
        let mut r = [0u8; 8];
        r[0] = modifiers;
        r[2..2 + keys.len()].copy_from_slice(keys);
        r
    }

    const RELEASE: [u8; 8] = [0; 8];

    /// Reports typing `code` then Enter, as the simulator makes them.
    fn typed(code: &str) -> Vec<[u8; 8]> {
        SimScanner::new(Vec::new(), b"\r".to_vec())
            .boot_reports(code)
            .expect("typeable")
    }

    fn decode_all(kb: &mut BootKeyboard, reports: &[[u8; 8]]) -> Vec<String> {
        reports.iter().filter_map(|r| kb.feed(r)).collect()
    }

    #[test]
    fn hid_table_covers_the_protocol_ranges() {
        assert_eq!(hid_key(0x04), Key::pair('a', 'A'));
        assert_eq!(hid_key(0x1D), Key::pair('z', 'Z'));
        assert_eq!(hid_key(0x1E), Key::pair('1', '!'));
        assert_eq!(hid_key(0x26), Key::pair('9', '('));
        assert_eq!(hid_key(0x27), Key::pair('0', ')'));
        assert_eq!(hid_key(0x28), Key::Enter);
        assert_eq!(hid_key(0x58), Key::Enter);
        assert_eq!(hid_key(0x59), Key::same('1'));
        assert_eq!(hid_key(0x62), Key::same('0'));
        assert_eq!(hid_key(0x29), Key::Ignored);
        assert_eq!(hid_key(0xE1), Key::Ignored);
        for c in ('!'..='~').chain([' ']) {
            let (usage, shift) = hid_usage_for(c).expect("typeable ASCII");
            match hid_key(usage) {
                Key::Char { plain, shifted } => {
                    assert_eq!(if shift { shifted } else { plain }, c)
                }
                other => panic!("{c:?} maps to {other:?}"),
            }
        }
        assert_eq!(hid_usage_for('é'), None);
    }

    #[test]
    fn boot_reports_with_releases_give_the_code() {
        let mut kb = BootKeyboard::new();
        let mut reports = Vec::new();
        for &usage in &[0x1F, 0x1E, 0x1F, 0x20, 0x28] {
            reports.push(report(0, &[usage]));
            reports.push(RELEASE);
        }
        assert_eq!(decode_all(&mut kb, &reports), vec!["2123".to_string()]);
        let s = kb.stats();
        assert_eq!((s.reports, s.bad_reports, s.keys.codes), (10, 0, 1));
    }

    #[test]
    fn boot_shift_types_upper_case_and_symbols() {
        let mut kb = BootKeyboard::new();
        let reports = [
            report(0x02, &[0x04]), // left shift + a
            RELEASE,
            report(0x20, &[0x1E]), // right shift + 1
            RELEASE,
            report(0x00, &[0x04]),
            RELEASE,
            report(0x22, &[0x2D]), // both shifts + minus
            report(0x00, &[0x28]),
            RELEASE,
        ];
        assert_eq!(decode_all(&mut kb, &reports), vec!["A!a_".to_string()]);
        // Other modifiers (Ctrl 0x01, Alt 0x04) are not Shift.
        let mut kb = BootKeyboard::new();
        let reports = [report(0x05, &[0x04]), report(0, &[0x28])];
        assert_eq!(decode_all(&mut kb, &reports), vec!["a".to_string()]);
    }

    #[test]
    fn boot_rollover_does_not_double_a_held_key() {
        let mut kb = BootKeyboard::new();
        let reports = [
            report(0, &[0x1F]),       // 2 down
            report(0, &[0x1F, 0x1E]), // 2 still held, 1 down
            report(0, &[0x1E]),       // 2 up
            report(0, &[0x1E, 0x1F]), // 2 again
            report(0, &[0x1E, 0x1F]), // repeated report, nothing new
            RELEASE,
            report(0, &[0x1F]), // same key after a release: typed again
            report(0, &[0x1F, 0x28]),
            RELEASE,
        ];
        assert_eq!(decode_all(&mut kb, &reports), vec!["2122".to_string()]);
    }

    #[test]
    fn boot_key_order_within_a_report_is_kept() {
        let mut kb = BootKeyboard::new();
        // A fast scanner may put several new keys in one report.
        let reports = [report(0, &[0x20, 0x21, 0x22, 0x28]), RELEASE];
        assert_eq!(decode_all(&mut kb, &reports), vec!["345".to_string()]);
        // Duplicates in one (broken) report count once.
        let reports = [report(0, &[0x20, 0x20, 0x20]), report(0, &[0x28])];
        assert_eq!(decode_all(&mut kb, &reports), vec!["3".to_string()]);
    }

    #[test]
    fn boot_two_codes_in_one_report_both_arrive() {
        let mut kb = BootKeyboard::new();
        let r = report(0, &[0x1E, 0x28, 0x1F, 0x58]);
        assert_eq!(kb.feed(&r), Some("1".to_string()));
        assert_eq!(kb.feed(&RELEASE), Some("2".to_string()));
        assert_eq!(kb.feed(&RELEASE), None);
        assert_eq!(kb.stats().keys.codes, 2);
    }

    #[test]
    fn boot_garbage_reports_are_counted_and_ignored() {
        let mut kb = BootKeyboard::new();
        assert_eq!(kb.feed(&[]), None);
        assert_eq!(kb.feed(&[0, 0, 0x1E]), None);
        assert_eq!(kb.feed(&[0; 9]), None);
        // Rollover error state: key slots all 0x01.
        assert_eq!(kb.feed(&[0, 0, 1, 1, 1, 1, 1, 1]), None);
        let reports = [report(0, &[0x1F]), RELEASE, report(0, &[0x28])];
        assert_eq!(decode_all(&mut kb, &reports), vec!["2".to_string()]);
        let s = kb.stats();
        assert_eq!((s.reports, s.bad_reports), (7, 3));
    }

    #[test]
    fn boot_garbage_at_every_position_leaves_the_code_whole() {
        // Reports arrive whole; what can land anywhere is a broken report
        // or a rollover-error report. Neither may change the code.
        let reports = typed(PATRON);
        let junk: [&[u8]; 3] = [&[0x1E; 7], &[0, 0, 1, 1, 1, 1, 1, 1], &[0x1F; 9]];
        for at in 0..=reports.len() {
            for bad in junk {
                let mut kb = BootKeyboard::new();
                let mut codes = decode_all(&mut kb, &reports[..at]);
                codes.extend(kb.feed(bad));
                codes.extend(decode_all(&mut kb, &reports[at..]));
                assert_eq!(codes, vec![PATRON.to_string()], "junk at {at}");
            }
        }
    }

    #[test]
    fn boot_codabar_and_noise_lines() {
        let mut kb = BootKeyboard::with_max_len(16);
        let mut reports = typed("A21234567890124B");
        reports.extend(typed("   "));
        reports.extend(typed("12345678901234567"));
        reports.extend(typed("3"));
        assert_eq!(
            decode_all(&mut kb, &reports),
            vec![PATRON.to_string(), "3".to_string()]
        );
        assert_eq!(kb.stats().keys.noise, 2);
        // A partial code is dropped by idle.
        let partial = typed("999");
        decode_all(&mut kb, &partial[..4]);
        assert_eq!(kb.idle(), Some(Noise::Partial { len: 2 }));
        assert_eq!(kb.idle(), None);
        assert_eq!(decode_all(&mut kb, &typed("7")), vec!["7".to_string()]);
        assert_eq!(kb.stats().keys.noise, 3);
    }

    #[test]
    fn evdev_keys_type_with_shift_and_ignore_releases() {
        let mut k = EvdevKeys::new();
        let press = |k: &mut EvdevKeys, code| {
            let a = k.feed(EV_KEY, code, 1);
            let b = k.feed(EV_KEY, code, 0);
            assert_eq!(b, None);
            a
        };
        assert_eq!(press(&mut k, 3), None); // 2
        assert_eq!(k.feed(EV_KEY, KEY_LEFTSHIFT, 1), None);
        assert_eq!(press(&mut k, 30), None); // A
        assert_eq!(k.feed(EV_KEY, 30, 2), None); // autorepeat ignored
        assert_eq!(k.feed(EV_KEY, KEY_LEFTSHIFT, 0), None);
        assert_eq!(press(&mut k, 30), None); // a
        assert_eq!(k.feed(EV_KEY, KEY_RIGHTSHIFT, 1), None);
        assert_eq!(press(&mut k, 12), None); // _
        assert_eq!(k.feed(EV_KEY, KEY_RIGHTSHIFT, 0), None);
        assert_eq!(press(&mut k, 79), None); // keypad 1
        assert_eq!(k.feed(0, 0, 0), None); // SYN_REPORT
        assert_eq!(k.feed(4, 4, 0x7001e), None); // MSC_SCAN
        assert_eq!(press(&mut k, 1), None); // Esc types nothing
        assert_eq!(press(&mut k, 28), Some("2Aa_1".to_string()));
        assert_eq!(press(&mut k, 96), None); // empty line
        assert_eq!(k.stats(), KeyStats { codes: 1, noise: 0 });
        assert_eq!(press(&mut k, 16), None);
        assert_eq!(k.idle(), Some(Noise::Partial { len: 1 }));
        assert_eq!(k.stats().noise, 1);
    }

    #[test]
    fn evdev_and_boot_agree_on_every_key() {
        // KEY_1..KEY_0 and the QWERTY rows land on HID digits and letters.
        assert_eq!(linux_to_hid(2), Some(0x1E));
        assert_eq!(linux_to_hid(11), Some(0x27));
        assert_eq!(linux_to_hid(16), Some(0x04 + (b'q' - b'a')));
        assert_eq!(linux_to_hid(38), Some(0x04 + (b'l' - b'a')));
        assert_eq!(linux_to_hid(50), Some(0x04 + (b'm' - b'a')));
        assert_eq!(linux_to_hid(28), Some(0x28));
        assert_eq!(linux_to_hid(29), None);
        assert_eq!(linux_to_hid(u16::MAX), None);
        // Every letter is reachable exactly once.
        let mut letters: Vec<char> = (0..256u16)
            .filter_map(linux_to_hid)
            .filter_map(|u| match hid_key(u) {
                Key::Char { plain, .. } if plain.is_ascii_lowercase() => Some(plain),
                _ => None,
            })
            .collect();
        letters.sort_unstable();
        assert_eq!(letters, ('a'..='z').collect::<Vec<_>>());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_codes_match_the_evdev_crate() {
        use ::evdev::KeyCode as K;
        let pairs = [
            (K::KEY_1, 0x1E),
            (K::KEY_9, 0x26),
            (K::KEY_0, 0x27),
            (K::KEY_A, 0x04),
            (K::KEY_Q, 0x14),
            (K::KEY_Z, 0x1D),
            (K::KEY_M, 0x10),
            (K::KEY_ENTER, 0x28),
            (K::KEY_MINUS, 0x2D),
            (K::KEY_DOT, 0x37),
            (K::KEY_SLASH, 0x38),
            (K::KEY_SPACE, 0x2C),
            (K::KEY_KP0, 0x62),
            (K::KEY_KP7, 0x5F),
            (K::KEY_KPENTER, 0x58),
            (K::KEY_KPSLASH, 0x54),
            (K::KEY_KPASTERISK, 0x55),
        ];
        for (key, usage) in pairs {
            assert_eq!(linux_to_hid(key.code()), Some(usage), "{key:?}");
        }
        assert_eq!(K::KEY_LEFTSHIFT.code(), KEY_LEFTSHIFT);
        assert_eq!(K::KEY_RIGHTSHIFT.code(), KEY_RIGHTSHIFT);
        assert_eq!(::evdev::EventType::KEY.0, EV_KEY);
    }

    // ---- WedgeDetector ----

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The GUI with nothing else to do: keys handled when typed, and the
    /// 10 ms wedge timer's ticks between them handled the moment they fire.
    struct Idle {
        w: WedgeDetector,
        base: Instant,
        /// When the timer fires next, ms from `base`.
        next_tick: u64,
        out: Vec<WedgeOut>,
    }

    impl Idle {
        fn new(config: WedgeConfig) -> Idle {
            Idle {
                w: WedgeDetector::new(config),
                base: Instant::now(),
                next_tick: 5,
                out: Vec::new(),
            }
        }

        /// Ticks up to (not including) `t`.
        fn until(&mut self, t: u64) {
            while self.next_tick < t {
                let at = self.base + ms(self.next_tick);
                self.out.extend(self.w.tick(at, at));
                self.next_tick += 10;
            }
        }

        fn key(&mut self, c: char, t: u64) {
            self.until(t);
            self.out.extend(self.w.key(c, self.base + ms(t)));
        }

        fn enter(&mut self, t: u64) {
            self.until(t);
            self.out.extend(self.w.enter());
        }

        /// `text` one key every `step` ms from `start`, then Enter `step`
        /// ms later (if `enter`); the time after the last.
        fn type_at(&mut self, start: u64, step: u64, text: &str, enter: bool) -> u64 {
            let mut t = start;
            for c in text.chars() {
                self.key(c, t);
                t += step;
            }
            if enter {
                self.enter(t);
            }
            t
        }

        fn take(&mut self) -> Vec<WedgeOut> {
            std::mem::take(&mut self.out)
        }
    }

    fn scan(s: &str) -> WedgeOut {
        WedgeOut::Scan(s.to_string())
    }

    fn typed_out(s: &str) -> WedgeOut {
        WedgeOut::Typed(s.to_string())
    }

    #[test]
    fn wedge_fast_burst_with_enter_is_a_scan() {
        let mut k = Idle::new(WedgeConfig::default());
        k.type_at(0, 5, PATRON, true);
        assert_eq!(k.take(), vec![scan(PATRON)]);
        assert!(!k.w.is_holding());
        // Codabar guards are stripped like every other decoder does.
        k.type_at(1000, 2, "A31234567890123B", true);
        assert_eq!(k.take(), vec![scan("31234567890123")]);
        // Exactly max_gap apart still counts as a burst.
        k.type_at(2000, 30, "1234", true);
        assert_eq!(k.take(), vec![scan("1234")]);
    }

    #[test]
    fn wedge_slow_typing_is_handed_back() {
        let mut k = Idle::new(WedgeConfig::default());
        k.type_at(0, 150, "1234", true);
        assert_eq!(
            k.take(),
            vec![
                typed_out("1"),
                typed_out("2"),
                typed_out("3"),
                typed_out("4"),
                WedgeOut::Enter
            ]
        );
    }

    #[test]
    fn wedge_tick_releases_a_persons_last_keys() {
        let base = Instant::now();
        let on_time = |t| (base + ms(t), base + ms(t));
        let mut w = WedgeDetector::new(WedgeConfig::default());
        assert_eq!(w.deadline(), None);
        assert_eq!(w.key('x', base), vec![]);
        assert_eq!(w.deadline(), Some(base + ms(31)));
        let (fired, now) = on_time(30);
        assert_eq!(w.tick(fired, now), vec![]);
        let (fired, now) = on_time(31);
        assert_eq!(w.tick(fired, now), vec![typed_out("x")]);
        let (fired, now) = on_time(500);
        assert_eq!(w.tick(fired, now), vec![]);
        assert_eq!(w.enter(), vec![WedgeOut::Enter]);
        // A first tick long after the key, none between (the timer did
        // not run): the kiosk was not seen idle, the key is still held.
        assert_eq!(w.key('y', base + ms(1000)), vec![]);
        let (fired, now) = on_time(1100);
        assert_eq!(w.tick(fired, now), vec![]);
        let (fired, now) = on_time(1120);
        assert_eq!(w.tick(fired, now), vec![]);
        let (fired, now) = on_time(1131);
        assert_eq!(w.tick(fired, now), vec![typed_out("y")]);
    }

    #[test]
    fn wedge_short_fast_bursts_are_typing() {
        let mut k = Idle::new(WedgeConfig::default());
        // Two keys rolled over quickly and Enter: too short for a scan.
        k.type_at(0, 5, "ok", true);
        assert_eq!(k.take(), vec![typed_out("ok"), WedgeOut::Enter]);
        // A fast burst without Enter is handed back after the pause.
        k.type_at(1000, 5, "12345", false);
        k.key('6', 2000);
        assert_eq!(k.take(), vec![typed_out("12345")]);
        k.until(3000);
        assert_eq!(k.take(), vec![typed_out("6")]);
    }

    #[test]
    fn wedge_slow_enter_after_a_burst_is_not_a_scan() {
        let mut k = Idle::new(WedgeConfig::default());
        let t = k.type_at(0, 5, "1234", false);
        k.enter(t + 200);
        assert_eq!(k.take(), vec![typed_out("1234"), WedgeOut::Enter]);
    }

    #[test]
    fn wedge_mixed_person_then_scanner_then_person() {
        let mut k = Idle::new(WedgeConfig::default());
        k.type_at(0, 200, "ab", false);
        // The scanner fires 300 ms after the person's last key.
        k.type_at(500, 3, PATRON, true);
        k.type_at(1000, 120, "cd", true);
        assert_eq!(
            k.take(),
            vec![
                typed_out("a"),
                typed_out("b"),
                scan(PATRON),
                typed_out("c"),
                typed_out("d"),
                WedgeOut::Enter,
            ]
        );
    }

    #[test]
    fn wedge_newline_chars_are_enter_and_times_may_go_backwards() {
        let base = Instant::now() + ms(1000);
        let mut w = WedgeDetector::new(WedgeConfig::default());
        let mut out = Vec::new();
        for (i, c) in "3123\r".chars().enumerate() {
            // Out-of-order timestamps count as no gap at all.
            let at = base - ms(i as u64);
            out.extend(w.tick(at, at));
            out.extend(w.key(c, at));
        }
        assert_eq!(out, vec![scan("3123")]);
        assert_eq!(w.key('\n', base), vec![WedgeOut::Enter]);
    }

    #[test]
    fn wedge_min_len_and_whitespace_bursts() {
        let mut k = Idle::new(WedgeConfig {
            max_gap: ms(10),
            min_len: 6,
        });
        k.type_at(0, 1, "12345", true);
        assert_eq!(k.take(), vec![typed_out("12345"), WedgeOut::Enter]);
        k.type_at(100, 1, "      ", true);
        assert_eq!(k.take(), vec![typed_out("      "), WedgeOut::Enter]);
        k.type_at(200, 1, "123456", true);
        assert_eq!(k.take(), vec![scan("123456")]);
    }

    #[test]
    fn wedge_holds_back_a_bounded_amount() {
        let mut k = Idle::new(WedgeConfig::default());
        let text = "7".repeat(MAX_PENDING + 10);
        k.type_at(0, 0, &text, true);
        assert_eq!(
            k.take(),
            vec![typed_out(&"7".repeat(MAX_PENDING)), scan(&"7".repeat(10))]
        );
    }

    /// A scanner that does pause inside a code (a Bluetooth wedge sends in
    /// chunks), with the kiosk idle and seeing it: the start goes out as
    /// typing; when the rest follows with Enter it is one scan, its start
    /// taken back out of the typing.
    #[test]
    fn wedge_scan_cut_by_a_pause_is_taken_back_whole() {
        let mut k = Idle::new(WedgeConfig::default());
        k.type_at(0, 0, "3000", false);
        k.until(61);
        assert_eq!(k.take(), vec![typed_out("3000")]);
        k.type_at(62, 0, "1000000010", true);
        assert_eq!(
            k.take(),
            vec![WedgeOut::Retract(4), scan("30001000000010")],
            "one scan, its start taken back out of the typing"
        );
        // Cut twice: still one scan.
        k.type_at(5000, 1, "300", false);
        k.until(5100);
        assert_eq!(k.take(), vec![typed_out("300")]);
        k.type_at(5400, 1, "0100", false);
        k.until(5500);
        assert_eq!(k.take(), vec![typed_out("0100")]);
        k.type_at(5600, 1, "0000010", true);
        assert_eq!(k.take(), vec![WedgeOut::Retract(7), scan("30001000000010")]);
    }

    #[test]
    fn wedge_a_persons_keys_before_a_scan_stay_typing() {
        let mut k = Idle::new(WedgeConfig::default());
        // One key, then a scan 100 ms later: the key is a person's.
        k.key('7', 0);
        k.until(40);
        assert_eq!(k.take(), vec![typed_out("7")]);
        k.type_at(100, 2, PATRON, true);
        assert_eq!(k.take(), vec![scan(PATRON)]);
        // A fast pair long before the scan (over STALL): not its start.
        k.type_at(1000, 5, "12", false);
        k.until(1100);
        assert_eq!(k.take(), vec![typed_out("12")]);
        k.type_at(2200, 2, PATRON, true);
        assert_eq!(k.take(), vec![scan(PATRON)]);
        // A burst, then a person's key, then a scan: the key breaks it.
        k.type_at(3000, 1, "34", false);
        k.key('x', 3100);
        k.until(3200);
        assert_eq!(k.take(), vec![typed_out("34"), typed_out("x")]);
        k.type_at(3300, 2, PATRON, true);
        assert_eq!(k.take(), vec![scan(PATRON)]);
        // A burst, then Enter (a person's entry), then a scan.
        k.type_at(4000, 1, "56", false);
        k.until(4050);
        assert_eq!(k.take(), vec![typed_out("56")]);
        k.enter(4100);
        assert_eq!(k.take(), vec![WedgeOut::Enter]);
        k.type_at(4200, 2, PATRON, true);
        assert_eq!(k.take(), vec![scan(PATRON)]);
    }

    /// As seen in the real window (tests/gui_window.rs): ten keys of a
    /// book's code handled at 0 ms, the GUI busy drawing until 55 ms, the
    /// ticks fired meanwhile handled then (the last one only 5 ms late),
    /// and the rest of the code, typed during the stall, handled at 58 ms.
    #[test]
    fn wedge_ticks_handled_late_do_not_split_a_burst() {
        let base = Instant::now();
        let mut w = WedgeDetector::new(WedgeConfig::default());
        let mut out = Vec::new();
        for c in "3000100000".chars() {
            out.extend(w.key(c, base));
        }
        for fired in [10, 20, 30, 40, 50] {
            out.extend(w.tick(base + ms(fired), base + ms(55)));
        }
        for c in "0010".chars() {
            out.extend(w.key(c, base + ms(58)));
        }
        out.extend(w.enter());
        assert_eq!(out, vec![scan("30001000000010")]);
    }

    /// The first key handled alone, then a stall: one key handed over as
    /// typing could not be taken back (a single key is a person's), so it
    /// must not be handed over at all.
    #[test]
    fn wedge_a_first_key_alone_before_a_stall_stays_with_its_scan() {
        let base = Instant::now();
        let mut w = WedgeDetector::new(WedgeConfig::default());
        let mut out = w.key('3', base);
        for fired in [10, 20, 30, 40, 50] {
            out.extend(w.tick(base + ms(fired), base + ms(60)));
        }
        for c in "0001000000010".chars() {
            out.extend(w.key(c, base + ms(61)));
        }
        out.extend(w.enter());
        assert_eq!(out, vec![scan("30001000000010")]);
    }

    /// The gap between two keys of a burst, as the GUI handles them, holds
    /// the GUI's own busy time: no gap between keys splits a burst.
    #[test]
    fn wedge_a_gap_between_handled_keys_does_not_split_a_burst() {
        let base = Instant::now();
        let mut w = WedgeDetector::new(WedgeConfig::default());
        let mut out = Vec::new();
        for c in "3000100000".chars() {
            out.extend(w.key(c, base));
        }
        for c in "0010".chars() {
            out.extend(w.key(c, base + ms(58)));
        }
        out.extend(w.enter());
        assert_eq!(out, vec![scan("30001000000010")]);
    }

    /// A person's keys while every tick comes late are held back, not
    /// lost: the first tick on time after the pause hands them back.
    #[test]
    fn wedge_late_ticks_only_delay_a_persons_keys() {
        let base = Instant::now();
        let mut w = WedgeDetector::new(WedgeConfig::default());
        assert_eq!(w.key('7', base), vec![]);
        for fired in (10..1000).step_by(10) {
            let late = base + ms(fired + 20);
            assert_eq!(w.tick(base + ms(fired), late), vec![]);
        }
        assert!(w.is_holding());
        // Quiet since the last late tick (1010 ms): 1041 ms is past max_gap.
        assert_eq!(w.tick(base + ms(1030), base + ms(1030)), vec![]);
        let at = base + ms(1041);
        assert_eq!(w.tick(at, at), vec![typed_out("7")]);
    }

    /// All characters the GUI would see in the text field, in order, and
    /// the scans, from a run of detector output.
    fn split_outputs(out: &[WedgeOut]) -> (String, Vec<String>) {
        let mut text = String::new();
        let mut scans = Vec::new();
        for o in out {
            match o {
                WedgeOut::Scan(s) => scans.push(s.clone()),
                WedgeOut::Typed(t) => text.push_str(t),
                WedgeOut::Enter => text.push('\n'),
                WedgeOut::Retract(n) => {
                    for _ in 0..*n {
                        text.pop();
                    }
                }
            }
        }
        (text, scans)
    }

    proptest! {
        /// Keys further apart than `max_gap` plus the timer's period (the
        /// timer sees a pause to within its period) on an idle GUI.
        #[test]
        fn wedge_slow_keys_are_never_lost_or_scanned(
            keys in prop::collection::vec((any::<char>(), 41u64..2000, any::<bool>()), 0..60),
        ) {
            let mut k = Idle::new(WedgeConfig::default());
            let mut expected = String::new();
            let mut t = 0;
            for (c, gap, enter) in keys {
                t += gap;
                if enter || c == '\r' || c == '\n' {
                    k.enter(t);
                    expected.push('\n');
                } else {
                    k.key(c, t);
                    expected.push(c);
                }
            }
            k.until(t + 1000);
            let (text, scans) = split_outputs(&k.take());
            prop_assert!(scans.is_empty());
            prop_assert_eq!(text, expected);
        }

        #[test]
        fn wedge_scan_among_slow_typing_is_found(
            before in "[a-z]{0,5}",
            code in "[0-9]{4,20}",
            after in "[a-z]{0,5}",
            step in 0u64..=30,
        ) {
            let mut k = Idle::new(WedgeConfig::default());
            let t = k.type_at(0, 100, &before, false);
            let t = k.type_at(t + 100, step, &code, true);
            let t = k.type_at(t + 100, 100, &after, false);
            k.until(t + 1000);
            let (text, scans) = split_outputs(&k.take());
            prop_assert_eq!(scans, vec![normalize(&code)]);
            prop_assert_eq!(text, format!("{before}{after}"));
        }

        /// A person's keys, then a scan with real pauses inside it (each
        /// chunk of at least two keys), the kiosk idle and watching.
        #[test]
        fn wedge_scan_cut_by_pauses_is_found_whole(
            before in "[a-z]{0,5}",
            code in "[0-9]{6,20}",
            cuts in prop::collection::vec((2usize..20, 31u64..1000), 0..3),
        ) {
            let mut k = Idle::new(WedgeConfig::default());
            let mut t = k.type_at(0, 100, &before, false) + 100;
            let mut rest: &str = &code;
            for (len, pause) in cuts {
                // The last chunk must still be a scan on its own.
                if rest.len() < len + 4 {
                    break;
                }
                let (chunk, more) = rest.split_at(len);
                let end = k.type_at(t, 0, chunk, false);
                t = end + pause;
                k.until(t);
                rest = more;
            }
            let end = k.type_at(t, 1, rest, true);
            k.until(end + 1000);
            let (text, scans) = split_outputs(&k.take());
            prop_assert_eq!(scans, vec![normalize(&code)]);
            prop_assert_eq!(text, before);
        }

        /// A scanner's burst handled in batches, the GUI busy for any time
        /// between them and the ticks fired meanwhile handled when it is
        /// free again, before the keys that waited: always one whole scan.
        #[test]
        fn wedge_a_burst_across_any_stalls_is_one_scan(
            code in "[0-9]{4,30}",
            cuts in prop::collection::vec((1usize..30, 0u64..500), 0..5),
            phase in 0u64..10,
        ) {
            let base = Instant::now();
            let mut w = WedgeDetector::new(WedgeConfig::default());
            let mut out = Vec::new();
            let mut next_tick = phase;
            let mut t = 0;
            let mut from = 0;
            let mut batches: Vec<(usize, u64)> = cuts
                .into_iter()
                .map(|(at, stall)| (at.min(code.len()), stall))
                .collect();
            batches.sort();
            batches.push((code.len(), 0));
            for (to, stall) in batches {
                let to = to.max(from);
                for c in code[from..to].chars() {
                    out.extend(w.key(c, base + ms(t)));
                }
                from = to;
                t += stall;
                while next_tick < t {
                    out.extend(w.tick(base + ms(next_tick), base + ms(t)));
                    next_tick += 10;
                }
            }
            out.extend(w.enter());
            prop_assert_eq!(out, vec![WedgeOut::Scan(code.clone())]);
        }

        /// Whatever comes in whatever order, with ticks on time or late,
        /// every key comes out once, in order.
        #[test]
        fn wedge_never_loses_or_reorders_a_key(
            events in prop::collection::vec((0u8..4, 0u64..80, 0u64..40), 0..80),
        ) {
            let base = Instant::now();
            let mut w = WedgeDetector::new(WedgeConfig::default());
            let mut out = Vec::new();
            let mut expected = String::new();
            let mut t = 0;
            for (i, (kind, gap, lag)) in events.into_iter().enumerate() {
                t += gap;
                let at = base + ms(t);
                match kind {
                    0 | 1 => {
                        let c = char::from(b'0' + (i % 10) as u8);
                        out.extend(w.key(c, at));
                        expected.push(c);
                    }
                    2 => {
                        out.extend(w.enter());
                        expected.push('\n');
                    }
                    _ => out.extend(w.tick(at, at + ms(lag))),
                }
            }
            // Then the kiosk idles: its timer sees the pause.
            for n in 0..10 {
                let at = base + ms(t + 1000 + 10 * n);
                out.extend(w.tick(at, at));
            }
            let mut text = String::new();
            for o in &out {
                match o {
                    WedgeOut::Scan(s) => {
                        text.push_str(s);
                        text.push('\n');
                    }
                    WedgeOut::Typed(s) => text.push_str(s),
                    WedgeOut::Enter => text.push('\n'),
                    WedgeOut::Retract(n) => {
                        for _ in 0..*n {
                            text.pop();
                        }
                    }
                }
            }
            prop_assert_eq!(text, expected);
            prop_assert!(!w.is_holding());
        }

        #[test]
        fn boot_keyboard_never_panics_and_round_trips(
            garbage in prop::collection::vec(any::<u8>(), 0..200),
            code in "[ -~]{1,30}",
        ) {
            let mut kb = BootKeyboard::new();
            for chunk in garbage.chunks(8) {
                if let Some(c) = kb.feed(chunk) {
                    prop_assert!(!c.is_empty());
                }
            }
            // Codes finished by the garbage come out first.
            while kb.feed(&RELEASE).is_some() {}
            kb.idle();
            let before = kb.stats();
            let got = decode_all(&mut kb, &typed(&code));
            match code_from_text(&code) {
                Ok(expected) => prop_assert_eq!(got, vec![expected]),
                Err(_) => prop_assert_eq!(kb.stats().keys.noise, before.keys.noise + 1),
            }
        }

        #[test]
        fn evdev_keys_never_panic(events in prop::collection::vec((any::<u16>(), any::<u16>(), any::<i32>()), 0..200)) {
            let mut k = EvdevKeys::with_max_len(16);
            for (t, c, v) in events {
                if let Some(code) = k.feed(t % 3, c, v) {
                    prop_assert!(!code.is_empty() && code.chars().count() <= 16);
                }
            }
        }
    }
}
