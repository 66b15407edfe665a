//! Simulator tag files: the tags a simulated RFID pad holds, as JSON.
//!
//! ```json
//! {"tags": [
//!   {"uid": "E004010000000001", "format": "iso28560-3", "item_id": "30001000000010",
//!    "country": "CN", "isil": "CN-000001", "parts": 1, "part": 1, "afi": "07"},
//!   {"uid": "E004010000000002", "blocks": "11 01 01 33 30 30 …", "afi": "C2", "eas": true}
//! ]}
//! ```
//! Each tag gives either ready-made `blocks` (hex) or the fields to encode
//! (`format` iso28560-3 | iso28560-2 | 3m, `item_id`, optional `country`,
//! `isil`, `parts`, `part`, `usage`). `afi` is hex text or a number
//! (default 07), `dsfid` likewise (default 00), `eas` a boolean. A bare
//! array of tags is accepted too.

use super::rfid::{parse_hex, parse_uid, SimTag};
use super::tag::{self, EncodeRequest, Format};
use serde::Deserialize;
use serde_json::Value;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    uid: String,
    #[serde(default)]
    afi: Option<Value>,
    #[serde(default)]
    dsfid: Option<Value>,
    #[serde(default)]
    eas: bool,
    #[serde(default)]
    blocks: Option<String>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    item_id: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    isil: Option<String>,
    #[serde(default)]
    parts: Option<u8>,
    #[serde(default)]
    part: Option<u8>,
    #[serde(default)]
    usage: Option<u8>,
    /// For people reading the file (what the tag is stuck on).
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum File {
    Wrapped { tags: Vec<Spec> },
    Bare(Vec<Spec>),
}

/// Reads a tag file; errors name the file and the tag.
pub fn load(path: &Path) -> Result<Vec<SimTag>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("tag file {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("tag file {}: {e}", path.display()))
}

/// Parses tag-file JSON.
pub fn parse(text: &str) -> Result<Vec<SimTag>, String> {
    let file: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let specs = match file {
        File::Wrapped { tags } => tags,
        File::Bare(tags) => tags,
    };
    specs
        .into_iter()
        .enumerate()
        .map(|(i, s)| tag_of(s).map_err(|e| format!("tags[{i}]: {e}")))
        .collect()
}

fn byte(v: &Option<Value>, default: u8, what: &str) -> Result<u8, String> {
    match v {
        None => Ok(default),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|n| u8::try_from(n).ok())
            .ok_or_else(|| format!("{what} must be 0 to 255")),
        Some(Value::String(s)) => {
            let s = s.trim_start_matches("0x").trim_start_matches("0X");
            u8::from_str_radix(s, 16).map_err(|_| format!("{what} {s:?} is not a hex byte"))
        }
        Some(other) => Err(format!("{what} must be hex text or a number, not {other}")),
    }
}

fn tag_of(s: Spec) -> Result<SimTag, String> {
    let uid = parse_uid(&s.uid).ok_or_else(|| format!("uid {:?} is not 16 hex digits", s.uid))?;
    let afi = byte(&s.afi, 0x07, "afi")?;
    let dsfid = byte(&s.dsfid, 0x00, "dsfid")?;
    let data = match (&s.blocks, &s.format) {
        (Some(b), None) => parse_hex(b).ok_or("blocks are not hex")?,
        (None, Some(f)) => {
            let format = match f.as_str() {
                "iso28560-3" => Format::Iso28560_3,
                "iso28560-2" => Format::Iso28560_2,
                "3m" => Format::M3,
                other => {
                    return Err(format!(
                        "format {other:?}: expected iso28560-3, iso28560-2 or 3m"
                    ))
                }
            };
            let item_id = s.item_id.clone().ok_or("item_id is required with format")?;
            let req = EncodeRequest {
                isil: s.isil.clone(),
                country: s.country.clone(),
                parts: s.parts.unwrap_or(1),
                part: s.part.unwrap_or(1),
                usage: s.usage.unwrap_or(1),
                ..EncodeRequest::new(format, item_id)
            };
            tag::encode(&req).map_err(|e| e.to_string())?
        }
        (Some(_), Some(_)) => return Err("give blocks or format, not both".into()),
        (None, None) => return Err("give blocks (hex) or format and item_id".into()),
    };
    let mut t = SimTag::new(uid, &data, afi);
    t.dsfid = dsfid;
    t.eas = s.eas;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_tag_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-tags.json");
        let tags = load(&path).unwrap();
        assert!(tags.len() >= 10);
        let decoded: Vec<_> = tags.iter().map(|t| tag::decode(&t.data())).collect();
        // The three parts of the kit carry one item id.
        let kit: Vec<_> = decoded.iter().filter(|d| d.parts == Some(3)).collect();
        assert_eq!(kit.len(), 3);
        assert!(decoded.iter().any(|d| d.format == Format::Blank));
        assert!(decoded.iter().any(|d| d.format == Format::M3));
        assert!(decoded.iter().any(|d| d.format == Format::Iso28560_2));
    }

    #[test]
    fn encodes_fields_and_takes_ready_blocks() {
        let tags = parse(
            r#"{"tags":[
              {"uid":"E004010000000001","format":"iso28560-3","item_id":"30001000000010","country":"CN","isil":"CN-000001"},
              {"uid":"E0 04 01 00 00 00 00 02","blocks":"01020304 05","afi":"C2","eas":true,"dsfid":62}
            ]}"#,
        )
        .unwrap();
        assert_eq!(tags.len(), 2);
        let d = tag::decode(&tags[0].data());
        assert_eq!(d.item_id.as_deref(), Some("30001000000010"));
        assert_eq!(d.crc_ok, Some(true));
        assert_eq!(tags[0].afi, 0x07);
        assert_eq!(tags[1].blocks[0], [1, 2, 3, 4]);
        assert_eq!(tags[1].blocks[1], [5, 0, 0, 0]);
        assert_eq!(
            (tags[1].afi, tags[1].dsfid, tags[1].eas),
            (0xC2, 0x3E, true)
        );
        // A bare array is fine too.
        assert_eq!(
            parse(r#"[{"uid":"E004010000000003","blocks":"00"}]"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn errors_say_which_tag_and_why() {
        let e = parse(
            r#"{"tags":[{"uid":"E004010000000001","blocks":"00"},{"uid":"XYZ","blocks":"00"}]}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("tags[1]: uid \"XYZ\""), "{e}");
        let e = parse(r#"[{"uid":"E004010000000001"}]"#).unwrap_err();
        assert!(e.contains("give blocks"), "{e}");
        let e = parse(r#"[{"uid":"E004010000000001","format":"zz","item_id":"1"}]"#).unwrap_err();
        assert!(e.contains("format \"zz\""), "{e}");
        let e = parse(r#"[{"uid":"E004010000000001","blocks":"00","afi":"zz"}]"#).unwrap_err();
        assert!(e.contains("afi"), "{e}");
        let e = parse(r#"[{"uid":"E004010000000001","blocks":"00","colour":1}]"#).unwrap_err();
        assert!(e.contains("colour") || e.contains("did not match"), "{e}");
        assert!(parse("not json").is_err());
    }
}
