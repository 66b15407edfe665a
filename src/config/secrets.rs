//! Configuration files that hold secrets (the staff PIN hash, tokens,
//! passwords in connection strings): which secrets a file holds, and the
//! warning when others than its owner may read it. Used at start by the
//! kiosk (`kiosk.toml`) and kiosk-central (`central.toml`, its TLS key and
//! database file), and in `kiosk status` / `kiosk-central status`.
//! Never echoes a secret: only key names.

use std::path::{Path, PathBuf};

/// How a key's value is a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// Any non-empty value (a token, a password, a PIN hash, staff cards).
    Always,
    /// A connection string or URL: when it carries a password
    /// (`user:password@host`, `password=…`).
    WithPassword,
}

/// The secrets of `kiosk.toml`.
pub const KIOSK_SECRETS: &[(&str, Secret)] = &[
    ("staff.pin_hash", Secret::Always),
    ("staff.cards", Secret::Always),
    ("upstream.token", Secret::Always),
    ("upstream.password", Secret::Always),
    ("upstream.terminal_password", Secret::Always),
    ("receipt.smtp_url", Secret::WithPassword),
];

/// Whether a URL or libpq connection string carries a password.
fn has_password(v: &str) -> bool {
    if v.contains("password=") {
        return true;
    }
    // scheme://user:password@host…
    v.split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|auth| auth.rsplit_once('@'))
        .is_some_and(|(user, _)| user.contains(':'))
}

fn is_secret(v: &toml::Value, how: Secret) -> bool {
    match (v, how) {
        (toml::Value::String(s), Secret::Always) => !s.is_empty(),
        (toml::Value::String(s), Secret::WithPassword) => has_password(s),
        (toml::Value::Array(a), _) => !a.is_empty(),
        (toml::Value::Table(t), _) => !t.is_empty(),
        _ => false,
    }
}

/// The keys of `keys` that hold a secret in the TOML text (the file as
/// written, not environment overrides). Text that is not TOML holds none
/// that can be named (loading it reports the error).
pub fn secrets_in(text: &str, keys: &[(&str, Secret)]) -> Vec<String> {
    let Ok(root) = text.parse::<toml::Table>() else {
        return vec![];
    };
    keys.iter()
        .filter(|(key, how)| {
            let mut v: Option<&toml::Value> = None;
            let mut table = Some(&root);
            for part in key.split('.') {
                v = table.and_then(|t| t.get(part));
                table = v.and_then(|v| v.as_table());
            }
            v.is_some_and(|v| is_secret(v, *how))
        })
        .map(|(key, _)| key.to_string())
        .collect()
}

/// The permission bits (`0o644`) when group or others may read `path`;
/// None when only its owner may (or on systems without such bits).
pub fn readable_by_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// A file holding secrets that users other than its owner may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposed {
    pub path: PathBuf,
    /// Key names, or what the file is (never a secret's value).
    pub what: Vec<String>,
    /// Its permission bits (`0o644`).
    pub mode: u32,
}

/// The English text (logs, kiosk-central); the kiosk's `status` says it
/// in its language (`config-secrets-readable`).
impl std::fmt::Display for Exposed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} holds secrets ({}) and can be read by other users (mode {:o}); make it readable by its owner only: chmod 600 {}",
            self.path.display(),
            self.what.join(", "),
            self.mode,
            self.path.display()
        )
    }
}

/// `path`, which holds `what` (key names, or a description), when others
/// than its owner may read it.
pub fn exposed(path: &Path, what: &[String]) -> Option<Exposed> {
    if what.is_empty() {
        return None;
    }
    Some(Exposed {
        path: path.to_path_buf(),
        what: what.to_vec(),
        mode: readable_by_others(path)?,
    })
}

/// A `kiosk.toml` at `path` holding secrets others may read, if so.
pub fn kiosk_config_warning(path: &Path) -> Option<Exposed> {
    let text = std::fs::read_to_string(path).ok()?;
    exposed(path, &secrets_in(&text, KIOSK_SECRETS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_by_key_and_never_shown() {
        let text = "[staff]\npin_hash = \"$argon2id$x\"\n[upstream]\ntoken = \"\"\n\
                    [receipt]\nsmtp_url = \"smtps://mail.example.org\"\n";
        assert_eq!(secrets_in(text, KIOSK_SECRETS), ["staff.pin_hash"]);
        let text = "[upstream]\ntoken = \"t0k\"\n[receipt]\nsmtp_url = \"smtp://u:pw@mail\"\n";
        assert_eq!(
            secrets_in(text, KIOSK_SECRETS),
            ["upstream.token", "receipt.smtp_url"]
        );
        assert!(secrets_in("[kiosk]\nid = \"k\"\n", KIOSK_SECRETS).is_empty());
        assert!(secrets_in("not [toml", KIOSK_SECRETS).is_empty());
        assert!(has_password("host=/tmp user=k password=pw dbname=c"));
        assert!(has_password("postgres://k:pw@db.example.org/central"));
        assert!(!has_password("postgres://k@db.example.org/central"));
        assert!(!has_password("https://hooks.example.org/a@b"));
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_can_read_is_warned_about() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("kiosk.toml");
        std::fs::write(&p, "[upstream]\ntoken = \"s3cret-token\"\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let w = kiosk_config_warning(&p).unwrap();
        assert_eq!(
            (w.what.clone(), w.mode),
            (vec!["upstream.token".into()], 0o644)
        );
        let w = w.to_string();
        assert!(w.contains("upstream.token") && w.contains("644"), "{w}");
        assert!(!w.contains("s3cret"), "{w}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(kiosk_config_warning(&p), None);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(kiosk_config_warning(&p).is_some());
        // No secret in it: nothing to say.
        std::fs::write(&p, "[kiosk]\nid = \"k\"\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(kiosk_config_warning(&p), None);
    }
}
