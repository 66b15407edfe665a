//! Who may call what (issue 13 §1), against a real `kiosk-central serve`
//! process: the scope matrix — every route × (this kiosk's token, another
//! kiosk's token, a staff token, no token) — in one table, and what of a
//! reader's record each kiosk token gets (PIN hashes only with
//! `--offline-pins`, e-mail only in the one-reader lookup).

use kiosk::protocol::*;
use serde_json::{json, Value};
use uuid::Uuid;

#[path = "support/central.rs"]
mod centre;

const PATRONS: &str = "barcode,name,category,expires,pin,email,blocked\n\
    P1,Reader One,adult,2099-12-31,1234,one@example.org,\n\
    P2,Reader Two,adult,2099-12-31,,two@example.org,\n";
const ITEMS: &str = "barcode,title,author,isbn,item_type,rfid_uid,parts,status\n\
    I1,Alpha,Author,,book,,1,\n\
    I2,Beta,Author,,book,,1,\n\
    I3,Gamma,Author,,book,,1,lost\n";

fn entry(kiosk: &str, seq: i64, kind: &str, patron: &str, item: &str) -> Value {
    json!({
        "id": Uuid::now_v7(), "kiosk_id": kiosk, "seq": seq,
        "at": "2026-11-23T10:00:00+08:00", "kind": kind, "patron": patron, "item": item,
        "decision": "accepted", "reason": null, "due": null, "detail": {}, "offline": true,
    })
}

fn push_body(kiosk: &str, entries: Vec<Value>) -> Value {
    json!({"kiosk_id": kiosk, "sent_at": "2026-11-23T02:00:00Z", "entries": entries})
}

fn heartbeat(kiosk: &str) -> Value {
    json!({
        "kiosk_id": kiosk, "version": "test", "sent_at": "2026-11-23T02:00:00Z",
        "outbox": 0, "conflicts": 0, "last_sync": null, "devices": [], "paper": "ok",
    })
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = match method {
            "GET" => self.http.get(url),
            _ => self.http.post(url),
        };
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    /// `entry` pushed and asked to decide, both by `kiosk` with `token`:
    /// each must be refused with 400 (the push as `bad_request`).
    async fn refused_both_ways(&self, token: &str, kiosk: &str, entry: &Value, what: &str) {
        let body = push_body(kiosk, vec![entry.clone()]);
        let (s, v) = self
            .call("POST", "/v1/push", Some(token), Some(&body))
            .await;
        assert_eq!(s, 400, "push {what}: {v}");
        assert_eq!(v["error"], "bad_request", "{v}");
        let body = json!({"entry": entry, "parts_seen": null});
        let (s, v) = self
            .call("POST", "/v1/decide", Some(token), Some(&body))
            .await;
        assert_eq!(s, 400, "decide {what}: {v}");
    }
}

/// The columns of the matrix, in the order the table gives them.
const WHO: [&str; 4] = ["kiosk K1", "kiosk K2", "staff", "no token"];

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_each_kind_of_token_as_the_table_says() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let db = ["--db", db_path.to_str().unwrap()];
    centre::import_csv(&db, dir.path(), "scopes", PATRONS, ITEMS);
    let k1 = centre::token(&db, "K1");
    let k2 = centre::token(&db, "K2");
    let staff = centre::ok(&db, &["token", "create", "--staff", "Mei"])
        .trim()
        .to_string();
    assert_eq!(staff.len(), 64);
    let server = centre::serve(&db);
    let c = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };

    // Each kiosk has a conflict (a lost book lent offline).
    let k1_conflict = entry("K1", 1, "checkout", "P1", "I3");
    let k2_conflict = entry("K2", 1, "checkout", "P2", "I3");
    for (kiosk, tok, e) in [("K1", &k1, &k1_conflict), ("K2", &k2, &k2_conflict)] {
        let (s, v) = c
            .call(
                "POST",
                "/v1/push",
                Some(tok),
                Some(&push_body(kiosk, vec![e.clone()])),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["results"][0]["status"], "conflict", "{v}");
    }
    let k1_id = k1_conflict["id"].as_str().unwrap().to_string();
    let k2_id = k2_conflict["id"].as_str().unwrap().to_string();
    let resolve = json!({"note": "shelved again", "by": "MJ"});
    let decide = json!({"entry": entry("K1", 2, "checkout", "P2", "I1"), "parts_seen": null});

    // route (method, path, body) → status for [K1, K2, staff, none]. The
    // calls run row by row, columns left to right.
    let table: Vec<(&str, String, Option<Value>, [u16; 4])> = vec![
        ("GET", "/v1/health".into(), None, [200, 200, 200, 200]),
        ("GET", "/openapi.json".into(), None, [200, 200, 200, 200]),
        (
            "POST",
            "/v1/push".into(),
            Some(push_body("K1", vec![])),
            [200, 403, 403, 401],
        ),
        ("GET", "/v1/changes".into(), None, [200, 200, 403, 401]),
        (
            "POST",
            "/v1/decide".into(),
            Some(decide),
            [200, 403, 403, 401],
        ),
        (
            "POST",
            "/v1/heartbeat".into(),
            Some(heartbeat("K1")),
            [200, 403, 403, 401],
        ),
        ("GET", "/v1/patrons/P1".into(), None, [200, 200, 403, 401]),
        // Staff do not check readers' PINs (kiosks do, for readers).
        (
            "POST",
            "/v1/pin-check".into(),
            Some(json!({"patron": "P1", "pin": "1234"})),
            [200, 200, 403, 401],
        ),
        (
            "GET",
            "/v1/recommendations?patron=P1".into(),
            None,
            [200, 200, 403, 401],
        ),
        ("GET", "/v1/conflicts".into(), None, [200, 200, 200, 401]),
        (
            "GET",
            "/v1/conflicts?kiosk=K1".into(),
            None,
            [200, 403, 200, 401],
        ),
        (
            "POST",
            format!("/v1/conflicts/{k1_id}/resolve"),
            Some(resolve.clone()),
            [200, 403, 200, 401],
        ),
        ("GET", "/v1/kiosks".into(), None, [403, 403, 200, 401]),
        (
            "GET",
            "/v1/reports/stats".into(),
            None,
            [403, 403, 200, 401],
        ),
        (
            "GET",
            "/v1/reports/stats?format=csv".into(),
            None,
            [403, 403, 200, 401],
        ),
        ("GET", "/v1/feedback".into(), None, [403, 403, 200, 401]),
        (
            "GET",
            "/v1/feedback?format=csv".into(),
            None,
            [403, 403, 200, 401],
        ),
        ("GET", "/v1/nothing-here".into(), None, [404, 404, 404, 404]),
    ];
    // Every route the server has is in the table.
    let doc: Value = c.call("GET", "/openapi.json", None, None).await.1;
    for path in doc["paths"].as_object().unwrap().keys() {
        let prefix = path.split('{').next().unwrap();
        assert!(
            table.iter().any(|(_, p, _, _)| p.starts_with(prefix)),
            "{path} is missing from the scope table"
        );
    }
    let tokens = [
        Some(k1.as_str()),
        Some(k2.as_str()),
        Some(staff.as_str()),
        None,
    ];
    let mut wrong = Vec::new();
    for (method, path, body, want) in &table {
        for (i, tok) in tokens.iter().enumerate() {
            let (s, v) = c.call(method, path, *tok, body.as_ref()).await;
            if s != want[i] {
                wrong.push(format!(
                    "{method} {path} as {}: {s}, want {} ({v})",
                    WHO[i], want[i]
                ));
            }
            if s == 401 || s == 403 {
                let e: ApiError = serde_json::from_value(v.clone())
                    .unwrap_or_else(|_| panic!("{method} {path}: not an ApiError: {v}"));
                assert_eq!(
                    e.error,
                    if s == 401 {
                        "unauthorized"
                    } else {
                        "forbidden"
                    }
                );
                assert!(!e.message.is_empty());
            }
        }
    }
    assert!(wrong.is_empty(), "scope matrix:\n{}", wrong.join("\n"));

    // A kiosk's conflict list is its own; staff see all.
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = c.call("GET", "/v1/conflicts", Some(&k2), None).await;
    assert_eq!(ids(&v), vec![k2_id.clone()], "K2 sees only its own: {v}");
    let (_, v) = c.call("GET", "/v1/conflicts", Some(&staff), None).await;
    assert_eq!(ids(&v), vec![k2_id.clone()], "K1 closed its own: {v}");
    // K2's conflict stays open whatever K1 asks.
    let path = format!("/v1/conflicts/{k2_id}/resolve");
    let (s, _) = c.call("POST", &path, Some(&k1), Some(&resolve)).await;
    assert_eq!(s, 403);
    let (_, v) = c
        .call("GET", "/v1/conflicts?kiosk=K2", Some(&staff), None)
        .await;
    assert_eq!(ids(&v), [k2_id], "still open");
}

/// Every patron record in the feed pages `token` gets.
async fn feed_patrons(c: &Client, token: &str) -> Vec<PatronRecord> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let (s, v) = c
            .call(
                "GET",
                &format!("/v1/changes?cursor={cursor}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let page: ChangesPage = serde_json::from_value(v).unwrap();
        for ch in page.changes {
            if let Change::Upsert {
                record: Record::Patron(p),
            } = ch
            {
                out.push(p);
            }
        }
        cursor = page.cursor;
        if !page.more {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pin_hashes_only_with_offline_pins_and_email_only_one_reader_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let db = ["--db", db_path.to_str().unwrap()];
    centre::import_csv(&db, dir.path(), "pins", PATRONS, ITEMS);
    let plain = centre::token(&db, "K1");
    let pins = centre::ok(&db, &["token", "create", "--kiosk", "K2", "--offline-pins"])
        .trim()
        .to_string();
    let server = centre::serve(&db);
    let c = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };

    let feed = feed_patrons(&c, &plain).await;
    assert_eq!(feed.len(), 2);
    let p1 = feed.iter().find(|p| p.barcode == "P1").unwrap();
    assert_eq!(p1.pin_hash.as_deref(), Some(PIN_WITHHELD), "{p1:?}");
    let p2 = feed.iter().find(|p| p.barcode == "P2").unwrap();
    assert_eq!(p2.pin_hash, None, "no PIN, nothing withheld");
    assert!(
        feed.iter().all(|p| p.email.is_none()),
        "no e-mail in the feed: {feed:?}"
    );

    let feed = feed_patrons(&c, &pins).await;
    let p1 = feed.iter().find(|p| p.barcode == "P1").unwrap();
    assert!(
        p1.pin_hash.as_deref().unwrap().starts_with("$argon2"),
        "{p1:?}"
    );
    assert!(
        feed.iter().all(|p| p.email.is_none()),
        "no e-mail in the feed: {feed:?}"
    );

    // The one-reader lookup: e-mail (for receipts), the hash as above.
    let (s, v) = c.call("GET", "/v1/patrons/P1", Some(&plain), None).await;
    assert_eq!(s, 200);
    let p: PatronRecord = serde_json::from_value(v).unwrap();
    assert_eq!(p.email.as_deref(), Some("one@example.org"));
    assert_eq!(p.pin_hash.as_deref(), Some(PIN_WITHHELD));
    let (_, v) = c.call("GET", "/v1/patrons/P1", Some(&pins), None).await;
    let p: PatronRecord = serde_json::from_value(v).unwrap();
    assert!(p.pin_hash.as_deref().unwrap().starts_with("$argon2"));

    // A new token replaces the kiosk's old one; --offline-pins is per token.
    let again = centre::token(&db, "K2");
    let (s, _) = c.call("GET", "/v1/changes", Some(&pins), None).await;
    assert_eq!(s, 401, "the replaced token no longer works");
    let feed = feed_patrons(&c, &again).await;
    let p1 = feed.iter().find(|p| p.barcode == "P1").unwrap();
    assert_eq!(p1.pin_hash.as_deref(), Some(PIN_WITHHELD));
}

/// Issue 13 §6: out-of-range dates, absurd amounts and seqs are `400`
/// with an `ApiError` (not a panic, a dropped connection or a balance
/// turned REAL), and a comment that would be a spreadsheet formula is
/// exported as text.
#[tokio::test(flavor = "multi_thread")]
async fn absurd_dates_amounts_and_seqs_are_400_and_csv_cells_are_text() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let db = ["--db", db_path.to_str().unwrap()];
    centre::import_csv(&db, dir.path(), "bounds", PATRONS, ITEMS);
    let k1 = centre::token(&db, "K1");
    let staff = centre::ok(&db, &["token", "create", "--staff", "Mei"])
        .trim()
        .to_string();
    let server = centre::serve(&db);
    let c = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };

    for q in [
        "to=-262143-01-01",
        "from=-262143-01-01",
        "to=+262142-12-31",
        "from=0000-01-01&to=0001-01-01",
        "from=2026-01-01&to=+262142-12-31",
    ] {
        for route in ["/v1/reports/stats", "/v1/feedback"] {
            let (s, v) = c
                .call("GET", &format!("{route}?{q}"), Some(&staff), None)
                .await;
            assert_eq!(s, 400, "{route}?{q}: {v}");
            assert_eq!(v["error"], "bad_request", "{v}");
        }
    }
    // The server is still there.
    let (s, _) = c.call("GET", "/v1/reports/stats", Some(&staff), None).await;
    assert_eq!(s, 200);

    // Seqs and amounts out of bounds, by push and by decide.
    let mut pay = entry("K1", 1, "fee_paid", "P1", "I1");
    pay["item"] = Value::Null;
    for (what, e) in [
        ("seq i64::MAX", {
            let mut e = entry("K1", i64::MAX, "checkout", "P1", "I1");
            e["seq"] = json!(i64::MAX);
            e
        }),
        ("seq 0", entry("K1", 0, "checkout", "P1", "I1")),
        ("seq -1", entry("K1", -1, "checkout", "P1", "I1")),
        ("amount i64::MAX", {
            let mut e = pay.clone();
            e["detail"] = json!({"amount_cents": i64::MAX});
            e
        }),
        ("amount i64::MIN", {
            let mut e = pay.clone();
            e["detail"] = json!({"amount_cents": i64::MIN});
            e
        }),
    ] {
        c.refused_both_ways(&k1, "K1", &e, what).await;
    }
    // Nothing of them was kept: seq 1 is still free, the balance whole.
    let mut ok = pay.clone();
    ok["detail"] = json!({"amount_cents": 250});
    let (s, v) = c
        .call(
            "POST",
            "/v1/push",
            Some(&k1),
            Some(&push_body("K1", vec![ok])),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["results"][0]["status"], "applied", "{v}");

    // A comment that a spreadsheet would run is exported as text, by the
    // API and by the command line.
    let mut fb = entry("K1", 2, "feedback", "P1", "I1");
    fb["item"] = Value::Null;
    fb["detail"] =
        json!({"rating": 1, "topics": ["-x"], "comment": "=HYPERLINK(\"http://evil\",\"click\")"});
    let (s, v) = c
        .call(
            "POST",
            "/v1/push",
            Some(&k1),
            Some(&push_body("K1", vec![fb])),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, csv) = c
        .call(
            "GET",
            "/v1/feedback?from=2026-11-23&to=2026-11-23&format=csv",
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let csv = csv.as_str().unwrap().to_string();
    assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
    assert!(csv.contains(",'-x,"), "{csv}");
    let cli = centre::ok(
        &db,
        &[
            "report",
            "--what",
            "feedback",
            "--from",
            "2026-11-23",
            "--to",
            "2026-11-23",
            "--format",
            "csv",
        ],
    );
    assert_eq!(cli, csv);
}

/// Issue 13 §1: an entry is (kiosk, id). Kiosk K2 sending an entry under
/// the id of K1's entry, by push or decide, is refused (400) and K1's
/// entry stays exactly as it was.
#[tokio::test(flavor = "multi_thread")]
async fn another_kiosks_entry_id_is_refused_and_its_entry_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("central.db");
    let db = ["--db", db_path.to_str().unwrap()];
    centre::import_csv(&db, dir.path(), "ids", PATRONS, ITEMS);
    let k1 = centre::token(&db, "K1");
    let k2 = centre::token(&db, "K2");
    let server = centre::serve(&db);
    let c = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    // K1 decides a loan online under its id.
    let e1 = entry("K1", 1, "checkout", "P1", "I1");
    let (s, v) = c
        .call(
            "POST",
            "/v1/decide",
            Some(&k1),
            Some(&json!({"entry": e1, "parts_seen": null})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["decision"], "accepted", "{v}");
    let id = e1["id"].as_str().unwrap().to_string();
    let row = |db: &[&str]| {
        let q = format!(
            "SELECT kiosk_id, seq, status, code, decision, item FROM entries WHERE id = '{id}'"
        );
        let d = centre::Db::from_args(db);
        async move { d.rows(&q).await }
    };
    let before = row(&db).await;
    assert_eq!(before[0][0], "K1");

    // K2 sends the same id, told "refused" offline: by push, then decide.
    let mut e2 = entry("K2", 1, "checkout", "P2", "I2");
    e2["id"] = json!(id);
    e2["decision"] = json!("refused");
    c.refused_both_ways(&k2, "K2", &e2, "another kiosk's entry id")
        .await;
    assert_eq!(row(&db).await, before, "K1's entry is unchanged");
    let (s, v) = c.call("GET", "/v1/conflicts", Some(&k1), None).await;
    assert_eq!((s, v.as_array().unwrap().len()), (200, 0), "{v}");
    // K1 sending its own entry again is still a duplicate.
    let (s, v) = c
        .call(
            "POST",
            "/v1/push",
            Some(&k1),
            Some(&push_body("K1", vec![e1])),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["results"][0]["status"], "duplicate", "{v}");
}
