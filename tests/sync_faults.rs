//! Exactly-once sync under faults, with real parts: the `kiosk` binary
//! with a journal built by `kiosk hammer` and `kiosk circ`, a real
//! `kiosk-central serve` process on loopback (SQLite, and PostgreSQL when
//! it can be started), and between them a small HTTP proxy written here
//! that injects the faults of issue 4: the server process SIGKILLed and
//! restarted mid-batch, HTTP 500 answers (before and after the server
//! applied the batch), hung responses (never answered), and connections
//! dropped before forwarding or in the middle of the answer.
//!
//! After `kiosk sync --once` has been run until it exits 0, the test checks
//! that the outbox is empty, that the server holds every journal entry
//! exactly once with the kiosk's ids, that every applied checkout made one
//! loan and no more, that the open loans agree on both sides, and that the
//! two planted conflicts are visible on both sides. Then the kiosk's
//! journal is marked unsent (a kiosk restored from a backup) and pushed
//! again: every entry is answered duplicate or its conflict, and nothing
//! on the server changes.
//!
//! The same backlog is then left to the `kiosk sync` daemon itself (not
//! `--once`), SIGKILLed mid-push and restarted, with the server gone for
//! a while: the outbox drains by itself, and the same checks hold.

use rand::{Rng, SeedableRng};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KIOSK: &str = "K1";
/// Entries `kiosk hammer` journals (checkout + checkin pairs).
const HAMMERED: u64 = 600;

// ---------------------------------------------------------------------------
// The central server process: tests/support/central.rs

#[path = "support/central.rs"]
mod centre;

use centre::{json_lines, Db, Server};

/// `kiosk-central DB ARGS`, asserted to succeed: its stdout.
fn central(db: &Db, args: &[&str]) -> String {
    centre::ok(&db.args(), args)
}

// ---------------------------------------------------------------------------
// The fault-injecting proxy

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// 500 without asking the server.
    Err500Before,
    /// The server applied the request; the kiosk is told 500.
    Err500After,
    /// The server applied the request; the answer never comes.
    Hang,
    /// The connection is closed before the request is forwarded.
    DropBefore,
    /// The server applied the request; half of its answer arrives.
    DropAfter,
    /// The request reaches the server, which is SIGKILLed a moment later
    /// (mid-batch) and started again.
    Kill,
    /// The server applied the push; the answer is held back until the
    /// test has SIGKILLed the kiosk that sent it (`ProxyState::pause`).
    Pause,
}

#[derive(Default, Debug)]
struct Counts {
    requests: AtomicU64,
    pushes: AtomicU64,
    err500: AtomicU64,
    hung: AtomicU64,
    dropped: AtomicU64,
    kills: AtomicU64,
    paused: AtomicU64,
}

struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
}

struct ProxyState {
    db: Db,
    server: Mutex<Server>,
    target: Mutex<SocketAddr>,
    rng: Mutex<rand::rngs::StdRng>,
    faults: AtomicBool,
    counts: Counts,
    /// Pushes still to hold back after the server applied them (`Pause`).
    pause: AtomicU64,
    /// Told when a push is held back.
    held: tokio::sync::Notify,
}

impl ProxyState {
    fn choose(&self, is_push: bool) -> Fault {
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        if is_push
            && self
                .pause
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Fault::Pause;
        }
        if !self.faults.load(Ordering::Relaxed) {
            return Fault::None;
        }
        if is_push {
            // The first occurrence of each fault is scheduled, so every
            // kind is exercised whatever the dice say; then a kill every
            // 10th push, and the issue's rates at random.
            let n = self.counts.pushes.fetch_add(1, Ordering::Relaxed) + 1;
            match n {
                2 => return Fault::Err500After,
                3 => return Fault::Hang,
                4 => return Fault::DropBefore,
                5 => return Fault::DropAfter,
                6 => return Fault::Kill,
                n if n % 10 == 0 => return Fault::Kill,
                _ => {}
            }
        }
        let x: f64 = self.rng.lock().unwrap().random();
        match x {
            x if x < 0.025 => Fault::Err500Before,
            x if x < 0.05 => Fault::Err500After,
            x if x < 0.06 => Fault::Hang,
            x if x < 0.08 => Fault::DropBefore,
            x if x < 0.10 => Fault::DropAfter,
            _ => Fault::None,
        }
    }

    /// SIGKILL the server and start it again (on a new port).
    fn restart(&self) {
        let mut server = self.server.lock().unwrap();
        server.kill();
        *server = centre::serve(&self.db.args());
        *self.target.lock().unwrap() = server.addr;
        self.counts.kills.fetch_add(1, Ordering::Relaxed);
    }
}

impl Proxy {
    async fn start(db: Db, server: Server, seed: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(ProxyState {
            db,
            target: Mutex::new(server.addr),
            server: Mutex::new(server),
            rng: Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)),
            faults: AtomicBool::new(true),
            counts: Counts::default(),
            pause: AtomicU64::new(0),
            held: tokio::sync::Notify::new(),
        });
        let st = state.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(handle(st.clone(), client));
            }
        });
        Proxy { addr, state }
    }
}

/// Reads one HTTP/1.1 request: its head and its Content-Length body.
async fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = buf[end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// One request per client connection: the request goes to the server with
/// `Connection: close`, the answer (read to its end) back to the kiosk,
/// unless the fault says otherwise.
async fn handle(state: Arc<ProxyState>, mut client: TcpStream) {
    let Some((head, body)) = read_request(&mut client).await else {
        return;
    };
    let fault = state.choose(head.starts_with("POST /v1/push "));
    let err500 = || {
        let body = r#"{"error":"internal","message":"injected by the test proxy"}"#;
        format!(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    match fault {
        Fault::Err500Before => {
            state.counts.err500.fetch_add(1, Ordering::Relaxed);
            let _ = client.write_all(err500().as_bytes()).await;
            return;
        }
        Fault::DropBefore => {
            state.counts.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        _ => {}
    }
    let target = *state.target.lock().unwrap();
    let Ok(mut up) = TcpStream::connect(target).await else {
        // The server is being restarted: the kiosk sees a dropped
        // connection.
        return;
    };
    let (line, rest) = head.split_once("\r\n").unwrap_or((&head, ""));
    let rest: String = rest
        .split("\r\n")
        .filter(|h| !h.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let forwarded = format!("{line}\r\nconnection: close\r\n{rest}");
    if up.write_all(forwarded.as_bytes()).await.is_err() || up.write_all(&body).await.is_err() {
        return;
    }
    if fault == Fault::Kill {
        // Let the server start on the batch, then kill it mid-way.
        let wait = state.rng.lock().unwrap().random_range(0..8);
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let st = state.clone();
        tokio::task::spawn_blocking(move || st.restart())
            .await
            .unwrap();
        return;
    }
    let mut answer = Vec::new();
    if up.read_to_end(&mut answer).await.is_err() {
        return;
    }
    match fault {
        Fault::Err500After => {
            state.counts.err500.fetch_add(1, Ordering::Relaxed);
            let _ = client.write_all(err500().as_bytes()).await;
        }
        Fault::Hang => {
            state.counts.hung.fetch_add(1, Ordering::Relaxed);
            // Never answered: the connection stays open until the test ends.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Fault::Pause => {
            state.counts.paused.fetch_add(1, Ordering::Relaxed);
            state.held.notify_one();
            // The kiosk is killed while it waits for this answer.
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Fault::DropAfter => {
            state.counts.dropped.fetch_add(1, Ordering::Relaxed);
            let _ = client.write_all(&answer[..answer.len() / 2]).await;
        }
        _ => {
            let _ = client.write_all(&answer).await;
        }
    }
}

// ---------------------------------------------------------------------------
// The kiosk

struct Kiosk {
    dir: tempfile::TempDir,
}

impl Kiosk {
    fn new(upstream: &str, token: &str) -> Kiosk {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kiosk.toml"),
            format!(
                "[kiosk]\nid = \"{KIOSK}\"\n[store]\npath = \"kiosk.db\"\n[barcode]\nmode = \"off\"\n\
                 [upstream]\nkind = \"http\"\nurl = \"{upstream}\"\ntoken = \"{token}\"\ntimeout_secs = 1\n\
                 [sync]\nbatch_size = 20\ninterval_secs = 5\n\
                 [offline]\npolicy = \"returns-and-checkouts\"\nmax_loans_per_reader = 10\n\
                 max_cache_age_hours = 0\n"
            ),
        )
        .unwrap();
        Kiosk { dir }
    }

    /// Runs `kiosk ARGS` (blocking): exit code, stdout as JSON lines, stderr.
    fn run(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        self.run_via(args, None)
    }

    /// Runs `kiosk ARGS` with nobody listening upstream: the kiosk decides
    /// alone and journals for the push (how the backlog was made).
    fn offline(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        self.run_via(args, Some("http://127.0.0.1:9"))
    }

    fn run_via(&self, args: &[&str], upstream: Option<&str>) -> (i32, Vec<Value>, String) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
        c.current_dir(self.dir.path())
            .env_remove("KIOSK_CONFIG")
            .env("RUST_LOG", "warn")
            .args(args);
        if let Some(url) = upstream {
            c.env("KIOSK__UPSTREAM__URL", url);
        }
        let out = c.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        (
            out.status.code().unwrap_or(-1),
            json_lines(&stdout),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn run_async(&self, args: &[&str]) -> (i32, Vec<Value>, String) {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .current_dir(self.dir.path())
            .env_remove("KIOSK_CONFIG")
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        (
            out.status.code().unwrap_or(-1),
            json_lines(&stdout),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn ok(&self, args: &[&str]) -> Vec<Value> {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "kiosk {args:?}: {out:?} {err}");
        out
    }

    /// Starts the `kiosk sync` daemon (every `interval_secs` = 5 s, the smallest allowed; the
    /// nightly full sync caught up at start); its log goes to
    /// `daemon.log` in the kiosk's directory.
    fn daemon(&self) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("daemon.log"))
            .unwrap();
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_kiosk"))
                .current_dir(self.dir.path())
                .env_remove("KIOSK_CONFIG")
                .env("KIOSK_LOG", "info")
                .arg("sync")
                .stdout(std::process::Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }
}

/// A running `kiosk sync` daemon; SIGKILLed when dropped.
struct Daemon(std::process::Child);

impl Daemon {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `f` every 100 ms until it holds; gives up (panics) after
/// `tries` polls: a guard against a hung test, not a speed requirement.
async fn until(what: &str, tries: u32, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..tries {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("gave up waiting for {what}");
}

/// Readers P001..P060 and items I001..I100 on both sides, then the ones
/// that make conflicts: X-LOST (lost at the centre, on the shelf as far as
/// the kiosk knows) and reader PX (blocked at the centre only).
fn write_csvs(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let mut patrons = String::from("barcode,name,category,expires,pin,blocked\n");
    for n in 1..=60 {
        patrons += &format!("P{n:03},Reader {n},adult,2099-12-31,,\n");
    }
    let kiosk_patrons = format!("{patrons}PX,Reader X,adult,2099-12-31,,\n");
    let central_patrons = format!("{patrons}PX,Reader X,adult,2099-12-31,,card reported stolen\n");
    let mut items = String::from("barcode,title,author,isbn,item_type,rfid_uid,parts,status\n");
    for n in 1..=100 {
        items += &format!("I{n:03},Title {n},Author {n},,book,,1,\n");
    }
    let kiosk_items = format!("{items}X-LOST,Lost Title,Someone,,book,,1,\n");
    let central_items = format!("{items}X-LOST,Lost Title,Someone,,book,,1,lost\n");
    let w = |name: &str, s: &str| {
        let p = dir.join(name);
        std::fs::write(&p, s).unwrap();
        p
    };
    (
        w("kiosk-patrons.csv", &kiosk_patrons),
        w("kiosk-items.csv", &kiosk_items),
        w("central-patrons.csv", &central_patrons),
        w("central-items.csv", &central_items),
    )
}

/// A central server behind the proxy, and a kiosk with a backlog of
/// `HAMMERED + 7` entries journaled while it could reach nobody (two of
/// them conflicts at the centre). Returns the kiosk, the proxy, the
/// number of entries, and whether the kiosk accepted its renewal.
async fn backlog(db: &Db, dir: &Path, seed: u64) -> (Kiosk, Proxy, i64, bool) {
    let db = db.clone();
    let (kp, ki, cp, ci) = write_csvs(dir);
    let path = |p: &PathBuf| p.display().to_string();
    central(
        &db,
        &["import", "--patrons", &path(&cp), "--items", &path(&ci)],
    );
    let token = centre::token(&db.args(), KIOSK);
    let proxy = Proxy::start(db.clone(), centre::serve(&db.args()), seed).await;
    let kiosk = Kiosk::new(&format!("http://{}", proxy.addr), &token);

    // The backlog: journaled while the kiosk could not reach anyone.
    let renewed = tokio::task::block_in_place(|| {
        kiosk.ok(&["import", "--patrons", &path(&kp), "--items", &path(&ki)]);
        // `hammer` prints bare journal ids, not JSON.
        let out = Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .current_dir(kiosk.dir.path())
            .env_remove("KIOSK_CONFIG")
            .args(["hammer", "--count", &HAMMERED.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            out.stdout
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count() as u64,
            HAMMERED
        );
        // Loans that stay open, and the two conflicts.
        let checkout = |p: &str, i: &str| {
            let (code, out, err) = kiosk.offline(&["circ", "checkout", "--patron", p, "--item", i]);
            assert_eq!(code, 0, "checkout {p} {i}: {out:?} {err}");
            assert_eq!(out[0]["mode"], "offline");
        };
        for item in ["I081", "I082", "I083"] {
            checkout("P051", item);
        }
        // Accepted or refused (too soon), it is journaled either way.
        let (_, renewed, _) =
            kiosk.offline(&["circ", "renew", "--patron", "P051", "--item", "I081"]);
        checkout("P052", "X-LOST");
        checkout("PX", "I090");
        let (code, out, err) = kiosk.offline(&["circ", "checkin", "--item", "I083"]);
        assert_eq!(code, 0, "checkin I083: {out:?} {err}");
        renewed[0]["ok"] == true
    });
    let journal = tokio::task::block_in_place(|| kiosk.ok(&["journal"]));
    let total = journal.len() as i64;
    assert_eq!(total, HAMMERED as i64 + 7);
    assert!(journal.iter().all(|e| e["sync_status"] == "pending"));
    (kiosk, proxy, total, renewed)
}

/// The whole scenario against one backend.
async fn exactly_once_under_faults(db: Db, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (kiosk, proxy, total, renewed) = backlog(&db, dir.path(), seed).await;

    // Sync until the outbox is empty, whatever the proxy does.
    let mut runs = 0;
    loop {
        runs += 1;
        assert!(runs <= 80, "the outbox never drained under faults");
        let (code, out, err) = kiosk.run_async(&["sync", "--once"]).await;
        assert!(
            code == 0 || code == 1,
            "sync --once must exit 0 or 1 under transport faults, got {code}: {out:?} {err}"
        );
        if code == 0 {
            assert_eq!(out[0]["outbox"], 0);
            break;
        }
    }
    let c = &proxy.state.counts;
    eprintln!(
        "{runs} sync runs; proxy: {:?}; server entries: {}",
        c,
        db.count("SELECT count(*) FROM entries").await
    );
    // Every kind of fault happened at least once.
    assert!(c.err500.load(Ordering::Relaxed) >= 1);
    assert!(c.hung.load(Ordering::Relaxed) >= 1);
    assert!(c.dropped.load(Ordering::Relaxed) >= 2);
    assert!(c.kills.load(Ordering::Relaxed) >= 2);
    proxy.state.faults.store(false, Ordering::Relaxed);

    check_converged(&db, &kiosk, total, renewed).await;

    // The kiosk forgets what it sent (restored from a backup) and pushes
    // everything again: nothing is applied twice.
    let before = server_state(&db).await;
    tokio::task::block_in_place(|| {
        let conn = rusqlite::Connection::open(kiosk.dir.path().join("kiosk.db")).unwrap();
        conn.execute(
            "UPDATE journal SET sync_status = 'pending', sync_reason = NULL",
            [],
        )
        .unwrap();
    });
    let (code, out, err) = kiosk.run_async(&["sync", "--once"]).await;
    assert_eq!(code, 0, "{out:?} {err}");
    assert_eq!(out[0]["push"]["sent"], total);
    assert_eq!(out[0]["push"]["acknowledged"], total - 2);
    assert_eq!(out[0]["push"]["conflicts"], 2);
    assert_eq!(
        server_state(&db).await,
        before,
        "a resend changed the server"
    );
    check_converged(&db, &kiosk, total, renewed).await;
}

/// The `kiosk sync` daemon (not `--once`) against the same faults: it is
/// SIGKILLed three times while a push is in flight (the server applied
/// the batch, the answer never came) and started again, and the server
/// is gone for a while (killed, the daemon retrying on its own, then
/// started again). The outbox drains by itself and every entry is
/// applied exactly once.
async fn daemon_drains_under_faults(db: Db, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let (kiosk, proxy, total, renewed) = backlog(&db, dir.path(), seed).await;
    let state = proxy.state.clone();
    let mut daemon = kiosk.daemon();
    for _ in 0..3 {
        state.pause.fetch_add(1, Ordering::SeqCst);
        tokio::time::timeout(Duration::from_secs(300), state.held.notified())
            .await
            .expect("the daemon never pushed");
        daemon.kill();
        daemon = kiosk.daemon();
    }
    assert_eq!(state.counts.paused.load(Ordering::Relaxed), 3);

    // The server goes away; the daemon keeps trying by itself.
    state.faults.store(false, Ordering::Relaxed);
    state.server.lock().unwrap().kill();
    let tried = state.counts.requests.load(Ordering::Relaxed);
    until(
        "the daemon to retry against a dead server",
        3000,
        async || state.counts.requests.load(Ordering::Relaxed) >= tried + 3,
    )
    .await;
    let st = state.clone();
    tokio::task::spawn_blocking(move || st.restart())
        .await
        .unwrap();
    state.faults.store(true, Ordering::Relaxed);

    // Nobody runs `sync --once`: the daemon drains the outbox.
    until("the daemon to drain the outbox", 3000, async || {
        let status = tokio::task::block_in_place(|| kiosk.ok(&["sync", "status"]));
        status[0]["outbox"] == 0 && db.count("SELECT count(*) FROM entries").await == total
    })
    .await;
    // Without faults it also finishes a whole exchange (push, pull,
    // heartbeat) on its own.
    state.faults.store(false, Ordering::Relaxed);
    let log = kiosk.dir.path().join("daemon.log");
    until("a whole sync by the daemon", 3000, async || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("sync done")
    })
    .await;
    daemon.kill();
    let c = &state.counts;
    eprintln!("daemon under faults; proxy: {c:?}");
    assert!(c.kills.load(Ordering::Relaxed) >= 1);
    check_converged(&db, &kiosk, total, renewed).await;
}

/// What must not change when everything is sent again.
async fn server_state(db: &Db) -> Vec<Vec<String>> {
    let mut out = vec![];
    for sql in [
        "SELECT count(*) FROM entries",
        "SELECT count(*) FROM loans",
        "SELECT count(*) FROM fees",
        "SELECT count(*) FROM holds",
        "SELECT last_seq FROM kiosks WHERE kiosk_id = 'K1'",
        "SELECT status, count(*) FROM entries GROUP BY status ORDER BY status",
        "SELECT item, patron, due, renewals FROM loans WHERE returned IS NULL ORDER BY item",
    ] {
        out.extend(db.rows(sql).await);
    }
    out
}

async fn check_converged(db: &Db, kiosk: &Kiosk, total: i64, renewed: bool) {
    let (journal, status) =
        tokio::task::block_in_place(|| (kiosk.ok(&["journal"]), kiosk.ok(&["sync", "status"])));
    // The kiosk: nothing left, the two conflicts kept with the server's code.
    assert_eq!(status[0]["outbox"], 0);
    assert_eq!(status[0]["conflicts"], 2);
    let conflicts: BTreeMap<String, String> = journal
        .iter()
        .filter(|e| e["sync_status"] == "conflict")
        .map(|e| {
            (
                e["item"].as_str().unwrap().to_string(),
                e["sync_reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert!(
        conflicts["X-LOST"].starts_with("item_lost"),
        "{conflicts:?}"
    );
    assert!(
        conflicts["I090"].starts_with("patron_blocked"),
        "{conflicts:?}"
    );
    assert!(journal
        .iter()
        .all(|e| e["sync_status"] == "acknowledged" || e["sync_status"] == "conflict"));

    // The server: every entry once, under the kiosk's ids and seqs.
    let entries = db
        .rows("SELECT id, seq, status, code FROM entries ORDER BY seq")
        .await;
    assert_eq!(entries.len() as i64, total);
    let kiosk_ids: BTreeSet<(String, i64)> = journal
        .iter()
        .map(|e| {
            (
                e["id"].as_str().unwrap().to_string(),
                e["seq"].as_i64().unwrap(),
            )
        })
        .collect();
    let server_ids: BTreeSet<(String, i64)> = entries
        .iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(kiosk_ids, server_ids);
    let by_status: BTreeMap<&str, usize> = entries.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r[2].as_str()).or_default() += 1;
        m
    });
    assert_eq!(by_status.get("conflict"), Some(&2), "{by_status:?}");
    assert_eq!(by_status.get("applied"), Some(&(total as usize - 2)));
    assert_eq!(
        db.count("SELECT last_seq FROM kiosks WHERE kiosk_id = 'K1'")
            .await,
        total
    );
    // One loan per applied checkout, never two.
    let checkouts = journal
        .iter()
        .filter(|e| {
            e["kind"] == "checkout" && e["decision"] == "accepted" && e["sync_status"] != "conflict"
        })
        .count() as i64;
    assert_eq!(db.count("SELECT count(*) FROM loans").await, checkouts);
    assert_eq!(
        db.count("SELECT count(DISTINCT entry_id) FROM loans").await,
        checkouts
    );
    assert_eq!(db.count("SELECT count(*) FROM fees").await, 0);

    // Open loans agree: the server's (`kiosk-central loans`) are the
    // kiosk's, less the one the server refused.
    let server_loans: BTreeSet<(String, String)> = json_lines(&central(db, &["loans"]))
        .iter()
        .map(|l| {
            (
                l["item"].as_str().unwrap().to_string(),
                l["patron"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [("I081", "P051"), ("I082", "P051"), ("X-LOST", "P052")]
        .iter()
        .map(|(i, p)| (i.to_string(), p.to_string()))
        .collect();
    // X-LOST is lost at the centre: the conflict left it so, no loan.
    let want: BTreeSet<_> = want.into_iter().filter(|(i, _)| i != "X-LOST").collect();
    assert_eq!(server_loans, want);
    let loans = json_lines(&central(db, &["loans", "--patron", "P051"]));
    assert!(loans
        .iter()
        .any(|l| l["item"] == "I081" && l["renewals"] == u32::from(renewed)));

    // The conflicts, as staff see them.
    let listed = json_lines(&central(db, &["conflicts", "--kiosk", KIOSK]));
    let codes: BTreeSet<(String, String)> = listed
        .iter()
        .map(|c| {
            (
                c["item"].as_str().unwrap().to_string(),
                c["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("I090".to_string(), "patron_blocked".to_string()),
            ("X-LOST".to_string(), "item_lost".to_string())
        ]
        .into_iter()
        .collect()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_under_faults_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exactly_once_under_faults(Db::Sqlite(dir.path().join("central.db")), 4).await;
}

// ---------------------------------------------------------------------------
// PostgreSQL: a throwaway cluster

// pg.rs reports a missing PostgreSQL through support::peer.
#[path = "support/pg.rs"]
mod pg;
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_under_faults_postgres() {
    let Some(pg) = pg::PgCluster::start_or_skip("fault-injection sync test on PostgreSQL") else {
        return;
    };
    pg.create_db("faults").await;
    exactly_once_under_faults(Db::Pg(pg.url("faults")), 5).await;
    pg.create_db("daemon").await;
    daemon_drains_under_faults(Db::Pg(pg.url("daemon")), 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_daemon_drains_by_itself_under_faults_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    daemon_drains_under_faults(Db::Sqlite(dir.path().join("central.db")), 6).await;
}
