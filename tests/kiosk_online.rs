//! The kiosk's own command line against a real kiosk-central process:
//! `kiosk circ …` asks the server first (online, authoritative), decides
//! itself when the server is gone (offline, journaled for the push), and
//! `kiosk sync --once` brings the two together again.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[path = "support/central.rs"]
mod centre;
mod support;

use centre::Server;

/// `["--db", FILE]` for the central database at `db`.
fn db_args(db: &Path) -> [&str; 2] {
    ["--db", db.to_str().unwrap()]
}

fn central_ok(db: &Path, args: &[&str]) -> String {
    centre::ok(&db_args(db), args)
}

fn serve(db: &Path, listen: &str) -> Server {
    centre::serve_with(&db_args(db), &[], listen)
}

/// Runs `kiosk` in `dir` (its kiosk.toml); exit code, JSON lines, stderr.
fn kiosk(dir: &Path, args: &[&str]) -> (i32, Vec<Value>, String) {
    support::kiosk::run_json(
        support::kiosk::kiosk(dir)
            .env("KIOSK_NOW", "2026-11-23T10:00:00+08:00")
            .env("RUST_LOG", "warn")
            .args(args),
    )
}

fn write_kiosk_toml(dir: &Path, base: &str, token: &str) {
    write_kiosk_toml_as(dir, "K1", base, token);
}

fn write_kiosk_toml_as(dir: &Path, id: &str, base: &str, token: &str) {
    std::fs::write(
        dir.join("kiosk.toml"),
        format!(
            "[kiosk]\nid = \"{id}\"\nlanguages = [\"en\", \"zh-CN\"]\n[store]\npath = \"kiosk.db\"\n\
             [barcode]\nmode = \"off\"\n\
             [upstream]\nkind = \"http\"\nurl = \"{base}\"\ntoken = \"{token}\"\n\
             timeout_secs = 2\ndecide_timeout_ms = 1500\n\
             [offline]\npolicy = \"returns-and-checkouts\"\nmax_loans_per_reader = 2\n\
             max_cache_age_hours = 0\n"
        ),
    )
    .unwrap();
}

fn loans(db: &Path) -> Vec<(String, String)> {
    support::kiosk::json_lines(&central_ok(db, &["loans"]))
        .into_iter()
        .map(|v| {
            (
                v["patron"].as_str().unwrap_or_default().to_string(),
                v["item"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A central server with `patrons` and `items` (CSV bodies) imported and
/// a token for kiosk K1, and a kiosk beside it whose cache the first sync
/// has filled (readers, items, the server's policy).
struct Library {
    /// Holds both databases; removed when the test ends.
    dir: tempfile::TempDir,
    cdb: std::path::PathBuf,
    server: Server,
    kdir: std::path::PathBuf,
}

fn library(patrons: &str, items: &str) -> Library {
    let dir = tempfile::tempdir().unwrap();
    let cdb = dir.path().join("central.db");
    let header = "barcode,name,category,expires,pin,blocked\n";
    std::fs::write(dir.path().join("patrons.csv"), format!("{header}{patrons}")).unwrap();
    let header = "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n";
    std::fs::write(dir.path().join("items.csv"), format!("{header}{items}")).unwrap();
    let csv = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    central_ok(
        &cdb,
        &[
            "import",
            "--patrons",
            &csv("patrons.csv"),
            "--items",
            &csv("items.csv"),
        ],
    );
    let token = centre::token(&db_args(&cdb), "K1");
    let server = serve(&cdb, "127.0.0.1:0");
    let kdir = dir.path().join("kiosk");
    std::fs::create_dir(&kdir).unwrap();
    write_kiosk_toml(&kdir, &server.base, &token);
    let (code, out, err) = kiosk(&kdir, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    Library {
        dir,
        cdb,
        server,
        kdir,
    }
}

#[test]
fn circ_is_online_when_the_server_answers_and_offline_when_it_is_gone() {
    let Library {
        dir: _dir,
        cdb,
        server,
        kdir,
    } = library(
        "P1,Reader One,adult,2099-12-31,,\n\
         P2,Reader Two,adult,2099-12-31,,\n",
        "I1,Alpha,Ann Author,,book,,1,\n\
         I2,Beta,Ben Author,,book,,1,\n\
         I3,Gamma,Cy Author,,book,,1,lost\n\
         I4,Delta,Di Author,,book,,1,\n",
    );

    // Online: the server decides and the kiosk journals its answer.
    let (code, out, err) = kiosk(
        &kdir,
        &["circ", "checkout", "--patron", "P1", "--item", "I1"],
    );
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["mode"], "online");
    assert_eq!(out[0]["ok"], true);
    assert_eq!(out[0]["title"], "Alpha");
    assert!(out[0]["due"].as_str().unwrap().starts_with("2026-12"));
    assert!(
        out[0]["message"].as_str().unwrap().contains("Alpha"),
        "{out:?}"
    );
    assert_eq!(loans(&cdb), [("P1".to_string(), "I1".to_string())]);

    // An online refusal comes with the server's reason, in the reader's
    // language, with its arguments.
    let (code, out, _) = kiosk(
        &kdir,
        &["circ", "checkout", "--patron", "P1", "--item", "I3"],
    );
    assert_eq!(code, 1);
    assert_eq!(out[0]["mode"], "online");
    assert_eq!(out[0]["reason"], "item_needs_staff");
    assert!(
        out[0]["message"].as_str().unwrap().contains("lost"),
        "{out:?}"
    );
    let (code, out, _) = kiosk(
        &kdir,
        &[
            "--lang", "zh-CN", "circ", "checkout", "--patron", "P2", "--item", "I1",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(out[0]["reason"], "item_on_loan_to_another");
    assert!(
        out[0]["message"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{2e80}'),
        "{out:?}"
    );

    // Both decisions are in the journal, acknowledged already.
    let (_, journal, _) = kiosk(&kdir, &["journal"]);
    assert!(journal
        .iter()
        .all(|e| e["sync_status"] == "acknowledged" && e["offline"] == false));

    // The server goes away: the kiosk decides under [offline].
    let listen = server.base.trim_start_matches("http://").to_string();
    drop(server);
    let (code, out, err) = kiosk(
        &kdir,
        &["circ", "checkout", "--patron", "P2", "--item", "I2"],
    );
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["mode"], "offline");
    let offline_id = out[0]["entry"].as_str().unwrap().to_string();
    let (code, out, _) = kiosk(&kdir, &["circ", "checkin", "--item", "I1"]);
    assert_eq!(code, 0);
    assert_eq!(out[0]["mode"], "offline");
    // A return of an item the server never lent: fine for the reader now,
    // a conflict for staff after the push.
    let (code, out, _) = kiosk(&kdir, &["circ", "checkin", "--item", "I4"]);
    assert_eq!((code, &out[0]["mode"]), (0, &Value::from("offline")));
    let stray = out[0]["entry"].as_str().unwrap().to_string();
    // A renewal is decided offline too, by the same rules (here: too soon,
    // the loan is a few minutes old); a reservation needs the server's queue.
    let (code, out, _) = kiosk(&kdir, &["circ", "renew", "--patron", "P2", "--item", "I2"]);
    assert_eq!(code, 1, "{out:?}");
    assert_eq!(out[0]["mode"], "offline");
    assert_eq!(out[0]["reason"], "too_soon_to_renew");
    let (code, out, _) = kiosk(&kdir, &["circ", "hold", "--patron", "P2", "--item", "I4"]);
    assert_eq!(code, 1);
    assert_eq!(out[0]["reason"], "offline_unavailable");
    let (_, journal, _) = kiosk(&kdir, &["journal", "--status", "pending"]);
    let pending: Vec<&str> = journal.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(pending.contains(&offline_id.as_str()), "{journal:?}");
    assert!(journal.iter().all(|e| e["offline"] == true));

    // Back on the same address: one sync pushes the offline decisions.
    let _server = serve(&cdb, &listen);
    let (code, out, err) = kiosk(&kdir, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["outbox"], 0);
    assert_eq!(loans(&cdb), [("P2".to_string(), "I2".to_string())]);
    // The stray return is a conflict on both sides, with the same code.
    let (_, journal, _) = kiosk(&kdir, &["journal", "--status", "conflict"]);
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0]["id"], stray.as_str());
    assert!(journal[0]["sync_reason"]
        .as_str()
        .unwrap()
        .starts_with("not_on_loan"));
    let conflicts = central_ok(&cdb, &["conflicts"]);
    assert!(conflicts.contains(&stray), "{conflicts}");
    // And again: nothing to send, nothing applied twice.
    let (code, _, _) = kiosk(&kdir, &["sync", "--once"]);
    assert_eq!(code, 0);
    assert_eq!(loans(&cdb).len(), 1);
}

/// The text kiosk reads scans from stdin; returns its stdout.
fn text_kiosk(dir: &Path, input: &str) -> String {
    let out = support::kiosk::run_with_input(
        support::kiosk::kiosk(dir)
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("RUST_LOG", "warn")
            .args(["--lang", "en", "run", "--text"]),
        input,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_text_kiosk_asks_the_server_and_says_when_it_works_offline() {
    let Library {
        dir: _dir,
        cdb,
        server,
        kdir,
    } = library(
        "P1,Reader One,adult,2099-12-31,,\n",
        "I1,Alpha,Ann Author,,book,,1,\n\
         I2,Beta,Ben Author,,book,,1,\n",
    );

    // Online: the server lends, and nothing is said about being offline.
    let out = text_kiosk(&kdir, "P1\nI1\ndone\n");
    assert!(out.contains("✓ Borrowed: Alpha"), "{out}");
    assert!(!out.contains("offline"), "{out}");
    assert_eq!(loans(&cdb), [("P1".to_string(), "I1".to_string())]);

    // Offline: said once, and the loan is journaled for the push.
    drop(server);
    let out = text_kiosk(&kdir, "P1\nI2\nI1\ndone\n");
    assert_eq!(out.matches("working offline").count(), 1, "{out}");
    assert!(out.contains("✓ Borrowed: Beta"), "{out}");
    let (_, pending, _) = kiosk(&kdir, &["journal", "--status", "pending"]);
    assert_eq!(pending.len(), 2, "{pending:?}");
    assert!(pending.iter().all(|e| e["offline"] == true));
}

/// kiosk-central over HTTPS (`[server] tls_cert`/`tls_key`) with the
/// library's own certificate authority: a kiosk that trusts it
/// (`[upstream] tls_ca`) decides online and syncs; one that does not never
/// talks to the server (no plain-text fallback) and decides offline.
#[test]
fn the_kiosk_talks_to_kiosk_central_over_tls() {
    // python3 with cryptography (tests/sip2/make_certs.py); a failure
    // under KIOSK_REQUIRE_CRYPTOGRAPHY=1 (CI).
    if !support::require(support::Peer::Cryptography) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sip2/make_certs.py"
        ))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(made.success());
    let cdb = dir.path().join("central.db");
    let patrons = dir.path().join("patrons.csv");
    let items = dir.path().join("items.csv");
    std::fs::write(
        &patrons,
        "barcode,name,category,expires,pin,blocked\nP1,Reader One,adult,2099-12-31,,\n",
    )
    .unwrap();
    std::fs::write(
        &items,
        "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
         I1,Alpha,Ann Author,,book,,1,\nI2,Beta,Ben Author,,book,,1,\n",
    )
    .unwrap();
    centre::import(&db_args(&cdb), &patrons, &items);
    let token = centre::token(&db_args(&cdb), "K1");
    let conf = dir.path().join("central.toml");
    std::fs::write(
        &conf,
        format!(
            "[server]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n",
            dir.path().join("server.pem").display(),
            dir.path().join("server.key").display()
        ),
    )
    .unwrap();
    let server = centre::serve_with(
        &db_args(&cdb),
        &["--config", conf.to_str().unwrap()],
        "127.0.0.1:0",
    );
    assert!(server.base.starts_with("https://"), "{}", server.base);

    let kdir = dir.path().join("kiosk");
    std::fs::create_dir(&kdir).unwrap();
    write_kiosk_toml(&kdir, &server.base, &token);
    let toml = std::fs::read_to_string(kdir.join("kiosk.toml")).unwrap();
    let ca = dir.path().join("ca.pem");
    let trusting = toml.replace(
        "[upstream]\n",
        &format!("[upstream]\ntls_ca = \"{}\"\n", ca.display()),
    );
    std::fs::write(kdir.join("kiosk.toml"), &trusting).unwrap();
    let (code, out, err) = kiosk(&kdir, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    let (code, out, err) = kiosk(
        &kdir,
        &["circ", "checkout", "--patron", "P1", "--item", "I1"],
    );
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["mode"], "online", "{out:?}");
    assert_eq!(
        loans(&cdb),
        [("P1".to_string(), "I1".to_string())],
        "the server lent it"
    );

    // A kiosk trusting another authority: no connection, an offline
    // decision journaled for later, never plain text.
    let other = dir.path().join("other-ca.pem");
    std::fs::write(
        kdir.join("kiosk.toml"),
        toml.replace(
            "[upstream]\n",
            &format!("[upstream]\ntls_ca = \"{}\"\n", other.display()),
        ),
    )
    .unwrap();
    let (code, out, err) = kiosk(
        &kdir,
        &["circ", "checkout", "--patron", "P1", "--item", "I2"],
    );
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["mode"], "offline", "{out:?} {err}");
    assert_eq!(loans(&cdb).len(), 1, "nothing reached the server");

    // Trusted again: the offline loan is pushed over TLS.
    std::fs::write(kdir.join("kiosk.toml"), &trusting).unwrap();
    let (code, out, err) = kiosk(&kdir, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(loans(&cdb).len(), 2, "{:?}", loans(&cdb));
}

/// Issue 13 §1/§7: a kiosk whose token lacks `--offline-pins` gets no PIN
/// hashes, and checks PINs online: `POST /v1/pin-check` on the real
/// server, which counts wrong PINs per card across kiosks. Right PIN → a
/// session; wrong → `wrong_pin`; six wrong from two kiosks → locked at
/// both; the server gone → `pin_unavailable`.
#[test]
fn pins_are_checked_by_the_server_for_kiosks_without_hashes() {
    let Library {
        dir,
        cdb,
        server,
        kdir,
    } = library(
        "P1,Reader One,adult,2099-12-31,1234,\n\
         P2,Reader Two,adult,2099-12-31,,\n\
         P3,Reader Three,adult,2099-12-31,5678,\n",
        "I1,Alpha,Ann Author,,book,,1,\n\
         I2,Beta,Ben Author,,book,,1,\n",
    );
    let circ = |dir: &Path, args: &[&str]| {
        let (code, out, err) = kiosk(dir, args);
        assert!(
            !err.contains("1234") && !err.contains("0000"),
            "a PIN in the log: {err}"
        );
        assert_eq!(out.len(), 1, "{args:?}: {out:?} {err}");
        (code, out.into_iter().next().unwrap())
    };
    // argon2 in a debug build on a busy machine takes seconds: the
    // kiosks wait for the server longer than a real one would.
    let patient = |dir: &Path| {
        let toml = std::fs::read_to_string(dir.join("kiosk.toml")).unwrap();
        let toml = toml
            .replace("timeout_secs = 2\n", "timeout_secs = 30\n")
            .replace("decide_timeout_ms = 1500\n", "decide_timeout_ms = 30000\n");
        std::fs::write(dir.join("kiosk.toml"), toml).unwrap();
    };
    patient(&kdir);
    let pin = |dir: &Path, patron: &str, pin: &str| {
        let (_, v) = circ(dir, &["circ", "account", "--patron", patron, "--pin", pin]);
        if v["ok"] == true {
            "ok".to_string()
        } else {
            v["reason"].as_str().unwrap_or("?").to_string()
        }
    };

    // The right PIN opens a session: the server lends.
    let (code, v) = circ(
        &kdir,
        &[
            "circ", "checkout", "--patron", "P1", "--item", "I1", "--pin", "1234",
        ],
    );
    assert_eq!((code, v["mode"].clone()), (0, Value::from("online")), "{v}");
    assert_eq!(loans(&cdb), [("P1".to_string(), "I1".to_string())]);
    // A reader without a PIN is not asked about.
    let (code, v) = circ(
        &kdir,
        &["circ", "checkout", "--patron", "P2", "--item", "I2"],
    );
    assert_eq!(code, 0, "{v}");

    // A second kiosk, also without PIN hashes.
    let token2 = centre::token(&db_args(&cdb), "K2");
    let kdir2 = dir.path().join("kiosk2");
    std::fs::create_dir(&kdir2).unwrap();
    write_kiosk_toml_as(&kdir2, "K2", &server.base, &token2);
    patient(&kdir2);
    let (code, out, err) = kiosk(&kdir2, &["sync", "--once"]);
    assert_eq!(code, 0, "{out:?} {err}");

    // Three wrong at K1, three at K2: the server locks the card on the
    // fifth (its [policy] pin_attempts), though neither kiosk saw five.
    let k1: Vec<String> = (0..3).map(|_| pin(&kdir, "P1", "0000")).collect();
    assert_eq!(k1, ["wrong_pin"; 3]);
    let k2: Vec<String> = (0..3).map(|_| pin(&kdir2, "P1", "0000")).collect();
    assert_eq!(k2, ["wrong_pin", "pin_locked", "pin_locked"]);
    // Locked everywhere, the right PIN included.
    assert_eq!(pin(&kdir, "P1", "1234"), "pin_locked");
    assert_eq!(pin(&kdir2, "P1", "1234"), "pin_locked");
    // Another reader is not affected.
    assert_eq!(pin(&kdir2, "P3", "5678"), "ok");

    // The server gone: the PIN cannot be checked.
    drop(server);
    assert_eq!(pin(&kdir, "P3", "5678"), "pin_unavailable");
}
