//! External peers the tests talk to but the project does not build (pysip2,
//! Python's cryptography, PostgreSQL, schemathesis, aiosmtpd, Xvfb), and
//! what a test does when one is missing.
//!
//! `require(Peer::Pysip2)` (or `found(Peer::Postgres, PgCluster::start())`
//! for a peer whose start is the check) returns false/None when the peer
//! is missing, and the test returns early. It is never silent:
//! - the test says so at once on stderr (written past libtest's output
//!   capture, so it shows for a passing test too): which test, which peer,
//!   why, and how to install it;
//! - when the test binary ends, one line counts the skipped tests by peer
//!   (after libtest's `test result:` line);
//! - `KIOSK_REQUIRE_<PEER>=1` makes the absence a failure instead: CI sets
//!   every one of them (.ci/run).

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A program the tests need from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    /// pysip2 (and its AnyIO server): the SIP2 ILS and the codec cross-check.
    Pysip2,
    /// Python's cryptography: the throwaway CA of the TLS tests.
    Cryptography,
    /// A PostgreSQL server (initdb/pg_ctl): kiosk-central's second backend.
    Postgres,
    /// schemathesis: fuzzes kiosk-central against its OpenAPI document.
    Schemathesis,
    /// aiosmtpd: the SMTP sink for receipts and reminders.
    Aiosmtpd,
    /// Xvfb and xdotool: the touch screen in a real window.
    Xvfb,
}

impl Peer {
    /// What it is, for people.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Pysip2 => "pysip2",
            Peer::Cryptography => "Python's cryptography",
            Peer::Postgres => "PostgreSQL",
            Peer::Schemathesis => "schemathesis",
            Peer::Aiosmtpd => "aiosmtpd",
            Peer::Xvfb => "Xvfb and xdotool",
        }
    }

    /// How to install it (the versions .ci/run installs).
    pub fn install(self) -> &'static str {
        match self {
            Peer::Pysip2 => "pip install pysip2==0.1.0",
            Peer::Cryptography => "pip install cryptography==48.0.0",
            Peer::Postgres => "apt-get install postgresql",
            Peer::Schemathesis => "pip install schemathesis==4.32.5",
            Peer::Aiosmtpd => "pip install aiosmtpd==1.4.6",
            Peer::Xvfb => "apt-get install xvfb xdotool",
        }
    }

    /// The variable that turns its absence into a failure.
    pub fn require_var(self) -> &'static str {
        match self {
            Peer::Pysip2 => "KIOSK_REQUIRE_PYSIP2",
            Peer::Cryptography => "KIOSK_REQUIRE_CRYPTOGRAPHY",
            Peer::Postgres => "KIOSK_REQUIRE_PG",
            Peer::Schemathesis => "KIOSK_REQUIRE_SCHEMATHESIS",
            Peer::Aiosmtpd => "KIOSK_REQUIRE_AIOSMTPD",
            Peer::Xvfb => "KIOSK_REQUIRE_XVFB",
        }
    }

    /// Whether a missing peer must fail the test. The cryptography tests
    /// also run with pysip2 (it was required by the same variable before
    /// it had its own).
    pub fn required(self) -> bool {
        let set = |var: &str| std::env::var(var).as_deref() == Ok("1");
        set(self.require_var()) || (self == Peer::Cryptography && set(Peer::Pysip2.require_var()))
    }

    /// Looks for it (peers whose start is the check have none here).
    fn probe(self) -> Result<(), String> {
        match self {
            Peer::Pysip2 => python_imports("pysip2, anyio"),
            Peer::Cryptography => python_imports("cryptography"),
            Peer::Aiosmtpd => python_imports("aiosmtpd"),
            Peer::Xvfb => {
                let missing: Vec<&str> = ["Xvfb", "xdotool"]
                    .into_iter()
                    .filter(|t| !on_path(t))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{missing:?} not on PATH"))
                }
            }
            Peer::Postgres | Peer::Schemathesis => {
                unreachable!("{self:?} is checked by starting it: use `found`")
            }
        }
    }
}

/// `python3 -c "import MODULES"`: Ok, or python's last line of complaint.
pub fn python_imports(modules: &str) -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(said
        .lines()
        .last()
        .unwrap_or("python3 failed")
        .trim()
        .to_string())
}

/// Whether `program` is an executable file on PATH.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| {
            std::fs::metadata(d.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Whether `peer` is here (looked for once per test binary). When it is
/// not, the test is reported skipped (or fails under `KIOSK_REQUIRE_*`).
pub fn require(peer: Peer) -> bool {
    static PROBED: OnceLock<Mutex<HashMap<Peer, Result<(), String>>>> = OnceLock::new();
    let probed = PROBED.get_or_init(Default::default);
    let result = {
        let mut probed = probed.lock().unwrap_or_else(|p| p.into_inner());
        probed.entry(peer).or_insert_with(|| peer.probe()).clone()
    };
    found(peer, result).is_some()
}

/// What starting the peer gave (`PgCluster::start()`, a version …), or
/// None after reporting the test skipped (a failure under
/// `KIOSK_REQUIRE_*`).
pub fn found<T>(peer: Peer, started: Result<T, String>) -> Option<T> {
    match started {
        Ok(t) => Some(t),
        Err(why) => {
            skipped(peer, &why);
            None
        }
    }
}

/// The skipped tests of this binary, by peer.
static SKIPPED: Mutex<Vec<(Peer, String)>> = Mutex::new(Vec::new());

fn skipped(peer: Peer, why: &str) {
    let (name, install, var) = (peer.name(), peer.install(), peer.require_var());
    if peer.required() {
        panic!("{var}=1 but {name} is missing: {why} ({install})");
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    {
        let mut all = SKIPPED.lock().unwrap_or_else(|p| p.into_inner());
        if all.is_empty() {
            register_summary();
        }
        all.push((peer, test.clone()));
    }
    // Straight to the process's stderr: eprintln! in a test is captured
    // and shown only when the test fails.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {name} is missing ({why}); {install}, or set {var}=1 to fail instead"
    );
}

extern "C" {
    fn atexit(f: extern "C" fn()) -> std::os::raw::c_int;
}

fn register_summary() {
    // SAFETY: `summary` is a plain function that never unwinds (it only
    // formats and writes, ignoring errors).
    unsafe {
        atexit(summary);
    }
}

/// Runs when the test binary exits, after libtest's own summary.
extern "C" fn summary() {
    let _ = std::panic::catch_unwind(|| {
        let all = SKIPPED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(line) = summary_line(&all) {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    });
}

/// "SKIPPED 3 tests (external peer missing): pysip2 ×2 (pip install …), …".
fn summary_line(all: &[(Peer, String)]) -> Option<String> {
    if all.is_empty() {
        return None;
    }
    let mut by_peer: Vec<(Peer, usize)> = Vec::new();
    for (peer, _) in all {
        match by_peer.iter_mut().find(|(p, _)| p == peer) {
            Some((_, n)) => *n += 1,
            None => by_peer.push((*peer, 1)),
        }
    }
    by_peer.sort();
    let parts: Vec<String> = by_peer
        .iter()
        .map(|(p, n)| {
            format!(
                "{} ×{n} ({}; {}=1 fails instead)",
                p.name(),
                p.install(),
                p.require_var()
            )
        })
        .collect();
    let tests = if all.len() == 1 { "test" } else { "tests" };
    Some(format!(
        "SKIPPED {} {tests} of this binary (external peer missing): {}",
        all.len(),
        parts.join(", ")
    ))
}
