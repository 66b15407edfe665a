//! ISO 28560-3, the fixed-length "Danish model": the 34-byte basic block
//! (32 bytes on 32-byte tags) with its CRC, read and written.
//!
//! Layout (byte offsets): 0 = version (high nibble, 1) | type of usage
//! (low nibble); 1 = parts in item; 2 = ordered part number; 3–18 =
//! primary item id, NUL-padded; 19–20 = CRC, least significant byte
//! first; 21–22 = country; 23–33 = ISIL, NUL-padded.
//!
//! Never panics on any input; never reports a field from a block that
//! neither passes its CRC nor looks like a basic block.

use std::ops::Range;

use crc::{Crc, CRC_16_IBM_3740};

use super::{
    check_ascii_item_id, check_set, is_printable_ascii, nul_terminated, reverse_blocks,
    EncodeRequest, Format, TagData, TagError,
};

/// Length of the basic block on tags of more than 32 bytes.
pub const BLOCK_LEN: usize = 34;
/// A 32-byte tag holds the basic block without the last two ISIL bytes.
pub const SHORT_BLOCK_LEN: usize = 32;
/// The only data model version ISO 28560-3 defines.
pub const VERSION: u8 = 1;

const ITEM_ID: Range<usize> = 3..19;
const CRC_LO: usize = 19;
const CRC_HI: usize = 20;
const COUNTRY: Range<usize> = 21..23;
const ISIL: Range<usize> = 23..34;
/// The CRC input is always this long: bytes 0–18 and 21.., then 0x00s.
const CRC_INPUT_LEN: usize = 32;

/// CRC-16/IBM-3740: poly 0x1021, init 0xFFFF, not reflected, no xorout.
const CRC16: Crc<u16> = Crc::<u16>::new(&CRC_16_IBM_3740);

/// The CRC-16/IBM-3740 of any bytes (check value 0x29B1 for "123456789").
/// The tests check it against published values; the codec uses `block_crc`.
#[cfg_attr(not(test), allow(dead_code))]
pub fn crc16(data: &[u8]) -> u16 {
    CRC16.checksum(data)
}

/// The CRC a basic block should carry at bytes 19–20: over bytes 0–18,
/// then 21 to the end of the block (at most byte 33), then 0x00 up to 32
/// bytes in all. The padding makes a 32-byte tag's CRC equal to that of
/// the same block with two empty ISIL bytes appended. Bytes past 33
/// (extension blocks) are not covered.
pub fn block_crc(block: &[u8]) -> u16 {
    let head = block.get(..CRC_LO).unwrap_or(block);
    let tail = block
        .get(COUNTRY.start..block.len().min(BLOCK_LEN))
        .unwrap_or(&[]);
    let mut digest = CRC16.digest();
    digest.update(head);
    digest.update(tail);
    for _ in head.len() + tail.len()..CRC_INPUT_LEN {
        digest.update(&[0]);
    }
    digest.finalize()
}

/// The CRC stored in a block, if it is long enough to hold one.
fn stored_crc(block: &[u8]) -> Option<u16> {
    Some(u16::from_le_bytes([
        *block.get(CRC_LO)?,
        *block.get(CRC_HI)?,
    ]))
}

fn crc_matches(block: &[u8]) -> bool {
    block.len() >= SHORT_BLOCK_LEN && stored_crc(block) == Some(block_crc(block))
}

/// Decodes a basic block from the start of `bytes` (more bytes, such as
/// extension blocks or the rest of the tag, are ignored). Some only when
/// the version is 1 and either the CRC matches (as read, or with each
/// 4-byte block reversed) or every field looks as 28560-3 writes it, in
/// which case `crc_ok` is false.
pub fn decode(bytes: &[u8]) -> Option<TagData> {
    decode_with(bytes, Strictness::Strict)
}

/// As `decode`, but a block with a bad CRC needs only version 1, a sane
/// set and a readable item id: for when the DSFID already says 28560-3.
pub fn decode_loose(bytes: &[u8]) -> Option<TagData> {
    decode_with(bytes, Strictness::Loose)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Strictness {
    Strict,
    Loose,
}

fn decode_with(bytes: &[u8], strictness: Strictness) -> Option<TagData> {
    if bytes.len() < SHORT_BLOCK_LEN {
        return None;
    }
    // Only the basic block matters; reverse just enough of it.
    let block = bytes.get(..BLOCK_LEN).unwrap_or(bytes);
    let reversed = reverse_blocks(bytes.get(..36).unwrap_or(bytes));
    let reversed = reversed.get(..block.len()).unwrap_or(&reversed);
    if crc_matches(block) && version(block) == Some(VERSION) {
        return Some(fields(block, true, false));
    }
    if crc_matches(reversed) && version(reversed) == Some(VERSION) {
        tracing::debug!("ISO 28560-3 block written with reversed 4-byte blocks");
        return Some(fields(reversed, true, true));
    }
    if looks_like_block(block, strictness) {
        return Some(fields(block, false, false));
    }
    if looks_like_block(reversed, strictness) {
        return Some(fields(reversed, false, true));
    }
    None
}

fn version(block: &[u8]) -> Option<u8> {
    block.first().map(|b| b >> 4)
}

/// Whether a block that failed its CRC is still recognisably a basic
/// block. Strict: version 1; parts ≥ 1 and 1 ≤ part ≤ parts; an item id
/// of printable ASCII, starting with a non-space, then only NULs; a
/// country of two capital letters or two NULs; an ISIL of printable
/// ASCII then only NULs. Loose drops the padding, country and ISIL
/// checks.
fn looks_like_block(block: &[u8], strictness: Strictness) -> bool {
    let (Some(&b0), Some(&parts), Some(&part)) = (block.first(), block.get(1), block.get(2)) else {
        return false;
    };
    if b0 >> 4 != VERSION || parts == 0 || part == 0 || part > parts {
        return false;
    }
    let Some(id) = block.get(ITEM_ID) else {
        return false;
    };
    if !id.first().is_some_and(|b| (0x21..=0x7E).contains(b)) {
        return false;
    }
    let id_len = id.iter().position(|&b| b == 0).unwrap_or(id.len());
    if !id.iter().take(id_len).all(|b| (0x20..=0x7E).contains(b)) {
        return false;
    }
    if strictness == Strictness::Loose {
        return true;
    }
    if !id.iter().skip(id_len).all(|&b| b == 0) {
        return false;
    }
    let country_ok = match block.get(COUNTRY) {
        Some([0, 0]) => true,
        Some([a, b]) => a.is_ascii_uppercase() && b.is_ascii_uppercase(),
        _ => false,
    };
    let isil = block
        .get(ISIL.start..block.len().min(ISIL.end))
        .unwrap_or(&[]);
    let isil_len = isil.iter().position(|&b| b == 0).unwrap_or(isil.len());
    country_ok
        && isil
            .iter()
            .take(isil_len)
            .all(|b| (0x21..=0x7E).contains(b))
        && isil.iter().skip(isil_len).all(|&b| b == 0)
}

/// The fields of a block at least 32 bytes long.
fn fields(block: &[u8], crc_ok: bool, reversed_blocks: bool) -> TagData {
    let byte = |i: usize| block.get(i).copied();
    let text = |r: Range<usize>| {
        let s = nul_terminated(block.get(r.start..block.len().min(r.end)).unwrap_or(&[]));
        (!s.is_empty()).then_some(s)
    };
    let country = match block.get(COUNTRY) {
        Some(&[a, b]) if a != 0 && b != 0 => Some([char::from(a), char::from(b)].iter().collect()),
        _ => None,
    };
    let isil = text(ISIL).map(|stored| whole_isil(country.as_deref(), stored));
    TagData {
        format: Format::Iso28560_3,
        item_id: text(ITEM_ID),
        usage: byte(0).map(|b| b & 0x0F),
        parts: byte(1),
        part: byte(2),
        country,
        isil,
        crc_ok: Some(crc_ok),
        reversed_blocks,
        ..TagData::default()
    }
}

/// The basic block keeps the country apart (bytes 21–22), so the ISIL
/// field holds the ISIL without its country prefix (`DK` + `710100` for
/// `DK-710100`). The whole ISIL is what the kiosk compares with its
/// configuration, so put the prefix back when the stored part has none.
fn whole_isil(country: Option<&str>, stored: String) -> String {
    match country {
        Some(c) if !stored.contains('-') && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
            format!("{c}-{stored}")
        }
        _ => stored,
    }
}

/// The 34-byte basic block for a request (version 1, CRC filled in). A
/// 32-byte tag takes the first 32 bytes unchanged when the stored ISIL
/// is 9 bytes or less: the CRC is the same either way.
pub fn encode(req: &EncodeRequest) -> Result<Vec<u8>, TagError> {
    let format = Format::Iso28560_3;
    check_ascii_item_id(&req.item_id, ITEM_ID.len(), format)?;
    check_set(req.parts, req.part)?;
    if req.usage > 0x0F {
        return Err(TagError::BadUsage(req.usage));
    }
    let (country, stored_isil) = split_isil(req.country.as_deref(), req.isil.as_deref())?;

    let mut block = vec![0u8; BLOCK_LEN];
    block[0] = (VERSION << 4) | req.usage;
    block[1] = req.parts;
    block[2] = req.part;
    block[ITEM_ID.start..ITEM_ID.start + req.item_id.len()].copy_from_slice(req.item_id.as_bytes());
    if let Some(c) = country {
        block[COUNTRY].copy_from_slice(&c);
    }
    block[ISIL.start..ISIL.start + stored_isil.len()].copy_from_slice(stored_isil.as_bytes());
    let crc = block_crc(&block).to_le_bytes();
    block[CRC_LO] = crc[0];
    block[CRC_HI] = crc[1];
    Ok(block)
}

/// The country bytes and the ISIL as stored: the country is the given
/// one or else a two-letter ISIL prefix; a prefix equal to the country
/// is dropped from the stored ISIL.
fn split_isil(
    country: Option<&str>,
    isil: Option<&str>,
) -> Result<(Option<[u8; 2]>, String), TagError> {
    let isil = isil.map(str::trim).filter(|s| !s.is_empty());
    if let Some(i) = isil {
        if !is_printable_ascii(i) || i.contains(' ') {
            return Err(TagError::BadIsil {
                isil: i.to_string(),
                reason:
                    "has characters a 28560-3 tag cannot hold: use A–Z, a–z, 0–9, '-', '/', ':'",
            });
        }
    }
    let prefix = isil
        .and_then(|i| i.split_once('-'))
        .map(|(p, _)| p)
        .filter(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_alphabetic()));
    let country = match country.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                return Err(TagError::BadCountry(c.to_string()));
            }
            Some(c.to_ascii_uppercase())
        }
        None => prefix.map(str::to_ascii_uppercase),
    };
    let stored = match (isil, &country) {
        (Some(i), Some(c)) => match i.split_once('-') {
            Some((p, rest)) if p.eq_ignore_ascii_case(c) => rest.to_string(),
            _ => i.to_string(),
        },
        (Some(i), None) => i.to_string(),
        (None, _) => String::new(),
    };
    if stored.len() > ISIL.len() {
        return Err(TagError::IsilTooLong {
            isil: isil.unwrap_or_default().to_string(),
            len: stored.len(),
            max: ISIL.len(),
        });
    }
    let country = country.map(|c| {
        let b = c.as_bytes();
        [b[0], b[1]]
    });
    Ok((country, stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::rfid::{hex, parse_hex};

    /// The example used throughout: item 1234567890, DK-710100.
    fn example() -> EncodeRequest {
        let mut req = EncodeRequest::new(Format::Iso28560_3, "1234567890");
        req.country = Some("DK".into());
        req.isil = Some("DK-710100".into());
        req
    }

    /// Encoded `example()`; CRC 0xF4D5 stored as D5 F4. Checked against an
    /// independent CRC-16/IBM-3740 over bytes 0–18 + 21–33.
    const EXAMPLE_HEX: &str =
        "11010131323334353637383930000000000000D5F4444B3731303130300000000000";

    #[test]
    fn crc_check_values_from_the_notes() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(b"RFID tag data model"), 0x1AEE);
        assert_eq!(crc16(&[0u8; 32]), 0xF14C);
    }

    #[test]
    fn crc_of_an_empty_block_is_that_of_32_zero_bytes() {
        assert_eq!(block_crc(&[0u8; 34]), 0xF14C);
        assert_eq!(block_crc(&[0u8; 32]), 0xF14C);
        assert_eq!(block_crc(&[0u8; 112]), 0xF14C);
        // Short input is padded, never indexed past its end.
        assert_eq!(block_crc(&[]), 0xF14C);
        assert_eq!(block_crc(&[0u8; 20]), 0xF14C);
    }

    #[test]
    fn golden_example_block() {
        let block = encode(&example()).unwrap();
        assert_eq!(block.len(), BLOCK_LEN);
        assert_eq!(hex(&block), EXAMPLE_HEX);
        assert_eq!(block_crc(&block), 0xF4D5);
        let mut covered = block[..19].to_vec();
        covered.extend_from_slice(&block[21..]);
        assert_eq!(crc16(&covered), 0xF4D5);
    }

    #[test]
    fn golden_example_decodes() {
        let t = decode(&parse_hex(EXAMPLE_HEX).unwrap()).unwrap();
        assert_eq!(t.format, Format::Iso28560_3);
        assert_eq!(t.item_id.as_deref(), Some("1234567890"));
        assert_eq!((t.usage, t.parts, t.part), (Some(1), Some(1), Some(1)));
        assert_eq!(t.country.as_deref(), Some("DK"));
        assert_eq!(t.isil.as_deref(), Some("DK-710100"));
        assert_eq!(t.crc_ok, Some(true));
        assert!(!t.reversed_blocks);
    }

    #[test]
    fn whole_tag_reads_decode_the_basic_block_only() {
        let mut tag = parse_hex(EXAMPLE_HEX).unwrap();
        tag.extend_from_slice(&[0xAB; 78]); // extension blocks, garbage to us
        let t = decode(&tag).unwrap();
        assert_eq!(t.crc_ok, Some(true));
        assert_eq!(t.item_id.as_deref(), Some("1234567890"));
    }

    #[test]
    fn thirty_two_byte_tags_keep_their_crc() {
        let mut req = example();
        req.isil = Some("DK-710100".into()); // 6 bytes stored: fits in 9
        let block = encode(&req).unwrap();
        let short = &block[..SHORT_BLOCK_LEN];
        let t = decode(short).unwrap();
        assert_eq!(t.crc_ok, Some(true));
        assert_eq!(t.isil.as_deref(), Some("DK-710100"));
        // An ISIL that used bytes 32–33 loses them, and the CRC says so.
        req.isil = Some("DK-71010012345".into());
        let block = encode(&req).unwrap();
        let t = decode(&block[..SHORT_BLOCK_LEN]).unwrap();
        assert_eq!(t.crc_ok, Some(false));
        assert_eq!(t.isil.as_deref(), Some("DK-710100123"));
    }

    #[test]
    fn reversed_blocks_are_read() {
        let block = encode(&example()).unwrap();
        let mut written = block.clone();
        written.extend_from_slice(&[0, 0]); // whole blocks, as a reader returns them
        let reversed = reverse_blocks(&written);
        assert_ne!(reversed[..4], written[..4]);
        let t = decode(&reversed).unwrap();
        assert!(t.reversed_blocks);
        assert_eq!(t.crc_ok, Some(true));
        assert_eq!(t.item_id.as_deref(), Some("1234567890"));
        assert_eq!(t.isil.as_deref(), Some("DK-710100"));
        // And through the top-level decoder, with the JSON flag set.
        let v = serde_json::to_value(super::super::decode(&reversed)).unwrap();
        assert_eq!(v["reversed_blocks"], serde_json::json!(true));
        assert_eq!(v["format"], serde_json::json!("iso28560-3"));
    }

    #[test]
    fn a_bad_crc_still_reports_the_fields() {
        let mut block = encode(&example()).unwrap();
        block[CRC_LO] ^= 0x01;
        let t = decode(&block).unwrap();
        assert_eq!(t.crc_ok, Some(false));
        assert_eq!(t.item_id.as_deref(), Some("1234567890"));
        assert_eq!(super::super::decode(&block), t);
        // A changed id byte also fails the CRC but still looks right.
        let mut block = encode(&example()).unwrap();
        block[5] = b'9';
        let t = decode(&block).unwrap();
        assert_eq!(t.crc_ok, Some(false));
        assert_eq!(t.item_id.as_deref(), Some("1294567890"));
    }

    #[test]
    fn garbage_with_a_bad_crc_is_not_28560_3() {
        let mut block = encode(&example()).unwrap();
        block[CRC_LO] ^= 0x01;
        block[10] = 0x01; // control byte inside the item id
        assert_eq!(decode(&block), None);
        assert_eq!(decode_loose(&block), None);
        let mut block = encode(&example()).unwrap();
        block[CRC_LO] ^= 0x01;
        block[17] = 0xAA; // junk after the id's NUL: only loose accepts it
        assert_eq!(decode(&block), None);
        let t = decode_loose(&block).unwrap();
        assert_eq!(t.crc_ok, Some(false));
        assert_eq!(t.item_id.as_deref(), Some("1234567890"));
        let mut block = encode(&example()).unwrap();
        block[CRC_LO] ^= 0x01;
        block[0] = 0x21; // version 2
        assert_eq!(decode(&block), None);
        assert_eq!(decode_loose(&block), None);
        let mut block = encode(&example()).unwrap();
        block[CRC_LO] ^= 0x01;
        block[2] = 3; // part 3 of 1
        assert_eq!(decode(&block), None);
        assert_eq!(super::super::decode(&block).format, Format::Unknown);
    }

    #[test]
    fn a_matching_crc_with_another_version_is_not_28560_3() {
        let mut block = encode(&example()).unwrap();
        block[0] = 0x21;
        let crc = block_crc(&block).to_le_bytes();
        block[CRC_LO] = crc[0];
        block[CRC_HI] = crc[1];
        assert_eq!(decode(&block), None);
    }

    #[test]
    fn truncated_reads_are_refused() {
        let block = encode(&example()).unwrap();
        for len in 0..SHORT_BLOCK_LEN {
            assert_eq!(decode(&block[..len]), None, "{len} bytes");
            assert_eq!(decode_loose(&block[..len]), None, "{len} bytes");
        }
        assert_eq!(super::super::decode(&block[..20]).format, Format::Unknown);
        // 33 bytes: the CRC covers what there is, padded.
        let t = decode(&block[..33]).unwrap();
        assert_eq!(t.item_id.as_deref(), Some("1234567890"));
    }

    #[test]
    fn set_and_usage_are_encoded() {
        let mut req = example();
        req.parts = 3;
        req.part = 2;
        req.usage = 2;
        let block = encode(&req).unwrap();
        assert_eq!(&block[..3], &[0x12, 3, 2]);
        let t = decode(&block).unwrap();
        assert_eq!((t.usage, t.parts, t.part), (Some(2), Some(3), Some(2)));
    }

    #[test]
    fn country_comes_from_the_isil_prefix_and_isil_without_one_is_kept() {
        let mut req = EncodeRequest::new(Format::Iso28560_3, "42");
        req.isil = Some("DE-Hil2".into());
        let block = encode(&req).unwrap();
        assert_eq!(&block[21..23], b"DE");
        assert_eq!(nul_terminated(&block[23..]), "Hil2");
        let t = decode(&block).unwrap();
        assert_eq!(t.isil.as_deref(), Some("DE-Hil2"));
        // A non-country prefix stays in the ISIL field.
        req.isil = Some("ZDB-1".into());
        let block = encode(&req).unwrap();
        assert_eq!(&block[21..23], &[0, 0]);
        let t = decode(&block).unwrap();
        assert_eq!((t.country, t.isil.as_deref()), (None, Some("ZDB-1")));
        // No ISIL at all.
        let t = decode(&encode(&EncodeRequest::new(Format::Iso28560_3, "42")).unwrap()).unwrap();
        assert_eq!((t.country, t.isil), (None, None));
    }

    #[test]
    fn encoding_errors() {
        let mut req = example();
        req.item_id = "12345678901234567".into();
        assert!(matches!(
            encode(&req),
            Err(TagError::ItemIdTooLong {
                len: 17,
                max: 16,
                ..
            })
        ));
        req.item_id = "Bøger".into();
        assert!(matches!(encode(&req), Err(TagError::NotAscii { .. })));
        req.item_id = String::new();
        assert_eq!(encode(&req), Err(TagError::EmptyItemId));
        req.item_id = "12\t3".into();
        assert!(matches!(
            encode(&req),
            Err(TagError::ControlCharacter { .. })
        ));
        let mut req = example();
        req.parts = 2;
        req.part = 3;
        assert_eq!(encode(&req), Err(TagError::BadPart { part: 3, parts: 2 }));
        req.parts = 0;
        req.part = 0;
        assert!(matches!(encode(&req), Err(TagError::BadPart { .. })));
        let mut req = example();
        req.usage = 16;
        assert_eq!(encode(&req), Err(TagError::BadUsage(16)));
        let mut req = example();
        req.country = Some("DNK".into());
        assert!(matches!(encode(&req), Err(TagError::BadCountry(_))));
        let mut req = example();
        req.isil = Some("DK-710100123456".into());
        assert!(matches!(
            encode(&req),
            Err(TagError::IsilTooLong { len: 12, .. })
        ));
        req.isil = Some("DK 7101".into());
        assert!(matches!(encode(&req), Err(TagError::BadIsil { .. })));
        // The message names the field and the limit.
        let mut req = example();
        req.item_id = "12345678901234567".into();
        let msg = encode(&req).unwrap_err().to_string();
        assert!(
            msg.contains("12345678901234567") && msg.contains("16"),
            "{msg}"
        );
    }
}
