//! `central.toml`: where the server listens, which database it uses, and
//! the circulation policy it decides and replays with (the same `[policy]`
//! section as `kiosk.toml`, so one file can be shared). Every mistake is
//! reported as `FILE:LINE: key KEY: MESSAGE` (the kiosk's `ConfigError`).
//!
//! ```toml
//! [server]
//! listen = "127.0.0.1:8080"
//! db = "central.db"               # SQLite file, or:
//! # postgres = "host=/run/postgresql dbname=central user=kiosk"
//! max_body_bytes = 8388608
//! # tls_cert = "/etc/kiosk-central/cert.pem"   # HTTPS (rustls): both or neither
//! # tls_key = "/etc/kiosk-central/key.pem"
//!
//! [reminders]
//! schedule = "0 9 * * *"          # cron, server local time; empty = off
//! due_soon_days = 2
//! webhook_url = "https://library.example.org/hooks/reminders"
//! smtp_url = "smtps://user:password@mail.example.org"
//! from = "Library <library@example.org>"
//!
//! [policy]
//! closed_weekdays = ["sun"]
//! [policy.default]
//! loan_days = 21
//! ```

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
}

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
        }
    }
}

impl CentralConfig {
    pub fn load(path: &Path) -> Result<CentralConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound {
                    file: path.to_path_buf(),
                }
            } else {
                ConfigError::Io {
                    file: path.to_path_buf(),
                    source,
                }
            }
        })?;
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
        let doc = toml_edit::ImDocument::parse(text).map_err(|e| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: e.message().lines().collect::<Vec<_>>().join("; "),
        })?;
        let de = toml::Deserializer::new(text);
        let cfg: CentralConfig = serde_path_to_error::deserialize(de).map_err(|e| {
            let segs: Vec<String> = e
                .path()
                .iter()
                .map(|s| s.to_string())
                .filter(|s| s != "?")
                .collect();
            let mut message = e.inner().message().lines().collect::<Vec<_>>().join("; ");
            // "unknown field `x`" names the key one level deeper.
            let mut key_segs = segs.clone();
            if let Some(rest) = message.strip_prefix("unknown field `") {
                if let Some((name, _)) = rest.split_once('`') {
                    key_segs.push(name.to_string());
                    message = format!("unknown key {name:?}");
                }
            }
            let line = locate(&doc, text, &key_segs)
                .or_else(|| e.inner().span().map(|s| line_of(text, s.start)));
            ConfigError::Invalid {
                file: file.to_path_buf(),
                line,
                key: key_segs.join("."),
                message,
            }
        })?;
        if cfg.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid {
                file: file.to_path_buf(),
                line: locate(&doc, text, &["server".into(), "listen".into()]),
                key: "server.listen".into(),
                message: format!("{:?} is not ADDRESS:PORT", cfg.server.listen),
            });
        }
        if let Err(e) = super::remind::schedule(&cfg.reminders) {
            return Err(ConfigError::Invalid {
                file: file.to_path_buf(),
                line: locate(&doc, text, &["reminders".into(), "schedule".into()]),
                key: "reminders.schedule".into(),
                message: e.to_string(),
            });
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

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of the deepest segment of `path` present in the document.
fn locate(doc: &toml_edit::ImDocument<&str>, text: &str, path: &[String]) -> Option<usize> {
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    let mut line = None;
    let mut segs = path.iter().peekable();
    while let Some(seg) = segs.next() {
        let Some((k, v)) = table.get_key_value(seg) else {
            return line;
        };
        if let Some(s) = k.span().or_else(|| v.span()) {
            line = Some(line_of(text, s.start));
        }
        let index = segs.peek().and_then(|n| n.parse::<usize>().ok());
        let next: Option<&dyn toml_edit::TableLike> = match (v, index) {
            (toml_edit::Item::ArrayOfTables(a), Some(i)) => {
                segs.next();
                let t = a.get(i)?;
                if let Some(s) = t.span() {
                    line = Some(line_of(text, s.start));
                }
                Some(t)
            }
            (v, _) => v.as_table_like(),
        };
        match next {
            Some(t) => table = t,
            None => return line,
        }
    }
    line
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
        assert!(e.starts_with("c.toml:2: key server.lisen"), "{e}");
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
        let e = CentralConfig::parse("[server\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:1: invalid TOML"), "{e}");
    }
}
