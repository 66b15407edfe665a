//! Issue 4's "done when", as one scenario with real processes: a kiosk
//! (the `kiosk` binary) that was offline for a day comes back and
//! converges with a real `kiosk-central serve` exactly once, conflicts
//! visible on both sides.
//!
//! Three days ago the kiosk lent two items online and synced. Then it lost
//! the network. Meanwhile, at the centre, another kiosk (K2) lent an item,
//! took one of the kiosk's loans back, renewed the other to the limit and
//! placed a hold on a copy; staff recorded an item lost and blocked a
//! reader. During the offline day the kiosk decided by itself (yesterday's
//! clock, the upstream unreachable): loans, a return and a renewal that
//! the centre can no longer accept. Back online, `kiosk sync --once`
//! delivers everything; each rule of docs/sync.md shows up as a conflict
//! in `kiosk-central conflicts` and in the kiosk's journal and `kiosk sync
//! status`; a second sync changes nothing. Afterwards the kiosk's cache
//! is the centre's: open loans (with due dates and renewals, also after
//! refused renewals), item statuses, readers' blocks. When staff close conflicts
//! at the centre, the kiosk shows them resolved after its next sync.

use chrono::{Duration, Local};
use kiosk::protocol::{Entry, PushRequest, PushResponse};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use uuid::Uuid;

use centre::json_lines;

#[path = "support/central.rs"]
mod centre;

struct Kiosk {
    dir: PathBuf,
}

impl Kiosk {
    /// `kiosk ARGS` at the time `now` (RFC 3339), with the upstream URL
    /// overridden when `url` is given (an unreachable one = offline).
    fn run(&self, now: &str, url: Option<&str>, args: &[&str]) -> (i32, Vec<Value>, String) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
        c.current_dir(&self.dir)
            .env_remove("KIOSK_CONFIG")
            .env("RUST_LOG", "warn")
            .env("KIOSK_NOW", now)
            .args(args);
        if let Some(url) = url {
            c.env("KIOSK__UPSTREAM__URL", url);
        }
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            json_lines(&String::from_utf8_lossy(&out.stdout)),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, now: &str, url: Option<&str>, args: &[&str]) -> Vec<Value> {
        let (code, out, err) = self.run(now, url, args);
        assert_eq!(code, 0, "kiosk {args:?}: {out:?} {err}");
        out
    }

    /// Rows of a query on the kiosk's database, as text.
    fn rows(&self, sql: &str) -> BTreeSet<Vec<String>> {
        let conn = rusqlite::Connection::open(self.dir.join("kiosk.db")).unwrap();
        let mut st = conn.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |r| (0..n).map(|i| r.get::<_, String>(i)).collect())
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    /// Open loans in the kiosk's cache: (item, reader, due, renewals).
    fn loans(&self) -> BTreeSet<(String, String, String, u64)> {
        let conn = rusqlite::Connection::open(self.dir.join("kiosk.db")).unwrap();
        let mut st = conn
            .prepare(
                "SELECT i.barcode, p.barcode, l.due, l.renewals FROM loans l
                 JOIN items i ON i.id = l.item_id
                 JOIN patrons p ON p.id = l.patron_id WHERE l.returned IS NULL",
            )
            .unwrap();
        st.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64))
        })
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
    }
}

fn write(dir: &Path, name: &str, s: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

const PATRONS: &str = "barcode,name,category,expires,pin,blocked\n\
    P1,Reader One,adult,2099-12-31,,\n\
    P2,Reader Two,adult,2099-12-31,,\n\
    P3,Reader Three,adult,2099-12-31,,\n\
    P4,Reader Four,adult,2099-12-31,,\n";
const ITEMS: &str = "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
    I1,Alpha,Author,,book,,1,\n\
    I2,Beta,Author,,book,,1,\n\
    IE,Elsewhere,Author,,book,,1,\n\
    IH,Held,Author,,book,,1,\n\
    IL,Lost,Author,,book,,1,\n\
    IR,Returned,Author,,book,,1,\n\
    IN,Renewed,Author,,book,,1,\n\
    IK,Kept,Author,,book,,1,\n\
    IB,Blocked Reader's,Author,,book,,1,\n";

async fn offline_day_converges(db: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let now = Local::now().fixed_offset();
    let at = |hours_ago: i64| (now - Duration::hours(hours_ago)).to_rfc3339();

    // The centre: readers, items, one renewal allowed, two kiosk tokens.
    centre::ok(
        db,
        &[
            "import",
            "--patrons",
            &write(d, "p.csv", PATRONS),
            "--items",
            &write(d, "i.csv", ITEMS),
        ],
    );
    let t1 = centre::token(db, "K1");
    let t2 = centre::token(db, "K2");
    let cfg = d.join("central.toml");
    std::fs::write(
        &cfg,
        "[policy]\nclosed_weekdays = []\n[policy.default]\nloan_days = 14\nrenewal_days = 14\nmax_renewals = 1\nfine_per_day = 0\n",
    )
    .unwrap();
    let server = centre::serve_with(db, &["--config", cfg.to_str().unwrap()], "127.0.0.1:0");

    // The kiosk K1: its own copy of the catalogue, plus an item the
    // centre never heard of (catalogued locally by mistake).
    let kdir = d.join("kiosk");
    std::fs::create_dir(&kdir).unwrap();
    std::fs::write(
        kdir.join("kiosk.toml"),
        format!(
            "[kiosk]\nid = \"K1\"\n[store]\npath = \"kiosk.db\"\n[barcode]\nmode = \"off\"\n\
             [upstream]\nkind = \"http\"\nurl = \"{}\"\ntoken = \"{t1}\"\ntimeout_secs = 2\n\
             [offline]\npolicy = \"returns-and-checkouts\"\nmax_loans_per_reader = 10\nmax_cache_age_hours = 0\n",
            server.base
        ),
    )
    .unwrap();
    let kiosk = Kiosk { dir: kdir };
    let extra = format!("{ITEMS}IU,Unknown Upstream,Author,,book,,1,\n");
    kiosk.ok(
        &at(80),
        None,
        &[
            "import",
            "--patrons",
            &write(d, "kp.csv", PATRONS),
            "--items",
            &write(d, "ki.csv", &extra),
        ],
    );

    // Three days ago, online: four loans, synced (and the policy pulled).
    kiosk.ok(&at(72), None, &["sync", "--once"]);
    // Decided by the kiosk at the time (the centre would date an online
    // loan by its own clock, not the test's), then delivered.
    for (patron, item) in [("P1", "IR"), ("P1", "IN"), ("P1", "IK"), ("P4", "IB")] {
        let out = kiosk.ok(
            &at(72),
            Some("http://127.0.0.1:9"),
            &["circ", "checkout", "--patron", patron, "--item", item],
        );
        assert_eq!(out[0]["mode"], "offline", "{out:?}");
    }
    let out = kiosk.ok(&at(72), None, &["sync", "--once"]);
    assert_eq!(out[0]["push"]["acknowledged"], 4, "{out:?}");

    // Meanwhile at the centre: kiosk K2, then staff.
    let k2 = |seq: i64, kind: &str, patron: Option<&str>, item: &str, detail: Value| Entry {
        id: Uuid::now_v7(),
        kiosk_id: "K2".into(),
        seq,
        at: at(48),
        kind: kind.into(),
        patron: patron.map(str::to_string),
        item: Some(item.into()),
        decision: "accepted".into(),
        reason: None,
        due: None,
        detail,
        offline: false,
    };
    let res: PushResponse = reqwest::Client::new()
        .post(format!("{}/v1/push", server.base))
        .bearer_auth(&t2)
        .json(&PushRequest {
            kiosk_id: "K2".into(),
            sent_at: Local::now().to_rfc3339(),
            entries: vec![
                k2(1, "checkout", Some("P3"), "IE", json!({})),
                k2(2, "checkin", None, "IR", json!({})),
                k2(3, "renew", Some("P1"), "IN", json!({})),
                k2(4, "hold_placed", Some("P2"), "IH", json!({"level": "item"})),
                // P2 waits for the title P1 has: no renewal for P1.
                k2(
                    5,
                    "hold_placed",
                    Some("P2"),
                    "IK",
                    json!({"level": "title"}),
                ),
            ],
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        res.results.iter().all(|r| r.code.is_none()),
        "{:?}",
        res.results
    );
    centre::ok(
        db,
        &[
            "import",
            "--patrons",
            &write(
                d,
                "p2.csv",
                &PATRONS.replace(
                    "P4,Reader Four,adult,2099-12-31,,",
                    "P4,Reader Four,adult,2099-12-31,,card reported stolen",
                ),
            ),
            "--items",
            &write(
                d,
                "i2.csv",
                &ITEMS.replace("IL,Lost,Author,,book,,1,", "IL,Lost,Author,,book,,1,lost"),
            ),
        ],
    );

    // The offline day: the upstream unreachable, the kiosk decides.
    let dead = Some("http://127.0.0.1:9");
    let day: Vec<(i64, Vec<&str>)> = vec![
        (24, vec!["checkout", "--patron", "P1", "--item", "I1"]),
        (23, vec!["checkout", "--patron", "P1", "--item", "IE"]),
        (22, vec!["checkout", "--patron", "P1", "--item", "IH"]),
        (21, vec!["checkout", "--patron", "P1", "--item", "IL"]),
        (20, vec!["checkout", "--patron", "P1", "--item", "IU"]),
        (19, vec!["checkin", "--item", "IR"]),
        (18, vec!["renew", "--patron", "P1", "--item", "IN"]),
        (17, vec!["checkout", "--patron", "P4", "--item", "I2"]),
        (16, vec!["checkin", "--item", "I1"]),
        // Renewals the centre refuses though its loans did not change
        // meanwhile: the kiosk's cache must not keep the longer due date.
        (16, vec!["renew", "--patron", "P1", "--item", "IK"]),
        (16, vec!["renew", "--patron", "P4", "--item", "IB"]),
    ];
    for (hours, args) in &day {
        let mut a = vec!["circ"];
        a.extend(args);
        let out = kiosk.ok(&at(*hours), dead, &a);
        assert_eq!(out[0]["ok"], true, "{a:?}: {out:?}");
    }
    let (code, out, _) = kiosk.run(&at(15), dead, &["sync", "--once"]);
    assert_eq!(code, 1, "offline: entries stay: {out:?}");
    assert_eq!(out[0]["outbox"], day.len());

    // Back online.
    let out = kiosk.ok(&at(0), None, &["sync", "--once"]);
    assert_eq!(out[0]["outbox"], 0, "{out:?}");
    assert_eq!(out[0]["push"]["sent"], day.len());
    assert_eq!(out[0]["push"]["conflicts"], 9, "{out:?}");
    let want: BTreeSet<(String, String)> = [
        ("IE", "on_loan_elsewhere"),
        ("IH", "on_hold_for_another"),
        ("IL", "item_lost"),
        ("IU", "unknown_item"),
        ("IR", "not_on_loan"),
        ("IN", "renewal_limit"),
        ("I2", "patron_blocked"),
        ("IK", "on_hold_for_another"),
        ("IB", "patron_blocked"),
    ]
    .iter()
    .map(|(i, c)| (i.to_string(), c.to_string()))
    .collect();

    // Visible at the centre ...
    let listed: BTreeSet<(String, String)> =
        json_lines(&centre::ok(db, &["conflicts", "--kiosk", "K1"]))
            .iter()
            .map(|c| {
                (
                    c["item"].as_str().unwrap().to_string(),
                    c["code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
    assert_eq!(listed, want);
    // ... and at the kiosk.
    let journal = kiosk.ok(&at(0), None, &["journal"]);
    let conflicts: BTreeSet<(String, String)> = journal
        .iter()
        .filter(|e| e["sync_status"] == "conflict")
        .map(|e| {
            let reason = e["sync_reason"].as_str().unwrap();
            (
                e["item"].as_str().unwrap().to_string(),
                reason.split(':').next().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(conflicts, want);
    assert!(journal
        .iter()
        .all(|e| e["sync_status"] == "acknowledged" || e["sync_status"] == "conflict"));
    let status = kiosk.ok(&at(0), None, &["sync", "status"]);
    assert_eq!(status[0]["outbox"], 0);
    assert_eq!(status[0]["conflicts"], 9);

    // The centre's state: the applied entries took effect once; the
    // conflicts changed nothing.
    let loans = || -> BTreeSet<(String, String, u64)> {
        json_lines(&centre::ok(db, &["loans"]))
            .iter()
            .map(|l| {
                (
                    l["item"].as_str().unwrap().to_string(),
                    l["patron"].as_str().unwrap().to_string(),
                    l["renewals"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let expected: BTreeSet<(String, String, u64)> = [
        ("IE", "P3", 0),
        ("IN", "P1", 1),
        ("IK", "P1", 0),
        ("IB", "P4", 0),
    ]
    .iter()
    .map(|(i, p, r)| (i.to_string(), p.to_string(), *r))
    .collect();
    assert_eq!(loans(), expected);
    let kiosks = json_lines(&centre::ok(db, &["kiosks"]));
    let k1 = kiosks.iter().find(|k| k["kiosk_id"] == "K1").unwrap();
    assert_eq!(k1["last_seq"], 4 + day.len() as u64);

    // The kiosk's cache has the centre's loans, due dates and renewals:
    // those the centre made meanwhile arrived by the pull, those it
    // refused are gone, the renewals it refused are undone.
    let centre_loans = || -> BTreeSet<(String, String, String, u64)> {
        json_lines(&centre::ok(db, &["loans"]))
            .iter()
            .map(|l| {
                (
                    l["item"].as_str().unwrap().to_string(),
                    l["patron"].as_str().unwrap().to_string(),
                    l["due"].as_str().unwrap().to_string(),
                    l["renewals"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(kiosk.loans(), centre_loans());
    // So do the items' statuses and the readers' blocks (IU is the
    // kiosk's own mistake, unknown at the centre).
    let centre_db = centre::Db::from_args(db);
    let same = |centre: Vec<Vec<String>>, kiosk: BTreeSet<Vec<String>>| {
        let centre: BTreeSet<Vec<String>> = centre.into_iter().collect();
        assert_eq!(kiosk, centre);
    };
    same(
        centre_db.rows("SELECT barcode, status FROM items").await,
        kiosk.rows("SELECT barcode, status FROM items WHERE barcode <> 'IU'"),
    );
    same(
        centre_db
            .rows("SELECT barcode, COALESCE(blocked, '') FROM patrons")
            .await,
        kiosk.rows("SELECT barcode, COALESCE(blocked_reason, '') FROM patrons"),
    );

    // Again: nothing to send, nothing changes.
    let out = kiosk.ok(&at(0), None, &["sync", "--once"]);
    assert_eq!(out[0]["push"]["sent"], 0);
    assert_eq!(loans(), expected);
    assert_eq!(
        json_lines(&centre::ok(db, &["conflicts", "--kiosk", "K1"])).len(),
        9
    );
    assert_eq!(kiosk.loans(), centre_loans());

    // Staff close two conflicts at the centre: IR's return by the command
    // line, IE's loan from a kiosk's staff screen (the API) ...
    let open = json_lines(&centre::ok(db, &["conflicts", "--kiosk", "K1"]));
    let id_of = |item: &str| {
        open.iter().find(|c| c["item"] == item).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (ir, ie) = (id_of("IR"), id_of("IE"));
    let out = centre::ok(
        db,
        &[
            "conflicts",
            "resolve",
            &ir,
            "--note",
            "book back on the shelf",
            "--by",
            "MJ",
        ],
    );
    assert!(out.contains("\"resolved\""), "{out}");
    let r = reqwest::Client::new()
        .post(format!("{}/v1/conflicts/{ie}/resolve", server.base))
        .bearer_auth(&t1)
        .json(&json!({"note": "loan to P3 confirmed", "by": "desk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        json_lines(&centre::ok(db, &["conflicts", "--kiosk", "K1"])).len(),
        7
    );
    // ... and the kiosk learns it by its next sync: both shown resolved
    // (who, when, note), no longer counted open; the others still open.
    let out = kiosk.ok(&at(0), None, &["sync", "--once"]);
    assert_eq!(out[0]["conflicts"], 7, "{out:?}");
    let journal = kiosk.ok(&at(0), None, &["journal", "--status", "conflict"]);
    assert_eq!(journal.len(), 9);
    for e in &journal {
        let r = &e["resolution"];
        match e["item"].as_str().unwrap() {
            "IR" => {
                assert_eq!(r["note"], "book back on the shelf", "{e}");
                assert_eq!(r["resolved_by"], "MJ");
                assert!(r["resolved"].as_str().unwrap().starts_with("20"), "{e}");
            }
            "IE" => {
                assert_eq!(r["note"], "loan to P3 confirmed", "{e}");
                assert_eq!(r["resolved_by"], "desk at kiosk K1");
            }
            _ => assert!(r.is_null(), "{e}"),
        }
    }
    let status = kiosk.ok(&at(0), None, &["sync", "status"]);
    assert_eq!(status[0]["conflicts"], 7);
    // Closing changed nothing else on either side.
    assert_eq!(loans(), expected);
    assert_eq!(kiosk.loans(), centre_loans());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_offline_for_a_day_converges_exactly_once_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("central.db");
    offline_day_converges(&["--db", db.to_str().unwrap()]).await;
}

// pg.rs reports a missing PostgreSQL through support::peer.
#[path = "support/pg.rs"]
mod pg;
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_offline_for_a_day_converges_exactly_once_postgres() {
    let Some(pg) = pg::PgCluster::start_or_skip("offline-day scenario on PostgreSQL") else {
        return;
    };
    pg.create_db("day").await;
    offline_day_converges(&["--postgres", &pg.url("day")]).await;
}
