//! The SIGKILL campaign on the `kiosk sync` daemon (issue 13 §8): a kiosk
//! with a backlog of offline entries (made by `kiosk hammer`, a storm of
//! checkouts and returns) and a real `kiosk-central serve` on loopback
//! (SQLite). Each cycle starts the daemon (`kiosk sync`, a process of its
//! own), waits until its drain is under way (the server has taken new
//! entries), and SIGKILLs it at a random moment after that; one cycle in
//! four SIGKILLs the server first, at the random moment, and the daemon a
//! random moment later, then starts the server again on the same port.
//! When the backlog runs low, a daemon drains it to the end and the hammer
//! makes a new one (only then: the kiosk's entries are all on the server,
//! so kiosk and server agree on every book and reader).
//!
//! At the end a daemon drains what is left, and: every journal entry is on
//! the server exactly once (counted by (kiosk, id)), under the kiosk's seq,
//! the server's seqs for the kiosk run 1..=N with no gap, every entry was
//! applied (no conflict: only this kiosk lends these books), one loan per
//! accepted checkout, and the kiosk's journal is all acknowledged.
//!
//! `KIOSK_SYNC_KILL_CYCLES` sets the number of cycles (10 by default;
//! `scripts/kill-campaign.sh --sync N` runs N in release mode).

use rand::{Rng, SeedableRng};
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/central.rs"]
mod centre;

const KIOSK: &str = "K1";

/// `kiosk ARGS` in the kiosk's directory, none of the developer's settings.
fn kiosk(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk"));
    c.current_dir(dir)
        .env_remove("KIOSK_CONFIG")
        .env_remove("KIOSK_NOW");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KIOSK__") {
            c.env_remove(k);
        }
    }
    c
}

/// One number from an SQLite file (read-only; the writer may be running).
fn count(db: &Path, sql: &str) -> i64 {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn rows(db: &Path, sql: &str) -> Vec<(String, i64)> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(30)).unwrap();
    let mut st = conn.prepare(sql).unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

const OUTBOX: &str = "SELECT count(*) FROM journal WHERE sync_status IN ('pending','sent')";
const ON_SERVER: &str = "SELECT count(*) FROM entries WHERE kiosk_id = 'K1'";

/// The server, always on the same loopback port (the kiosk's
/// `[upstream] url`), SIGKILLed and started again.
struct Central {
    db: Vec<String>,
    file: PathBuf,
    addr: Option<SocketAddr>,
    server: Option<centre::Server>,
}

impl Central {
    fn start(&mut self) {
        let listen = self
            .addr
            .map_or("127.0.0.1:0".to_string(), |a| a.to_string());
        // The port of a SIGKILLed server may take a moment to be free.
        for attempt in 0.. {
            let mut c = centre::cmd(&self.db);
            c.args(["serve", "--listen", &listen])
                .stdout(Stdio::piped())
                .stderr(Stdio::null());
            let mut child = c.spawn().unwrap();
            let mut line = String::new();
            use std::io::BufRead;
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            if let Some(base) = line.trim().strip_prefix("kiosk-central listening on ") {
                let addr: SocketAddr = base.strip_prefix("http://").unwrap().parse().unwrap();
                self.addr = Some(addr);
                self.server = Some(centre::Server {
                    child,
                    base: base.to_string(),
                    addr,
                });
                return;
            }
            let _ = child.kill();
            let _ = child.wait();
            assert!(attempt < 100, "kiosk-central would not start on {listen}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill(&mut self) {
        if let Some(mut s) = self.server.take() {
            s.kill();
        }
    }
}

/// A running `kiosk sync` daemon; SIGKILLed when dropped.
struct Daemon(Child);

impl Daemon {
    fn start(dir: &Path) -> Daemon {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("daemon.log"))
            .unwrap();
        Daemon(
            kiosk(dir)
                .env("KIOSK_LOG", "info")
                .arg("sync")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }

    /// SIGKILL; whether it was still running.
    fn kill(&mut self) -> bool {
        let alive = self.0.try_wait().unwrap().is_none();
        let _ = self.0.kill();
        let _ = self.0.wait();
        alive
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `f` every few ms until it holds; gives up (panics) after
/// `limit`: a guard against a hung test, not a speed requirement.
/// The end of the daemons' log (`daemon.log`) is in the message.
fn until(what: &str, limit: Duration, log: &Path, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > limit {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "gave up waiting for {what}; daemon.log ends:\n{}",
                tail.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// `kiosk hammer --count N`: N more entries in the outbox.
fn hammer(dir: &Path, n: u64) {
    let out = kiosk(dir)
        .args(["hammer", "--count", &n.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "hammer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigkilled_sync_daemon_delivers_every_entry_exactly_once() {
    let cycles: usize = std::env::var("KIOSK_SYNC_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let kdir = dir.path().join("kiosk");
    std::fs::create_dir(&kdir).unwrap();
    let central_db = dir.path().join("central.db");
    let kiosk_db = kdir.join("kiosk.db");
    let log = kdir.join("daemon.log");

    // The same readers and books on both sides.
    let mut patrons = String::from("barcode,name,category,expires,pin,blocked\n");
    for n in 1..=80 {
        patrons += &format!("P{n:03},Reader {n},adult,2099-12-31,,\n");
    }
    let mut items = String::from("barcode,title,author,isbn,item_type,rfid_uid,parts,status\n");
    for n in 1..=200 {
        items += &format!("I{n:03},Title {n},Author {n},,book,,1,\n");
    }
    let (pf, itf) = (dir.path().join("patrons.csv"), dir.path().join("items.csv"));
    std::fs::write(&pf, &patrons).unwrap();
    std::fs::write(&itf, &items).unwrap();
    let mut central = Central {
        db: vec!["--db".into(), central_db.display().to_string()],
        file: central_db.clone(),
        addr: None,
        server: None,
    };
    centre::import(&central.db, &pf, &itf);
    let token = centre::token(&central.db, KIOSK);
    central.start();
    let url = format!("http://{}", central.addr.unwrap());
    std::fs::write(
        kdir.join("kiosk.toml"),
        format!(
            "[kiosk]\nid = \"{KIOSK}\"\n[store]\npath = \"kiosk.db\"\n[barcode]\nmode = \"off\"\n\
             [upstream]\nkind = \"http\"\nurl = \"{url}\"\ntoken = \"{token}\"\ntimeout_secs = 2\n\
             [sync]\nbatch_size = 50\ninterval_secs = 5\n\
             [offline]\npolicy = \"returns-and-checkouts\"\nmax_cache_age_hours = 0\n"
        ),
    )
    .unwrap();
    let out = kiosk(&kdir)
        .args([
            "import",
            "--patrons",
            pf.to_str().unwrap(),
            "--items",
            itf.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed_5ca1);
    let (mut mid_drain, mut server_kills, mut refills) = (0usize, 0usize, 0usize);
    // The most one cycle's drain took, to keep the backlog well above it.
    let mut most_per_cycle: i64 = 200;
    for cycle in 0..cycles {
        if central.server.is_none() {
            central.start();
        }
        if count(&kiosk_db, OUTBOX) < 3 * most_per_cycle {
            // Drain to the end (the server then knows all the kiosk
            // knows), then a new backlog.
            if count(&kiosk_db, OUTBOX) > 0 {
                let mut d = Daemon::start(&kdir);
                until(
                    "the daemon to drain the outbox",
                    Duration::from_secs(300),
                    &log,
                    || count(&kiosk_db, OUTBOX) == 0,
                );
                d.kill();
            }
            hammer(&kdir, (4 * most_per_cycle) as u64 & !1);
            refills += 1;
        }
        let before = count(&central.file, ON_SERVER);
        let mut daemon = Daemon::start(&kdir);
        until(
            "the daemon's drain to get under way",
            Duration::from_secs(120),
            &log,
            || count(&central.file, ON_SERVER) > before,
        );
        std::thread::sleep(Duration::from_millis(rng.random_range(0..250)));
        if cycle % 4 == 3 {
            central.kill(); // SIGKILL, mid-push or between batches
            server_kills += 1;
            std::thread::sleep(Duration::from_millis(rng.random_range(0..100)));
        }
        let busy = count(&kiosk_db, OUTBOX) > 0;
        let alive = daemon.kill(); // SIGKILL
        assert!(alive, "cycle {cycle}: the daemon exited by itself");
        mid_drain += usize::from(busy);
        let drained = count(&central.file, ON_SERVER) - before;
        most_per_cycle = most_per_cycle.max(drained);
    }

    // What is left, by a daemon left alone.
    if central.server.is_none() {
        central.start();
    }
    let mut daemon = Daemon::start(&kdir);
    until(
        "the daemon to drain the outbox",
        Duration::from_secs(300),
        &log,
        || count(&kiosk_db, OUTBOX) == 0,
    );
    daemon.kill();
    central.kill();

    let total = count(&kiosk_db, "SELECT count(*) FROM journal");
    let kiosk_entries: BTreeSet<(String, i64)> = rows(&kiosk_db, "SELECT id, seq FROM journal")
        .into_iter()
        .collect();
    let kiosk_seqs: Vec<i64> = rows(&kiosk_db, "SELECT id, seq FROM journal ORDER BY seq")
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert_eq!(kiosk_seqs, (1..=total).collect::<Vec<_>>(), "kiosk seq gap");
    assert_eq!(
        count(
            &kiosk_db,
            "SELECT count(*) FROM journal WHERE sync_status <> 'acknowledged'"
        ),
        0,
        "every journal entry acknowledged"
    );

    let on_server = count(&central_db, ON_SERVER);
    let duplicated = count(
        &central_db,
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM entries \
         WHERE kiosk_id = 'K1' GROUP BY kiosk_id, id HAVING count(*) > 1)",
    );
    let server_entries: BTreeSet<(String, i64)> = rows(
        &central_db,
        "SELECT id, seq FROM entries WHERE kiosk_id = 'K1'",
    )
    .into_iter()
    .collect();
    let lost = kiosk_entries.difference(&server_entries).count();
    eprintln!(
        "sync kill campaign: cycles={cycles} daemon_kills_mid_drain={mid_drain} \
         server_kills={server_kills} refills={refills} entries={total} \
         on_server={on_server} lost={lost} duplicated={duplicated}"
    );
    assert_eq!(duplicated, 0, "entries on the server twice");
    assert_eq!(
        lost, 0,
        "entries the server never got (or under another seq)"
    );
    assert_eq!(on_server, total);
    assert_eq!(server_entries, kiosk_entries);
    let server_seqs: Vec<i64> = rows(
        &central_db,
        "SELECT id, seq FROM entries WHERE kiosk_id = 'K1' ORDER BY seq",
    )
    .into_iter()
    .map(|(_, s)| s)
    .collect();
    assert_eq!(
        server_seqs,
        (1..=total).collect::<Vec<_>>(),
        "server seq gap"
    );
    assert_eq!(
        count(
            &central_db,
            "SELECT last_seq FROM kiosks WHERE kiosk_id = 'K1'"
        ),
        total
    );
    assert_eq!(
        count(
            &central_db,
            "SELECT count(*) FROM entries WHERE kiosk_id = 'K1' AND status <> 'applied'"
        ),
        0,
        "only this kiosk lends these books: nothing is a conflict"
    );
    let checkouts = count(
        &kiosk_db,
        "SELECT count(*) FROM journal WHERE kind = 'checkout' AND decision = 'accepted'",
    );
    assert_eq!(count(&central_db, "SELECT count(*) FROM loans"), checkouts);
    assert_eq!(
        count(&central_db, "SELECT count(DISTINCT entry_id) FROM loans"),
        checkouts
    );
    assert!(
        mid_drain * 2 > cycles,
        "most daemon kills must land mid-drain ({mid_drain} of {cycles})"
    );
}
