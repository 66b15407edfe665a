//! The 3M alphanumeric tag format, the de-facto format of 3M "RFID 501"
//! sites, read and written.
//!
//! Blocks of 4 bytes: block 0 = `04 | set | 00 | item type`, the set
//! byte's high nibble being this part's number and its low nibble the
//! parts in the set; blocks 1–4 = the barcode, ASCII, NUL-terminated (a
//! 16-character barcode fills them with no NUL); block 5 = branch (12
//! bits) and library (20 bits); block 6 = a custom signed 32-bit value.
//! A blank 3M tag reads 0x55 throughout (see `super::is_blank`).
//!
//! Uncertain, and so kept in one place (`BLOCK5`, `BLOCK6`): the byte
//! order of blocks 5 and 6. We take both as big-endian, with the branch
//! in the top 12 bits of block 5; no public golden tag was at hand.
//!
//! Never panics on any input; never reports a barcode that is not
//! printable ASCII.

use std::ops::Range;

use super::{
    check_ascii_item_id, check_set, is_printable_ascii, nul_terminated, EncodeRequest, Format,
    TagData, TagError,
};

/// First byte of every 3M-format tag.
pub const MAGIC: u8 = 0x04;
/// Blocks 0–6.
pub const DATA_LEN: usize = 28;
/// Bytes a tag must have for the barcode to be read (blocks 0–4).
pub const MIN_LEN: usize = 20;
/// Most parts the set byte's nibble can count.
pub const MAX_PARTS: u8 = 15;
pub const MAX_BRANCH: u16 = 0x0FFF;
pub const MAX_LIBRARY: u32 = 0x000F_FFFF;

const BARCODE: Range<usize> = 4..20;
const BLOCK5: Range<usize> = 20..24;
const BLOCK6: Range<usize> = 24..28;
/// What an unwritten block of a 3M tag holds.
const UNWRITTEN: [u8; 4] = [0x55; 4];

/// Decodes the 3M format from block 0; None unless block 0 has the 3M
/// signature (`04 set 00 type`, 1 ≤ parts, part ≤ parts) and the barcode
/// is non-empty printable ASCII. Blocks 5 and 6 are read when present and
/// written (neither all 0x00 nor all 0x55).
pub fn decode(bytes: &[u8]) -> Option<TagData> {
    let &[magic, set, zero, item_type, ..] = bytes.get(..MIN_LEN)? else {
        return None;
    };
    let (part, parts) = (set >> 4, set & 0x0F);
    if magic != MAGIC || zero != 0 || parts == 0 || part > parts {
        return None;
    }
    let barcode = nul_terminated(bytes.get(BARCODE)?);
    if barcode.is_empty() || !is_printable_ascii(&barcode) {
        return None;
    }
    let block5 = written_block(bytes, BLOCK5).map(u32::from_be_bytes);
    let block6 = written_block(bytes, BLOCK6).map(i32::from_be_bytes);
    Some(TagData {
        format: Format::M3,
        item_id: Some(barcode),
        part: Some(part),
        parts: Some(parts),
        item_type: Some(item_type),
        // 12 + 20 bits: the shift leaves at most 12 bits, so the cast is exact.
        branch: block5.map(|v| (v >> 20) as u16),
        library: block5.map(|v| v & MAX_LIBRARY),
        custom: block6,
        ..TagData::default()
    })
}

/// A 4-byte block that was written: present, not all 0x00 (nothing
/// set) and not all 0x55 (never written).
fn written_block(bytes: &[u8], range: Range<usize>) -> Option<[u8; 4]> {
    let block: [u8; 4] = bytes.get(range)?.try_into().ok()?;
    (block != [0; 4] && block != UNWRITTEN).then_some(block)
}

/// Blocks 0–6 for a request. Blocks 5 and 6 are zero when their fields
/// are absent (so a branch or library of 0, or a custom value of 0, reads
/// back as absent).
pub fn encode(req: &EncodeRequest) -> Result<Vec<u8>, TagError> {
    let format = Format::M3;
    check_ascii_item_id(&req.item_id, BARCODE.len(), format)?;
    check_set(req.parts, req.part)?;
    if req.parts > MAX_PARTS {
        return Err(TagError::TooManyParts {
            parts: req.parts,
            max: MAX_PARTS,
            format,
        });
    }
    let branch = req.branch.unwrap_or(0);
    if branch > MAX_BRANCH {
        return Err(TagError::OutOfRange {
            field: "branch",
            value: branch.into(),
            max: MAX_BRANCH.into(),
        });
    }
    let library = req.library.unwrap_or(0);
    if library > MAX_LIBRARY {
        return Err(TagError::OutOfRange {
            field: "library",
            value: library.into(),
            max: MAX_LIBRARY.into(),
        });
    }
    let mut data = vec![0u8; DATA_LEN];
    data[0] = MAGIC;
    data[1] = (req.part << 4) | req.parts;
    data[3] = req.item_type;
    data[BARCODE.start..BARCODE.start + req.item_id.len()].copy_from_slice(req.item_id.as_bytes());
    data[BLOCK5].copy_from_slice(&((u32::from(branch) << 20) | library).to_be_bytes());
    data[BLOCK6].copy_from_slice(&req.custom.unwrap_or(0).to_be_bytes());
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::rfid::{hex, parse_hex};

    #[test]
    fn golden_block_layout() {
        let mut req = EncodeRequest::new(Format::M3, "31234000012345");
        req.parts = 2;
        req.part = 1;
        req.item_type = 9;
        req.branch = Some(0x123);
        req.library = Some(0x45678);
        req.custom = Some(-2);
        let data = encode(&req).unwrap();
        assert_eq!(
            hex(&data),
            concat!(
                "04120009", // magic, part 1 of 2, 00, book with CD
                "3331323334303030303132333435",
                "0000",     // barcode, NUL-terminated
                "12345678", // branch 0x123, library 0x45678
                "FFFFFFFE"  // custom -2
            )
        );
        let t = decode(&data).unwrap();
        assert_eq!(t.item_id.as_deref(), Some("31234000012345"));
        assert_eq!((t.part, t.parts, t.item_type), (Some(1), Some(2), Some(9)));
        assert_eq!(
            (t.branch, t.library, t.custom),
            (Some(0x123), Some(0x45678), Some(-2))
        );
        assert_eq!(t.crc_ok, None);
        assert_eq!((t.country, t.isil, t.usage), (None, None, None));
    }

    #[test]
    fn decodes_a_hand_written_tag_with_unwritten_blocks() {
        // Blocks 0–4 written, 5 and on still 0x55 as shipped.
        let data = parse_hex(
            "04 11 00 01  33 39 30 30  31 30 30 30  00 00 00 00  00 00 00 00
             55 55 55 55  55 55 55 55  55 55 55 55",
        )
        .unwrap();
        let t = decode(&data).unwrap();
        assert_eq!(t.item_id.as_deref(), Some("39001000"));
        assert_eq!((t.part, t.parts, t.item_type), (Some(1), Some(1), Some(1)));
        assert_eq!((t.branch, t.library, t.custom), (None, None, None));
        assert_eq!(super::super::decode(&data), t);
    }

    #[test]
    fn sixteen_character_barcodes_need_no_nul() {
        let req = EncodeRequest::new(Format::M3, "ABCDEFGHIJKLMNOP");
        let t = decode(&encode(&req).unwrap()).unwrap();
        assert_eq!(t.item_id.as_deref(), Some("ABCDEFGHIJKLMNOP"));
    }

    #[test]
    fn not_3m() {
        let good = encode(&EncodeRequest::new(Format::M3, "1")).unwrap();
        // Truncated before the end of the barcode.
        for len in 0..MIN_LEN {
            assert_eq!(decode(&good[..len]), None, "{len} bytes");
        }
        assert!(decode(&good[..MIN_LEN]).is_some());
        let mut bad = good.clone();
        bad[0] = 0x05;
        assert_eq!(decode(&bad), None);
        let mut bad = good.clone();
        bad[2] = 0x01;
        assert_eq!(decode(&bad), None);
        let mut bad = good.clone();
        bad[1] = 0x10; // part 1 of 0
        assert_eq!(decode(&bad), None);
        let mut bad = good.clone();
        bad[1] = 0x32; // part 3 of 2
        assert_eq!(decode(&bad), None);
        let mut bad = good.clone();
        bad[4] = 0; // empty barcode
        assert_eq!(decode(&bad), None);
        let mut bad = good;
        bad[5] = 0x07; // control byte in the barcode
        bad[6] = 0x00;
        bad[4] = 0x07;
        assert_eq!(decode(&bad), None);
        assert_eq!(decode(&[0x55; 28]), None);
    }

    #[test]
    fn encoding_errors() {
        let mut req = EncodeRequest::new(Format::M3, "12345678901234567");
        assert!(matches!(
            encode(&req),
            Err(TagError::ItemIdTooLong { max: 16, .. })
        ));
        req.item_id = "Århus1".into();
        assert!(matches!(encode(&req), Err(TagError::NotAscii { .. })));
        req.item_id = "1".into();
        req.parts = 16;
        assert!(matches!(
            encode(&req),
            Err(TagError::TooManyParts { max: 15, .. })
        ));
        req.parts = 2;
        req.part = 0;
        assert!(matches!(encode(&req), Err(TagError::BadPart { .. })));
        req.part = 1;
        req.branch = Some(0x1000);
        assert!(matches!(
            encode(&req),
            Err(TagError::OutOfRange {
                field: "branch",
                ..
            })
        ));
        req.branch = None;
        req.library = Some(0x10_0000);
        assert!(matches!(
            encode(&req),
            Err(TagError::OutOfRange {
                field: "library",
                ..
            })
        ));
    }
}
