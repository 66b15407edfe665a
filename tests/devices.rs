//! Devices end to end through real pseudo-terminals: `kiosk sim …` in one
//! process speaks the device protocol byte for byte; the kiosk's drivers
//! (the `kiosk rfid` tools, the device runner, the text kiosk) talk to it
//! in another. No timing is asserted; waits only bound how long a test may
//! hang.

use kiosk::config::{
    Config, DeviceSection, Parity, PrinterSection, RfidProtocol, RfidSection, SerialScannerSection,
};
use kiosk::devices::events::{DeviceEvent, DeviceStatus, EventKind};
use kiosk::devices::rfid::parse_uid;
use kiosk::devices::runner::Devices;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const KIOSK: &str = env!("CARGO_BIN_EXE_kiosk");
/// Generous bound on any single wait, so a broken build fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(20);

const TAGS: &str = r#"{"tags":[
  {"uid":"E004010000000001","format":"iso28560-3","item_id":"I1","country":"CN","isil":"CN-000001"},
  {"uid":"E004010000000002","format":"3m","item_id":"I3"},
  {"uid":"E004010000000003","format":"iso28560-2","item_id":"I2","isil":"CN-000001"},
  {"uid":"E004010000000004","format":"iso28560-3","item_id":"I4","parts":3,"part":1},
  {"uid":"E004010000000005","format":"iso28560-3","item_id":"I4","parts":3,"part":2},
  {"uid":"E004010000000006","format":"iso28560-3","item_id":"I4","parts":3,"part":3},
  {"uid":"E0040100000000FF","blocks":"1101014932000000000000000000000000000000"}
]}"#;

/// A `kiosk sim …` process: its pty path, its stdin for commands.
struct Sim {
    child: Child,
    stdin: ChildStdin,
    path: PathBuf,
}

impl Sim {
    fn start(args: &[&str]) -> Sim {
        let mut child = Command::new(KIOSK)
            .arg("sim")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start simulator");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let path = PathBuf::from(first.trim());
        assert!(
            path.starts_with("/dev/"),
            "first line is the pty: {first:?}"
        );
        let stdin = child.stdin.take().unwrap();
        Sim { child, stdin, path }
    }
    fn tell(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        // The simulator applies commands between requests; give it a moment.
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tags_file(dir: &Path) -> PathBuf {
    let p = dir.join("tags.json");
    std::fs::write(&p, TAGS).unwrap();
    p
}

fn kiosk(args: &[&str]) -> (i32, Value) {
    let out = Command::new(KIOSK)
        .env_remove("KIOSK_CONFIG")
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn rfid_tools_scan_and_secure_tags_through_a_pty() {
    for protocol in ["3m810", "feig"] {
        let dir = tempfile::tempdir().unwrap();
        let tags = tags_file(dir.path());
        let mut sim = Sim::start(&[
            "rfid",
            "--protocol",
            protocol,
            "--tags",
            tags.to_str().unwrap(),
        ]);
        let port = sim.path.to_str().unwrap().to_string();
        let scan = || kiosk(&["rfid", "scan", "--port", &port, "--protocol", protocol]);

        let (code, v) = scan();
        assert_eq!(code, 0, "{protocol}: {v}");
        let found: Vec<(String, String)> = v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["uid"].as_str().unwrap().to_string(),
                    t["format"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(found.len(), 7, "{protocol}: {v}");
        let by_uid = |uid: &str| {
            v["tags"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["uid"] == uid)
                .cloned()
                .unwrap()
        };
        let t1 = by_uid("E004010000000001");
        assert_eq!(
            (
                t1["format"].as_str(),
                t1["item_id"].as_str(),
                t1["crc_ok"].as_bool()
            ),
            (Some("iso28560-3"), Some("I1"), Some(true))
        );
        assert_eq!(t1["isil"], "CN-000001");
        assert_eq!(t1["afi"], "07");
        assert_eq!(by_uid("E004010000000002")["format"], "3m");
        assert_eq!(by_uid("E004010000000003")["format"], "iso28560-2");
        assert_eq!(by_uid("E004010000000005")["part"], 2);
        // The short tag with a broken CRC is not taken for a book.
        assert_ne!(by_uid("E0040100000000FF")["crc_ok"], true);

        let set_afi = |tries: &str| {
            kiosk(&[
                "rfid",
                "set-afi",
                "--port",
                &port,
                "--protocol",
                protocol,
                "--uid",
                "E004010000000001",
                "--afi",
                "C2",
                "--tries",
                tries,
            ])
        };
        let (code, v) = set_afi("3");
        assert_eq!(
            (code, v["ok"].as_bool(), v["attempts"].as_u64()),
            (0, Some(true), Some(1)),
            "{v}"
        );
        assert_eq!(by_uid_after(&scan(), "E004010000000001")["afi"], "C2");

        // Two failed writes, then success on the third try.
        sim.tell("fail-writes 2");
        let (code, v) = set_afi("3");
        assert_eq!(
            (code, v["attempts"].as_u64()),
            (0, Some(3)),
            "{protocol}: {v}"
        );

        // More failures than tries: reported, exit 1.
        sim.tell("fail-writes 5");
        let (code, v) = set_afi("2");
        assert_eq!(
            (code, v["ok"].as_bool()),
            (1, Some(false)),
            "{protocol}: {v}"
        );
        assert!(v["error"].as_str().unwrap().contains("2 tries"), "{v}");
        sim.tell("fail-writes 0");

        // A tag taken off the pad is gone from the next scan.
        sim.tell("take E004010000000002");
        let (_, v) = scan();
        assert_eq!(v["tags"].as_array().unwrap().len(), 6, "{protocol}: {v}");
    }
}

fn by_uid_after(scan: &(i32, Value), uid: &str) -> Value {
    scan.1["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["uid"] == uid)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn bad_input_to_the_tools_is_an_error_not_a_crash() {
    let (code, _) = kiosk(&["tag", "decode", "not-hex"]);
    assert_eq!(code, 2);
    let (code, v) = kiosk(&["tag", "decode", "00"]);
    assert_eq!((code, v["format"].as_str()), (0, Some("blank")));
    let (code, v) = kiosk(&["tag", "decode", "DEADBEEF01"]);
    assert_eq!((code, v["format"].as_str()), (0, Some("unknown")));
    let (code, _) = kiosk(&[
        "rfid",
        "scan",
        "--port",
        "/dev/does-not-exist",
        "--protocol",
        "3m810",
    ]);
    assert_eq!(code, 2);
    let out = Command::new(KIOSK)
        .args([
            "tag",
            "encode",
            "--format",
            "iso28560-3",
            "--item-id",
            "12345678901234567890",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("item"),
        "{out:?}"
    );
}

#[test]
fn tag_encode_and_decode_agree() {
    let out = Command::new(KIOSK)
        .args([
            "tag",
            "encode",
            "--format",
            "iso28560-3",
            "--item-id",
            "1234567890",
            "--country",
            "DK",
            "--isil",
            "DK-710100",
            "--parts",
            "2",
            "--part",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let hex = String::from_utf8(out.stdout).unwrap();
    let (code, v) = kiosk(&["tag", "decode", hex.trim()]);
    assert_eq!(code, 0);
    assert_eq!(
        v,
        serde_json::json!({"format":"iso28560-3","item_id":"1234567890","usage":1,"part":1,
            "parts":2,"country":"DK","isil":"DK-710100","crc_ok":true})
    );
}

/// Waits for the first event `want` accepts, within PATIENCE.
fn wait_for(
    rx: &Receiver<DeviceEvent>,
    what: &str,
    want: impl Fn(&DeviceEvent) -> bool,
) -> DeviceEvent {
    let end = Instant::now() + PATIENCE;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("no {what} event"),
        }
    }
}

fn rfid_device(port: &Path) -> DeviceSection {
    DeviceSection::new(
        "pad",
        RfidSection {
            port: port.to_str().unwrap().to_string(),
            protocol: RfidProtocol::M3_810,
            baud: 19200,
            poll_ms: 50,
            afi_retries: 2,
            ..RfidSection::default()
        },
    )
}

#[test]
fn runner_reports_tags_security_and_a_reader_unplugged_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let tags = tags_file(dir.path());
    let link = dir.path().join("rfid0");
    let args = [
        "rfid",
        "--protocol",
        "3m810",
        "--tags",
        tags.to_str().unwrap(),
        "--empty",
        "--link",
        link.to_str().unwrap(),
    ];
    let mut sim = Sim::start(&args);
    let config = Config {
        devices: vec![rfid_device(&link)],
        ..Config::default()
    };
    let (devices, rx) = Devices::start(&config);
    let up = |e: &DeviceEvent| {
        matches!(
            &e.kind,
            EventKind::DeviceStatus {
                status: DeviceStatus::Up { .. }
            }
        )
    };
    wait_for(&rx, "up", up);

    sim.tell("put E004010000000001");
    let e = wait_for(&rx, "tags", |e| {
        matches!(e.kind, EventKind::TagsInField { .. })
    });
    let EventKind::TagsInField { tags } = e.kind else {
        unreachable!()
    };
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].item_id(), Some("I1"));
    assert_eq!(e.device, "pad");

    // Security after a loan: written and read back.
    let uid = parse_uid("E004010000000001").unwrap();
    assert_eq!(devices.secure("pad", &uid, true), Ok(1));
    // A reader that keeps failing: an error to record, not a hang.
    sim.tell("fail-writes 10");
    let err = devices.secure("pad", &uid, false).unwrap_err();
    assert!(err.contains("2 tries"), "{err}");
    sim.tell("fail-writes 0");

    sim.tell("take E004010000000001");
    wait_for(&rx, "tag left", |e| {
        matches!(e.kind, EventKind::TagLeft { .. })
    });

    // Unplugged: the simulator dies, the pty goes away.
    drop(sim);
    wait_for(&rx, "down", |e| {
        matches!(
            &e.kind,
            EventKind::DeviceStatus {
                status: DeviceStatus::Down { .. }
            }
        )
    });
    // Plugged back in at the same place: reopened without help.
    let mut sim = Sim::start(&args);
    wait_for(&rx, "up again", up);
    sim.tell("put E004010000000003");
    let e = wait_for(&rx, "tags again", |e| {
        matches!(e.kind, EventKind::TagsInField { .. })
    });
    let EventKind::TagsInField { tags } = e.kind else {
        unreachable!()
    };
    assert_eq!(tags[0].item_id(), Some("I2"));
    devices.stop();
}

#[test]
fn serial_scanner_codes_arrive_as_cards_and_items_and_noise_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("scan0");
    let mut sim = Sim::start(&["scanner", "--link", link.to_str().unwrap()]);
    let d = DeviceSection::new(
        "scanner",
        SerialScannerSection {
            port: link.to_str().unwrap().to_string(),
            parity: Parity::None,
            ..SerialScannerSection::default()
        },
    );
    let config = Config {
        devices: vec![d],
        ..Config::default()
    };
    let (devices, rx) = Devices::start(&config);
    wait_for(&rx, "up", |e| {
        matches!(e.kind, EventKind::DeviceStatus { .. })
    });
    sim.tell("noise 12");
    sim.tell("partial 30001000000099");
    // A quiet gap longer than the scanner's idle gap ends the broken scan.
    std::thread::sleep(Duration::from_millis(600));
    sim.tell("A20001000000012B");
    let e = wait_for(&rx, "card", |e| {
        matches!(e.kind, EventKind::CardScanned { .. })
    });
    assert_eq!(
        e.kind,
        EventKind::CardScanned {
            code: "20001000000012".into()
        }
    );
    sim.tell("30001000000010");
    let e = wait_for(&rx, "item", |e| {
        matches!(e.kind, EventKind::ItemScanned { .. })
    });
    assert_eq!(
        e.kind,
        EventKind::ItemScanned {
            code: "30001000000010".into()
        }
    );
    devices.stop();
}

/// Reads a child's stdout lines on a thread, so the test can wait for one.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn expect_line(rx: &Receiver<String>, seen: &mut Vec<String>, want: &str) {
    let end = Instant::now() + PATIENCE;
    loop {
        match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
            Ok(l) => {
                seen.push(l.clone());
                if l.contains(want) {
                    return;
                }
            }
            Err(_) => panic!("no line with {want:?}; saw {seen:#?}"),
        }
    }
}

#[test]
fn text_kiosk_lends_from_the_pad_and_reports_a_tag_it_cannot_secure() {
    let dir = tempfile::tempdir().unwrap();
    let tags = tags_file(dir.path());
    let link = dir.path().join("rfid0");
    let mut sim = Sim::start(&[
        "rfid",
        "--protocol",
        "3m810",
        "--tags",
        tags.to_str().unwrap(),
        "--empty",
        "--link",
        link.to_str().unwrap(),
    ]);
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[kiosk]\nlanguages = [\"en\"]\n[barcode]\nmode = \"off\"\n\
             [[devices]]\nid = \"pad\"\nkind = \"rfid\"\nprotocol = \"3m810\"\nport = \"{}\"\n\
             baud = 19200\npoll_ms = 50\nafi_retries = 2\n",
            link.display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p.csv"),
        "barcode,name,category,expires,pin\nP1,Ann Lee,adult,2030-01-01,\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("i.csv"),
        "barcode,title,author,isbn,item_type,rfid_uid,parts\n\
         I1,The Silent River,Ann Lee,,book,,1\nI2,Rain,Bo Li,,book,,1\nI4,Language kit,,,kit,,3\n",
    )
    .unwrap();
    let kiosk_cmd = || {
        let mut c = Command::new(KIOSK);
        c.current_dir(dir.path())
            .env_remove("KIOSK_CONFIG")
            .arg("--config")
            .arg(&config);
        c
    };
    let st = kiosk_cmd()
        .args(["import", "--patrons", "p.csv", "--items", "i.csv"])
        .output()
        .unwrap();
    assert_eq!(st.status.code(), Some(0), "{st:?}");

    let mut k = kiosk_cmd()
        .args(["run", "--text"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut k);
    let mut input = k.stdin.take().unwrap();
    let mut seen = Vec::new();
    expect_line(&lines, &mut seen, "Welcome");
    writeln!(input, "P1").unwrap();
    expect_line(&lines, &mut seen, "Hello Ann Lee");

    sim.tell("put E004010000000001");
    expect_line(&lines, &mut seen, "✓ Borrowed: The Silent River");

    // One part of three: the set is refused until it is complete.
    sim.tell("put E004010000000004");
    expect_line(&lines, &mut seen, "Only 1 of 3 parts");
    sim.tell("put E004010000000005");
    sim.tell("put E004010000000006");
    expect_line(&lines, &mut seen, "✓ Borrowed: Language kit");

    // The reader cannot set the next tag's security.
    sim.tell("fail-writes 10");
    sim.tell("put E004010000000003");
    expect_line(&lines, &mut seen, "✓ Borrowed: Rain");
    expect_line(&lines, &mut seen, "could not be set");
    sim.tell("fail-writes 0");
    writeln!(input, "done").unwrap();
    expect_line(&lines, &mut seen, "You have 3 items on loan");
    drop(input);
    assert_eq!(k.wait().unwrap().code(), Some(0));

    // The failure is in the journal for staff, after the loan it follows.
    let out = kiosk_cmd().arg("journal").output().unwrap();
    let entries: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["checkout", "checkout", "checkout", "security"],
        "{entries:#?}"
    );
    let sec = &entries[3];
    assert_eq!(sec["item"], "I2");
    assert_eq!(sec["reason"], "afi_write_failed");
    assert_eq!(sec["detail"]["uid"], "E004010000000003");
    assert_eq!(sec["detail"]["afi"], "C2");
}

#[test]
fn doctor_probes_each_configured_device() {
    let dir = tempfile::tempdir().unwrap();
    let tags = tags_file(dir.path());
    let link = dir.path().join("rfid0");
    let _sim = Sim::start(&[
        "rfid",
        "--protocol",
        "feig",
        "--tags",
        tags.to_str().unwrap(),
        "--link",
        link.to_str().unwrap(),
    ]);
    let config = dir.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[[devices]]\nid = \"pad\"\nkind = \"rfid\"\nprotocol = \"feig\"\nport = \"{}\"\n\
             baud = 38400\nparity = \"even\"\n\
             [[devices]]\nid = \"scanner\"\nkind = \"barcode-serial\"\nport = \"{}\"\n",
            link.display(),
            dir.path().join("no-such-port").display()
        ),
    )
    .unwrap();
    let (code, v) = kiosk(&["--config", config.to_str().unwrap(), "doctor"]);
    // A required device is missing.
    assert_eq!(code, 1, "{v}");
    let devices = v["devices"].as_array().unwrap();
    assert_eq!(devices[0]["id"], "pad");
    assert_eq!(devices[0]["state"], "up", "{v}");
    assert!(devices[0]["info"].as_str().unwrap().contains("ISC"), "{v}");
    assert_eq!(devices[1]["state"], "down");
    assert!(
        devices[1]["info"]
            .as_str()
            .unwrap()
            .contains("no-such-port"),
        "{v}"
    );
    assert!(v["serial_ports"].is_array() && v["hid"].is_array());
}

#[test]
fn a_printer_out_of_paper_is_a_device_status() {
    use std::io::Read;
    // A network printer whose paper sensor says "out".
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { break };
            let mut buf = [0u8; 64];
            let mut seen = Vec::new();
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(3).any(|w| w == [0x10, 0x04, 0x04]) {
                    let _ = conn.write_all(&[0x7E]);
                    break;
                }
            }
        }
    });
    let d = DeviceSection::new(
        "printer",
        PrinterSection {
            port: format!("tcp://{addr}"),
            ..PrinterSection::default()
        },
    );
    let config = Config {
        devices: vec![d],
        ..Config::default()
    };
    let (devices, rx) = Devices::start(&config);
    let e = wait_for(&rx, "paper out", |e| {
        matches!(
            &e.kind,
            EventKind::DeviceStatus {
                status: DeviceStatus::Error { .. }
            }
        )
    });
    let EventKind::DeviceStatus {
        status: DeviceStatus::Error { reason },
    } = e.kind
    else {
        unreachable!()
    };
    assert!(reason.contains("out of paper"), "{reason}");
    devices.stop();
}
