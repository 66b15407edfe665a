//! Reminders end to end: a real `kiosk-central serve` (SQLite) with a
//! `[reminders]` schedule in central.toml sends due-soon, overdue and
//! hold-ready reminders by e-mail to a real SMTP server (Python's
//! aiosmtpd, decoding each mail as a mail client would) and by webhook
//! (a small receiver in this test). Asserted: the mail content (reader's
//! name, title, due date or pickup code, in the reader's language from
//! the patrons CSV, else the configured one), and
//! that each reminder is sent exactly once across repeated scheduled runs
//! and a server restart, while a new one arising later is sent by the
//! restarted server's schedule.
//!
//! Without aiosmtpd the test prints `SKIPPED: …` and passes, unless
//! `KIOSK_REQUIRE_AIOSMTPD=1` (CI), where it fails.

use chrono::{Duration, Local};
use kiosk::protocol::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

#[path = "support/central.rs"]
mod centre;
#[path = "support/smtp.rs"]
mod smtp;
mod support;
use smtp::smtp_sink;

/// `serve` with `cfg`; its log (info) goes to `log`.
fn serve(db: &[&str], cfg: &Path, log: &Path) -> centre::Server {
    let mut c = centre::cmd(db);
    c.arg("--config")
        .arg(cfg)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stderr(std::fs::File::create(log).unwrap());
    centre::Server::spawn(c)
}

/// Waits (polling, up to a minute) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}

fn mails(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn runs(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches("reminders run")
        .count()
}

async fn webhook() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(vec![]));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got)
}

fn entry(seq: i64, kind: &str, patron: &str, item: &str, due: Option<String>) -> Entry {
    Entry {
        id: Uuid::now_v7(),
        kiosk_id: "K1".into(),
        seq,
        at: Local::now().to_rfc3339(),
        kind: kind.into(),
        patron: Some(patron.into()),
        item: Some(item.into()),
        decision: "accepted".into(),
        reason: None,
        due,
        detail: json!({}),
        offline: true,
    }
}

async fn push(base: &str, token: &str, entries: Vec<Entry>) {
    let r: PushResponse = reqwest::Client::new()
        .post(format!("{base}/v1/push"))
        .bearer_auth(token)
        .json(&PushRequest {
            kiosk_id: "K1".into(),
            sent_at: chrono::Utc::now().to_rfc3339(),
            entries,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|e| e.status == EntryStatus::Applied),
        "{r:?}"
    );
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_by_mail_and_webhook_once_on_schedule() {
    if !support::require(support::Peer::Aiosmtpd) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("central.db");
    let db = ["--db", db_file.to_str().unwrap()];
    let patrons = write(
        dir.path(),
        "patrons.csv",
        "barcode,name,category,expires,pin,blocked,email,language\n\
         P1,王芳,adult,2099-12-31,,,wang.fang@example.org,zh-CN\n\
         P2,Li Lei,adult,2099-12-31,,,li.lei@example.org,\n\
         P3,No Mail,adult,2099-12-31,,,,en\n",
    );
    let items = write(
        dir.path(),
        "items.csv",
        "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
         I1,Alpha,Author,,book,,1,\n\
         I2,Beta,Author,,book,,1,\n\
         I3,Gamma,Author,,book,,1,\n\
         I4,Delta,Author,,book,,1,\n\
         I5,Epsilon,Author,,book,,1,\n\
         I6,Zeta,Author,,book,,1,\n",
    );
    centre::import(&db, &patrons, &items);
    let token = centre::token(&db, "K1");

    let mail_file = dir.path().join("mails.jsonl");
    let (_smtp, smtp_port) = smtp_sink(&mail_file);
    let (hook, hooked) = webhook().await;
    let cfg = write(
        dir.path(),
        "central.toml",
        &format!(
            "[reminders]\n\
             schedule = \"*/2 * * * * *\"\n\
             due_soon_days = 2\n\
             webhook_url = \"{hook}\"\n\
             smtp_url = \"smtp://127.0.0.1:{smtp_port}\"\n\
             from = \"Library <library@example.org>\"\n\
             language = \"en\"\n"
        ),
    );
    let log = dir.path().join("serve.log");
    let server = serve(&db, &cfg, &log);
    let base = server.base.clone();

    let today = Local::now().date_naive();
    let day = |d: i64| (today + Duration::days(d)).format("%Y-%m-%d").to_string();
    push(
        &base,
        &token,
        vec![
            entry(1, "checkout", "P1", "I1", Some(day(1))), // due soon
            entry(2, "checkout", "P1", "I2", Some(day(-3))), // overdue
            entry(3, "checkout", "P2", "I3", Some(day(30))), // nothing yet
            entry(4, "checkout", "P3", "I4", Some(day(-1))), // webhook only
            // A hold for P2 on Zeta, borrowed and returned by P1: ready.
            entry(5, "hold_placed", "P2", "I6", None),
            entry(6, "checkout", "P1", "I6", Some(day(14))),
            entry(7, "checkin", "P1", "I6", None),
        ],
    )
    .await;

    until("three mails", || mails(&mail_file).len() >= 3).await;
    until("four webhook calls", || hooked.lock().unwrap().len() >= 4).await;
    let first_runs = runs(&log);
    until("two more scheduled runs", || runs(&log) >= first_runs + 2).await;

    let got = mails(&mail_file);
    assert_eq!(got.len(), 3, "{got:#?}");
    let find = |subject: &str| {
        got.iter()
            .find(|m| m["subject"] == subject)
            .unwrap_or_else(|| panic!("no mail {subject:?} in {got:#?}"))
    };
    // P1 reads Chinese (the patrons CSV says so); P2 names no language
    // and gets the configured one, English.
    let soon = find("即将到期：《Alpha》");
    assert_eq!(soon["to"], json!(["wang.fang@example.org"]));
    assert_eq!(soon["from"], "library@example.org");
    let body = soon["body"].as_str().unwrap();
    assert!(body.starts_with("王芳，您好："), "{body}");
    assert!(
        body.contains(&format!("您借阅的《Alpha》将于 {} 到期。", day(1))),
        "{body}"
    );
    let late = find("已逾期：《Beta》")["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        late.contains(&format!("《Beta》已于 {} 到期", day(-3))),
        "{late}"
    );
    let ready = find("Ready for pickup: Zeta");
    assert!(
        ready["body"].as_str().unwrap().starts_with("Dear Li Lei,"),
        "{ready}"
    );
    assert_eq!(ready["to"], json!(["li.lei@example.org"]));
    let hooks = hooked.lock().unwrap().clone();
    assert_eq!(hooks.len(), 4, "{hooks:#?}");
    let code = hooks.iter().find(|h| h["kind"] == "hold_ready").unwrap()["pickup_code"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ready["body"]
            .as_str()
            .unwrap()
            .contains(&format!("Your pickup code is {code}.")),
        "{ready}"
    );
    // The reader with no address is reminded by webhook only; the webhook
    // carries the reader's language for pushes of its own.
    assert!(hooks
        .iter()
        .any(|h| h["kind"] == "overdue" && h["patron"] == "P3" && h["language"] == "en"));

    // Restart (SIGKILL): nothing is sent again by the new process's runs.
    drop(server);
    let server = serve(&db, &cfg, &log);
    let base = server.base.clone();
    until("two runs after the restart", || runs(&log) >= 2).await;
    assert_eq!(mails(&mail_file).len(), 3);
    assert_eq!(hooked.lock().unwrap().len(), 4);
    // A loan due tomorrow made now: one new reminder, once.
    push(
        &base,
        &token,
        vec![entry(8, "checkout", "P2", "I5", Some(day(0)))],
    )
    .await;
    until("the new mail", || mails(&mail_file).len() >= 4).await;
    let after = runs(&log);
    until("two more runs", || runs(&log) >= after + 2).await;
    let got = mails(&mail_file);
    assert_eq!(got.len(), 4, "{got:#?}");
    assert_eq!(got[3]["subject"], "Due soon: Epsilon");
    assert_eq!(got[3]["to"], json!(["li.lei@example.org"]));
    assert_eq!(hooked.lock().unwrap().len(), 5);
    // And the command-line run finds nothing left to send.
    assert_eq!(
        centre::ok(&db, &["--config", cfg.to_str().unwrap(), "remind"]),
        ""
    );
}

#[test]
fn mail_text_in_both_languages() {
    use kiosk::central::engine::Reminder;
    use kiosk::central::remind::text;
    use kiosk::domain::Lang;
    let r = Reminder {
        kind: "hold_ready".into(),
        key: "hold:1:123456".into(),
        patron: "P1".into(),
        name: "王芳".into(),
        email: None,
        item: "I1".into(),
        title: "活着".into(),
        due: None,
        pickup_code: Some("012345".into()),
        pickup_by: Some("2026-11-30".into()),
        language: None,
    };
    let (subject, body) = text(&r, Lang::ZhCn);
    assert_eq!(subject, "预约到馆：《活着》");
    assert!(body.starts_with("王芳，您好："), "{body}");
    assert!(
        body.contains("请于 2026-11-30 前到预约架取书，取书码 012345。"),
        "{body}"
    );
    let (subject, body) = text(&r, Lang::En);
    assert_eq!(subject, "Ready for pickup: 活着");
    assert!(body.contains("until 2026-11-30. Your pickup code is 012345."));
}
