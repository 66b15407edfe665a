//! Barcode scanners: turning what a scanner sends into library codes.
//!
//! Four ways a scanner reaches the kiosk, one codec each, all sans-IO and
//! unable to panic on any input:
//!
//! - serial (or a pty): [`ScanFramer`] cuts suffix-terminated lines,
//!   [`SerialScanner`] drives it from any `Read`;
//! - keyboard wedge seen as GUI key presses: [`WedgeDetector`] tells a
//!   scanner's burst from a person typing;
//! - keyboard wedge read below the GUI: [`BootKeyboard`] (HID boot reports)
//!   and [`EvdevKeys`] (Linux input events, with [`open_grabbed`] taking the
//!   device away from every window);
//! - HID-POS (usage page 0x8C): [`HidPosLayout`] for vendor report layouts.
//!
//! [`SimScanner`] produces byte-exact scanner output for tests and
//! `kiosk sim scanner`. Every decoder cleans codes with
//! [`crate::domain::barcode::normalize`], so a code reads the same whatever
//! the scanner's settings. This room reports codes and noise; it never
//! decides what a code means and never logs a full code (it may be a card).

#[cfg(target_os = "linux")]
mod grab;
mod hidpos;
mod keys;
mod serial;
mod sim;

use std::io;
use std::path::PathBuf;

use crate::domain::barcode::normalize;

#[cfg(target_os = "linux")]
pub use grab::{list_keyboards, open_grabbed, GrabbedScanner, InputDeviceInfo};
pub use hidpos::{list_hid, open_hidpos, HidInfo, HidPosLayout, HidPosScanner, HID_POS_USAGE_PAGE};
pub use keys::{
    BootKeyboard, BootStats, EvdevKeys, KeyStats, WedgeConfig, WedgeDetector, WedgeOut,
    BOOT_REPORT_LEN,
};
pub use serial::{
    open_serial, FramerConfig, FramerStats, ScanFramer, SerialScanner, DEFAULT_IDLE_GAP,
};
pub use sim::SimScanner;

/// Something a scanner sent that is not a code, and why. Normal on real
/// lines (power-up glitches, a wrong baud rate, a half-read label); the
/// caller counts and logs it, nothing else happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Noise {
    #[error("code of {len} bytes is longer than the {max} allowed (raise max_len if the library really uses such codes)")]
    TooLong { len: usize, max: usize },
    #[error("{len} bytes that are not UTF-8 text (wrong baud rate or line noise?)")]
    NotUtf8 { len: usize },
    #[error("non-printable byte {byte:#04x} at position {at} (wrong baud rate, line noise, or a prefix/suffix the kiosk is not configured for?)")]
    NonPrintable { byte: u8, at: usize },
    #[error(
        "line of {len} bytes without the configured prefix (check the scanner's prefix setting)"
    )]
    MissingPrefix { len: usize },
    #[error("{len} bytes of junk before the prefix")]
    Junk { len: usize },
    #[error("unterminated line of {len} bytes discarded after a quiet gap (check the scanner's suffix setting)")]
    Partial { len: usize },
    #[error("scan with no code in it (only prefix, spaces or start/stop characters)")]
    Empty,
    #[error("HID report of {len} bytes, expected {expected}")]
    BadReport { len: usize, expected: usize },
    #[error("HID report id {}, expected {expected:#04x} (check the HID-POS layout)", got.map_or("missing".to_string(), |id| format!("{id:#04x}")))]
    WrongReportId { expected: u8, got: Option<u8> },
    #[error("HID report of {len} bytes is too short for the layout (needs {needed})")]
    ShortReport { len: usize, needed: usize },
}

impl Noise {
    /// A stable short name for counting noise by reason.
    pub fn code(&self) -> &'static str {
        match self {
            Noise::TooLong { .. } => "too_long",
            Noise::NotUtf8 { .. } => "not_utf8",
            Noise::NonPrintable { .. } => "non_printable",
            Noise::MissingPrefix { .. } => "missing_prefix",
            Noise::Junk { .. } => "junk",
            Noise::Partial { .. } => "partial",
            Noise::Empty => "empty",
            Noise::BadReport { .. } => "bad_report",
            Noise::WrongReportId { .. } => "wrong_report_id",
            Noise::ShortReport { .. } => "short_report",
        }
    }
}

/// Why a scanner could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error("cannot open serial scanner {port}: {source} (check the port name and that no other program holds it)")]
    Serial {
        port: String,
        #[source]
        source: serialport::Error,
    },
    #[error("cannot open input device {}: {source} (the kiosk user needs read access, e.g. the `input` group)", path.display())]
    Input {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot grab input device {}: {source} (another program may have grabbed it)", path.display())]
    Grab {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "HID access failed: {0} (the kiosk user needs access to /dev/hidraw*, e.g. a udev rule)"
    )]
    Hid(#[from] hidapi::HidError),
    #[error(
        "no HID-POS scanner {vid:04x}:{pid:04x} with usage page 0x8C found (see `kiosk doctor`)"
    )]
    HidPosNotFound { vid: u16, pid: u16 },
}

/// The code in one scanned line: printable UTF-8, cleaned by `normalize`,
/// not empty. Shared by every decoder so they agree on what a code is.
pub(crate) fn code_from_bytes(bytes: &[u8]) -> Result<String, Noise> {
    if let Some(at) = bytes.iter().position(|&b| b < 0x20 || b == 0x7f) {
        return Err(Noise::NonPrintable {
            byte: bytes[at],
            at,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| Noise::NotUtf8 { len: bytes.len() })?;
    code_from_text(text)
}

/// As [`code_from_bytes`], for text already decoded (keys, not bytes).
pub(crate) fn code_from_text(text: &str) -> Result<String, Noise> {
    if let Some((at, c)) = text.char_indices().find(|(_, c)| c.is_control()) {
        // Every control character is below U+00A0, so it fits a byte.
        let byte = u8::try_from(u32::from(c)).unwrap_or(u8::MAX);
        return Err(Noise::NonPrintable { byte, at });
    }
    let code = normalize(text);
    if code.is_empty() {
        Err(Noise::Empty)
    } else {
        Ok(code)
    }
}

#[cfg(any(fuzzing, test))]
/// Feeds arbitrary bytes to every decoder here; for `cargo fuzz`. The
/// decoders must neither panic nor grow without bound on any input.
pub fn fuzz_scanner(data: &[u8]) {
    use std::time::{Duration, Instant};

    let (first, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));

    // A framer per suffix kind; the first byte picks a prefix and a split.
    let prefixes: [&[u8]; 3] = [b"", b"\x02", b"]C"];
    let suffixes: [&[u8]; 5] = [b"\r\n", b"\r", b"\n", b"\x03", b""];
    for suffix in suffixes {
        let mut framer = ScanFramer::new(FramerConfig {
            prefix: prefixes[usize::from(first % 3)].to_vec(),
            suffix: suffix.to_vec(),
            max_len: 32,
        });
        let split = usize::from(first).min(rest.len());
        let mut seen = framer.feed(&rest[..split]).len();
        seen += framer.feed(&rest[split..]).len();
        seen += framer.idle().len();
        let stats = framer.stats();
        assert_eq!(stats.codes + stats.noise, seen as u64);
    }

    let mut keyboard = BootKeyboard::new();
    for report in rest.chunks(BOOT_REPORT_LEN) {
        if let Some(code) = keyboard.feed(report) {
            assert!(!code.is_empty());
        }
    }
    let _ = keyboard.idle();

    let mut keys = EvdevKeys::new();
    for event in rest.chunks(4) {
        let code = u16::from(event[0]) | event.get(1).map_or(0, |&b| u16::from(b) << 8);
        let value = i32::from(event.get(2).copied().unwrap_or(0) % 3);
        let _ = keys.feed(keys::EV_KEY, code, value);
    }

    let layouts = [
        HidPosLayout::REPORT_2_LENGTH_1,
        HidPosLayout {
            report_id: Some(first),
            length_index: Some(usize::from(first % 4)),
            data_offset: usize::from(first % 7),
            max_len: 64,
        },
        HidPosLayout {
            report_id: None,
            length_index: None,
            data_offset: 0,
            max_len: 16,
        },
    ];
    for layout in layouts {
        let _ = layout.decode(rest);
    }

    // Key presses and timer ticks with made-up times: each byte is a key
    // (or Enter, or a tick handled on time or late), its low bits a gap.
    let mut wedge = WedgeDetector::new(WedgeConfig::default());
    let mut at = Instant::now();
    for &b in rest {
        at += Duration::from_millis(u64::from(b & 0x3f));
        let _ = match b >> 6 {
            0 => wedge.key(char::from(b), at),
            1 => wedge.enter(),
            2 => wedge.tick(at, at),
            _ => wedge.tick(at, at + Duration::from_millis(u64::from(b & 0x3f))),
        };
    }
    let _ = wedge.tick(at + Duration::from_secs(1), at + Duration::from_secs(1));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn code_from_bytes_accepts_printable_text_and_normalizes() {
        assert_eq!(code_from_bytes(b"3123"), Ok("3123".to_string()));
        assert_eq!(
            code_from_bytes(b"A21234567890124B"),
            Ok("21234567890124".to_string())
        );
        assert_eq!(
            code_from_bytes(b"0-306-40615-2"),
            Ok("0306406152".to_string())
        );
        assert_eq!(code_from_bytes("书 1".as_bytes()), Ok("书 1".to_string()));
    }

    #[test]
    fn code_from_bytes_names_the_noise() {
        assert_eq!(
            code_from_bytes(b"12\x0034"),
            Err(Noise::NonPrintable { byte: 0, at: 2 })
        );
        assert_eq!(
            code_from_bytes(b"\x7f"),
            Err(Noise::NonPrintable { byte: 0x7f, at: 0 })
        );
        assert_eq!(code_from_bytes(b"\xff\xfe"), Err(Noise::NotUtf8 { len: 2 }));
        assert_eq!(
            code_from_bytes("1\u{85}".as_bytes()),
            Err(Noise::NonPrintable { byte: 0x85, at: 1 })
        );
        assert_eq!(code_from_bytes(b"   "), Err(Noise::Empty));
        assert_eq!(code_from_bytes(b""), Err(Noise::Empty));
    }

    #[test]
    fn noise_has_codes_and_readable_reasons() {
        let n = Noise::TooLong { len: 70, max: 64 };
        assert_eq!(n.code(), "too_long");
        assert!(n.to_string().contains("70 bytes"));
        assert!(Noise::Partial { len: 3 }.to_string().contains("suffix"));
        let id = Noise::WrongReportId {
            expected: 2,
            got: Some(4),
        };
        assert!(id
            .to_string()
            .starts_with("HID report id 0x04, expected 0x02"));
    }

    #[test]
    fn fuzz_entry_point_survives_samples() {
        fuzz_scanner(b"");
        fuzz_scanner(b"\x00");
        fuzz_scanner(b"\x05\x0221234567890124\r\n\x02\x00\x04\x05\x00\x00\x00\x00");
        fuzz_scanner(&[0xff; 300]);
        fuzz_scanner(&(0..=255).collect::<Vec<u8>>());
    }

    proptest! {
        #[test]
        fn fuzz_entry_point_never_panics(data in prop::collection::vec(any::<u8>(), 0..400)) {
            fuzz_scanner(&data);
        }
    }
}
