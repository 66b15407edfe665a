//! The scripted SIP2 ILS: tests/sip2/ils_server.py behind pysip2's AnyIO
//! SIP2 server, a child process on a loopback port, keeping its library
//! (readers, items, loans, faults to inject) in a JSON file and recording
//! every request it receives as a JSON line. Needs pysip2: check
//! `support::require(Peer::Pysip2)` first.

use super::kiosk::json_lines_of;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sip2/ils_server.py");

/// The scripted ILS; killed on drop.
pub struct Ils {
    child: Option<Child>,
    pub port: u16,
    state: PathBuf,
    log: PathBuf,
    encoding: String,
    login: Option<String>,
    /// More server options (`--no-offline`, `--tls-cert …`).
    pub options: Vec<String>,
}

impl Ils {
    /// Starts in `dir` with `library` (ils-state.json), answering in
    /// `encoding`; `login` ("user:password") makes it demand a 93.
    pub fn start(dir: &Path, library: &Value, encoding: &str, login: Option<&str>) -> Ils {
        Ils::start_with(dir, library, encoding, login, &[])
    }

    /// Starts with more server options.
    pub fn start_with(
        dir: &Path,
        library: &Value,
        encoding: &str,
        login: Option<&str>,
        options: &[&str],
    ) -> Ils {
        let state = dir.join("ils-state.json");
        std::fs::write(&state, library.to_string()).unwrap();
        let mut ils = Ils {
            child: None,
            port: 0,
            state,
            log: dir.join("ils-log.jsonl"),
            encoding: encoding.into(),
            login: login.map(str::to_string),
            options: options.iter().map(|o| o.to_string()).collect(),
        };
        ils.up();
        ils
    }

    /// Starts (again) on the same port, with the library as it was left.
    pub fn up(&mut self) {
        let mut cmd = Command::new("python3");
        cmd.arg(SERVER)
            .arg("--state")
            .arg(&self.state)
            .arg("--log")
            .arg(&self.log)
            .args([
                "--port",
                &self.port.to_string(),
                "--encoding",
                &self.encoding,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(l) = &self.login {
            cmd.args(["--login", l]);
        }
        cmd.args(&self.options);
        let mut child = cmd.spawn().expect("run python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the ILS did not start: {line:?}"));
        self.port = port;
        self.child = Some(child);
    }

    /// The ILS goes away (connections refused from now on).
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every request received so far, in order.
    pub fn records(&self) -> Vec<Value> {
        json_lines_of(&self.log)
    }

    /// The requests with this command code, in order.
    pub fn received(&self, code: &str) -> Vec<Value> {
        self.records()
            .into_iter()
            .filter(|r| r["code"] == code)
            .collect()
    }

    /// The command codes received, in order.
    pub fn codes(&self) -> Vec<String> {
        self.records()
            .iter()
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect()
    }

    /// The library as the ILS keeps it now.
    pub fn library(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.state).unwrap()).unwrap()
    }
}

impl Drop for Ils {
    fn drop(&mut self) {
        self.down();
    }
}
