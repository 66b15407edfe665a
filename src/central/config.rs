//! `central.toml`: where the server listens, which database it uses, and
//! the circulation policy it decides and replays with (the same `[policy]`
//! section as `kiosk.toml`, so one file can be shared). Every mistake is
//! reported as `FILE:LINE: key KEY: MESSAGE` (the kiosk's `ConfigError`,
//! its key paths and lines found by the kiosk's `config::location`).
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"
//! db = "central.db"               # SQLite file, or:
//! # postgres = "host=/run/postgresql dbname=central user=kiosk"
//! max_body_bytes = 8388608
//! # tls_cert = "/etc/kiosk-central/cert.pem"   # HTTPS (rustls): both or neither
//! # tls_key = "/etc/kiosk-central/key.pem"
//! header_timeout_secs = 10         # request headers / TLS handshake / idle
//! report_timeout_secs = 30         # stats and feedback reports
//!
//! [reminders]
//! schedule = "0 9 * * *"          # cron, server local time; empty = off
//! due_soon_days = 2
//! webhook_url = "https://library.example.org/hooks/reminders"
//! smtp_url = "smtps://user:password@mail.example.org"
//! from = "Library <library@example.org>"
//!
//! [privacy]
//! history_retention_days = 365     # past loans keep the reader's card this long; 0 = not at all
//!
//! [policy]
//! closed_weekdays = ["sun"]
//! [policy.default]
//! loan_days = 21
//! ```

use crate::config::location::{self, from_serde_path, keypath, line_of, path_text, Seg, Source};
use crate::config::secrets::{self, Secret};
use crate::config::{ConfigError, PolicySection};
use crate::domain::{Calendar, Settings};
use crate::protocol::PolicyRecord;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct CentralConfig {
    pub server: ServerSection,
    pub policy: PolicySection,
    pub reminders: super::remind::ReminderSection,
    pub privacy: PrivacySection,
}

/// `[privacy]`: how long readers' history keeps their card numbers
/// (`engine::retention`; docs/privacy.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySection {
    /// Past (returned) loans, closed holds, fees and journal entries older
    /// than this many days lose the reader's card number and whatever else
    /// names them, except for readers who keep their history. 0: as soon
    /// as they are past. Same default as the kiosk's `[store]
    /// history_retention_days`.
    pub history_retention_days: u32,
}

impl Default for PrivacySection {
    fn default() -> Self {
        PrivacySection {
            history_retention_days: 365,
        }
    }
}

/// The longest retention accepted (100 years): beyond it the cut-off day
/// would leave the calendar.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    pub listen: String,
    pub db: PathBuf,
    pub postgres: Option<String>,
    /// Largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// HTTPS: the server's certificate chain and private key (PEM files,
    /// relative to the working directory). Both or neither.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// A client must send a request's headers (and finish a TLS
    /// handshake) within this many seconds; idle connections are closed
    /// after it too.
    pub header_timeout_secs: u64,
    /// Reports (stats, feedback) are cut off after this many seconds.
    pub report_timeout_secs: u64,
}

impl ServerSection {
    /// The listener's limits from this section.
    pub fn limits(&self) -> super::listen::Limits {
        use std::time::Duration;
        super::listen::Limits {
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            report_timeout: Duration::from_secs(self.report_timeout_secs.max(1)),
            ..super::listen::Limits::default()
        }
    }
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8080".into(),
            db: PathBuf::from("central.db"),
            postgres: None,
            max_body_bytes: 8 * 1024 * 1024,
            tls_cert: None,
            tls_key: None,
            header_timeout_secs: 10,
            report_timeout_secs: 30,
        }
    }
}

/// The keys of `central.toml` that can hold a secret: connection strings
/// and URLs with a password in them.
pub const CENTRAL_SECRETS: &[(&str, Secret)] = &[
    ("server.postgres", Secret::WithPassword),
    ("reminders.smtp_url", Secret::WithPassword),
    ("reminders.webhook_url", Secret::WithPassword),
];

impl CentralConfig {
    /// Files holding secrets that users other than their owner may read:
    /// this configuration file (`path`, when it holds a password), the TLS
    /// private key, and the SQLite database `db` with its -wal and -shm
    /// files (readers' cards and names). Logged at start and listed by
    /// `kiosk-central status`.
    pub fn secret_warnings(&self, path: Option<&Path>, db: Option<&Path>) -> Vec<String> {
        let mut out: Vec<secrets::Exposed> = vec![];
        if let Some(p) = path {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            out.extend(secrets::exposed(
                p,
                &secrets::secrets_in(&text, CENTRAL_SECRETS),
            ));
        }
        if let Some(key) = &self.server.tls_key {
            out.extend(secrets::exposed(key, &["the TLS private key".into()]));
        }
        if let Some(db) = db {
            for suffix in ["", "-wal", "-shm"] {
                let mut f = db.as_os_str().to_owned();
                f.push(suffix);
                let f = PathBuf::from(f);
                out.extend(secrets::exposed(&f, &["readers' cards and loans".into()]));
            }
        }
        out.iter().map(|e| e.to_string()).collect()
    }

    pub fn load(path: &Path) -> Result<CentralConfig, ConfigError> {
        let text = location::read_text(path)?;
        let mut cfg = CentralConfig::parse(&text, path)?;
        // A relative database path is relative to the file that names it.
        if cfg.server.db.is_relative() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                cfg.server.db = dir.join(&cfg.server.db);
            }
        }
        Ok(cfg)
    }

    pub fn parse(text: &str, file: &Path) -> Result<CentralConfig, ConfigError> {
        let source = Source::parse(text, file)?;
        let de = toml::Deserializer::new(text);
        let cfg: CentralConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let mut key = from_serde_path(e.path());
            let mut message = e.inner().message().lines().collect::<Vec<_>>().join("; ");
            if let Some(rest) = message.strip_prefix("unknown field `") {
                if let Some((name, _)) = rest.split_once('`') {
                    // The path usually ends at the unknown key already.
                    if key.last() != Some(&Seg::Key(name.to_string())) {
                        key.push(Seg::Key(name.to_string()));
                    }
                    message = format!("unknown key {name:?}");
                }
            }
            let line = source
                .line(&key)
                .or_else(|| e.inner().span().map(|s| line_of(text, s.start)));
            ConfigError::Invalid {
                file: file.to_path_buf(),
                line,
                key: path_text(&key),
                message,
            }
        })?;
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            file: file.to_path_buf(),
            line: source.line(&keypath(key)),
            key: key.into(),
            message,
        };
        if cfg.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(invalid(
                "server.listen",
                format!("{:?} is not ADDRESS:PORT", cfg.server.listen),
            ));
        }
        if cfg.privacy.history_retention_days > MAX_RETENTION_DAYS {
            return Err(invalid(
                "privacy.history_retention_days",
                format!(
                    "{} days is more than {MAX_RETENTION_DAYS} (100 years)",
                    cfg.privacy.history_retention_days
                ),
            ));
        }
        if let Err(e) = super::remind::schedule(&cfg.reminders) {
            return Err(invalid("reminders.schedule", e.to_string()));
        }
        Ok(cfg)
    }

    /// The kiosk-wide settings decisions use.
    pub fn settings(&self) -> Settings {
        let p = &self.policy;
        Settings {
            calendar: Calendar::new(p.closed_weekdays.iter().copied(), []),
            charge_closed_days: p.charge_closed_days,
            hold_pickup_days: p.hold_pickup_days,
            require_pin: p.require_pin,
            pin_attempts: p.pin_attempts,
            pin_lock_minutes: p.pin_lock_minutes,
            sort_bins: p.sort_bins.clone(),
        }
    }

    /// The policy rows kiosks receive through the changes feed.
    pub fn policy_records(&self) -> Vec<PolicyRecord> {
        self.policy
            .resolved_rules()
            .iter()
            .map(|(c, t, r)| super::engine::policy_record(c, t, &r.to_domain()))
            .collect()
    }

    pub fn closed_days(&self) -> Vec<String> {
        self.policy
            .holidays
            .iter()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_a_policy() {
        let c = CentralConfig::parse(
            "[server]\nlisten = \"0.0.0.0:9000\"\n[policy.default]\nloan_days = 21\n",
            Path::new("central.toml"),
        )
        .unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert_eq!(c.policy_records()[0].loan_days, 21);
        assert_eq!(c.privacy.history_retention_days, 365);
    }

    #[cfg(unix)]
    #[test]
    fn files_with_secrets_others_can_read_are_named() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path, m: u32| {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
        };
        let cfg_path = dir.path().join("central.toml");
        let key = dir.path().join("key.pem");
        let db = dir.path().join("central.db");
        let text = format!(
            "[server]\npostgres = \"host=/tmp user=k password=pw\"\ntls_cert = \"c.pem\"\ntls_key = {:?}\n",
            key.display()
        );
        std::fs::write(&cfg_path, &text).unwrap();
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----").unwrap();
        std::fs::write(&db, "").unwrap();
        let c = CentralConfig::parse(&text, &cfg_path).unwrap();
        for (p, m) in [(&cfg_path, 0o644), (&key, 0o644), (&db, 0o604)] {
            mode(p, m);
        }
        let w = c.secret_warnings(Some(&cfg_path), Some(&db));
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(
            w[0].contains("server.postgres") && !w[0].contains("pw"),
            "{w:?}"
        );
        assert!(w[1].contains("TLS private key"), "{w:?}");
        assert!(w[2].contains("central.db") && w[2].contains("604"), "{w:?}");
        for p in [&cfg_path, &key, &db] {
            mode(p, 0o600);
        }
        assert!(c.secret_warnings(Some(&cfg_path), Some(&db)).is_empty());
        // A file without a password in it may be read by anyone.
        std::fs::write(&cfg_path, "[server]\nlisten = \"127.0.0.1:1\"\n").unwrap();
        mode(&cfg_path, 0o644);
        assert!(c.secret_warnings(Some(&cfg_path), None).is_empty());
    }

    #[test]
    fn privacy_retention_days_are_read_and_checked() {
        let c = CentralConfig::parse(
            "[privacy]\nhistory_retention_days = 0\n",
            Path::new("central.toml"),
        )
        .unwrap();
        assert_eq!(c.privacy.history_retention_days, 0);
        for (text, line) in [
            ("[server]\n\n[privacy]\nhistory_retention_days = -1\n", 4),
            ("[privacy]\nhistory_retention_days = \"a year\"\n", 2),
            ("[privacy]\n\nhistory_retention_days = 99999\n", 3),
        ] {
            let e = CentralConfig::parse(text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!(
                    "c.toml:{line}: key privacy.history_retention_days"
                )),
                "{text:?}: {e}"
            );
        }
        let e = CentralConfig::parse("[privacy]\nkeep = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2: key privacy.keep"), "{e}");
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = CentralConfig::parse(
            "[server]\nlisten = \"127.0.0.1:1\"\n\n[policy.default]\nloan_days = \"x\"\n",
            Path::new("central.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("central.toml:5: key policy.default.loan_days"),
            "{e}"
        );
        let e = CentralConfig::parse("[server]\nlisen = 1\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        // Named once (it used to read server.lisen.lisen).
        assert_eq!(e, "c.toml:2: key server.lisen: unknown key \"lisen\"");
        let e = CentralConfig::parse("[server]\nlisten = \"nope\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2: key server.listen"), "{e}");
        let e = CentralConfig::parse(
            "[reminders]\nwebhook_url = \"\"\nschedule = \"every day\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("c.toml:3: key reminders.schedule"), "{e}");
        // Entries of an array of tables are located and named as in
        // kiosk.toml.
        let e = CentralConfig::parse(
            "[[policy.rules]]\ncategory = \"child\"\nitem_type = \"dvd\"\n\n\
             [[policy.rules]]\ncategory = \"adult\"\nitem_type = \"dvd\"\nloan_days = \"x\"\n",
            Path::new("c.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("c.toml:8: key policy.rules[1].loan_days: "),
            "{e}"
        );
        let e = CentralConfig::parse("[server\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1: invalid TOML"), "{e}");
    }
}
