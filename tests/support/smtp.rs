//! A real SMTP server for tests: Python's aiosmtpd, appending every mail
//! it receives, decoded as a mail client would, as one JSON line (from,
//! to, subject, body) to a file. Shared by the tests that send mail.
#![allow(dead_code)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// An SMTP server that appends every mail it receives, decoded, as one
/// JSON line (from, to, subject, body) to a file.
const SMTP_SINK: &str = r#"
import email, json, sys
from email import policy
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        m = email.message_from_bytes(envelope.content, policy=policy.default)
        rec = {"from": envelope.mail_from, "to": envelope.rcpt_tos,
               "subject": str(m["subject"]), "body": m.get_content()}
        with open(sys.argv[2], "a", encoding="utf-8") as f:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        return "250 OK"

c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"#;

pub struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn smtp_sink(mails: &Path) -> (Proc, u16) {
    let port = free_port();
    let mut child = Command::new("python3")
        .args(["-c", SMTP_SINK, &port.to_string()])
        .arg(mails)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    (Proc(child), port)
}
