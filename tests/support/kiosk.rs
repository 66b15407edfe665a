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
