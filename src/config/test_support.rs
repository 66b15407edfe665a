//! Helpers shared by the configuration's unit tests: parse text with a
//! given environment, and assert an error's line, key and message.

pub(super) use super::*;
pub(super) use std::path::Path;

pub(super) const SAMPLE: &str = include_str!("../../kiosk.toml");

pub(super) fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn parse_with(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("kiosk.toml"), env(vars))
}

pub(super) fn parse(text: &str) -> Config {
    parse_with(text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

pub(super) fn err(text: &str) -> ConfigError {
    match parse_with(text, &[]) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

pub(super) fn env_err(text: &str, vars: &[(&str, &str)]) -> ConfigError {
    match parse_with(text, vars) {
        Ok(_) => panic!("accepted {vars:?}"),
        Err(e) => e,
    }
}

/// Asserts line and key, and that the message mentions `needle`.
pub(super) fn assert_at(e: &ConfigError, line: usize, key: &str, needle: &str) {
    let text = e.to_string();
    assert_eq!(e.line(), Some(line), "{text}");
    assert_eq!(e.key(), Some(key), "{text}");
    assert!(
        text.starts_with(&format!("kiosk.toml:{line}: key {key}: ")),
        "{text}"
    );
    assert!(text.contains(needle), "{text:?} lacks {needle:?}");
}
