//! A throwaway PostgreSQL cluster for the tests (shared by
//! tests/central.rs and tests/central_schema.rs): finds `initdb`/`pg_ctl`
//! under `/usr/lib/postgresql/*/bin`, initdb's a temporary cluster (as the
//! `postgres` user via `runuser` when the tests run as root), starts it on
//! a Unix socket in a temporary directory with TCP off, and stops it on
//! drop. Without PostgreSQL, `start_or_skip` reports the test skipped
//! (`support::peer`) and returns None, unless `KIOSK_REQUIRE_PG=1` (CI),
//! where it panics. Also included with `#[path]` by tests/sync_faults.rs
//! and tests/sync_e2e.rs; every includer also says `mod support;`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    socket: PathBuf,
    port: u16,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl PgCluster {
    fn cmd(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    pub fn start() -> Result<PgCluster, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("/usr/lib/postgresql: {e} (apt-get install -y postgresql)"))?
            .filter_map(|d| d.ok())
            .map(|d| d.path().join("bin"))
            .filter(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
            .max()
            .ok_or("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")?;
        let dir = tempfile::Builder::new()
            .prefix("kiosk-pg-")
            .tempdir_in("/tmp")
            .map_err(|e| e.to_string())?;
        let as_postgres = is_root();
        let data = dir.path().join("data");
        let socket = dir.path().join("sock");
        std::fs::create_dir(&socket).map_err(|e| e.to_string())?;
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| e.to_string())?
                .success();
            if !ok {
                return Err("chown to postgres failed (is there a postgres user?)".into());
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| e.to_string())?;
        let c = PgCluster {
            bin,
            data,
            socket,
            port,
            as_postgres,
            _dir: dir,
        };
        let out = c
            .cmd("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&c.data)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let opts = format!(
            "-p {} -k {} -c listen_addresses='' -c fsync=off",
            c.port,
            c.socket.display()
        );
        let out = c
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&c.data)
            .args(["-o", &opts, "-l"])
            .arg(c.data.join("log"))
            .args(["-w", "start"])
            .output()
            .map_err(|e| format!("pg_ctl: {e}"))?;
        if !out.status.success() {
            let log = std::fs::read_to_string(c.data.join("log")).unwrap_or_default();
            return Err(format!(
                "pg_ctl start failed: {}{log}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(c)
    }

    pub fn url(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.socket.display(),
            self.port
        )
    }

    pub async fn create_db(&self, db: &str) {
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl PgCluster {
    /// The cluster, or None after reporting the test skipped (which
    /// test, why, how to install PostgreSQL; counted at the end of the
    /// run); a failure instead when `KIOSK_REQUIRE_PG=1` (CI). Needs
    /// `mod support;` in the test file.
    pub fn start_or_skip(what: &str) -> Option<PgCluster> {
        crate::support::found(
            crate::support::Peer::Postgres,
            PgCluster::start().map_err(|why| format!("{what}: {why}")),
        )
    }
}
