//! Files holding secrets (issue 13 §5): the real `kiosk-central` and
//! `kiosk` binaries warn at start, and list in `status`, a configuration
//! file with a password, token or the staff PIN hash in it that other
//! users can read; the database files they create are their owner's only.
#![cfg(unix)]

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

#[path = "support/central.rs"]
mod centre;
mod support;

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn kiosk_central_warns_about_a_config_with_a_password_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let cfg = dir.path().join("central.toml");
    // The PostgreSQL password sits in the file; --db below picks SQLite.
    std::fs::write(
        &cfg,
        "[server]\npostgres = \"host=/nowhere user=kiosk password=hunter2\"\n",
    )
    .unwrap();
    chmod(&cfg, 0o644);
    let db = [
        "--db",
        db_path.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ];
    let status = || centre::json_lines(&centre::ok(&db, &["status"]))[0].clone();
    let s = status();
    let warnings = s["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{s}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains("central.toml") && w.contains("server.postgres"),
        "{w}"
    );
    assert!(w.contains("644") && w.contains("chmod 600"), "{w}");
    assert!(!s.to_string().contains("hunter2"), "{s}");
    assert_eq!(s["history_retention_days"], 365);

    // Serving: the warning in the log at start; the database it creates
    // (and its -wal and -shm) readable by the server's user only.
    let mut c = centre::cmd(&db);
    c.args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped());
    let mut server = centre::Server::spawn(c);
    let token = centre::token(&db, "K1");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pushed = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/v1/push", server.base))
            .bearer_auth(&token)
            .json(&serde_json::json!({"kiosk_id": "K1", "sent_at": "2026-11-23T02:00:00Z", "entries": []}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(pushed, 200);
    for suffix in ["", "-wal", "-shm"] {
        let p = dir.path().join(format!("central.db{suffix}"));
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    server.kill();
    let mut log = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("WARN")
            && log.contains("server.postgres")
            && log.contains("can be read by other users"),
        "{log}"
    );
    assert!(!log.contains("hunter2"), "{log}");

    // Owner only: nothing to say.
    chmod(&cfg, 0o600);
    assert_eq!(status()["warnings"], serde_json::json!([]));
    // A database another tool left readable by all is named too.
    chmod(&db_path, 0o644);
    let s = status();
    assert!(
        s["warnings"][0].as_str().unwrap().contains("central.db"),
        "{s}"
    );
}

#[test]
fn kiosk_warns_about_a_config_with_the_staff_pin_hash_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(
        &cfg,
        "[kiosk]\nid = \"k1\"\n[staff]\n\
         pin_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\"\n",
    )
    .unwrap();
    chmod(&cfg, 0o644);
    let (code, out, err) =
        support::kiosk::run_json(support::kiosk::kiosk(dir.path()).arg("status"));
    assert_eq!(code, 0, "{err}");
    let w = out[0]["warnings"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        w.contains("kiosk.toml") && w.contains("staff.pin_hash"),
        "{out:?}"
    );
    assert!(!w.contains("argon2"), "{w}");
    assert!(err.contains("staff.pin_hash"), "not logged at start: {err}");
    // In the kiosk's languages.
    for (lang, words) in [
        ("en", "can be read by other users"),
        ("zh-CN", "其他用户可以读取"),
    ] {
        let (code, out, err) = support::kiosk::run_json(
            support::kiosk::kiosk(dir.path()).args(["--lang", lang, "status"]),
        );
        assert_eq!(code, 0, "{err}");
        let w = out[0]["warnings"][0].as_str().unwrap_or_default();
        assert!(w.contains(words) && w.contains("chmod 600"), "{lang}: {w}");
    }
    // The database the kiosk made is its owner's only.
    assert_eq!(mode(&dir.path().join("kiosk.db")), 0o600);
    chmod(&cfg, 0o600);
    let (code, out, err) =
        support::kiosk::run_json(support::kiosk::kiosk(dir.path()).arg("status"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out[0]["warnings"], serde_json::json!([]));
    assert!(!err.contains("staff.pin_hash"), "{err}");
}
