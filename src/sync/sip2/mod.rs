//! SIP2 (3M Standard Interchange Protocol 2.00), kiosk side: the message
//! codec (`codec`: lines, fields, trailer, checksum), the character sets
//! (`charset`), dates (`date`), the typed messages (`messages`) and the
//! `kiosk sip2` tools (`cli`), all sans IO; on top of them the connection
//! (`client`: login, heartbeat, reconnect, 96/97 resends) and the
//! `Upstream` implementation (`upstream`: decisions, offline replay).
//! Never panics on what a server sends.

pub mod charset;

pub mod client;
pub mod codec;
pub mod date;
pub mod messages;
pub mod upstream;

pub use charset::{Charset, CharsetError};
pub use codec::{
    append_checksum, checksum, decode, encode_message, is_resend, parse, DecodeError,
    DecodeOptions, Decoder, EncodeError, EncodeOptions, Field, FieldId, LineSplitter, Message,
    Terminator, MAX_LINE,
};
pub use date::{DateError, SipDate};
pub use messages::*;
pub use upstream::Sip2Upstream;

/// A typed message with the trailer it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub message: AnyMessage,
    pub seq: Option<u8>,
    pub checksum_ok: Option<bool>,
}

/// Decodes and types one line (see `codec::decode` for the checks).
pub fn decode_typed(line: &[u8], opts: &DecodeOptions) -> Result<Decoded, DecodeError> {
    let m = decode(line, opts)?;
    Ok(Decoded {
        message: AnyMessage::from_message(&m)?,
        seq: m.seq,
        checksum_ok: m.checksum_ok,
    })
}

/// Encodes a typed message as the kiosk sends it (see
/// `codec::encode_message`): `seq` is used only with error detection.
pub fn encode<M: SipMessage>(
    msg: &M,
    seq: u8,
    opts: &EncodeOptions,
) -> Result<Vec<u8>, EncodeError> {
    encode_message(&msg.to_message()?, seq, opts)
}

/// Fuzzing entry point: any bytes, every charset. Checks that nothing
/// panics, that framing does not depend on how bytes are split, that a
/// parsed line re-encodes to the same bytes, and that typing a message and
/// back changes nothing; and that the upstream's readings of answers
/// (due dates, fees, item status, 98 flags) survive them too.
pub fn fuzz_decode(data: &[u8]) {
    let whole = LineSplitter::new().feed(data);
    let mut split = LineSplitter::new();
    let step = usize::from(data.first().copied().unwrap_or(1) % 7) + 1;
    let mut pieces = Vec::new();
    for chunk in data.chunks(step) {
        pieces.extend(split.feed(chunk));
    }
    assert_eq!(whole, pieces, "framing depends on how bytes are split");

    let line = data
        .strip_suffix(b"\r\n")
        .or_else(|| data.strip_suffix(b"\r"))
        .or_else(|| data.strip_suffix(b"\n"))
        .unwrap_or(data);
    for charset in Charset::ALL {
        let Ok(m) = parse(data, charset) else {
            continue;
        };
        let lower_hex = m.checksum_ok.is_some()
            && line[line.len().saturating_sub(4)..]
                .iter()
                .any(u8::is_ascii_lowercase);
        if m.checksum_ok != Some(false) && !lower_hex {
            let out = m
                .encode(charset, Terminator::Cr)
                .expect("a parsed message re-encodes");
            assert_eq!(&out[..out.len() - 1], line, "re-encoding changed the bytes");
        }
        if let Ok(t) = AnyMessage::from_message(&m) {
            upstream::fuzz_answer(&t);
            let back = t.to_message().expect("a typed message re-encodes");
            assert_eq!(back.code, m.code);
            assert_eq!(back.fixed, m.fixed);
            assert_eq!(back.fields, m.fields);
            assert_eq!(back.last_unterminated, m.last_unterminated);
        }
        let strict = DecodeOptions {
            error_detection: true,
            charset,
        };
        let _ = decode_typed(data, &strict);
    }
    let _ = Decoder::new(DecodeOptions {
        error_detection: false,
        charset: Charset::Cp850,
    })
    .feed(data);
}
