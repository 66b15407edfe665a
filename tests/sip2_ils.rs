//! The kiosk on a SIP2 ILS: the real `kiosk` binary (`kiosk circ …`,
//! `kiosk sync --once`, `kiosk sync status`, `kiosk journal`) with
//! `[upstream] kind = "sip2"` against a scripted ILS behind pysip2's AnyIO
//! SIP2 server (tests/sip2/ils_server.py, a separate process on a loopback
//! port, `support::ils`) that records every request it receives. The tests
//! assert on what the server recorded and on what the kiosk printed and
//! journaled.
//!
//! Needs python3 with pysip2 (pip install pysip2==0.1.0), and Python's
//! cryptography for the TLS test: each test says it is skipped when they
//! are missing, and the run ends with the count, unless
//! KIOSK_REQUIRE_PYSIP2=1 / KIOSK_REQUIRE_CRYPTOGRAPHY=1 (CI), which make
//! it a failure.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use support::ils::Ils;
use support::kiosk::{kiosk, run_json, run_with_input};
use support::{require, Peer};

struct Kiosk {
    dir: tempfile::TempDir,
}

const PATRONS: &str = "barcode,name,category,expires,pin,email\n\
    P1,Zoë Ørsted,adult,2030-01-01,,\n\
    P2,张伟,adult,2030-01-01,,\n";

impl Kiosk {
    fn new() -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        Kiosk { dir }
    }

    fn configure(&self, ils: &Ils, extra: &str) {
        self.configure_timeout(ils, 5, 0, extra);
    }

    /// With `timeout_secs` for each exchange with the ILS and `[offline]
    /// max_cache_age_hours`.
    fn configure_timeout(&self, ils: &Ils, timeout_secs: u32, cache_age_hours: u32, extra: &str) {
        std::fs::write(
            self.dir.path().join("kiosk.toml"),
            format!(
                "[kiosk]\nid = \"sip2-kiosk\"\n[store]\npath = \"kiosk.db\"\n[barcode]\nmode = \"off\"\n\
                 [offline]\npolicy = \"returns-and-checkouts\"\nmax_cache_age_hours = {cache_age_hours}\n\
                 [upstream]\nkind = \"sip2\"\nhost = \"127.0.0.1\"\nport = {}\ninstitution = \"MAIN\"\n\
                 location = \"KIOSK-1\"\ntimeout_secs = {timeout_secs}\ndecide_timeout_ms = 5000\n{extra}",
                ils.port
            ),
        )
        .unwrap();
    }

    fn import(&self, items: &str) {
        let p = self.dir.path().join("patrons.csv");
        let i = self.dir.path().join("items.csv");
        std::fs::write(&p, PATRONS).unwrap();
        std::fs::write(
            &i,
            format!("barcode,title,author,isbn,item_type,rfid_uid,parts\n{items}"),
        )
        .unwrap();
        let (code, _, err) = self.run(
            &[
                "import",
                "--patrons",
                p.to_str().unwrap(),
                "--items",
                i.to_str().unwrap(),
            ],
            "2026-11-20T09:00:00+08:00",
        );
        assert_eq!(code, 0, "{err}");
    }

    /// Runs the kiosk at `now`; (exit code, JSON lines, stderr).
    fn run(&self, args: &[&str], now: &str) -> (i32, Vec<Value>, String) {
        run_json(kiosk(self.dir.path()).env("KIOSK_NOW", now).args(args))
    }

    fn one(&self, args: &[&str], now: &str) -> Value {
        let (_, out, err) = self.run(args, now);
        assert_eq!(out.len(), 1, "{args:?}: {out:?} {err}");
        out.into_iter().next().unwrap()
    }

    /// `kiosk circ checkout`: its one line.
    fn checkout(&self, patron: &str, item: &str, now: &str) -> Value {
        self.one(
            &["circ", "checkout", "--patron", patron, "--item", item],
            now,
        )
    }

    /// `kiosk circ checkin`: its one line.
    fn checkin(&self, item: &str, now: &str) -> Value {
        self.one(&["circ", "checkin", "--item", item], now)
    }

    fn journal(&self) -> Vec<Value> {
        let (code, out, err) = self.run(&["journal"], "2026-11-23T10:00:00+08:00");
        assert_eq!(code, 0, "{err}");
        out
    }

    fn entry(&self, id: &Value) -> Value {
        self.journal()
            .into_iter()
            .find(|e| &e["id"] == id)
            .unwrap_or_else(|| panic!("no journal entry {id}"))
    }
}

/// The kiosk's answer was yes, decided `mode` ("online", "offline").
#[track_caller]
fn assert_ok(v: &Value, mode: &str) {
    assert_eq!(
        (v["ok"].clone(), v["mode"].clone()),
        (json!(true), json!(mode)),
        "{v}"
    );
}

const ONLINE: &str = "2026-11-20T10:00:00+08:00";
const OFFLINE: &str = "2026-11-21T15:30:00+08:00";
const LATER: &str = "2026-11-22T09:00:00+08:00";

fn library(items: Value, loans: Value, faults: Value) -> Value {
    json!({
        "patrons": {"P1": {"name": "Zoë Ørsted"}, "P2": {"name": "张伟"}},
        "items": items,
        "loans": loans,
        "faults": faults,
    })
}

/// The authors of the books the tests lend, for the kiosk's items CSV.
const AUTHORS: &[(&str, &str)] = &[
    ("Les Misérables", "Victor Hugo"),
    ("The Silent River", "Ann Lee"),
    ("Ulysses", "James Joyce"),
    ("Moby Dick", "Herman Melville"),
    ("Dubliners", "James Joyce"),
    ("Emma", "Jane Austen"),
    ("Middlemarch", "George Eliot"),
    ("三体", "刘慈欣"),
];

/// A kiosk on the scripted ILS, the two knowing the same readers (P1, P2)
/// and books: the ILS's `items` are imported at the kiosk too. The setup
/// every test of this file shares; `start` skips the test (None) without
/// pysip2.
struct OnIls {
    library: Value,
    encoding: &'static str,
    login: Option<&'static str>,
    options: Vec<String>,
    timeout_secs: u32,
    cache_age_hours: u32,
    config: String,
    tls: bool,
}

/// The ILS with these items (`{"I1": {"title": …}, …}`), no loans, no faults.
fn on_ils(items: Value) -> OnIls {
    OnIls {
        library: library(items, json!({}), json!({})),
        encoding: "cp850",
        login: None,
        options: Vec::new(),
        timeout_secs: 5,
        cache_age_hours: 0,
        config: String::new(),
        tls: false,
    }
}

impl OnIls {
    /// The whole library the ILS keeps (readers with PINs and fines …).
    fn library(mut self, library: Value) -> OnIls {
        self.library = library;
        self
    }

    fn loans(mut self, loans: Value) -> OnIls {
        self.library["loans"] = loans;
        self
    }

    fn faults(mut self, faults: Value) -> OnIls {
        self.library["faults"] = faults;
        self
    }

    /// A PIN only the ILS knows.
    fn pin(mut self, patron: &str, pin: &str) -> OnIls {
        self.library["patrons"][patron]["pin"] = json!(pin);
        self
    }

    fn encoding(mut self, encoding: &'static str) -> OnIls {
        self.encoding = encoding;
        self
    }

    /// The ILS demands this login ("user:password") first.
    fn login(mut self, login: &'static str) -> OnIls {
        self.login = Some(login);
        self
    }

    fn option(mut self, option: &str) -> OnIls {
        self.options.push(option.into());
        self
    }

    fn timeout_secs(mut self, secs: u32) -> OnIls {
        self.timeout_secs = secs;
        self
    }

    /// `[offline] max_cache_age_hours` (0 unless said).
    fn cache_age_hours(mut self, hours: u32) -> OnIls {
        self.cache_age_hours = hours;
        self
    }

    /// More of the kiosk's configuration, after `[upstream]`'s keys.
    fn config(mut self, extra: &str) -> OnIls {
        self.config = extra.into();
        self
    }

    /// The ILS over TLS with a certificate from a throwaway CA
    /// (tests/sip2/make_certs.py: ca.pem, other-ca.pem, server.pem and
    /// server.key in the kiosk's directory). Needs Python's cryptography.
    fn tls(mut self) -> OnIls {
        self.tls = true;
        self
    }

    /// The items CSV the kiosk imports: the ILS's items with their authors.
    fn items_csv(&self) -> String {
        let items = self.library["items"].as_object().unwrap();
        items
            .iter()
            .map(|(id, item)| {
                let title = item["title"].as_str().unwrap();
                let author = AUTHORS
                    .iter()
                    .find(|(t, _)| *t == title)
                    .map_or_else(|| panic!("no author for {title}"), |(_, a)| *a);
                format!("{id},{title},{author},,book,,1\n")
            })
            .collect()
    }

    /// Starts the ILS, configures the kiosk for it and imports the
    /// readers and books; None (the test is skipped, and says so) without
    /// pysip2 (or cryptography for TLS).
    fn start(self) -> Option<(Kiosk, Ils)> {
        if !require(Peer::Pysip2) || (self.tls && !require(Peer::Cryptography)) {
            return None;
        }
        let k = Kiosk::new();
        let mut options = self.options.clone();
        if self.tls {
            make_certs(k.dir.path());
            for (flag, file) in [("--tls-cert", "server.pem"), ("--tls-key", "server.key")] {
                options.push(flag.into());
                options.push(k.dir.path().join(file).to_str().unwrap().into());
            }
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let ils = Ils::start_with(
            k.dir.path(),
            &self.library,
            self.encoding,
            self.login,
            &options,
        );
        k.configure_timeout(&ils, self.timeout_secs, self.cache_age_hours, &self.config);
        k.import(&self.items_csv());
        Some((k, ils))
    }
}

/// A throwaway CA and a server certificate it signed, and another CA, in
/// `dir` (tests/sip2/make_certs.py).
fn make_certs(dir: &Path) {
    let made = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sip2/make_certs.py"
        ))
        .arg(dir)
        .status()
        .unwrap();
    assert!(made.success());
}

/// The SIP2 upstream without the CLI, on the ILS at `port`.
fn sip2_upstream(port: u16, error_detection: bool) -> kiosk::sync::sip2::Sip2Upstream {
    use kiosk::sync::sip2::client::ClientSettings;
    use kiosk::sync::sip2::{Charset, Sip2Upstream};
    use std::time::Duration;
    Sip2Upstream::new(
        ClientSettings {
            host: "127.0.0.1".into(),
            port,
            tls: false,
            tls_ca: None,
            username: String::new(),
            password: String::new(),
            location: "KIOSK-1".into(),
            charset: Charset::Cp850,
            error_detection,
            heartbeat: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            resend_limit: 3,
        },
        "MAIN",
        "",
    )
}

#[test]
fn online_checkout_renew_checkin_reach_the_ils() {
    let Some((k, ils)) = on_ils(
        json!({"I1": {"title": "Les Misérables"}, "I2": {"title": "The Silent River", "hold_for": "P2"}}),
    )
    .loans(json!({"I2": {"patron": "P1", "due": "20261201    235900"}}))
    .login("kiosk-1:s3cret")
    .config("username = \"kiosk-1\"\npassword = \"s3cret\"\n")
    .start() else {
        return;
    };

    let v = k.checkout("P1", "I1", ONLINE);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["mode"], "online");
    // The ILS's title in cp850, its due date, its screen message.
    assert_eq!(v["upstream"]["title"], "Les Misérables");
    assert_eq!(v["title"], "Les Misérables", "what the reader is shown");
    assert_eq!(v["upstream"]["screen_messages"], json!(["Enjoy"]));
    let due = v["due"].as_str().unwrap().to_string();
    assert_eq!(due.len(), 10, "a day loan: {due}");

    let v = k.one(&["circ", "renew", "--patron", "P1", "--item", "I1"], ONLINE);
    assert_ok(&v, "online");
    assert!(v["due"].as_str().unwrap() > due.as_str());

    let v = k.checkin("I1", ONLINE);
    assert_ok(&v, "online");
    assert_eq!(v["upstream"]["sort_bin"], "A1");
    assert_eq!(v["upstream"]["alert"], false);

    // A return with a hold waiting: the ILS's alert, bin and message reach
    // the reader.
    let v = k.checkin("I2", ONLINE);
    assert_eq!(v["upstream"]["alert"], true, "{v}");
    assert_eq!(v["upstream"]["sort_bin"], "HOLD");
    assert_eq!(
        v["upstream"]["screen_messages"],
        json!(["Hold for another reader: hold shelf"])
    );

    // Refused online: a kiosk refusal code and the ILS's words.
    let v = k.checkout("P1", "I2", ONLINE);
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["mode"], "online");
    assert_eq!(v["reason"], "item_on_hold_for_another", "{v}");

    // What the ILS received: a login, a status, then the requests with the
    // institution, terminal location and real dates (never blank).
    let r = ils.records();
    assert_eq!(r[0]["code"], "93");
    assert_eq!(r[0]["login_user_id"], "kiosk-1");
    assert_eq!(r[0]["location_code"], "KIOSK-1");
    assert_eq!(r[1]["code"], "99");
    let out = ils.received("11");
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["no_block"], "N");
    assert_eq!(out[0]["patron_identifier"], "P1");
    assert_eq!(out[0]["item_identifier"], "I1");
    assert_eq!(out[0]["institution_id"], "MAIN");
    assert_eq!(out[0]["transaction_date"], "20261120    100000");
    assert_ne!(out[0]["nb_due_date"], " ".repeat(18));
    assert!(out.iter().all(|o| o["cancel"].is_null()), "never BI");
    assert_eq!(ils.received("29").len(), 1);
    let back = ils.received("09");
    assert_eq!(back.len(), 2);
    assert_eq!(back[0]["current_location"], "KIOSK-1");
    assert_eq!(back[0]["no_block"], "N");
    // Online decisions are journaled already acknowledged.
    let j = k.journal();
    assert!(
        j.iter().all(|e| e["sync_status"] == "acknowledged"),
        "{j:?}"
    );
    let (code, out, _) = k.run(&["sync", "--once"], ONLINE);
    assert_eq!(code, 0);
    assert_eq!(out[0]["pull"]["unsupported"], true);
    assert_eq!(out[0]["upstream"], format!("sip2 127.0.0.1:{}", ils.port));
}

#[test]
fn offline_decisions_replay_with_no_block_and_their_own_dates() {
    let Some((k, mut ils)) = on_ils(json!({
        "I1": {"title": "Les Misérables"},
        "I2": {"title": "The Silent River", "hold_for": "P2"},
        "I3": {"title": "Ulysses"},
    }))
    .loans(json!({"I3": {"patron": "P1", "due": "20261201    235900"}}))
    .start() else {
        return;
    };
    ils.down();

    // The ILS is unreachable: the kiosk decides under [offline].
    let a = k.checkout("P1", "I1", OFFLINE);
    assert_ok(&a, "offline");
    // The ILS has I2 on its hold shelf for someone else; the kiosk cannot know.
    let b = k.checkout("P1", "I2", OFFLINE);
    assert_ok(&b, "offline");
    let (code, out, _) = k.run(&["sync", "--once"], OFFLINE);
    assert_eq!(code, 1, "entries stay while the ILS is down: {out:?}");
    assert_eq!(out[0]["offline"], true);
    assert_eq!(out[0]["outbox"], 2);

    ils.up();
    let (code, out, err) = k.run(&["sync", "--once"], LATER);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["outbox"], 0);
    assert_eq!(out[0]["conflicts"], 1);

    // Replayed in journal order, no block = Y, the original time, and the
    // due date the kiosk gave the reader.
    let sent = ils.received("11");
    assert_eq!(sent.len(), 2, "{sent:?}");
    let due_a = k.entry(&a["entry"])["due"]
        .as_str()
        .unwrap()
        .replace('-', "");
    assert_eq!(sent[0]["item_identifier"], "I1");
    assert_eq!(sent[0]["no_block"], "Y");
    assert_eq!(sent[0]["transaction_date"], "20261121    153000");
    assert_eq!(sent[0]["nb_due_date"], format!("{due_a}    235959"));
    assert_eq!(sent[1]["item_identifier"], "I2");
    assert_eq!(sent[1]["no_block"], "Y");
    // Each checkout was checked with item information first.
    assert!(ils.received("17").len() >= 2);
    assert_eq!(ils.library()["loans"]["I1"]["patron"], "P1");

    // The ILS's answer is the truth: I1 acknowledged, I2 a coded conflict
    // with the ILS's message, visible in the journal and the status.
    assert_eq!(k.entry(&a["entry"])["sync_status"], "acknowledged");
    let e = k.entry(&b["entry"]);
    assert_eq!(e["sync_status"], "conflict", "{e}");
    let shown = e.to_string();
    assert!(shown.contains("on_hold_for_another"), "{shown}");
    assert!(shown.contains("Item on hold for another patron"), "{shown}");
    let (_, st, _) = k.run(&["sync", "status"], LATER);
    assert_eq!(st[0]["conflicts"], 1);
    assert_eq!(st[0]["outbox"], 0);

    // Nothing is sent twice.
    let (code, _, _) = k.run(&["sync", "--once"], LATER);
    assert_eq!(code, 0);
    assert_eq!(ils.received("11").len(), 2);
}

#[test]
fn a_connection_dropped_mid_answer_does_not_duplicate_the_loan() {
    let Some((k, ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .faults(json!({"drop": ["12"]}))
        .start()
    else {
        return;
    };

    // The ILS applies the checkout, then the line dies half-way through its
    // answer: the outcome is unknown, so the kiosk decides offline.
    let v = k.checkout("P1", "I1", ONLINE);
    assert_ok(&v, "offline");
    assert_eq!(ils.received("11").len(), 1);
    assert_eq!(ils.library()["loans"]["I1"]["patron"], "P1");

    // The replay asks first (17, then 63 for the reader's loans), finds the
    // loan already there and sends no second checkout.
    let (code, out, err) = k.run(&["sync", "--once"], LATER);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(ils.received("11").len(), 1, "{:?}", ils.records());
    assert_eq!(ils.received("17").len(), 1);
    assert_eq!(ils.received("63").len(), 1);
    assert_eq!(k.entry(&v["entry"])["sync_status"], "acknowledged");
}

#[test]
fn a_garbled_answer_is_asked_again_with_97() {
    let Some((k, ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .faults(json!({"garble": ["12"]}))
        .start()
    else {
        return;
    };
    let v = k.checkout("P1", "I1", ONLINE);
    assert_ok(&v, "online");
    assert_eq!(v["upstream"]["title"], "Les Misérables");
    assert_eq!(
        ils.codes(),
        ["99", "11", "97"],
        "one checkout, one resend request"
    );
}

#[test]
fn utf8_titles_travel_when_both_sides_say_utf8() {
    let Some((k, _ils)) = on_ils(json!({"I9": {"title": "三体"}}))
        .encoding("utf-8")
        .config("charset = \"utf-8\"\n")
        .start()
    else {
        return;
    };
    let v = k.checkout("P2", "I9", ONLINE);
    assert_ok(&v, "online");
    assert_eq!(v["upstream"]["title"], "三体");
    let v = k.checkin("I9", ONLINE);
    assert_eq!(v["upstream"]["title"], "三体", "{v}");
}

/// The client and the upstream without the CLI: heartbeat flags, clock
/// offset, patron lookup, unsupported pull, kinds SIP2 cannot carry.
#[test]
fn the_upstream_speaks_for_the_ils() {
    use kiosk::protocol::{Entry, EntryStatus, Heartbeat};
    use kiosk::sync::{Upstream, UpstreamError};
    if !require(Peer::Pysip2) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ils = Ils::start(
        dir.path(),
        &library(
            json!({"I1": {"title": "Les Misérables"}}),
            json!({}),
            json!({}),
        ),
        "cp850",
        None,
    );
    let up = sip2_upstream(ils.port, true);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let hb = Heartbeat {
            kiosk_id: "k".into(),
            version: "0".into(),
            sent_at: String::new(),
            outbox: 0,
            conflicts: 0,
            last_sync: None,
            devices: vec![],
            paper: "none".into(),
        };
        let ack = up.heartbeat(&hb).await.unwrap();
        assert!(ack.clock_offset_ms.abs() < 5_000, "{ack:?}");
        let acs = up.client().acs().unwrap();
        assert!(acs.online && acs.offline_ok && acs.checkout_ok);
        assert!(
            acs.supports("17") && acs.supports("37") && acs.supports("65"),
            "{acs:?}"
        );

        let p = up.patron("P1").await.unwrap().unwrap();
        assert_eq!(p.name, "Zoë Ørsted");
        assert_eq!(p.blocked, None);
        assert!(up.patron("NOBODY").await.unwrap().is_none());

        assert!(matches!(
            up.changes("", 10).await,
            Err(UpstreamError::Unsupported(_))
        ));

        let feedback = Entry {
            id: uuid::Uuid::now_v7(),
            kiosk_id: "k".into(),
            seq: 1,
            at: "2026-11-20T10:00:00+08:00".into(),
            kind: "feedback".into(),
            patron: Some("P1".into()),
            item: None,
            decision: "accepted".into(),
            reason: None,
            due: None,
            detail: json!({"rating": 5}),
            offline: true,
        };
        let r = up.push("k", &[feedback]).await.unwrap();
        assert_eq!(r[0].status, EntryStatus::Applied);
        assert!(r[0]
            .message
            .as_deref()
            .unwrap()
            .contains("not carried by SIP2"));
        up.end_session("P1").await.unwrap();
        let st = up.client().stats();
        assert_eq!(st.connects, 1, "one persistent connection: {st:?}");
    });
    assert_eq!(ils.received("35").len(), 1);
    assert_eq!(ils.received("63").len(), 2);
}

/// A decision deadline gives up on an answer; the late answer must never
/// be read as the answer to the next request (even without sequence
/// numbers to tell them apart).
#[test]
fn a_late_answer_is_never_taken_for_the_next_one() {
    use kiosk::protocol::{DecideRequest, Entry};
    use kiosk::sync::Upstream;
    use std::time::Duration;
    if !require(Peer::Pysip2) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ils = Ils::start(
        dir.path(),
        &library(
            json!({"I1": {"title": "Les Misérables"}, "I2": {"title": "Ulysses"}}),
            json!({}),
            json!({"slow": ["12"]}),
        ),
        "cp850",
        None,
    );
    let up = sip2_upstream(ils.port, false);
    let checkout = |item: &str| DecideRequest {
        entry: Entry {
            id: uuid::Uuid::now_v7(),
            kiosk_id: "k".into(),
            seq: 1,
            at: "2026-11-20T10:00:00+08:00".into(),
            kind: "checkout".into(),
            patron: Some("P1".into()),
            item: Some(item.into()),
            decision: "accepted".into(),
            reason: None,
            due: None,
            detail: json!({}),
            offline: false,
        },
        parts_seen: None,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let first = checkout("I1");
        let gave_up = tokio::time::timeout(Duration::from_millis(300), up.decide(&first)).await;
        assert!(gave_up.is_err(), "the deadline passed first");
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let second = checkout("I2");
        let d = up.decide(&second).await.unwrap();
        assert_eq!(d.decision, "accepted");
        assert_eq!(d.detail["title"], "Ulysses", "{d:?}");
        assert_eq!(up.client().stats().connects, 2, "a new connection");
    });
    assert_eq!(ils.library()["loans"]["I2"]["patron"], "P1");
}

/// An ILS whose 98 says "offline ok = N" is sent no offline transaction:
/// each becomes a coded conflict for staff to enter at the desk.
#[test]
fn an_ils_that_takes_no_offline_transactions_is_sent_none() {
    let Some((k, mut ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .option("--no-offline")
        .start()
    else {
        return;
    };
    ils.down();
    let a = k.checkout("P1", "I1", OFFLINE);
    assert_ok(&a, "offline");
    ils.up();
    let (code, out, err) = k.run(&["sync", "--once"], LATER);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["conflicts"], 1);
    let e = k.entry(&a["entry"]);
    assert_eq!(e["sync_status"], "conflict");
    assert!(e["sync_reason"]
        .as_str()
        .unwrap()
        .starts_with("offline_not_accepted"));
    assert!(ils.received("11").is_empty());
}

/// The whole reader flow against the ILS through the real `kiosk` binary:
/// identify with a PIN the ILS checks, the account as the ILS keeps it,
/// checkout, renew, renew all (65), hold place + cancel, a return routed to
/// the hold shelf with the ILS's message, a payment (37), end of session
/// (35); then the ILS goes away, the kiosk decides offline, and the replay
/// converges: journal order, no block = Y, original dates, one coded
/// conflict for staff.
#[test]
fn a_whole_reader_session_on_the_ils_then_offline_and_back() {
    let Some((k, mut ils)) = on_ils(json!({}))
        .library(json!({
            "patrons": {
                "P1": {"name": "Zoë Ørsted", "pin": "4321", "fines": "3.00",
                       "fine_items": ["I9 overdue 3.00"]},
                "P2": {"name": "张伟"},
            },
            "items": {
                "I1": {"title": "Les Misérables"},
                "I2": {"title": "The Silent River"},
                "I3": {"title": "Ulysses", "queue": 1},
                "I5": {"title": "Moby Dick", "hold_for": "P1"},
                "I6": {"title": "Dubliners"},
                "I7": {"title": "Emma", "hold_for": "P2"},
                "I8": {"title": "Middlemarch"},
            },
            "loans": {
                "I2": {"patron": "P1", "due": "20261201    235900"},
                "I3": {"patron": "P1", "due": "20261201    235900"},
                "I6": {"patron": "P2", "due": "20261201    235900"},
                "I7": {"patron": "P1", "due": "20261201    235900"},
            },
            "faults": {},
        }))
        .start()
    else {
        return;
    };

    // Identify: the kiosk has no PIN hash (none imported), the ILS checks
    // it (23 with AD → CQ). A wrong one counts at this kiosk.
    let (code, out, err) = k.run(
        &["circ", "account", "--patron", "P1", "--pin", "0000"],
        ONLINE,
    );
    assert_eq!(code, 1, "{out:?} {err}");
    assert_eq!(out[0]["reason"], "wrong_pin", "{out:?}");
    assert!(!err.contains("0000"), "a PIN in the log: {err}");
    let a = k.one(
        &["circ", "account", "--patron", "P1", "--pin", "4321"],
        ONLINE,
    );
    // The account is the ILS's: its loans with titles and due dates, the
    // hold waiting on its shelf, its fines.
    assert_eq!(a["ok"], true, "{a}");
    assert_eq!(a["source"], "upstream");
    assert_eq!(a["name"], "Zoë Ørsted");
    let items: Vec<&str> = a["loans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["item"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["I2", "I3", "I7"], "{a}");
    assert_eq!(a["loans"][0]["title"], "The Silent River");
    assert_eq!(a["loans"][0]["due"], "2026-12-01");
    assert_eq!(
        a["holds"],
        json!([{"item": "I5", "title": "Moby Dick", "status": "ready"}])
    );
    assert_eq!(a["fines_owed_cents"], 300);
    assert_eq!(a["fines"], json!(["I9 overdue 3.00"]));
    let pins: Vec<Value> = ils.received("23");
    assert_eq!(pins.len(), 2);
    assert_eq!(pins[1]["patron_password"], "4321");

    // Borrow: a new item, and the one waiting for this reader on the shelf.
    let (_, c, err) = k.run(
        &[
            "circ", "checkout", "--patron", "P1", "--item", "I1", "--pin", "4321",
        ],
        ONLINE,
    );
    assert_eq!(c.len(), 1, "{err}");
    let c = c[0].clone();
    assert_ok(&c, "online");
    assert!(
        c["message"].as_str().unwrap().ends_with("Enjoy"),
        "the ILS's AF is shown: {c}"
    );
    let c = k.checkout("P1", "I5", ONLINE);
    assert_eq!(c["ok"], true, "{c}");

    // Renew one, then all: one 65, each item journaled as a renewal.
    let r = k.one(&["circ", "renew", "--patron", "P1", "--item", "I2"], ONLINE);
    assert_ok(&r, "online");
    let (code, all, err) = k.run(&["circ", "renew-all", "--patron", "P1"], ONLINE);
    assert_eq!(code, 1, "two loans cannot be renewed: {all:?} {err}");
    let by_item = |item: &str| {
        all.iter()
            .find(|l| l["entry"].is_string() && k.entry(&l["entry"])["item"] == item)
            .unwrap_or_else(|| panic!("no line for {item}: {all:?}"))
            .clone()
    };
    assert_eq!(all.len(), 5, "{all:?}");
    assert!(all.iter().all(|l| l["mode"] == "online"), "{all:?}");
    for item in ["I1", "I2", "I5"] {
        let l = by_item(item);
        assert_eq!(l["ok"], true, "{l}");
        assert!(l["due"].as_str().unwrap() > "2026-12-01", "{l}");
    }
    assert_eq!(by_item("I3")["reason"], "renewal_blocked_by_hold");
    assert_eq!(by_item("I7")["reason"], "renewal_blocked_by_hold");
    assert_eq!(ils.received("65").len(), 1);
    assert_eq!(
        ils.received("29").len(),
        1,
        "renew all is not one 29 per loan"
    );
    let renewed = k.entry(&by_item("I1")["entry"]);
    assert_eq!(renewed["kind"], "renew");
    assert_eq!(renewed["sync_status"], "acknowledged", "{renewed}");
    assert_eq!(renewed["detail"]["renew_all"], true);
    assert_eq!(
        renewed["due"].as_str().unwrap().replace('-', ""),
        ils.library()["loans"]["I1"]["due"].as_str().unwrap()[..8]
    );

    // A hold on a title, and its cancellation.
    let h = k.one(&["circ", "hold", "--patron", "P1", "--item", "I8"], ONLINE);
    assert_ok(&h, "online");
    let x = k.one(
        &["circ", "cancel-hold", "--patron", "P1", "--item", "I8"],
        ONLINE,
    );
    assert_eq!(x["ok"], true, "{x}");
    let holds = ils.received("15");
    assert_eq!(holds.len(), 2);
    assert_eq!(
        (holds[0]["hold_mode"].clone(), holds[0]["hold_type"].clone()),
        (json!("+"), json!("2"))
    );
    assert_eq!(holds[0]["title_identifier"], "Middlemarch");
    assert_eq!(holds[0]["item_identifier"], "I8");
    assert_eq!(holds[1]["hold_mode"], "-");

    // A return another reader waits for: the ILS's alert, bin and words.
    let b = k.checkin("I7", ONLINE);
    assert_eq!(b["ok"], true, "{b}");
    assert_eq!(b["upstream"]["alert"], true);
    assert_eq!(b["upstream"]["sort_bin"], "HOLD");
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .contains("Hold for another reader: hold shelf"),
        "{b}"
    );

    // Paying the fines (staff or a cash acceptor): 37, and the ILS's
    // transaction id kept.
    let p = k.one(
        &[
            "circ",
            "pay",
            "--patron",
            "P1",
            "--amount",
            "3.00",
            "--fee-id",
            "F9",
            "--payment-type",
            "credit-card",
            "--fee-type",
            "overdue",
        ],
        ONLINE,
    );
    assert_ok(&p, "online");
    assert_eq!(p["amount_cents"], 300);
    assert_eq!(p["upstream"]["ils_transaction_id"], "ILS-1");
    let paid = ils.received("37");
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0]["fee_amount"], "3.00");
    assert_eq!(paid[0]["currency_type"], "CNY");
    assert_eq!(paid[0]["payment_type"], "02");
    assert_eq!(paid[0]["fee_type"], "04");
    assert_eq!(paid[0]["fee_identifier"], "F9");
    assert_eq!(paid[0]["transaction_id"], p["entry"]);
    assert_eq!(ils.library()["patrons"]["P1"]["fines"], "0.00");

    let e = k.one(&["circ", "end-session", "--patron", "P1"], ONLINE);
    assert_ok(&e, "online");
    assert_eq!(ils.received("35").len(), 1);
    assert!(k
        .journal()
        .iter()
        .all(|e| e["sync_status"] == "acknowledged"));

    // The ILS goes away: the kiosk decides under [offline].
    ils.down();
    let o1 = k.checkout("P1", "I8", OFFLINE);
    assert_ok(&o1, "offline");
    let o2 = k.checkin("I2", OFFLINE);
    assert_ok(&o2, "offline");
    // The ILS has I6 on loan to P2; the kiosk cannot know.
    let o3 = k.checkout("P1", "I6", OFFLINE);
    assert_eq!(o3["ok"], true, "{o3}");
    let o4 = k.one(&["circ", "pay", "--patron", "P1", "--amount", "1"], OFFLINE);
    assert_ok(&o4, "offline");
    // A PIN no one can check now is not taken as right.
    let (code, out, _) = k.run(
        &["circ", "account", "--patron", "P1", "--pin", "4321"],
        OFFLINE,
    );
    assert_eq!(
        (code, out[0]["reason"].clone()),
        (1, json!("pin_unavailable")),
        "{out:?}"
    );

    let before = ils.records().len();
    ils.up();
    let (code, out, err) = k.run(&["sync", "--once"], LATER);
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["outbox"], 0);
    assert_eq!(out[0]["conflicts"], 1);

    // In journal order, each with no block and its own time.
    let replayed: Vec<Value> = ils.records()[before..]
        .iter()
        .filter(|r| ["11", "09", "37"].contains(&r["code"].as_str().unwrap()))
        .cloned()
        .collect();
    let order: Vec<(&str, &str)> = replayed
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap(),
                r["item_identifier"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        order,
        [("11", "I8"), ("09", "I2"), ("11", "I6"), ("37", "")]
    );
    for r in &replayed {
        assert_eq!(r["transaction_date"], "20261121    153000", "{r}");
        if r["code"] != "37" {
            assert_eq!(r["no_block"], "Y", "{r}");
        }
    }
    assert_eq!(replayed[1]["return_date"], "20261121    153000");
    assert_eq!(ils.library()["loans"]["I8"]["patron"], "P1");
    assert!(ils.library()["loans"]["I2"].is_null());
    assert_eq!(
        ils.library()["loans"]["I6"]["patron"],
        "P2",
        "the ILS kept its loan"
    );

    // The refused replay is a coded conflict for staff; the payment's note
    // names the ILS's transaction.
    let (_, conflicts, _) = k.run(&["journal", "--status", "conflict"], LATER);
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["id"], o3["entry"]);
    assert!(
        conflicts[0]["sync_reason"]
            .as_str()
            .unwrap()
            .starts_with("on_loan_elsewhere: Item already checked out"),
        "{}",
        conflicts[0]
    );
    let pay = k.entry(&o4["entry"]);
    assert_eq!(pay["sync_status"], "acknowledged");
    assert!(
        pay["sync_reason"]
            .as_str()
            .unwrap()
            .contains("ILS transaction ILS-2"),
        "{pay}"
    );
    let (_, st, _) = k.run(&["sync", "status"], LATER);
    assert_eq!(
        (st[0]["outbox"].clone(), st[0]["conflicts"].clone()),
        (json!(0), json!(1))
    );
}

/// Wrong PINs the ILS rejects lock the card at this kiosk after
/// `pin_attempts`; a locked card is refused without asking the ILS; a
/// missing PIN is asked for when `require_pin` is on.
#[test]
fn wrong_pins_checked_by_the_ils_lock_the_card_here() {
    // P1's PIN is known to the ILS only.
    let Some((k, ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .pin("P1", "4321")
        .config("[policy]\nrequire_pin = true\npin_attempts = 3\n")
        .start()
    else {
        return;
    };

    let (code, out, _) = k.run(
        &["circ", "checkout", "--patron", "P1", "--item", "I1"],
        ONLINE,
    );
    assert_eq!((code, out[0]["reason"].clone()), (1, json!("pin_required")));
    let mut left = Vec::new();
    for _ in 0..3 {
        let (_, out, _) = k.run(
            &[
                "circ", "checkout", "--patron", "P1", "--item", "I1", "--pin", "1111",
            ],
            ONLINE,
        );
        left.push(out[0]["reason"].as_str().unwrap().to_string());
    }
    assert_eq!(left, ["wrong_pin", "wrong_pin", "pin_locked"]);
    let asked = ils.received("23").len();
    assert_eq!(asked, 3);
    let (code, out, _) = k.run(
        &[
            "circ", "checkout", "--patron", "P1", "--item", "I1", "--pin", "4321",
        ],
        ONLINE,
    );
    assert_eq!((code, out[0]["reason"].clone()), (1, json!("pin_locked")));
    assert_eq!(
        ils.received("23").len(),
        asked,
        "a locked card is not asked about"
    );
    assert!(ils.received("11").is_empty());
    // After the lock: the right PIN lends.
    let v = k.one(
        &[
            "circ", "checkout", "--patron", "P1", "--item", "I1", "--pin", "4321",
        ],
        "2026-11-20T11:00:00+08:00",
    );
    assert_eq!(v["ok"], true, "{v}");
}

/// `[upstream] hold_type = "copy"`: every hold goes as a copy hold (BY 3)
/// on the scanned item, with no title.
#[test]
fn copy_holds_when_the_ils_takes_only_those() {
    let Some((k, ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .config("hold_type = \"copy\"\n")
        .start()
    else {
        return;
    };
    let h = k.one(&["circ", "hold", "--patron", "P1", "--item", "I1"], ONLINE);
    assert_eq!(h["ok"], true, "{h}");
    let sent = ils.received("15");
    assert_eq!(sent[0]["hold_type"], "3");
    assert_eq!(sent[0]["item_identifier"], "I1");
    assert!(sent[0]["title_identifier"].is_null(), "{:?}", sent[0]);
}

/// Renew all while the ILS is away: each loan the kiosk knows is decided
/// offline and replayed later as its own 29 with no block and its time.
#[test]
fn renew_all_offline_replays_one_renewal_per_loan() {
    let Some((k, mut ils)) =
        on_ils(json!({"I1": {"title": "Les Misérables"}, "I2": {"title": "Ulysses"}})).start()
    else {
        return;
    };
    ils.down();
    for item in ["I1", "I2"] {
        let v = k.checkout("P1", item, OFFLINE);
        assert_eq!(v["mode"], "offline", "{v}");
    }
    // Four days on (a renewal must move the due date), still offline.
    let (code, all, err) = k.run(
        &["circ", "renew", "--patron", "P1", "--all"],
        "2026-11-25T10:00:00+08:00",
    );
    assert_eq!(code, 0, "{all:?} {err}");
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .all(|l| l["mode"] == "offline" && l["ok"] == true),
        "{all:?}"
    );
    ils.up();
    let (code, out, err) = k.run(&["sync", "--once"], LATER);
    assert_eq!(code, 0, "{out:?} {err}");
    let renewals = ils.received("29");
    assert_eq!(renewals.len(), 2, "{:?}", ils.codes());
    assert!(
        renewals
            .iter()
            .all(|r| r["no_block"] == "Y" && r["transaction_date"] == "20261125    100000"),
        "{renewals:?}"
    );
    assert!(ils.received("65").is_empty());
    assert_eq!(out[0]["conflicts"], 0, "{out:?}");
}

/// TLS against a real TLS peer: the scripted ILS behind Python's ssl
/// module with a certificate from a throwaway CA. With that CA in
/// `tls_ca` a checkout goes through; trusting another CA, the kiosk
/// refuses the server with a clear error (exit 2, no plain-text fallback,
/// no offline decision).
#[test]
fn checkout_over_tls_and_a_wrong_certificate_is_refused() {
    let Some((k, ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .tls()
        .config("tls = true\ntls_ca = \"ca.pem\"\n")
        .start()
    else {
        return;
    };
    let v = k.checkout("P1", "I1", ONLINE);
    assert_ok(&v, "online");
    assert_eq!(v["upstream"]["title"], "Les Misérables");
    assert_eq!(ils.library()["loans"]["I1"]["patron"], "P1");

    // Trusting a CA that did not sign the server's certificate.
    k.configure(&ils, "tls = true\ntls_ca = \"other-ca.pem\"\n");
    let (code, out, err) = k.run(&["circ", "checkin", "--item", "I1"], ONLINE);
    assert_eq!(code, 2, "{out:?} {err}");
    assert!(out.is_empty(), "nothing decided: {out:?}");
    assert!(err.contains("TLS") && err.contains("certificate"), "{err}");
    assert!(ils.received("09").is_empty());
    assert!(
        k.journal().iter().all(|e| e["kind"] != "checkin"),
        "no offline return behind a bad certificate"
    );
    // Without the library's CA (public roots only), and with a roots file
    // that is not there: refused the same way, the file named.
    k.configure(&ils, "tls = true\n");
    let (code, _, err) = k.run(&["circ", "checkin", "--item", "I1"], ONLINE);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("certificate"), "{err}");
    k.configure(&ils, "tls = true\ntls_ca = \"missing.pem\"\n");
    let (code, _, err) = k.run(&["circ", "checkin", "--item", "I1"], ONLINE);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing.pem"), "{err}");
    assert!(ils.received("09").is_empty());
    assert_eq!(ils.library()["loans"]["I1"]["patron"], "P1");
}

/// The text-mode kiosk on the ILS: the PIN it asks for is checked by the
/// ILS (23), a loan goes through, and ending the session tells the ILS
/// (35). Neither the PIN nor the full card number reaches the log.
#[test]
fn the_text_kiosk_asks_the_ils_about_pins_and_ends_sessions() {
    let Some((k, ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .pin("P1", "4321")
        .config("[policy]\nrequire_pin = true\n")
        .start()
    else {
        return;
    };
    let out = run_with_input(
        kiosk(k.dir.path())
            .env("KIOSK_LOG", "info")
            .args(["--lang", "en", "run", "--text"]),
        "P1\n1111\n4321\nI1\ndone\n",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let log = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text} {log}");
    assert!(text.contains("✗ That PIN is not right"), "{text}");
    assert!(text.contains("✓ Borrowed: Les Misérables"), "{text}");
    let pins: Vec<Value> = ils.received("23");
    assert_eq!(pins.len(), 2, "{:?}", ils.codes());
    assert_eq!(pins[1]["patron_password"], "4321");
    assert_eq!(ils.library()["loans"]["I1"]["patron"], "P1");
    assert_eq!(ils.received("35").len(), 1, "{:?}", ils.codes());
    assert!(!log.contains("4321") && !log.contains("1111"), "{log}");
}

/// A renew all (65) the ILS applies but does not answer in time: the
/// outcome is unknown, so the kiosk decides nothing offline (those
/// renewals would be sent again one by one) and tells the reader to try
/// later.
#[test]
fn a_renew_all_without_an_answer_decides_nothing() {
    // One second per exchange (the ILS answers the 66 after three).
    let Some((k, ils)) = on_ils(json!({"I1": {"title": "Les Misérables"}}))
        .loans(json!({"I1": {"patron": "P1", "due": "20261201    235900"}}))
        .faults(json!({"hang": ["66"]}))
        .timeout_secs(1)
        .start()
    else {
        return;
    };
    let (code, out, err) = k.run(&["circ", "renew-all", "--patron", "P1"], ONLINE);
    assert_eq!(code, 1, "{out:?} {err}");
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["reason"], "offline_unavailable", "{out:?}");
    assert_eq!(out[0]["mode"], "offline");
    assert_ne!(
        ils.library()["loans"]["I1"]["due"],
        "20261201    235900",
        "the ILS did renew"
    );
    assert!(k.journal().iter().all(|e| e["kind"] != "renew"));
    let (code, _, err) = k.run(&["sync", "--once"], LATER);
    assert_eq!(code, 0, "{err}");
    assert!(ils.received("29").is_empty());
}

/// Issue 13 §7: SIP2 has no change feed, so the pull never makes the
/// cache fresh. A reader the ILS answered about online (an account lookup,
/// 63/64) or lent to online counts as fresh for `max_cache_age_hours`; a
/// reader it never confirmed does not, nor one confirmed too long ago.
#[test]
fn a_reader_the_ils_just_confirmed_may_borrow_offline() {
    let Some((k, mut ils)) = on_ils(json!({
        "I1": {"title": "Les Misérables"},
        "I2": {"title": "The Silent River"},
        "I3": {"title": "Ulysses"},
        "I5": {"title": "Moby Dick"},
    }))
    .cache_age_hours(24)
    .start() else {
        return;
    };
    // P1 looked up online (63), P2 lent a book online (11).
    let a = k.one(&["circ", "account", "--patron", "P1"], ONLINE);
    assert_eq!(
        (a["ok"].clone(), a["source"].clone()),
        (json!(true), json!("upstream")),
        "{a}"
    );
    let v = k.checkout("P2", "I5", ONLINE);
    assert_ok(&v, "online");
    ils.down();

    // Two hours later, the ILS gone: both borrow offline.
    let soon = "2026-11-20T12:00:00+08:00";
    assert_ok(&k.checkout("P1", "I1", soon), "offline");
    assert_ok(&k.checkout("P2", "I2", soon), "offline");

    // A reader the ILS never answered about: the kiosk cannot vouch for
    // its record.
    let p = k.dir.path().join("more.csv");
    std::fs::write(
        &p,
        "barcode,name,category,expires,pin,email\nP3,Li Na,adult,2030-01-01,,\n",
    )
    .unwrap();
    let (code, _, err) = k.run(&["import", "--patrons", p.to_str().unwrap()], soon);
    assert_eq!(code, 0, "{err}");
    let v = k.checkout("P3", "I3", soon);
    assert_eq!(
        (v["ok"].clone(), v["reason"].clone()),
        (json!(false), json!("offline_unavailable")),
        "{v}"
    );

    // More than max_cache_age_hours after the lookup: refused again.
    let v = k.checkout("P1", "I3", "2026-11-21T10:30:00+08:00");
    assert_eq!(
        (v["ok"].clone(), v["mode"].clone(), v["reason"].clone()),
        (json!(false), json!("offline"), json!("offline_unavailable")),
        "{v}"
    );
}

/// Issue 13 §7: an ILS whose charset cannot carry a title (cp850 has no
/// 三体: it sends "??") does not replace the kiosk's own title on the
/// screen, the journal or the account; the ILS's words stay for staff.
#[test]
fn a_title_the_ils_charset_cannot_carry_is_the_catalogue_s() {
    let Some((k, _ils)) =
        on_ils(json!({"I9": {"title": "三体"}, "I1": {"title": "Les Misérables"}})).start()
    else {
        return;
    };
    let v = k.checkout("P2", "I9", ONLINE);
    assert_ok(&v, "online");
    assert_eq!(v["title"], "三体", "{v}");
    assert_eq!(v["upstream"]["title"], "三体", "{v}");
    assert_eq!(v["upstream"]["ils_title"], "??", "{v}");
    assert_eq!(k.entry(&v["entry"])["detail"]["title"], "三体");
    let a = k.one(&["circ", "account", "--patron", "P2"], ONLINE);
    assert_eq!(a["source"], "upstream", "{a}");
    assert_eq!(a["loans"][0]["title"], "三体", "{a}");
    let v = k.one(&["circ", "renew", "--patron", "P2", "--item", "I9"], ONLINE);
    assert_eq!(v["title"], "三体", "{v}");
    let v = k.checkin("I9", ONLINE);
    assert_ok(&v, "online");
    assert_eq!(v["title"], "三体", "{v}");
    // A title the charset carries is the ILS's, as before.
    let v = k.checkout("P1", "I1", ONLINE);
    assert_eq!(v["upstream"]["title"], "Les Misérables");
    assert!(v["upstream"].get("ils_title").is_none(), "{v}");
}
