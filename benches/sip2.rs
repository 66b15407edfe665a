//! SIP2 checkouts per second through the kiosk's client, side by side with
//! the Python `sip2` client (PyPI package Sip2 1.1) doing the same
//! checkouts against the same server in the same run: the scripted ILS on
//! pysip2's AnyIO server (tests/sip2/ils_server.py), on loopback.
//!
//! Three rows, each N checkouts of distinct items by one reader, one at a
//! time, each waiting for its answer, on a persistent connection with
//! sequence numbers and checksums: the kiosk's `Sip2Client` (11 → 12), the
//! kiosk's `Sip2Upstream::decide` (the same plus the mapping into a
//! decision), and the Python client. They take turns in rounds (10 under
//! `--bench`), so a busy shared machine slows all three alike. Connecting
//! is not timed. The server is the same Python process for all three and
//! keeps its library in memory (`--memory`), so the figures say how much
//! each client adds on top of one pysip2 round trip, not what an ILS can
//! take.
//!
//! A fourth row, when python3 has `cryptography` (CI installs it): the
//! kiosk's `Sip2Client` over TLS (rustls) against a second ILS process
//! behind Python's ssl module with a throwaway CA, same checkouts: what
//! TLS adds to a round trip.
//!
//! `cargo bench --bench sip2`: N = 1000 (KIOSK_BENCH_SIP2_N to change).
//! Under `cargo test --all-targets` (no `--bench` flag) N = 20, so CI stays
//! fast. Needs python3 with pysip2 and Sip2: skipped with a notice when
//! missing, unless KIOSK_REQUIRE_PYSIP2=1 (CI), which makes it a failure.

use kiosk::protocol::{DecideRequest, Entry};
use kiosk::sync::sip2::client::{ClientSettings, Sip2Client};
use kiosk::sync::sip2::{Charset, CheckoutRequest, CheckoutResponse, Flag, Sip2Upstream, SipDate};
use kiosk::sync::Upstream;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sip2/ils_server.py");
const PYCLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/sip2/sip2_client_bench.py"
);

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pysip2, anyio, Sip2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("KIOSK_REQUIRE_PYSIP2").as_deref() != Ok("1"),
            "KIOSK_REQUIRE_PYSIP2=1 but python3 lacks pysip2 or Sip2: pip install pysip2==0.1.0 Sip2==1.1"
        );
        eprintln!("sip2 bench skipped: python3 with pysip2 and Sip2 needed (pip install pysip2==0.1.0 Sip2==1.1)");
    }
    ok
}

struct Server(Child);

/// Starts the scripted ILS (`--memory`) with more options; its port.
fn start_ils(state: &std::path::Path, log: &std::path::Path, options: &[&str]) -> (Server, u16) {
    let mut child = Command::new("python3")
        .arg(SERVER)
        .arg("--state")
        .arg(state)
        .arg("--log")
        .arg(log)
        .arg("--memory")
        .args(options)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .strip_prefix("PORT ")
        .and_then(|p| p.trim().parse().ok())
        .expect("the ILS prints its port");
    (Server(child), port)
}

/// The same checkouts through `client`: items `B{3i}` for i in `ids`.
async fn checkouts(client: &std::sync::Arc<Sip2Client>, ids: &[usize]) -> f64 {
    let now = SipDate::local(chrono::Local::now().naive_local());
    let start = Instant::now();
    for &i in ids {
        let req = CheckoutRequest {
            sc_renewal_policy: Flag::N,
            no_block: Flag::N,
            transaction_date: now.clone(),
            nb_due_date: now.clone(),
            institution_id: Some("MAIN".into()),
            patron_id: Some("P1".into()),
            item_id: Some(format!("B{}", 3 * i)),
            terminal_password: Some(String::new()),
            ..Default::default()
        };
        let r: CheckoutResponse = client.exchange(&req).await.expect("checkout");
        assert!(r.ok.is_one(), "checkout refused: {:?}", r.screen_messages);
    }
    start.elapsed().as_secs_f64()
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn settings(port: u16) -> ClientSettings {
    ClientSettings {
        host: "127.0.0.1".into(),
        port,
        tls: false,
        tls_ca: None,
        username: String::new(),
        password: String::new(),
        location: "KIOSK-1".into(),
        charset: Charset::Cp850,
        error_detection: true,
        heartbeat: Duration::from_secs(300),
        timeout: Duration::from_secs(10),
        resend_limit: 3,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    if !python_ready() {
        return;
    }
    let n: usize = std::env::var("KIOSK_BENCH_SIP2_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 1000 } else { 20 });
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("ils.json");
    let items: serde_json::Map<String, serde_json::Value> = (0..3 * n)
        .map(|i| {
            (
                format!("B{i}"),
                serde_json::json!({"title": format!("Bench {i}")}),
            )
        })
        .collect();
    std::fs::write(
        &state,
        serde_json::json!({"patrons": {"P1": {"name": "Bench"}}, "items": items, "loans": {}})
            .to_string(),
    )
    .unwrap();
    let log: PathBuf = dir.path().join("ils.jsonl");
    let (server, port) = start_ils(&state, &log, &[]);
    // The TLS row: a second ILS (same library, its own memory) behind TLS.
    let tls_log: PathBuf = dir.path().join("ils-tls.jsonl");
    let certs = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/sip2/make_certs.py"
        ))
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let tls = certs.then(|| {
        let cert = dir.path().join("server.pem");
        let key = dir.path().join("server.key");
        let (s, p) = start_ils(
            &state,
            &tls_log,
            &[
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
        );
        let client = Sip2Client::new(ClientSettings {
            tls: true,
            tls_ca: Some(dir.path().join("ca.pem")),
            ..settings(p)
        });
        (s, client)
    });
    if tls.is_none() {
        assert!(
            std::env::var("KIOSK_REQUIRE_PYSIP2").as_deref() != Ok("1"),
            "KIOSK_REQUIRE_PYSIP2=1 but python3 cannot make certificates: pip install cryptography"
        );
        eprintln!("no python cryptography: the TLS row is left out");
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = Sip2Client::new(settings(port));
    let up = Sip2Upstream::new(settings(port), "MAIN", "");
    rt.block_on(async {
        client.status().await.expect("99/98");
        up.client().status().await.expect("99/98");
        if let Some((_, c)) = &tls {
            c.status().await.expect("99/98 over TLS");
        }
    });
    // The three take turns, `rounds` times, so that the load of a shared
    // machine falls on all of them alike. Item 3i goes to our client,
    // 3i+1 to Sip2Upstream, 3i+2 to the Python client.
    let rounds = if full { 10 } else { 2 }.min(n);
    let per = n / rounds;
    let (mut t_client, mut t_decide, mut t_py, mut t_tls) = (0.0, 0.0, 0.0, 0.0);
    for round in 0..rounds {
        let ids: Vec<usize> = (round * per..(round + 1) * per).collect();
        t_client += rt.block_on(checkouts(&client, &ids));
        if let Some((_, c)) = &tls {
            t_tls += rt.block_on(checkouts(c, &ids));
        }
        t_decide += rt.block_on(async {
            let at = chrono::Local::now().to_rfc3339();
            let start = Instant::now();
            for &i in &ids {
                let req = DecideRequest {
                    entry: Entry {
                        id: uuid::Uuid::now_v7(),
                        kiosk_id: "bench".into(),
                        seq: i as i64,
                        at: at.clone(),
                        kind: "checkout".into(),
                        patron: Some("P1".into()),
                        item: Some(format!("B{}", 3 * i + 1)),
                        decision: "accepted".into(),
                        reason: None,
                        due: None,
                        detail: serde_json::json!({}),
                        offline: false,
                    },
                    parts_seen: None,
                };
                let d = up.decide(&req).await.expect("decide");
                assert_eq!(d.decision, "accepted", "{:?}", d.detail);
            }
            start.elapsed().as_secs_f64()
        });
        let out = Command::new("python3")
            .arg(PYCLIENT)
            .arg(port.to_string())
            .arg("P1")
            .args(ids.iter().map(|i| format!("B{}", 3 * i + 2)))
            .current_dir(dir.path())
            .output()
            .expect("python3");
        let py: serde_json::Value = String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("Sip2 client: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(
            py["ok"], per,
            "the Python client's checkouts all went through: {py}"
        );
        t_py += py["secs"].as_f64().unwrap();
    }
    let n = per * rounds;
    let (client_rate, decide_rate, py_rate) =
        (n as f64 / t_client, n as f64 / t_decide, n as f64 / t_py);
    drop(server);
    let count = |log: &std::path::Path| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"code\": \"11\""))
            .count()
    };
    assert_eq!(count(&log), 3 * n, "the ILS saw every checkout once");
    let tls_rate = tls.map(|(server, _)| {
        drop(server);
        assert_eq!(count(&tls_log), n, "the TLS ILS saw every checkout once");
        n as f64 / t_tls
    });
    println!(
        "sip2 checkouts, {n} each, one connection, pysip2 ILS on loopback ({}):",
        if full { "bench" } else { "test mode" }
    );
    println!("  kiosk Sip2Client       {client_rate:8.0} /s");
    println!("  kiosk Sip2Upstream     {decide_rate:8.0} /s");
    println!("  Python Sip2 1.1        {py_rate:8.0} /s");
    if let Some(r) = tls_rate {
        println!(
            "  kiosk Sip2Client, TLS  {r:8.0} /s ({:.0} µs per checkout more than plain)",
            (1.0 / r - 1.0 / client_rate) * 1e6
        );
    }
    println!(
        "  ratio kiosk client / Python client: {:.2}",
        client_rate / py_rate
    );
}
