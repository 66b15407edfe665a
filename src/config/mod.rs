//! Kiosk configuration: `kiosk.toml` plus `KIOSK__SECTION__KEY` environment
//! overrides, turned into typed and validated sections.
//!
//! A kiosk that refuses to start must say exactly what to fix, so every
//! mistake is reported with the file, the 1-based line and the full key path
//! (or the environment variable that caused it). This module must never echo
//! a secret (tokens, passwords, the staff PIN hash) in an error message or a
//! `Debug` dump, never silently replace a value that was given but invalid
//! with a default, and never touch devices, databases or the network.
//!
//! One file per job: the tables of the file (`sections`, `policy`,
//! `devices`), reading their values with messages a librarian can act on
//! (`de`), the environment laid over the parsed file (`env`), finding a
//! key's line (`location`, also used for kiosk-central's `central.toml`),
//! turning problems into [`ConfigError`] (`error`), checks across keys
//! (`validate`), the result in the domain's types (`to_domain`), and
//! which secrets a file holds and whether others may read it (`secrets`).
//!
//! May use: `domain` (the types it converts into), no other room
//! (docs/architecture.md; `tests/architecture.rs`). kiosk-central's
//! `central.toml` uses `location` and [`ConfigError`].

mod de;
mod devices;
mod env;
mod error;
pub(crate) mod location;
mod policy;
pub mod secrets;
mod sections;
#[cfg(test)]
mod test_support;
mod to_domain;
mod validate;

pub use devices::{
    CardMap, Device, DeviceKind, DeviceSection, HidposSection, MifareSection, Parity,
    PrinterProtocol, PrinterSection, RfidProtocol, RfidSection, SerialLine, SerialScannerSection,
    WedgeSection,
};
pub use error::ConfigError;
pub use policy::{PolicySection, Rule, RuleOverride};
pub use sections::{
    BarcodeMode, BarcodeSection, CodeSection, DemoSection, KioskSection, OfflinePolicy,
    OfflineSection, ReceiptSection, Sip2Charset, Sip2HoldType, StaffSection, StoreSection,
    SyncSection, UpstreamKind, UpstreamSection,
};
pub use to_domain::{barcode_rules, circulation, default_lang};

use error::{error_order, serde_issue, Context};
use location::{from_serde_path, keypath, line_of, one_line, Seg, Source};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Environment variables starting with this override configuration keys.
/// The double underscore keeps single underscores free for key names.
pub const ENV_PREFIX: &str = "KIOSK__";

/// The whole configuration, one field per `kiosk.toml` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kiosk: KioskSection,
    pub store: StoreSection,
    pub policy: PolicySection,
    pub barcode: BarcodeSection,
    pub staff: StaffSection,
    pub upstream: UpstreamSection,
    /// `[[devices]]`: one entry per attached (or simulated) device.
    pub devices: Vec<DeviceSection>,
    pub sync: SyncSection,
    pub offline: OfflineSection,
    pub receipt: ReceiptSection,
    pub demo: DemoSection,
}

impl Config {
    /// Read the file, apply KIOSK__SECTION__KEY overrides from the process
    /// environment, validate.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = location::read_text(path)?;
        // vars() would panic on a non-UTF-8 variable anywhere in the
        // environment; only ours matter, and a garbled value of ours is
        // better reported than skipped.
        let env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let value = value.to_string_lossy().into_owned();
            Some((name, value))
        });
        Config::parse(&text, path, env)
    }

    /// Same from text; `file` is used in messages and to resolve a relative
    /// `store.path` against its directory (an override's path is taken as
    /// given); `env` is the list of (name, value) to consider, of which only
    /// names starting with `KIOSK__` are used.
    pub fn parse(
        text: &str,
        file: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let source = Source::parse(text, file)?;
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: one_line(e.message()),
        })?;
        let mut raw = toml::Value::Table(table);
        let ctx = Context {
            source: &source,
            env: env::apply_env(&mut raw, file, env)?,
        };
        de::normalize_dates(&mut raw);

        let mut config: Config = serde_path_to_error::deserialize(raw.clone()).map_err(|e| {
            let path = from_serde_path(e.path());
            // A [[devices]] entry is read by its kind, which knows the key
            // at fault; serde only knows the entry.
            let issue = match devices::read_all(&raw) {
                Err(issue) if path.first() == Some(&Seg::Key("devices".into())) => issue,
                _ => serde_issue(path, e.inner().message(), &raw),
            };
            ctx.error(issue)
        })?;

        if let Some(issue) = validate::validate(&config)
            .into_iter()
            .map(|i| ctx.error(i))
            .min_by_key(error_order)
        {
            return Err(issue);
        }
        let store_from_env = ctx
            .env
            .iter()
            .any(|(p, _)| p[..] == keypath("store.path")[..]);
        if !store_from_env && config.store.path.is_relative() {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                config.store.path = dir.join(&config.store.path);
            }
        }
        // The TLS roots file, like the store, is found next to the file.
        let ca_from_env = ctx
            .env
            .iter()
            .any(|(p, _)| p[..] == keypath("upstream.tls_ca")[..]);
        let ca = Path::new(&config.upstream.tls_ca);
        if !ca_from_env && !config.upstream.tls_ca.is_empty() && ca.is_relative() {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                config.upstream.tls_ca = dir.join(ca).display().to_string();
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use crate::domain::Lang;
    use chrono::Weekday;
    use std::path::PathBuf;

    #[test]
    fn empty_file_gives_default() {
        assert_eq!(parse(""), Config::default());
        assert!(!Config::default().demo.enabled);
    }

    #[test]
    fn default_values_match_the_brief() {
        let c = Config::default();
        assert_eq!(c.kiosk.id, "kiosk-1");
        assert_eq!(c.kiosk.languages, [Lang::ZhCn, Lang::En]);
        assert_eq!(c.kiosk.default_language(), Lang::ZhCn);
        assert_eq!(c.store.path, PathBuf::from("kiosk.db"));
        assert_eq!(c.policy.closed_weekdays, [Weekday::Sun]);
        assert_eq!(
            c.policy.sort_bins.get("default").map(String::as_str),
            Some("1")
        );
        assert_eq!(c.policy.default.fine_per_day_cents(), 10);
        assert_eq!(c.policy.default.fine_cap_cents(), 2000);
        assert_eq!(c.policy.default.block_fines_cents(), 1000);
        assert_eq!(c.barcode.mode, BarcodeMode::Warn);
        assert_eq!(c.barcode.patron.prefixes, ["2"]);
        assert_eq!(c.barcode.item.prefixes, ["3"]);
        assert_eq!(c.upstream.kind, UpstreamKind::None);
        assert_eq!(c.upstream.port, 6001);
        assert_eq!(c.upstream.charset, Sip2Charset::Cp850);
        assert_eq!(c.sync.nightly, "0 30 2 * * *");
        assert_eq!(c.offline.policy, OfflinePolicy::ReturnsAndCheckouts);
        assert_eq!((c.demo.patrons, c.demo.items, c.demo.seed), (300, 3000, 42));
    }

    #[test]
    fn sample_parses_and_shows_the_defaults() {
        let c = Config::parse(SAMPLE, Path::new("kiosk.toml"), Vec::new())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.demo.enabled);
        assert_eq!(c.upstream.kind, UpstreamKind::None);
        assert_eq!(c.store.path, PathBuf::from("kiosk.db"));

        let wedge = DeviceSection::new("wedge", DeviceKind::BarcodeWedge);
        let mut rfid = DeviceSection::new(
            "rfid",
            RfidSection {
                protocol: RfidProtocol::M3_810,
                simulated: true,
                tags: "assets/demo-tags.json".into(),
                ..RfidSection::default()
            },
        );
        rfid.required = false;
        let mut printer = DeviceSection::new(
            "printer",
            PrinterSection {
                protocol: PrinterProtocol::Escpos,
                simulated: true,
                ..PrinterSection::default()
            },
        );
        printer.required = false;
        assert_eq!(c.devices, [wedge, rfid, printer]);

        let rules = c.policy.resolved_rules();
        let pairs: Vec<(&str, &str)> = rules
            .iter()
            .map(|(a, b, _)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("default", "default"),
                ("child", "default"),
                ("default", "dvd"),
                ("default", "reference")
            ]
        );
        assert_eq!(rules[1].2.max_loans, 5);
        assert_eq!((rules[2].2.loan_days, rules[2].2.max_renewals), (7, 1));
        assert!(!rules[3].2.loanable);

        // Apart from the examples, the sample must state the true defaults.
        let mut c = c;
        c.demo.enabled = false;
        c.devices.clear();
        c.policy.rules.clear();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn sample_mentions_every_key() {
        fn walk(
            template: &toml::Value,
            sample: &toml::Value,
            path: &str,
            missing: &mut Vec<String>,
        ) {
            let (Some(t), Some(s)) = (template.as_table(), sample.as_table()) else {
                return;
            };
            for (key, value) in t {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match s.get(key) {
                    None => missing.push(here),
                    Some(sv) => walk(value, sv, &here, missing),
                }
            }
        }
        let template = env::env_template();
        let sample: toml::Value = toml::from_str(SAMPLE).unwrap();
        let mut missing = Vec::new();
        walk(&template, &sample, "", &mut missing);
        // Device keys may be spread over the sample's devices; keys of
        // kinds the demo does not use are documented in the key list.
        let device_keys = template["devices"][0].as_table().unwrap();
        let sample_devices = sample["devices"].as_array().unwrap();
        for key in device_keys.keys() {
            let documented = SAMPLE.lines().any(|l| {
                l.trim_start_matches('#')
                    .trim_start()
                    .starts_with(&format!("{key} "))
            });
            if !documented && !sample_devices.iter().any(|d| d.get(key).is_some()) {
                missing.push(format!("devices.{key}"));
            }
        }
        assert!(missing.is_empty(), "sample lacks {missing:?}");
    }

    #[test]
    fn bad_toml_syntax() {
        let e = err("[kiosk]\nid = \"a\"\nsounds = = true\n");
        assert_eq!(e.line(), Some(3));
        assert_eq!(e.key(), None);
        assert!(
            e.to_string().starts_with("kiosk.toml:3: invalid TOML: "),
            "{e}"
        );
        assert!(!e.to_string().contains('\n'), "{e}");
        let e = err("[kiosk]\nid = \"a\"\n[kiosk]\n");
        assert_eq!(e.line(), Some(3), "{e}");
    }

    #[test]
    fn relative_store_path_is_relative_to_the_file() {
        let c = Config::parse("", Path::new("/etc/kiosk/kiosk.toml"), Vec::new()).unwrap();
        assert_eq!(c.store.path, PathBuf::from("/etc/kiosk/kiosk.db"));
        let c = Config::parse(
            "[store]\npath = \"data/k.db\"\n",
            Path::new("/etc/kiosk/kiosk.toml"),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/etc/kiosk/data/k.db"));
        let c = Config::parse(
            "[store]\npath = \"/var/lib/k.db\"\n",
            Path::new("/etc/kiosk/kiosk.toml"),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/var/lib/k.db"));
        // A bare file name has no directory to resolve against.
        let c = Config::parse("", Path::new("kiosk.toml"), Vec::new()).unwrap();
        assert_eq!(c.store.path, PathBuf::from("kiosk.db"));
        // Overrides are taken as given (relative to the working directory).
        let c = Config::parse(
            "",
            Path::new("/etc/kiosk/kiosk.toml"),
            env(&[("KIOSK__STORE__PATH", "k.db")]),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("k.db"));
        let c = Config::parse(
            "",
            Path::new("/etc/kiosk/kiosk.toml"),
            env(&[("KIOSK__STORE__PATH", "/var/lib/kiosk/kiosk.db")]),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/var/lib/kiosk/kiosk.db"));
    }

    #[test]
    fn load_reads_the_file_and_resolves_paths() {
        let dir = std::env::temp_dir().join(format!("kiosk-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kiosk.toml");
        std::fs::write(&file, "[kiosk]\nid = \"from-file\"\n").unwrap();
        let c = Config::load(&file);
        let bad_file = dir.join("bad.toml");
        std::fs::write(&bad_file, "[kiosk]\nid = 7\n").unwrap();
        let bad = Config::load(&bad_file);
        std::fs::remove_dir_all(&dir).unwrap();

        let c = c.unwrap();
        assert_eq!(c.store.path, dir.join("kiosk.db"));
        let bad = bad.unwrap_err();
        assert_eq!(
            bad.to_string(),
            format!(
                "{}:2: key kiosk.id: expected a string, found 7",
                bad_file.display()
            )
        );
    }

    #[test]
    fn missing_file_names_the_file() {
        let file = Path::new("/nonexistent/kiosk-config-test/kiosk.toml");
        let e = Config::load(file).unwrap_err();
        assert!(matches!(e, ConfigError::NotFound { .. }));
        assert_eq!(e.file(), file);
        assert_eq!(
            e.to_string(),
            "/nonexistent/kiosk-config-test/kiosk.toml: configuration file not found"
        );
        let e = Config::load(&std::env::temp_dir()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: cannot read", std::env::temp_dir().display())),
            "{e}"
        );
    }
}
