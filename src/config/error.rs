//! [`ConfigError`], and how a problem found while reading becomes one: an
//! [`Issue`] names a key; [`Context`] says whether an environment variable
//! set it or on which line of the file it is, and serde's wording is turned
//! into ours ("expected ..., found ..." with the value as written, never a
//! secret).
//!
//! May use: no other room; in this room, `location`.

use super::location::{keypath, path_text, KeyPath, Seg, Source};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// Errors

/// Why the configuration could not be used. Display is always one line:
/// - `FILE:LINE: key KEY: MESSAGE` (`FILE: key KEY: MESSAGE` if no line),
/// - `FILE:LINE: invalid TOML: MESSAGE`,
/// - `environment VAR: MESSAGE`, or `environment VAR: key KEY: MESSAGE` when
///   the variable caused a problem with another key (KIND=http, no url),
/// - `FILE: configuration file not found`, `FILE: cannot read ...: REASON`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: configuration file not found", .file.display())]
    NotFound { file: PathBuf },
    #[error("{}: cannot read the configuration file: {source}", .file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: invalid TOML: {message}", .file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// A key in the file is unknown, of the wrong type or invalid. `line` is
    /// `None` only when the key is neither in the file nor near anything that is.
    #[error("{}{}: key {key}: {message}", .file.display(), line_suffix(*.line))]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        key: String,
        message: String,
    },
    /// An environment override is malformed, unknown or invalid.
    #[error("environment {var}: {message}")]
    Env {
        file: PathBuf,
        var: String,
        key: String,
        message: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl ConfigError {
    /// The configuration file concerned (for environment errors, the file
    /// being loaded when the override was applied).
    pub fn file(&self) -> &Path {
        match self {
            ConfigError::NotFound { file }
            | ConfigError::Io { file, .. }
            | ConfigError::Syntax { file, .. }
            | ConfigError::Invalid { file, .. }
            | ConfigError::Env { file, .. } => file,
        }
    }

    /// 1-based line in the file, when the error is located there.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Syntax { line, .. } => Some(*line),
            ConfigError::Invalid { line, .. } => *line,
            _ => None,
        }
    }

    /// Full key path such as `policy.rules[1].loan_days`.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } | ConfigError::Env { key, .. } if !key.is_empty() => {
                Some(key)
            }
            _ => None,
        }
    }

    /// The environment variable at fault, for override errors.
    pub fn env_var(&self) -> Option<&str> {
        match self {
            ConfigError::Env { var, .. } => Some(var),
            _ => None,
        }
    }
}

/// Environment errors first (they are what the operator just changed), then
/// file errors by line.
pub(super) fn error_order(e: &ConfigError) -> (u8, usize, String) {
    match e {
        ConfigError::Env { var, .. } => (0, 0, var.clone()),
        other => (1, other.line().unwrap_or(usize::MAX), String::new()),
    }
}

/// One problem found after parsing: the key it is about, where else to
/// point if that key is not written anywhere (e.g. `upstream.url` missing
/// is best shown at `kind = "http"`), and the message.
pub(super) struct Issue {
    pub(super) key: KeyPath,
    pub(super) anchors: Vec<KeyPath>,
    pub(super) message: String,
}

impl Issue {
    pub(super) fn new(key: KeyPath, message: impl Into<String>) -> Issue {
        Issue {
            key,
            anchors: Vec::new(),
            message: message.into(),
        }
    }
    pub(super) fn at(key: &str, message: impl Into<String>) -> Issue {
        Issue::new(keypath(key), message)
    }
    pub(super) fn anchored(self, anchor: &str) -> Issue {
        self.anchored_at(keypath(anchor))
    }
    pub(super) fn anchored_at(mut self, anchor: KeyPath) -> Issue {
        self.anchors.push(anchor);
        self
    }
    /// The same issue found inside the table at `prefix`.
    pub(super) fn under(mut self, prefix: &[Seg]) -> Issue {
        for path in std::iter::once(&mut self.key).chain(&mut self.anchors) {
            path.splice(0..0, prefix.iter().cloned());
        }
        self
    }
}

/// What an issue is reported against: the file and the overrides applied.
pub(super) struct Context<'a> {
    pub(super) source: &'a Source<'a>,
    /// Key paths set from the environment, with the variable that set them.
    pub(super) env: Vec<(KeyPath, String)>,
}

impl Context<'_> {
    /// The error for `issue`: the variable that set the key (or one of its
    /// anchors), else the key's line in the file, else the anchor's line.
    pub(super) fn error(&self, issue: Issue) -> ConfigError {
        let key = path_text(&issue.key);
        for candidate in std::iter::once(&issue.key).chain(&issue.anchors) {
            if let Some((set, var)) = self.env.iter().find(|(p, _)| candidate.starts_with(p)) {
                // Say which key is wrong when it is not the one the
                // variable names (e.g. url missing after KIND=http).
                let message = if *set == issue.key || issue.key.starts_with(set) {
                    issue.message
                } else {
                    format!("key {key}: {}", issue.message)
                };
                return ConfigError::Env {
                    file: self.source.file.into(),
                    var: var.clone(),
                    key,
                    message,
                };
            }
            let (depth, line) = self.source.locate(candidate);
            if depth == candidate.len() {
                return ConfigError::Invalid {
                    file: self.source.file.into(),
                    line,
                    key,
                    message: issue.message,
                };
            }
        }
        let (_, line) = self.source.locate(&issue.key);
        ConfigError::Invalid {
            file: self.source.file.into(),
            line,
            key,
            message: issue.message,
        }
    }
}

fn lookup<'v>(root: &'v toml::Value, path: &[Seg]) -> Option<&'v toml::Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        Seg::Key(k) => v.as_table()?.get(k),
        Seg::Index(i) => v.as_array()?.get(*i),
    })
}

/// Keys whose values must never appear in messages.
const SECRET_KEYS: &[&str] = &[
    "upstream.token",
    "upstream.password",
    "upstream.terminal_password",
    "staff.pin_hash",
    "receipt.smtp_url",
];

/// How a value is shown after "found": as written in TOML, or only its type
/// for secrets.
pub(super) fn found_text(path: &[Seg], value: &toml::Value) -> String {
    let key = path_text(path);
    // A staff card is a key to the staff menu: never echoed either.
    if SECRET_KEYS.contains(&key.as_str()) || key.starts_with("staff.cards") {
        return match value {
            toml::Value::String(_) => "a string",
            toml::Value::Integer(_) => "an integer",
            toml::Value::Float(_) => "a float",
            toml::Value::Boolean(_) => "a boolean",
            toml::Value::Datetime(_) => "a date-time",
            toml::Value::Array(_) => "an array",
            toml::Value::Table(_) => "a table",
        }
        .to_string();
    }
    match value {
        toml::Value::String(s) if s.chars().count() > 60 => {
            let head: String = s.chars().take(57).collect();
            format!("{:?}", head + "...")
        }
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Table(_) => "a table".to_string(),
        toml::Value::Array(a) => {
            let text = value.to_string();
            if text.chars().count() <= 60 {
                text
            } else {
                format!("an array of {} values", a.len())
            }
        }
        other => other.to_string(),
    }
}

/// Turns serde's wording into ours: "expected X, found Y" with Y as written
/// in the file, and "unknown key (expected one of: ...)".
pub(super) fn serde_issue(path: KeyPath, message: &str, raw: &toml::Value) -> Issue {
    let backticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let names = backticked(rest.split_once('`').map_or("", |(_, r)| r));
        let message = if names.is_empty() {
            "unknown key (this table takes no keys)".to_string()
        } else {
            format!("unknown key (expected one of: {})", names.join(", "))
        };
        return Issue::new(path, message);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let mut key = path;
        key.push(Seg::Key(
            rest.split('`').next().unwrap_or_default().to_string(),
        ));
        return Issue::new(key, "missing required key");
    }
    let expected = if let Some(rest) = message.strip_prefix("unknown variant `") {
        let names = backticked(rest.split_once('`').map_or("", |(_, r)| r));
        Some(format!("one of: {}", names.join(", ")))
    } else if message.starts_with("wanted exactly 1 element") {
        // toml's wording when a table is given where an enum's string belongs.
        Some("a string".to_string())
    } else if ["invalid type: ", "invalid value: ", "invalid length "]
        .iter()
        .any(|p| message.starts_with(p))
    {
        message
            .rsplit_once(", expected ")
            .map(|(_, e)| plain_expected(e))
    } else {
        message.strip_prefix("expected ").map(str::to_string)
    };
    let Some(expected) = expected else {
        return Issue::new(path, message);
    };
    let message = match lookup(raw, &path) {
        Some(value) => format!("expected {expected}, found {}", found_text(&path, value)),
        None => format!("expected {expected}"),
    };
    Issue::new(path, message)
}

/// serde names types the Rust way; the reader knows TOML.
fn plain_expected(expected: &str) -> String {
    match expected {
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        "a boolean" => "true or false".into(),
        "path string" => "a path string".into(),
        "string only" => "a string".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn unknown_key_at_top_level() {
        let e = err("[kiosk]\nid = \"k\"\n\nlanguages = [\"en\"]\nstore_path = \"x\"\n");
        // A bare key after [kiosk] belongs to kiosk; at the top it needs no header.
        assert_at(
            &e,
            5,
            "kiosk.store_path",
            "unknown key (expected one of: id, library_name,",
        );
        let e = err("title = \"x\"\n[kiosk]\n");
        assert_at(
            &e,
            1,
            "title",
            "unknown key (expected one of: kiosk, store, policy,",
        );
    }

    #[test]
    fn unknown_key_in_section_matches_the_documented_format() {
        let e = err("# kiosk\n\n[kiosk]\nlanguagez = [\"en\"]\n");
        assert_eq!(
            e.to_string(),
            "kiosk.toml:4: key kiosk.languagez: unknown key (expected one of: id, library_name, languages, \
             inactivity_timeout_secs, inactivity_warning_secs, return_without_card, high_contrast, sounds, \
             sound_volume)"
        );
        assert_eq!(e.file(), Path::new("kiosk.toml"));
        let e = err("[barcode.item]\nlength = [13]\n");
        assert_at(
            &e,
            2,
            "barcode.item.length",
            "unknown key (expected one of: lengths, prefixes, codabar_check)",
        );
    }

    #[test]
    fn unknown_key_in_policy_rules() {
        let text = "[[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\n\n\
                    [[policy.rules]]\ncategory = \"adult\"\nitem_type = \"dvd\"\nloan_dayz = 3\n";
        assert_at(
            &err(text),
            8,
            "policy.rules[1].loan_dayz",
            "unknown key (expected one of: category, item_type,",
        );
    }

    #[test]
    fn wrong_type() {
        assert_eq!(
            err("[kiosk]\nsounds = \"yes\"\n").to_string(),
            "kiosk.toml:2: key kiosk.sounds: expected true or false, found \"yes\""
        );
        assert_at(
            &err("[kiosk]\nlanguages = \"en\"\n"),
            2,
            "kiosk.languages",
            "expected an array, found \"en\"",
        );
        assert_at(
            &err("[sync]\ninterval_secs = \"30\"\n"),
            2,
            "sync.interval_secs",
            "found \"30\"",
        );
        assert_at(
            &err("[sync]\ninterval_secs = 2.5\n"),
            2,
            "sync.interval_secs",
            "found 2.5",
        );
        assert_at(
            &err("\nkiosk = 5\n"),
            2,
            "kiosk",
            "expected a table, found 5",
        );
        assert_at(
            &err("[policy.sort_bins]\ndvd = 2\n"),
            2,
            "policy.sort_bins.dvd",
            "expected a string, found 2",
        );
    }

    #[test]
    fn out_of_range_matches_the_documented_format() {
        let mut text = "# comment\n".repeat(10);
        text.push_str("[policy.default]\nmax_loans = -3\n");
        assert_eq!(
            err(&text).to_string(),
            "kiosk.toml:12: key policy.default.max_loans: expected an integer from 0 to 1000, found -3"
        );
        assert_at(
            &err("[kiosk]\ninactivity_timeout_secs = 5\n"),
            2,
            "kiosk.inactivity_timeout_secs",
            "from 10 to 3600, found 5",
        );
        assert_at(
            &err("[upstream]\nport = 70000\n"),
            2,
            "upstream.port",
            "from 1 to 65535, found 70000",
        );
        assert_at(
            &err("[barcode.patron]\nlengths = [14, 65]\n"),
            2,
            "barcode.patron.lengths[1]",
            "from 1 to 64, found 65",
        );
        assert_at(
            &err("[[devices]]\nid = \"p\"\nkind = \"barcode-serial\"\ndata_bits = 9\n"),
            4,
            "devices[0].data_bits",
            "expected 7 or 8, found 9",
        );
        assert_at(
            &err("[[devices]]\nid = \"p\"\nkind = \"rfid\"\nafi_on_loan = 0x100\n"),
            4,
            "devices[0].afi_on_loan",
            "from 0 to 255, found 256",
        );
    }

    #[test]
    fn bad_enum_value() {
        assert_at(
            &err("[barcode]\nmode = \"strict\"\n"),
            2,
            "barcode.mode",
            "expected one of: off, warn, reject, found \"strict\"",
        );
        assert_at(
            &err("[offline]\npolicy = \"returns\"\n"),
            2,
            "offline.policy",
            "off, returns-only, returns-and-checkouts",
        );
        assert_at(
            &err("[kiosk]\nlanguages = [\"en\", \"fr\"]\n"),
            2,
            "kiosk.languages[1]",
            "expected one of: zh-CN, en, found \"fr\"",
        );
        assert_at(
            &err("[upstream]\nkind = 5\n"),
            2,
            "upstream.kind",
            "found 5",
        );
    }

    #[test]
    fn secrets_are_never_shown() {
        let e = err("[upstream]\npassword = 98765\n");
        assert_at(
            &e,
            2,
            "upstream.password",
            "expected a string, found an integer",
        );
        assert!(!e.to_string().contains("98765"));
        let e = env_err("", &[("KIOSK__STAFF__PIN_HASH", "secret-pin")]);
        assert!(!e.to_string().contains("secret-pin"), "{e}");
        let c = parse("[upstream]\ntoken = \"tok-123\"\npassword = \"pw-456\"\n[staff]\npin_hash = \"$argon2id$v=19$m=1,t=1,p=1$s$h\"\n");
        let shown = format!("{c:?}");
        for secret in ["tok-123", "pw-456", "$argon2id"] {
            assert!(!shown.contains(secret), "Debug shows {secret}");
        }
        assert!(shown.contains("<redacted>"));
    }
}
