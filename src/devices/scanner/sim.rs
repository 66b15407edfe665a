//! A simulated barcode scanner: the exact bytes a serial scanner sends for a
//! code (prefix, optional Codabar start/stop, code, suffix), line noise and
//! cut-off lines to test against, and the HID boot reports a keyboard-wedge
//! scanner would send for the same code. `kiosk sim scanner` writes these
//! bytes to a pty; tests feed them straight to the decoders.

use super::keys::hid_usage_for;
use super::{FramerConfig, BOOT_REPORT_LEN};

/// HID usage of Enter; Shift in the modifier byte (left shift).
const HID_ENTER: u8 = 0x28;
const LEFT_SHIFT: u8 = 0x02;

/// A scanner configured with a prefix, a suffix and optionally Codabar
/// start/stop transmission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimScanner {
    prefix: Vec<u8>,
    suffix: Vec<u8>,
    codabar: Option<(u8, u8)>,
    /// State of the noise generator (xorshift64; never zero).
    seed: u64,
}

impl SimScanner {
    pub fn new(prefix: Vec<u8>, suffix: Vec<u8>) -> SimScanner {
        SimScanner {
            prefix,
            suffix,
            codabar: None,
            seed: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// A scanner sending what `config` expects.
    pub fn for_framer(config: &FramerConfig) -> SimScanner {
        SimScanner::new(config.prefix.clone(), config.suffix.clone())
    }

    /// Wraps each code in Codabar start/stop characters, as scanners do when
    /// set to transmit them (usually `A`…`B`).
    pub fn with_codabar(mut self, start: u8, stop: u8) -> SimScanner {
        self.codabar = Some((start, stop));
        self
    }

    /// Seeds the noise generator, for reproducible noise.
    pub fn with_seed(mut self, seed: u64) -> SimScanner {
        self.seed = seed.max(1);
        self
    }

    /// The bytes sent for one scan of `code`.
    pub fn frame(&self, code: &str) -> Vec<u8> {
        let mut out = self.unterminated(code);
        out.extend_from_slice(&self.suffix);
        out
    }

    /// The first `len` bytes of a scan, never reaching its suffix: a label
    /// read half-way or a cable pulled mid-code.
    pub fn partial(&self, code: &str, len: usize) -> Vec<u8> {
        let mut out = self.unterminated(code);
        out.truncate(len);
        out
    }

    /// `len` bytes of line noise: only non-printable bytes, and none of the
    /// prefix, suffix, CR or LF, so the framer sees one unterminated line
    /// that is certainly not a code. Follow it with [`noise_line`] or a quiet
    /// gap to make the framer report it.
    ///
    /// [`noise_line`]: Self::noise_line
    pub fn noise(&mut self, len: usize) -> Vec<u8> {
        let allowed: Vec<u8> = (0x00..0x20)
            .chain(0x7f..=0xff)
            .filter(|b| {
                *b != b'\r' && *b != b'\n' && !self.prefix.contains(b) && !self.suffix.contains(b)
            })
            .collect();
        if allowed.is_empty() {
            return Vec::new();
        }
        (0..len)
            .map(|_| allowed[(self.next_random() % allowed.len() as u64) as usize])
            .collect()
    }

    /// Noise followed by the suffix: one line the framer reports as noise.
    pub fn noise_line(&mut self, len: usize) -> Vec<u8> {
        let mut out = self.noise(len.max(1));
        out.extend_from_slice(&self.suffix);
        out
    }

    /// The HID boot reports a keyboard-wedge scanner sends for `code` (with
    /// Codabar start/stop if set): each key pressed with Shift as needed and
    /// released, then Enter. `None` if a character cannot be typed on a US
    /// keyboard.
    pub fn boot_reports(&self, code: &str) -> Option<Vec<[u8; BOOT_REPORT_LEN]>> {
        let mut text = String::new();
        let (start, stop) = match self.codabar {
            Some((start, stop)) => (Some(char::from(start)), Some(char::from(stop))),
            None => (None, None),
        };
        text.extend(start);
        text.push_str(code);
        text.extend(stop);
        let mut reports = Vec::with_capacity(text.len() * 2 + 2);
        for c in text.chars() {
            let (usage, shift) = hid_usage_for(c)?;
            let modifiers = if shift { LEFT_SHIFT } else { 0 };
            reports.push([modifiers, 0, usage, 0, 0, 0, 0, 0]);
            reports.push([0; BOOT_REPORT_LEN]);
        }
        reports.push([0, 0, HID_ENTER, 0, 0, 0, 0, 0]);
        reports.push([0; BOOT_REPORT_LEN]);
        Some(reports)
    }

    fn unterminated(&self, code: &str) -> Vec<u8> {
        let mut out = self.prefix.clone();
        if let Some((start, _)) = self.codabar {
            out.push(start);
        }
        out.extend_from_slice(code.as_bytes());
        if let Some((_, stop)) = self.codabar {
            out.push(stop);
        }
        out
    }

    /// xorshift64: plenty for noise, and the same on every machine.
    fn next_random(&mut self) -> u64 {
        let mut x = self.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.seed = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::scanner::{BootKeyboard, Noise, ScanFramer};

    #[test]
    fn frames_are_byte_exact() {
        let sim = SimScanner::new(Vec::new(), b"\r\n".to_vec());
        assert_eq!(sim.frame("21234567890124"), b"21234567890124\r\n");
        let sim = SimScanner::new(vec![0x02], b"\r".to_vec()).with_codabar(b'A', b'B');
        assert_eq!(sim.frame("3123"), b"\x02A3123B\r");
        assert_eq!(sim.partial("3123", 4), b"\x02A31");
        assert_eq!(sim.partial("3123", 100), b"\x02A3123B");
    }

    #[test]
    fn frames_decode_back_to_the_code() {
        let config = FramerConfig {
            prefix: b"]C0".to_vec(),
            suffix: b"\r\n".to_vec(),
            max_len: 64,
        };
        let sim = SimScanner::for_framer(&config).with_codabar(b'C', b'D');
        let mut f = ScanFramer::new(config);
        assert_eq!(
            f.feed(&sim.frame("21234567890124")),
            vec![Ok("21234567890124".to_string())]
        );
    }

    #[test]
    fn noise_is_reported_as_noise_and_reproducible() {
        let config = FramerConfig {
            prefix: vec![0x02],
            suffix: vec![0x03],
            max_len: 64,
        };
        let mut sim = SimScanner::for_framer(&config).with_seed(7);
        let noise = sim.noise(50);
        assert_eq!(noise.len(), 50);
        assert!(noise
            .iter()
            .all(|b| ![0x02, 0x03, b'\r', b'\n'].contains(b)));
        assert!(noise.iter().all(|b| !(0x20..0x7f).contains(b)));
        assert_eq!(
            SimScanner::for_framer(&config).with_seed(7).noise(50),
            noise
        );
        assert_ne!(sim.noise(50), noise);

        let mut f = ScanFramer::new(config);
        assert_eq!(f.feed(&noise), vec![]);
        assert!(f.has_partial());
        let line = sim.noise_line(10);
        let out = f.feed(&line);
        assert_eq!(out.len(), 1);
        assert!(matches!(out[0], Err(Noise::MissingPrefix { len: 60 })));
        assert_eq!(f.feed(&sim.frame("9")), vec![Ok("9".to_string())]);
    }

    #[test]
    fn boot_reports_type_the_code_and_enter() {
        let sim = SimScanner::new(Vec::new(), Vec::new()).with_codabar(b'A', b'B');
        let reports = sim.boot_reports("12").unwrap();
        assert_eq!(
            reports,
            vec![
                [0x02, 0, 0x04, 0, 0, 0, 0, 0],
                [0; 8],
                [0, 0, 0x1E, 0, 0, 0, 0, 0],
                [0; 8],
                [0, 0, 0x1F, 0, 0, 0, 0, 0],
                [0; 8],
                [0x02, 0, 0x05, 0, 0, 0, 0, 0],
                [0; 8],
                [0, 0, 0x28, 0, 0, 0, 0, 0],
                [0; 8],
            ]
        );
        let mut kb = BootKeyboard::new();
        let codes: Vec<String> = reports.iter().filter_map(|r| kb.feed(r)).collect();
        assert_eq!(codes, vec!["12".to_string()]);
        assert_eq!(sim.boot_reports("1é"), None);
    }
}
