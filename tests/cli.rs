//! The `kiosk` command-line contract, driven through the real binary:
//! JSON on stdout, text on stderr, exit codes 0 / 1 (refused) / 2 (error).

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::kiosk::{damage_inside, json_lines, run_with_input, KIOSK};

const NOW: &str = "2026-11-22T10:00:00+08:00";

struct Kiosk {
    dir: tempfile::TempDir,
}

impl Kiosk {
    /// A kiosk with its own config (no demo data, Sundays closed) and database.
    fn new() -> Kiosk {
        Kiosk::with_config(
            r#"
[kiosk]
id = "test-kiosk"
languages = ["en", "zh-CN"]

[store]
path = "kiosk.db"

[policy]
closed_weekdays = ["sun"]
holidays = ["2026-12-07"]

[policy.default]
loan_days = 14
max_loans = 2
fine_per_day = 0.10

[[policy.rules]]
category = "child"
item_type = "default"
max_loans = 1

[barcode]
mode = "off"
"#,
        )
    }

    fn with_config(toml: &str) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kiosk.toml"), toml).unwrap();
        Kiosk { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = support::kiosk::kiosk(self.dir.path());
        c.env("KIOSK_NOW", NOW)
            .arg("--config")
            .arg(self.path("kiosk.toml"))
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs and parses stdout as one JSON object; asserts the exit code.
    fn json(&self, args: &[&str], exit: i32) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(exit),
            "{args:?}\nstdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
    }

    fn lines(&self, args: &[&str]) -> Vec<Value> {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&String::from_utf8(out.stdout).unwrap())
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn import_sample(&self) {
        let p = self.write(
            "patrons.csv",
            "barcode,name,category,expires,pin,email\n\
             P1,张伟,adult,2030-01-01,,zw@example.org\n\
             P2,Emma Smith,adult,2030-01-01,2468,\n\
             K1,小明,child,2030-01-01,,\n\
             OLD,Old Card,adult,2020-01-01,,\n",
        );
        let i = self.write(
            "items.csv",
            "barcode,title,author,isbn,item_type,rfid_uid,parts\n\
             I1,三体,刘慈欣,9787536692930,book,E004010000000001,1\n\
             I2,三体,刘慈欣,9787536692930,book,,1\n\
             I3,The Silent River,Ann Lee,,book,,\n\
             I4,Language kit,,,kit,,3\n",
        );
        let v = self.json(
            &[
                "import",
                "--patrons",
                p.to_str().unwrap(),
                "--items",
                i.to_str().unwrap(),
            ],
            0,
        );
        assert_eq!(v["patrons"]["inserted"], 4);
        assert_eq!(v["items"]["inserted"], 4);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn shipped_sample_config_is_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(KIOSK)
        .args(["check-config", s(&root.join("kiosk.toml"))])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
}

#[test]
fn bad_config_names_file_line_and_key_with_exit_2() {
    let k = Kiosk::with_config("[kiosk]\nid = \"k\"\n\n[policy.default]\nmax_loans = -3\n");
    let out = k.run(&["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kiosk.toml:5"), "{err}");
    assert!(err.contains("max_loans"), "{err}");

    let k = Kiosk::with_config("[store]\npath = \"x.db\"\nretention = 3\n");
    let out = k.run(&["circ", "checkin", "--item", "I1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("kiosk.toml:3") && err.contains("retention"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn environment_and_db_flag_override_the_store_path() {
    let k = Kiosk::new();
    let env_db = k.path("from-env.db");
    let out = k
        .cmd(&["status"])
        .env("KIOSK__STORE__PATH", &env_db)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(env_db.exists());
    let flag_db = k.path("from-flag.db");
    let v = k.json(&["--db", s(&flag_db), "status"], 0);
    assert_eq!(v["db"], s(&flag_db));
    assert_eq!(v["integrity"], "ok");
    assert_eq!(v["schema_version"], kiosk::store::schema_version());
    assert!(flag_db.exists());
}

#[test]
fn circulation_contract() {
    let k = Kiosk::new();
    k.import_sample();

    let v = k.json(&["circ", "checkout", "--patron", "P1", "--item", "I1"], 0);
    assert_eq!(v["ok"], true);
    // 14 days from Sun 22 Nov = Sun 6 Dec (closed), Mon 7 Dec holiday → Tue 8 Dec.
    assert_eq!(v["due"], "2026-12-08");
    assert_eq!(v["title"], "三体");
    assert!(v["entry"].as_str().unwrap().len() == 36);
    assert_eq!(v["seq"], 1);

    let v = k.json(&["circ", "checkout", "--patron", "P1", "--item", "I1"], 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["reason"], "already_on_loan_to_you");
    assert!(v["message"].as_str().unwrap().contains("2026-12-08"));

    let v = k.json(&["circ", "checkout", "--patron", "K1", "--item", "I3"], 0);
    assert_eq!(v["ok"], true);
    let v = k.json(&["circ", "checkout", "--patron", "K1", "--item", "I2"], 1);
    assert_eq!(v["reason"], "max_loans_reached");
    let v = k.json(
        &[
            "--lang", "zh-CN", "circ", "checkout", "--patron", "K1", "--item", "I2",
        ],
        1,
    );
    assert!(v["message"].as_str().unwrap().contains("已达上限"), "{v}");
    let v = k.json(&["circ", "checkout", "--patron", "OLD", "--item", "I2"], 1);
    assert_eq!(v["reason"], "card_expired");
    let v = k.json(
        &["circ", "checkout", "--patron", "NOBODY", "--item", "I2"],
        1,
    );
    assert_eq!(v["reason"], "unknown_patron");
    let v = k.json(
        &[
            "circ",
            "checkout",
            "--patron",
            "P1",
            "--item",
            "I4",
            "--parts-seen",
            "2",
        ],
        1,
    );
    assert_eq!(v["reason"], "incomplete_set");

    // PIN: given and wrong → refused before anything is journaled.
    let v = k.json(
        &[
            "circ", "checkout", "--patron", "P2", "--item", "I2", "--pin", "0000",
        ],
        1,
    );
    assert_eq!(v["reason"], "wrong_pin");
    let v = k.json(
        &[
            "circ", "checkout", "--patron", "P2", "--item", "I2", "--pin", "2468",
        ],
        0,
    );
    assert_eq!(v["ok"], true);

    let v = k.json(&["circ", "hold", "--patron", "P1", "--item", "I3"], 0);
    assert_eq!(v["queue_position"], 1);

    let v = k.json(&["circ", "account", "--patron", "P1"], 0);
    assert_eq!(v["loans"].as_array().unwrap().len(), 1);
    assert_eq!(v["loans"][0]["due"], "2026-12-08");
    assert_eq!(v["loans"][0]["overdue"], false);
    assert_eq!(v["holds"][0]["status"], "waiting");
    assert_eq!(v["fines_owed"], "0.00");

    let late = "2026-12-10T10:00:00+08:00";
    let v = k.json(&["--now", late, "circ", "checkin", "--item", "I3"], 0);
    assert_eq!(v["route"]["to"], "hold_shelf");
    let code = v["pickup_code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    assert!(v["message"].as_str().unwrap().contains(&code));
    let v = k.json(&["--now", late, "circ", "account", "--patron", "P1"], 0);
    assert_eq!(v["holds"][0]["status"], "ready");
    assert_eq!(v["holds"][0]["pickup_code"], code.as_str());

    let v = k.json(
        &[
            "--now", late, "circ", "renew", "--patron", "P1", "--item", "I1",
        ],
        0,
    );
    assert_eq!(v["due"], "2026-12-24");
    let v = k.json(&["circ", "checkin", "--item", "NOPE"], 1);
    assert_eq!(v["reason"], "unknown_item");
    let v = k.json(
        &[
            "circ",
            "feedback",
            "--patron",
            "P1",
            "--rating",
            "5",
            "--comment",
            "很好",
        ],
        0,
    );
    assert_eq!(v["ok"], true);
    let out = k.run(&["circ", "feedback", "--rating", "9"]);
    assert_eq!(out.status.code(), Some(2));

    let all = k.lines(&["journal"]);
    let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    assert!(all.iter().all(|e| e["kiosk_id"] == "test-kiosk"));
    assert_eq!(
        k.lines(&["journal", "--status", "pending"]).len(),
        all.len()
    );
    assert!(k.lines(&["journal", "--status", "acknowledged"]).is_empty());
    assert!(all.iter().any(|e| e["kind"] == "feedback"));
    // The wrong PIN was not journaled, and no PIN is in the journal.
    let text = String::from_utf8(k.run(&["journal"]).stdout).unwrap();
    assert!(!text.contains("2468") && !text.contains("0000"));
}

#[test]
fn import_reports_bad_rows_by_line_and_updates_by_barcode() {
    let k = Kiosk::new();
    let p = k.write(
        "p.csv",
        "barcode,name,category,expires,pin\n\
         P1,张伟,adult,2030-01-01,\n\
         ,No Barcode,adult,2030-01-01,\n\
         P2,Bad Date,adult,31/12/2030,\n\
         P3,Emma,,,\n\
         P4,Only Name\n\
         P5,\"Open, Quote,adult,2030-01-01,\n\
         P6,Swallowed,adult,2030-01-01,\n",
    );
    let v = k.json(&["import", "--patrons", s(&p)], 1);
    // Only P1: a card with no last day would never expire (P3), a row
    // shorter than the header (P4) and a quote left open that ran over
    // P6 (P5) are each reported by line, never merged into a reader.
    assert_eq!(v["patrons"]["inserted"], 1);
    let errors = v["patrons"]["errors"].as_array().unwrap();
    let lines: Vec<_> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{errors:?}");
    assert!(errors[2]["error"].as_str().unwrap().contains("expires"));
    assert!(errors[4]["error"]
        .as_str()
        .unwrap()
        .contains("lines 7 to 8"));
    let out = k.run(&["circ", "account", "--patron", "P6"]);
    assert_ne!(out.status.code(), Some(0), "P6 was swallowed, not imported");

    let p2 = k.write(
        "p2.csv",
        "barcode,name,category,expires,pin\nP1,张伟伟,staff,2031-01-01,\n",
    );
    let v = k.json(&["import", "--patrons", s(&p2)], 0);
    assert_eq!(v["patrons"]["updated"], 1);
    assert_eq!(v["patrons"]["inserted"], 0);
    let v = k.json(&["circ", "account", "--patron", "P1"], 0);
    assert_eq!(v["name"], "张伟伟");
    assert_eq!(v["category"], "staff");

    let missing = k.write("bad.csv", "barcode,name\nP9,x\n");
    let out = k.run(&["import", "--patrons", s(&missing)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expires"));
}

#[test]
fn barcode_check_contract() {
    let k = Kiosk::new();
    let v = k.json(&["barcode", "check", "A20001000000012B"], 0);
    assert_eq!(v["input"], "A20001000000012B");
    assert_eq!(v["normalized"], "20001000000012");
    assert_eq!(v["kind"], "patron");
    assert_eq!(v["valid"], true);
    let v = k.json(&["barcode", "check", "978-0-306-40615-7"], 0);
    assert_eq!(v["kind"], "isbn");
    assert_eq!(v["valid"], true);
    let v = k.json(&["barcode", "check", "30001000000003"], 0);
    assert_eq!(v["kind"], "item");
    assert_eq!(v["valid"], false);
    let v = k.json(&["barcode", "check", "hello"], 0);
    assert_eq!(v["kind"], "unknown");
}

#[test]
fn export_csv_has_a_header_and_the_days_asked_for() {
    let k = Kiosk::new();
    k.import_sample();
    k.json(&["circ", "checkout", "--patron", "P1", "--item", "I1"], 0);
    let out = k.run(&[
        "export",
        "--what",
        "stats",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-23",
        "--format",
        "csv",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("metric,key,value"));
    assert!(text.contains("loans_per_day,2026-11-22,1"), "{text}");
    assert!(text.contains("loans_per_day,2026-11-21,0"), "{text}");
    let out = k.run(&[
        "export",
        "--what",
        "transactions",
        "--from",
        "2026-11-22",
        "--to",
        "2026-11-22",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("id,kiosk_id,seq,at,kind"), "{text}");
    assert_eq!(text.lines().count(), 2);
    let out = k.run(&[
        "export",
        "--what",
        "loans",
        "--from",
        "2026-11-23",
        "--to",
        "2026-11-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unreadable_database_is_refused_untouched() {
    let k = Kiosk::new();
    let db = k.write("broken.db", "not a database at all, just text");
    let out = k.run(&["--db", s(&db), "circ", "checkin", "--item", "I1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // What is wrong, and that nothing was done to it (the wording since
    // the database check of issue 13).
    assert!(
        err.contains("broken.db")
            && err.contains("not a kiosk database")
            && err.contains("left untouched"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&db).unwrap(),
        "not a database at all, just text"
    );
}

#[test]
fn demo_data_is_deterministic() {
    let k = Kiosk::new();
    let a = k.path("a.db");
    let b = k.path("b.db");
    let va = k.json(
        &[
            "--db",
            s(&a),
            "demo-data",
            "--patrons",
            "50",
            "--items",
            "400",
            "--seed",
            "7",
        ],
        0,
    );
    let vb = k.json(
        &[
            "--db",
            s(&b),
            "demo-data",
            "--patrons",
            "50",
            "--items",
            "400",
            "--seed",
            "7",
        ],
        0,
    );
    assert_eq!(va["patrons"], 50);
    assert_eq!(va["items"], 400);
    assert_eq!(va["loans"], vb["loans"]);
    let export = |db: &Path| {
        k.run(&[
            "--db",
            s(db),
            "export",
            "--what",
            "loans",
            "--from",
            "2026-01-01",
            "--to",
            "2026-11-22",
        ])
        .stdout
    };
    let ea = export(&a);
    assert!(ea.len() > 100);
    assert_eq!(ea, export(&b));
}

#[test]
fn text_kiosk_borrows_and_returns_from_scans() {
    let k = Kiosk::new();
    k.import_sample();
    let out = run_with_input(&mut k.cmd(&["run", "--text"]), b"P1\nI1\nI2\nI3\nP1\nI1\n");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("张伟"), "{text}");
    assert!(lines[2].starts_with("✓ Borrowed: 三体"), "{text}");
    assert!(lines[3].starts_with("✓ Borrowed: 三体"), "{text}");
    assert!(lines[4].starts_with("✗ You already have 2 items"), "{text}");
    assert!(lines[5].contains("2 items on loan"), "{text}");
    assert!(lines[6].starts_with("✓ Returned: 三体"), "{text}");
}

#[test]
fn text_kiosk_keeps_the_session_when_another_card_is_scanned() {
    let k = Kiosk::new();
    k.import_sample();
    let out = run_with_input(
        &mut k.cmd(&["--lang", "en", "run", "--text"]),
        b"P1\nP2\nI1\nP1\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("张伟"), "{text}");
    // The same rules as the touch screen (domain::session): the second
    // card waits, and the book goes to the first reader.
    assert!(
        lines[2].starts_with("✗ Another card: the reader at the kiosk must finish first"),
        "{text}"
    );
    assert!(lines[3].starts_with("✓ Borrowed: 三体"), "{text}");
    assert!(lines[4].contains("1 item on loan"), "{text}");
}

#[test]
fn text_kiosk_asks_for_the_pin_when_required() {
    let k = Kiosk::new();
    k.import_sample();
    let out = run_with_input(
        k.cmd(&["--lang", "en", "run", "--text"])
            .env("KIOSK__POLICY__REQUIRE_PIN", "true"),
        b"P2\n1111\n2468\nI3\nP2\n",
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[1], "Please type your PIN and press Enter.", "{text}");
    assert!(lines[2].starts_with("✗ That PIN is not right"), "{text}");
    assert_eq!(lines[3], "Please type your PIN and press Enter.", "{text}");
    assert!(lines[4].contains("Emma Smith"), "{text}");
    assert!(
        lines[5].starts_with("✓ Borrowed: The Silent River"),
        "{text}"
    );
    assert!(lines[6].contains("You have 1 item on loan."), "{text}");
    // Neither the PIN nor the full card number reaches the log.
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(!log.contains("2468") && !log.contains("1111"), "{log}");
}

#[test]
fn hash_pin_prints_an_argon2_hash_the_kiosk_accepts_and_never_the_pin() {
    let run = |input: &str| run_with_input(Command::new(KIOSK).arg("hash-pin"), input.as_bytes());
    let out = run("246801\n");
    assert!(out.status.success(), "{out:?}");
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("246801"));
    assert!(kiosk::privacy::verify_pin("246801", hash));
    assert!(!kiosk::privacy::verify_pin("246802", hash));
    // The hash is what [staff] pin_hash accepts.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(&cfg, format!("[staff]\npin_hash = \"{hash}\"\n")).unwrap();
    let check = Command::new(KIOSK)
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    // Letters cannot be typed on the PIN pad; too short is no PIN.
    for bad in ["12a4\n", "123\n", "\n"] {
        let out = run(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("4 to 12 digits"));
    }
}

/// An export never replaces a file: not the kiosk's own database (where an
/// earlier version lost unsynced entries), not its WAL, not any existing
/// file, and never writes through a symbolic link.
#[test]
fn an_export_never_replaces_a_file_or_follows_a_link() {
    let k = Kiosk::new();
    k.import_sample();
    k.json(&["circ", "checkout", "--patron", "P1", "--item", "I1"], 0);
    let journal = |k: &Kiosk| String::from_utf8(k.run(&["journal"]).stdout).unwrap();
    let before = journal(&k);
    assert!(!before.is_empty());
    let export_to = |out: &str| {
        k.run(&[
            "export",
            "--what",
            "transactions",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--out",
            out,
        ])
    };
    for own in ["kiosk.db", "kiosk.db-wal", "kiosk.db-shm", "./kiosk.db"] {
        let out = export_to(own);
        assert_eq!(out.status.code(), Some(2), "{own}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("own database"),
            "{own}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(journal(&k), before, "the database is untouched");

    std::fs::write(k.path("report.csv"), "keep me").unwrap();
    let out = export_to("report.csv");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    assert_eq!(
        std::fs::read_to_string(k.path("report.csv")).unwrap(),
        "keep me"
    );

    #[cfg(unix)]
    {
        std::fs::write(k.path("target.txt"), "precious").unwrap();
        std::os::unix::fs::symlink(k.path("target.txt"), k.path("link.csv")).unwrap();
        std::os::unix::fs::symlink(k.path("nowhere.txt"), k.path("dangling.csv")).unwrap();
        assert_eq!(export_to("link.csv").status.code(), Some(2));
        assert_eq!(export_to("dangling.csv").status.code(), Some(2));
        assert_eq!(
            std::fs::read_to_string(k.path("target.txt")).unwrap(),
            "precious"
        );
        assert!(!k.path("nowhere.txt").exists());
    }

    let out = export_to("new.csv");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(k.path("new.csv")).unwrap();
    assert!(text.starts_with("id,kiosk_id,seq"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(k.path("new.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "an export names readers: owner only");
    }
}

/// Damaged pages in the middle of the file (the header intact, so SQLite
/// opens it): no command that writes works with it — the kiosk would lend
/// books whose loans sit on the damaged pages — and `kiosk status` says so
/// with a non-zero exit code.
#[test]
fn a_database_damaged_inside_is_refused_for_work_and_status_says_so() {
    let k = Kiosk::new();
    k.import_sample();
    k.json(&["demo-data", "--patrons", "200", "--items", "3000"], 0);
    k.json(&["circ", "checkout", "--patron", "P1", "--item", "I1"], 0);
    // Fold the WAL in so the damage below is what SQLite reads.
    let db = k.path("kiosk.db");
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    assert!(
        pages > 40,
        "a database of {pages} pages is too small to damage inside"
    );
    for p in [pages / 3, pages / 2, 2 * pages / 3] {
        for b in &mut bytes[p * page + 8..p * page + 1000] {
            *b = 0x5A;
        }
    }
    std::fs::write(&db, &bytes).unwrap();

    let out = k.run(&["circ", "checkout", "--patron", "P2", "--item", "I2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("failed its check at start"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "nothing was written");

    let out = k.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(v["integrity"], "ok", "{v}");
}

/// The quick check reads the whole file (1.7 s on the 1M-item demo
/// library): a command that writes reuses a pass noted beside the
/// database while the files are as the kiosk left them, and checks again
/// once something else changed them (here: a backup copied back).
#[test]
fn a_passed_check_is_reused_until_the_database_is_changed_from_outside() {
    let k = Kiosk::new();
    k.import_sample();
    let db = k.path("kiosk.db");
    let mark = k.path("kiosk.db-checked");
    let logged = |args: &[&str]| -> String {
        let out = k.cmd(args).env("KIOSK_LOG", "kiosk=info").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        err
    };
    let checked_at = || -> Value {
        let text = std::fs::read_to_string(&mark).expect("the pass is noted");
        serde_json::from_str::<Value>(&text).unwrap()["checked_at"].clone()
    };
    logged(&["circ", "checkout", "--patron", "P1", "--item", "I1"]);
    let first = checked_at();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&mark).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
    // The kiosk's own writes since: the pass still holds.
    let err = logged(&["circ", "checkin", "--item", "I1"]);
    assert!(err.contains("not run again"), "{err}");
    assert!(!err.contains("database check ran"), "{err}");
    assert_eq!(checked_at(), first);
    let backup = k.path("backup.db");
    std::fs::copy(&db, &backup).unwrap();
    let err = logged(&["circ", "checkout", "--patron", "P1", "--item", "I2"]);
    assert!(err.contains("not run again"), "{err}");

    // Restored from the backup: the file changed from outside, so the
    // next command checks it again.
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::fs::copy(&backup, &db).unwrap();
    let err = logged(&["circ", "checkout", "--patron", "P2", "--item", "I3"]);
    assert!(err.contains("database check ran"), "{err}");
    assert!(!err.contains("not run again"), "{err}");

    // Damaged from outside after a pass: checked again, and refused.
    damage_inside(&db);
    let out = k.run(&["circ", "checkout", "--patron", "P2", "--item", "I4"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("failed its check at start"), "{err}");
    assert!(!mark.exists(), "a failed check forgets the pass");
}

/// The text kiosk greets first and checks its database after (a large
/// library takes seconds); on a damaged one it lends nothing and says
/// what staff must do, instead of not starting at all.
#[test]
fn the_text_kiosk_greets_then_stays_out_of_service_on_a_damaged_database() {
    let k = Kiosk::new();
    k.import_sample();
    let before = k.lines(&["journal"]).len();
    damage_inside(&k.path("kiosk.db"));
    let out = run_with_input(
        &mut k.cmd(&["--lang", "en", "run", "--text"]),
        b"P1\nI1\ndone\nI2\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Welcome"), "{text}");
    assert!(
        text.contains("failed its check") && text.contains("Restore it from a backup"),
        "{text}"
    );
    assert!(!text.contains("✓"), "nothing lent or returned: {text}");
    assert_eq!(k.lines(&["journal"]).len(), before, "nothing journaled");
}
