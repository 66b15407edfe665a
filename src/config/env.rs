//! The environment overlay: `KIOSK__SECTION__KEY` variables laid over the
//! parsed file before it is read into sections, each remembered with the
//! key it set so that an error about that key names the variable.
//!
//! Hand-written rather than figment's `Env` provider: figment guesses a
//! value's type from its text (`KIOSK__KIOSK__ID=0123` would be a number
//! and fail as an id), while this overlay types it by the key it sets; and
//! figment's errors do not say which variable set a key that a later check
//! across keys refuses (`environment KIOSK__UPSTREAM__KIND: key
//! upstream.url: required ...`). The `env_*` tests pin both.
//!
//! May use: no other room; in this room, the section types (a typed
//! template of every key), `devices`, `location` and `error`.

use super::devices;
use super::error::ConfigError;
use super::location::{path_text, KeyPath, Seg};
use super::{Config, RuleOverride, ENV_PREFIX};
use std::path::Path;

// ---------------------------------------------------------------------------
// Environment overrides

/// Applies `KIOSK__...` variables to the parsed file, returning which key
/// each one set. Values are typed by what the key expects, taken from a
/// serialized default config so the two can never drift apart.
pub(super) fn apply_env(
    raw: &mut toml::Value,
    file: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(KeyPath, String)>, ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .collect();
    if vars.is_empty() {
        return Ok(Vec::new());
    }
    // Sorted so that the first error reported does not depend on the
    // platform's environment order.
    vars.sort();
    let template = env_template();
    let mut set = Vec::new();
    for (var, value) in vars {
        let fail = |key: &KeyPath, message: String| ConfigError::Env {
            file: file.to_path_buf(),
            var: var.clone(),
            key: path_text(key),
            message,
        };
        let (path, leaf) = env_target(&var, &template).map_err(|(k, m)| fail(&k, m))?;
        let value = env_value(&leaf, &value).map_err(|m| fail(&path, m))?;
        set_value(raw, &path, value).map_err(|m| fail(&path, m))?;
        set.push((path, var));
    }
    Ok(set)
}

/// Defaults plus one entry of each array of tables, so that every key that
/// can be overridden has a typed example.
pub(super) fn env_template() -> toml::Value {
    let mut config = Config::default();
    let rule = config.policy.default.clone();
    config.policy.rules.push(RuleOverride {
        category: "c".into(),
        item_type: "t".into(),
        loan_days: Some(rule.loan_days),
        loan_hours: Some(rule.loan_hours),
        max_loans: Some(rule.max_loans),
        max_renewals: Some(rule.max_renewals),
        renewal_days: Some(rule.renewal_days),
        fine_per_day: Some(rule.fine_per_day),
        fine_cap: Some(rule.fine_cap),
        block_fines: Some(rule.block_fines),
        block_overdue: Some(rule.block_overdue),
        max_holds: Some(rule.max_holds),
        loanable: Some(rule.loanable),
    });
    let mut template =
        toml::Value::try_from(&config).expect("the default config serializes to TOML");
    // One entry holding every key of every kind of device.
    if let Some(table) = template.as_table_mut() {
        table.insert(
            "devices".into(),
            toml::Value::Array(vec![devices::template()]),
        );
    }
    template
}

/// Tables whose keys are chosen by the library (item types), not by us.
const FREE_TABLES: &[&str] = &["policy.sort_bins"];

/// Resolves a variable name to a key path and the template value there.
fn env_target(
    var: &str,
    template: &toml::Value,
) -> Result<(KeyPath, toml::Value), (KeyPath, String)> {
    let rest = &var[ENV_PREFIX.len()..];
    let parts: Vec<&str> = rest.split("__").collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err((
            Vec::new(),
            "expected KIOSK__SECTION__KEY (parts separated by double underscores)".into(),
        ));
    }
    let string_template = toml::Value::String(String::new());
    let mut node = template;
    let mut path = Vec::new();
    for (i, part) in parts.iter().copied().enumerate() {
        let lower = part.to_ascii_lowercase();
        match node {
            toml::Value::Table(_) if FREE_TABLES.contains(&path_text(&path).as_str()) => {
                path.push(Seg::Key(lower));
                node = &string_template;
            }
            toml::Value::Table(t) => match t.keys().find(|k| k.eq_ignore_ascii_case(part)) {
                Some(k) => {
                    path.push(Seg::Key(k.clone()));
                    node = &t[k];
                }
                None => {
                    let known: Vec<&str> = t.keys().map(String::as_str).collect();
                    path.push(Seg::Key(lower));
                    let message = format!(
                        "unknown key {} (expected one of: {})",
                        path_text(&path),
                        known.join(", ")
                    );
                    return Err((path, message));
                }
            },
            toml::Value::Array(a) if a.first().is_some_and(toml::Value::is_table) => {
                let Ok(index) = part.parse::<usize>() else {
                    let message = format!(
                        "expected an entry number after {}, as in {ENV_PREFIX}{}__0__KEY",
                        path_text(&path),
                        parts[..i].join("__")
                    );
                    return Err((path, message));
                };
                path.push(Seg::Index(index));
                node = &a[0];
            }
            _ => {
                path.push(Seg::Key(lower));
                let message = format!("unknown key {}", path_text(&path));
                return Err((path, message));
            }
        }
    }
    match node {
        toml::Value::Table(_) => Err((
            path.clone(),
            format!("{} is a table: set its keys one by one", path_text(&path)),
        )),
        toml::Value::Array(a) if a.first().is_some_and(toml::Value::is_table) => Err((
            path.clone(),
            format!(
                "{} is a list of tables: set keys of one entry, as in {var}__0__KEY",
                path_text(&path)
            ),
        )),
        leaf => Ok((path, leaf.clone())),
    }
}

/// Interprets an override's text by the type of the key's template.
/// Text that does not fit is kept as a string so that deserialization
/// reports it with the same "expected ..., found ..." as a file value.
fn env_value(template: &toml::Value, text: &str) -> Result<toml::Value, String> {
    use toml::Value;
    let scalar = |text: &str| -> Option<Value> {
        let mut table: toml::Table = toml::from_str(&format!("v = {}", text.trim())).ok()?;
        if table.len() == 1 {
            table.remove("v")
        } else {
            None
        }
    };
    Ok(match template {
        Value::String(_) => Value::String(text.to_string()),
        Value::Integer(_) => match scalar(text) {
            Some(v @ Value::Integer(_)) => v,
            _ => Value::String(text.to_string()),
        },
        Value::Float(_) => match scalar(text) {
            Some(v @ (Value::Integer(_) | Value::Float(_))) => v,
            _ => Value::String(text.to_string()),
        },
        Value::Boolean(_) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Boolean(true),
            "false" | "0" | "no" | "off" => Value::Boolean(false),
            _ => Value::String(text.to_string()),
        },
        Value::Array(a) => {
            if text.trim_start().starts_with('[') {
                match scalar(text) {
                    Some(v @ Value::Array(_)) => v,
                    _ => {
                        return Err(format!(
                            "expected a TOML array such as [\"a\", \"b\"] or a comma-separated list, found {text:?}"
                        ))
                    }
                }
            } else {
                let element = a.first().cloned().unwrap_or(Value::String(String::new()));
                let items = text.split(',').map(str::trim).filter(|s| !s.is_empty());
                Value::Array(
                    items
                        .map(|s| env_value(&element, s))
                        .collect::<Result<_, _>>()?,
                )
            }
        }
        Value::Datetime(_) | Value::Table(_) => Value::String(text.to_string()),
    })
}

fn set_value(raw: &mut toml::Value, path: &[Seg], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("expected KIOSK__SECTION__KEY".into());
    };
    let mut node = raw;
    for (depth, seg) in parents.iter().enumerate() {
        let here = || path_text(&path[..=depth]);
        node = match seg {
            Seg::Key(k) => {
                let table = node.as_table_mut().ok_or_else(|| {
                    format!("cannot override: {} in the file is not a table", here())
                })?;
                table
                    .entry(k.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            Seg::Index(i) => {
                let len = node.as_array().map_or(0, Vec::len);
                node.as_array_mut()
                    .and_then(|a| a.get_mut(*i))
                    .ok_or_else(|| {
                        format!("no such entry {}: the file has {len} of them", here())
                    })?
            }
        };
    }
    let (Seg::Key(k), Some(table)) = (last, node.as_table_mut()) else {
        return Err(format!(
            "cannot override {}: its parent is not a table",
            path_text(path)
        ));
    };
    // A free table (sort_bins) may already have this key in another case.
    let existing = table.keys().find(|e| e.eq_ignore_ascii_case(k)).cloned();
    table.insert(existing.unwrap_or_else(|| k.clone()), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::*;
    use crate::domain::Lang;
    use chrono::{NaiveDate, Weekday};

    #[test]
    fn env_string_stays_a_string() {
        let c = parse_with(
            "[kiosk]\nid = \"a\"\n",
            &[
                ("KIOSK__KIOSK__ID", "0123"),
                ("KIOSK__UPSTREAM__TOKEN", "[1]"),
            ],
        )
        .unwrap();
        assert_eq!(c.kiosk.id, "0123");
        assert_eq!(c.upstream.token, "[1]");
        let c = parse_with(
            "",
            &[("KIOSK__KIOSK__LIBRARY_NAME", "市图书馆 City Library")],
        )
        .unwrap();
        assert_eq!(c.kiosk.library_name, "市图书馆 City Library");
    }

    #[test]
    fn env_integer_bool_float_and_enum() {
        let c = parse_with(
            "[sync]\ninterval_secs = 60\n",
            &[
                ("KIOSK__SYNC__INTERVAL_SECS", "120"),
                ("KIOSK__kiosk__Sounds", "false"),
                ("KIOSK__KIOSK__HIGH_CONTRAST", "1"),
                ("KIOSK__POLICY__DEFAULT__FINE_PER_DAY", "0.25"),
                ("KIOSK__POLICY__DEFAULT__FINE_CAP", "5"),
                ("KIOSK__OFFLINE__POLICY", "returns-only"),
                ("KIOSK__DEMO__SEED", "0x10"),
            ],
        )
        .unwrap();
        assert_eq!(c.sync.interval_secs, 120);
        assert!(!c.kiosk.sounds);
        assert!(c.kiosk.high_contrast);
        assert_eq!(c.policy.default.fine_per_day_cents(), 25);
        assert_eq!(c.policy.default.fine_cap_cents(), 500);
        assert_eq!(c.offline.policy, OfflinePolicy::ReturnsOnly);
        assert_eq!(c.demo.seed, 16);
    }

    #[test]
    fn env_arrays() {
        let c = parse_with("", &[("KIOSK__KIOSK__LANGUAGES", "en, zh-CN")]).unwrap();
        assert_eq!(c.kiosk.languages, [Lang::En, Lang::ZhCn]);
        let c = parse_with("", &[("KIOSK__KIOSK__LANGUAGES", "[\"en\"]")]).unwrap();
        assert_eq!(c.kiosk.languages, [Lang::En]);
        let c = parse_with(
            "",
            &[
                ("KIOSK__BARCODE__ITEM__LENGTHS", "13,14"),
                ("KIOSK__BARCODE__ITEM__PREFIXES", ""),
                ("KIOSK__POLICY__CLOSED_WEEKDAYS", "sat,sun"),
                ("KIOSK__POLICY__HOLIDAYS", "2025-01-01"),
            ],
        )
        .unwrap();
        assert_eq!(c.barcode.item.lengths, [13, 14]);
        assert!(c.barcode.item.prefixes.is_empty());
        assert_eq!(c.policy.closed_weekdays, [Weekday::Sat, Weekday::Sun]);
        assert_eq!(
            c.policy.holidays,
            [NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()]
        );
        let e = env_err("", &[("KIOSK__BARCODE__ITEM__LENGTHS", "13,x")]);
        assert_eq!(e.to_string(), "environment KIOSK__BARCODE__ITEM__LENGTHS: expected an integer from 1 to 64, found \"x\"");
        let e = env_err("", &[("KIOSK__KIOSK__LANGUAGES", "[\"en\"")]);
        assert!(e.to_string().contains("expected a TOML array"), "{e}");
    }

    #[test]
    fn env_nested_tables() {
        let text = "[policy.default]\nloan_days = 14\n";
        let c = parse_with(
            text,
            &[
                ("KIOSK__POLICY__DEFAULT__LOAN_DAYS", "21"),
                ("KIOSK__POLICY__SORT_BINS__DVD", "2"),
                ("KIOSK__POLICY__SORT_BINS__DEFAULT", "9"),
            ],
        )
        .unwrap();
        assert_eq!(c.policy.default.loan_days, 21);
        assert_eq!(c.policy.sort_bins.get("dvd").map(String::as_str), Some("2"));
        assert_eq!(
            c.policy.sort_bins.get("default").map(String::as_str),
            Some("9")
        );
    }

    #[test]
    fn env_array_of_tables_by_index() {
        let text = "[[devices]]\nid = \"wedge\"\nkind = \"barcode-wedge\"\n\
                    [[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\n";
        let c = parse_with(
            text,
            &[
                ("KIOSK__DEVICES__0__PORT", "/dev/ttyUSB1"),
                ("KIOSK__POLICY__RULES__0__MAX_LOANS", "3"),
            ],
        )
        .unwrap();
        assert_eq!(c.devices[0].port(), "/dev/ttyUSB1");
        assert_eq!(c.policy.resolved_rules()[1].2.max_loans, 3);
        let e = env_err(text, &[("KIOSK__POLICY__RULES__FIRST__MAX_LOANS", "3")]);
        assert!(
            e.to_string().contains("as in KIOSK__POLICY__RULES__0__KEY"),
            "{e}"
        );
        let e = env_err(text, &[("KIOSK__DEVICES__1__PORT", "x")]);
        assert_eq!(e.env_var(), Some("KIOSK__DEVICES__1__PORT"));
        assert!(e.to_string().contains("no such entry devices[1]"), "{e}");
        assert!(env_err(text, &[("KIOSK__DEVICES", "x")])
            .to_string()
            .contains("list of tables"));
    }

    #[test]
    fn env_unknown_key_is_an_error() {
        let e = env_err("", &[("KIOSK__KIOSK__LANGUAGEZ", "en")]);
        assert_eq!(e.env_var(), Some("KIOSK__KIOSK__LANGUAGEZ"));
        assert_eq!(e.key(), Some("kiosk.languagez"));
        assert_eq!(e.line(), None);
        assert!(e.to_string().starts_with("environment KIOSK__KIOSK__LANGUAGEZ: unknown key kiosk.languagez (expected one of: "), "{e}");
        let e = env_err("", &[("KIOSK__NETWORK__PORT", "1")]);
        assert!(e.to_string().contains("unknown key network"), "{e}");
        let e = env_err("", &[("KIOSK__STORE__PATH__X", "1")]);
        assert!(e.to_string().contains("unknown key store.path.x"), "{e}");
        let e = env_err("", &[("KIOSK__STORE", "x")]);
        assert!(e.to_string().contains("store is a table"), "{e}");
        let e = env_err("", &[("KIOSK____PATH", "x")]);
        assert!(e.to_string().contains("KIOSK__SECTION__KEY"), "{e}");
    }

    #[test]
    fn env_bad_value_names_the_variable() {
        let e = env_err(
            "[sync]\ninterval_secs = 30\n",
            &[("KIOSK__SYNC__INTERVAL_SECS", "abc")],
        );
        assert_eq!(e.to_string(), "environment KIOSK__SYNC__INTERVAL_SECS: expected an integer from 5 to 86400, found \"abc\"");
        assert_eq!(e.key(), Some("sync.interval_secs"));
        let e = env_err("", &[("KIOSK__SYNC__INTERVAL_SECS", "1")]);
        assert_eq!(
            e.to_string(),
            "environment KIOSK__SYNC__INTERVAL_SECS: expected an integer from 5 to 86400, found 1"
        );
        let e = env_err("", &[("KIOSK__KIOSK__SOUNDS", "maybe")]);
        assert_eq!(
            e.to_string(),
            "environment KIOSK__KIOSK__SOUNDS: expected true or false, found \"maybe\""
        );
        // A cross-key check caused by an override names the variable too.
        let e = env_err("", &[("KIOSK__UPSTREAM__KIND", "http")]);
        assert_eq!(
            e.to_string(),
            "environment KIOSK__UPSTREAM__KIND: key upstream.url: required when kind = \"http\""
        );
        let e = env_err("", &[("KIOSK__KIOSK__INACTIVITY_WARNING_SECS", "60")]);
        assert!(
            e.to_string()
                .starts_with("environment KIOSK__KIOSK__INACTIVITY_WARNING_SECS: must be less"),
            "{e}"
        );
    }

    #[test]
    fn env_override_replaces_a_bad_file_value() {
        let c = parse_with(
            "[sync]\ninterval_secs = 1\n",
            &[("KIOSK__SYNC__INTERVAL_SECS", "30")],
        )
        .unwrap();
        assert_eq!(c.sync.interval_secs, 30);
    }

    #[test]
    fn other_env_vars_are_ignored() {
        let c = parse_with(
            "",
            &[
                ("KIOSK_CONFIG", "/x.toml"),
                ("KIOSKID", "x"),
                ("PATH", "/bin"),
                ("kiosk__kiosk__id", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c, Config::default());
    }
}
