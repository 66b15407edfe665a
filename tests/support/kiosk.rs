//! The real `kiosk` binary, run by a test in a directory of its own (its
//! `kiosk.toml` and `kiosk.db` there, never the developer's
//! `KIOSK_CONFIG`), and the JSON lines it prints.

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The kiosk binary cargo built for these tests.
pub const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk");

/// `kiosk` in `dir`, reading `dir/kiosk.toml`, with none of the
/// developer's `KIOSK_CONFIG` or `KIOSK__SECTION__KEY` overrides.
pub fn kiosk(dir: &Path) -> Command {
    let mut c = Command::new(KIOSK);
    c.current_dir(dir).env_remove("KIOSK_CONFIG");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KIOSK__") {
            c.env_remove(k);
        }
    }
    c
}

/// Runs `cmd`: (exit code, stdout as JSON lines, stderr).
pub fn run_json(cmd: &mut Command) -> (i32, Vec<Value>, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        json_lines(&String::from_utf8_lossy(&out.stdout)),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `cmd` with `input` on its stdin (the text kiosk reads scans
/// there) and waits for it.
pub fn run_with_input(cmd: &mut Command, input: impl AsRef<[u8]>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_ref())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Every line of `text` as JSON; a line that is not JSON fails the test,
/// naming it.
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// The JSON lines of a file (none while it does not exist).
pub fn json_lines_of(path: &Path) -> Vec<Value> {
    json_lines(&std::fs::read_to_string(path).unwrap_or_default())
}

/// Damages the kiosk database `db` inside, the way a failing disk does:
/// garbage over pages in the middle of a table of its own (`filler`, which
/// the kiosk never reads), the header and the kiosk's tables intact, so
/// SQLite opens the file and the kiosk's reads work, and only a check of
/// the whole file (`PRAGMA quick_check`) finds it. The WAL is folded in
/// first so the damage is what SQLite reads. Returns the damaged bytes.
pub fn damage_inside(db: &Path) -> Vec<u8> {
    let page = 4096;
    let before = {
        let c = rusqlite::Connection::open(db).unwrap();
        c.execute_batch("VACUUM").unwrap();
        let pages: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        c.execute_batch(
            "CREATE TABLE filler (x BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
             INSERT INTO filler SELECT randomblob(3000) FROM n;",
        )
        .unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        pages as usize
    };
    let mut bytes = std::fs::read(db).unwrap();
    let after = bytes.len() / page;
    assert!(after > before + 20, "{before} → {after} pages");
    for p in [before + 8, before + 12, before + 16] {
        for b in &mut bytes[p * page + 8..p * page + 1000] {
            *b = 0x5A;
        }
    }
    std::fs::write(db, &bytes).unwrap();
    bytes
}
