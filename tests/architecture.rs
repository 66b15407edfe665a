//! The rooms and their arrows, as docs/architecture.md draws them, hold in
//! the code: every `crate::…` path a room's files name (imports, paths in
//! expressions, unit tests included) is the room itself or one it "may use"
//! in the table of docs/architecture.md, and every room in `src/` has a row
//! there. A new arrow is a change to the table first, reviewed like code.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The rooms table: room → the rooms it may use.
fn table() -> BTreeMap<String, BTreeSet<String>> {
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .expect("docs/architecture.md");
    let start = doc
        .find("## Rooms")
        .expect("docs/architecture.md has a '## Rooms' section");
    let mut rooms = BTreeMap::new();
    for line in doc[start..].lines().skip(1) {
        if line.starts_with("## ") {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `room` | owns | may use |
        if cells.len() < 5 || !cells[1].starts_with('`') {
            continue;
        }
        let room = cells[1].trim_matches('`').trim_end_matches('/').to_string();
        let uses = cells[3]
            .split(',')
            .map(|u| u.trim().trim_matches('`').trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty() && u != "—")
            .collect();
        rooms.insert(room, uses);
    }
    assert!(
        !rooms.is_empty(),
        "no rooms table found in docs/architecture.md"
    );
    rooms
}

/// Every .rs file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The room a file of src/ belongs to: its first path component, without
/// `.rs` (`src/store/circ.rs` → `store`, `src/pad.rs` → `pad`).
fn room_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The code of a file without comments (doc links name rooms too) and
/// string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The first segments of every path under `crate::`: `crate::store::X`
/// → store, `crate::{a::b, c}` → a, c.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        // `kiosk_crate::` and the like are not ours.
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let group = rest.trim_start();
        if let Some(inner) = group.strip_prefix('{') {
            let (mut depth, mut item, mut end) = (0, String::new(), inner.len());
            for (k, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = k;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(head(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 || !item.contains("::") {
                    item.push(c);
                }
            }
            found.insert(head(&item));
            rest = &inner[end..];
        } else {
            found.insert(head(rest));
        }
    }
    found.remove("");
    found
}

fn head(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn every_room_uses_only_the_rooms_the_architecture_page_allows() {
    let rooms = table();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    sources(&src, &mut files);
    files.sort();
    let mut wrong = vec![];
    let mut unknown = BTreeSet::new();
    for f in &files {
        let room = room_of(&src, f);
        if room == "lib" || room == "bin" {
            continue; // the crate root and the binaries sit above every room
        }
        let Some(allowed) = rooms.get(&room) else {
            unknown.insert(room);
            continue;
        };
        let code = code_only(&fs::read_to_string(f).unwrap());
        for used in crate_paths(&code) {
            if used == room || allowed.contains("everything") {
                continue;
            }
            // Names re-exported at the crate root are not rooms.
            if !rooms.contains_key(&used) {
                continue;
            }
            if !allowed.contains(&used) {
                wrong.push(format!(
                    "{} ({room}) uses {used}",
                    f.strip_prefix(&src).unwrap().display()
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "rooms in src/ without a row in docs/architecture.md: {unknown:?}"
    );
    assert!(
        wrong.is_empty(),
        "arrows the architecture page does not allow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_arrows_point_down_only() {
    // No two rooms may use each other, directly or around a circle.
    let rooms = table();
    fn reaches(
        rooms: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let Some(uses) = rooms.get(from) else {
            return false;
        };
        uses.iter()
            .any(|u| u == to || (seen.insert(u.clone()) && reaches(rooms, u, to, seen)))
    }
    for (room, uses) in &rooms {
        if uses.contains("everything") {
            continue;
        }
        for u in uses {
            assert!(
                !reaches(&rooms, u, room, &mut BTreeSet::new()),
                "{room} uses {u}, and {u} leads back to {room}"
            );
        }
    }
}

#[test]
fn the_scanner_of_paths_reads_groups_and_skips_comments() {
    let code = code_only(
        "use crate::{store::{self, Store}, domain::Lang};\n// crate::ui\nlet x = crate::sync::go(\"crate::cli\");\nuse other_crate::x;",
    );
    let found = crate_paths(&code);
    let want: BTreeSet<String> = ["store", "domain", "sync"].map(String::from).into();
    assert_eq!(found, want);
}
