//! Character sets a SIP2 server may speak: IBM code page 850 (the usual
//! default of 3M-era servers), plain ASCII and UTF-8. Text is turned into
//! bytes here *before* the checksum is computed, so the checksum always
//! covers what travels. Never guesses: bytes a charset cannot hold are an
//! error, not a replacement character.

use std::fmt;
use std::str::FromStr;

/// How text becomes bytes on the SIP2 line.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Charset {
    /// IBM code page 850 (DOS Latin-1): one byte per character, all 256
    /// byte values mean something, so any line decodes.
    #[default]
    Cp850,
    /// 7-bit ASCII only: a byte or character above 0x7F is refused.
    Ascii,
    /// UTF-8: for servers configured for it (Koha, Evergreen can be).
    #[serde(rename = "utf-8")]
    Utf8,
}

/// Text that a charset cannot carry, or bytes that are not text in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CharsetError {
    #[error("character {ch:?} cannot be sent in {charset}")]
    Unmappable { ch: char, charset: Charset },
    #[error("byte {byte:#04x} at offset {offset} is not {charset} text")]
    Undecodable {
        byte: u8,
        offset: usize,
        charset: Charset,
    },
}

/// Code page 850, bytes 0x80..=0xFF, from the Unicode consortium's
/// published mapping (VENDORS/MICSFT/PC/CP850.TXT); 0x00..=0x7F is ASCII.
const CP850_HIGH: [char; 128] = [
    '\u{00C7}', '\u{00FC}', '\u{00E9}', '\u{00E2}', '\u{00E4}', '\u{00E0}', '\u{00E5}', '\u{00E7}',
    '\u{00EA}', '\u{00EB}', '\u{00E8}', '\u{00EF}', '\u{00EE}', '\u{00EC}', '\u{00C4}', '\u{00C5}',
    '\u{00C9}', '\u{00E6}', '\u{00C6}', '\u{00F4}', '\u{00F6}', '\u{00F2}', '\u{00FB}', '\u{00F9}',
    '\u{00FF}', '\u{00D6}', '\u{00DC}', '\u{00F8}', '\u{00A3}', '\u{00D8}', '\u{00D7}', '\u{0192}',
    '\u{00E1}', '\u{00ED}', '\u{00F3}', '\u{00FA}', '\u{00F1}', '\u{00D1}', '\u{00AA}', '\u{00BA}',
    '\u{00BF}', '\u{00AE}', '\u{00AC}', '\u{00BD}', '\u{00BC}', '\u{00A1}', '\u{00AB}', '\u{00BB}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{00C1}', '\u{00C2}', '\u{00C0}',
    '\u{00A9}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255D}', '\u{00A2}', '\u{00A5}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252C}', '\u{251C}', '\u{2500}', '\u{253C}', '\u{00E3}', '\u{00C3}',
    '\u{255A}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256C}', '\u{00A4}',
    '\u{00F0}', '\u{00D0}', '\u{00CA}', '\u{00CB}', '\u{00C8}', '\u{0131}', '\u{00CD}', '\u{00CE}',
    '\u{00CF}', '\u{2518}', '\u{250C}', '\u{2588}', '\u{2584}', '\u{00A6}', '\u{00CC}', '\u{2580}',
    '\u{00D3}', '\u{00DF}', '\u{00D4}', '\u{00D2}', '\u{00F5}', '\u{00D5}', '\u{00B5}', '\u{00FE}',
    '\u{00DE}', '\u{00DA}', '\u{00DB}', '\u{00D9}', '\u{00FD}', '\u{00DD}', '\u{00AF}', '\u{00B4}',
    '\u{00AD}', '\u{00B1}', '\u{2017}', '\u{00BE}', '\u{00B6}', '\u{00A7}', '\u{00F7}', '\u{00B8}',
    '\u{00B0}', '\u{00A8}', '\u{00B7}', '\u{00B9}', '\u{00B3}', '\u{00B2}', '\u{25A0}', '\u{00A0}',
];

impl Charset {
    /// Every charset, in the order the command line lists them.
    pub const ALL: [Charset; 3] = [Charset::Cp850, Charset::Ascii, Charset::Utf8];

    /// The name used in configuration and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Cp850 => "cp850",
            Charset::Ascii => "ascii",
            Charset::Utf8 => "utf-8",
        }
    }

    /// Text to bytes; refuses characters the charset has no byte for.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, CharsetError> {
        match self {
            Charset::Utf8 => Ok(text.as_bytes().to_vec()),
            Charset::Ascii => text
                .chars()
                .map(|ch| {
                    if ch.is_ascii() {
                        Ok(ch as u8)
                    } else {
                        Err(CharsetError::Unmappable { ch, charset: self })
                    }
                })
                .collect(),
            Charset::Cp850 => text
                .chars()
                .map(|ch| cp850_byte(ch).ok_or(CharsetError::Unmappable { ch, charset: self }))
                .collect(),
        }
    }

    /// Bytes to text; refuses bytes that are not text in this charset.
    pub fn decode(self, bytes: &[u8]) -> Result<String, CharsetError> {
        match self {
            Charset::Cp850 => Ok(bytes.iter().map(|&b| cp850_char(b)).collect()),
            Charset::Ascii => match bytes.iter().position(|b| !b.is_ascii()) {
                Some(offset) => Err(CharsetError::Undecodable {
                    byte: bytes[offset],
                    offset,
                    charset: self,
                }),
                None => Ok(bytes.iter().map(|&b| b as char).collect()),
            },
            Charset::Utf8 => match std::str::from_utf8(bytes) {
                Ok(s) => Ok(s.to_string()),
                Err(e) => {
                    let offset = e.valid_up_to();
                    Err(CharsetError::Undecodable {
                        byte: bytes[offset],
                        offset,
                        charset: self,
                    })
                }
            },
        }
    }

    /// Whether `ch` can be sent in this charset.
    pub fn can_encode(self, ch: char) -> bool {
        match self {
            Charset::Utf8 => true,
            Charset::Ascii => ch.is_ascii(),
            Charset::Cp850 => cp850_byte(ch).is_some(),
        }
    }
}

fn cp850_char(b: u8) -> char {
    if b < 0x80 {
        b as char
    } else {
        CP850_HIGH[usize::from(b - 0x80)]
    }
}

fn cp850_byte(ch: char) -> Option<u8> {
    if ch.is_ascii() {
        return Some(ch as u8);
    }
    CP850_HIGH
        .iter()
        .position(|&c| c == ch)
        .and_then(|i| u8::try_from(i + 0x80).ok())
}

impl fmt::Display for Charset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Charset {
    type Err = String;

    fn from_str(s: &str) -> Result<Charset, String> {
        match s.to_ascii_lowercase().as_str() {
            "cp850" | "ibm850" | "850" => Ok(Charset::Cp850),
            "ascii" | "us-ascii" => Ok(Charset::Ascii),
            "utf-8" | "utf8" => Ok(Charset::Utf8),
            _ => Err(format!(
                "unknown SIP2 charset {s:?}: use cp850, ascii or utf-8"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp850_is_a_bijection_on_bytes() {
        let all: Vec<u8> = (0..=255).collect();
        let text = Charset::Cp850.decode(&all).unwrap();
        assert_eq!(text.chars().count(), 256);
        assert_eq!(Charset::Cp850.encode(&text).unwrap(), all);
    }

    #[test]
    fn known_cp850_letters() {
        // Spot checks against the published table.
        assert_eq!(Charset::Cp850.encode("é").unwrap(), vec![0x82]);
        assert_eq!(Charset::Cp850.encode("ü").unwrap(), vec![0x81]);
        assert_eq!(Charset::Cp850.encode("ß").unwrap(), vec![0xE1]);
        assert_eq!(
            Charset::Cp850.encode("€"),
            Err(CharsetError::Unmappable {
                ch: '€',
                charset: Charset::Cp850
            })
        );
        assert_eq!(Charset::Cp850.decode(&[0xFF]).unwrap(), "\u{A0}");
    }

    #[test]
    fn ascii_and_utf8_refuse_what_they_cannot_hold() {
        assert!(Charset::Ascii.encode("caf\u{e9}").is_err());
        assert!(matches!(
            Charset::Ascii.decode(b"ab\x82"),
            Err(CharsetError::Undecodable { offset: 2, .. })
        ));
        assert!(matches!(
            Charset::Utf8.decode(b"a\xff"),
            Err(CharsetError::Undecodable {
                offset: 1,
                byte: 0xFF,
                ..
            })
        ));
        assert_eq!(Charset::Utf8.encode("书").unwrap(), "书".as_bytes());
    }

    #[test]
    fn names_round_trip() {
        for c in Charset::ALL {
            assert_eq!(c.name().parse::<Charset>(), Ok(c));
        }
        assert!("latin1".parse::<Charset>().is_err());
    }
}
