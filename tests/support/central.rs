//! One way for the tests to run the central system: the real
//! `kiosk-central` binary on a database (`--db FILE` or `--postgres URL`),
//! its command line (`import`, `token create`, `conflicts`, …), and
//! `serve` on a loopback port read from its first line ("kiosk-central
//! listening on http://ADDR"). Shared with `#[path = "support/central.rs"]
//! mod centre;` by tests/central.rs, central_schema.rs, reminders.rs,
//! sync_e2e.rs, sync_faults.rs, kiosk_online.rs and the tests after them.
//!
//! `Db` also reads the server's tables directly (SQLite read-only, or a
//! PostgreSQL connection), for checks the command line does not show.

#![allow(dead_code)]

use serde_json::Value;
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where the server keeps its data.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(PathBuf),
    Pg(String),
}

impl Db {
    /// The global flags that name it: `--db PATH` or `--postgres URL`.
    pub fn args(&self) -> Vec<String> {
        match self {
            Db::Sqlite(p) => vec!["--db".into(), p.display().to_string()],
            Db::Pg(url) => vec!["--postgres".into(), url.clone()],
        }
    }

    /// From the global flags (`["--db", FILE]` or `["--postgres", URL]`).
    pub fn from_args(args: &[&str]) -> Db {
        match args {
            ["--db", path] => Db::Sqlite(PathBuf::from(path)),
            ["--postgres", url] => Db::Pg(url.to_string()),
            other => panic!("not a database: {other:?}"),
        }
    }

    /// Rows of a query as text (NULL = "").
    pub async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Db::Sqlite(p) => {
                let conn = rusqlite::Connection::open_with_flags(
                    p,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .unwrap();
                let mut st = conn.prepare(sql).unwrap();
                let n = st.column_count();
                let mut rows = st.query([]).unwrap();
                let mut out = vec![];
                while let Some(r) = rows.next().unwrap() {
                    out.push(
                        (0..n)
                            .map(|i| match r.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Null => String::new(),
                                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                            })
                            .collect(),
                    );
                }
                out
            }
            Db::Pg(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(conn);
                client
                    .simple_query(sql)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter_map(|m| match m {
                        tokio_postgres::SimpleQueryMessage::Row(r) => Some(
                            (0..r.len())
                                .map(|i| r.get(i).unwrap_or("").to_string())
                                .collect(),
                        ),
                        _ => None,
                    })
                    .collect()
            }
        }
    }

    /// The first column of the first row, as a number.
    pub async fn count(&self, sql: &str) -> i64 {
        self.rows(sql).await[0][0].parse().unwrap()
    }
}

/// `kiosk-central DB…` (`RUST_LOG=warn`); `db` is `["--db", FILE]`,
/// `["--postgres", URL]` or `Db::args()`.
pub fn cmd<S: AsRef<OsStr>>(db: &[S]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiosk-central"));
    c.args(db).env("RUST_LOG", "warn");
    c
}

/// Runs `kiosk-central DB ARGS`, asserts it succeeded, returns its stdout.
pub fn ok<S: AsRef<OsStr>>(db: &[S], args: &[&str]) -> String {
    let out = cmd(db).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kiosk-central {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Each non-empty line parsed as JSON.
pub fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// `kiosk-central import --patrons P --items I`; its JSON lines.
pub fn import<S: AsRef<OsStr>>(db: &[S], patrons: &Path, items: &Path) -> Vec<Value> {
    json_lines(&ok(
        db,
        &[
            "import",
            "--patrons",
            patrons.to_str().unwrap(),
            "--items",
            items.to_str().unwrap(),
        ],
    ))
}

/// Writes `patrons` and `items` (CSV text) to `dir` as `name-patrons.csv`
/// and `name-items.csv`, and imports them.
pub fn import_csv<S: AsRef<OsStr>>(
    db: &[S],
    dir: &Path,
    name: &str,
    patrons: &str,
    items: &str,
) -> Vec<Value> {
    let p = dir.join(format!("{name}-patrons.csv"));
    let i = dir.join(format!("{name}-items.csv"));
    std::fs::write(&p, patrons).unwrap();
    std::fs::write(&i, items).unwrap();
    import(db, &p, &i)
}

/// A new API token for `kiosk` (`token create`).
pub fn token<S: AsRef<OsStr>>(db: &[S], kiosk: &str) -> String {
    ok(db, &["token", "create", "--kiosk", kiosk])
        .trim()
        .to_string()
}

/// A running `kiosk-central serve`; SIGKILLed when dropped.
pub struct Server {
    pub child: Child,
    /// `http://ADDR` (`https://ADDR` with `[server] tls_cert`)
    pub base: String,
    pub addr: SocketAddr,
}

impl Server {
    /// Spawns `cmd` (a `kiosk-central … serve …` command, stdout taken
    /// here) and waits for its listening line.
    pub fn spawn(mut cmd: Command) -> Server {
        Server::listening(cmd.stdout(Stdio::piped()).spawn().unwrap())
    }

    /// Waits for the listening line of `child` (spawned with its stdout
    /// piped).
    pub fn listening(child: Child) -> Server {
        Server::all_listening(vec![child]).remove(0)
    }

    /// Waits for the listening lines of several started at once; if one
    /// fails to start, all are killed (dropped) before the panic ends
    /// the test.
    pub fn all_listening(children: Vec<Child>) -> Vec<Server> {
        use std::io::BufRead;
        let mut servers: Vec<Server> = children
            .into_iter()
            .map(|child| Server {
                child,
                base: String::new(),
                addr: ([127, 0, 0, 1], 0).into(),
            })
            .collect();
        for s in &mut servers {
            let mut line = String::new();
            std::io::BufReader::new(s.child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            s.base = line
                .trim()
                .strip_prefix("kiosk-central listening on ")
                .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
                .to_string();
            s.addr = s
                .base
                .strip_prefix("http://")
                .or_else(|| s.base.strip_prefix("https://"))
                .unwrap_or_else(|| panic!("not http(s): {}", s.base))
                .parse()
                .unwrap();
        }
        servers
    }

    /// SIGKILL (std's `kill` on Unix): no shutdown, no flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `kiosk-central DB serve --listen 127.0.0.1:0`.
pub fn serve<S: AsRef<OsStr>>(db: &[S]) -> Server {
    serve_with(db, &[], "127.0.0.1:0")
}

/// `kiosk-central DB GLOBAL serve --listen LISTEN` (e.g. GLOBAL =
/// `["--config", FILE]`).
pub fn serve_with<S: AsRef<OsStr>>(db: &[S], global: &[&str], listen: &str) -> Server {
    let mut c = cmd(db);
    c.args(global).args(["serve", "--listen", listen]);
    Server::spawn(c)
}
