#![no_main]
// kiosk.toml and central.toml text → a configuration or an error naming the
// file (and, for a mistake in the text, the line); never a panic. The first
// byte picks the file; kiosk.toml also gets the rest of the input's
// `KIOSK__…=value` lines as environment overrides when it has a NUL
// separator (text NUL env).
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let (text, env) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return; // the loader reads text (a non-UTF-8 file is an i/o error)
    };
    if which % 2 == 0 {
        let file = Path::new("/etc/kiosk/kiosk.toml");
        let env: Vec<(String, String)> = String::from_utf8_lossy(env)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Err(e) = kiosk::config::Config::parse(text, file, env) {
            let shown = e.to_string();
            assert!(!shown.contains('\n'), "not one line: {shown}");
            assert_eq!(e.file(), file, "{shown}");
            assert!(
                shown.starts_with("/etc/kiosk/kiosk.toml") || e.env_var().is_some(),
                "{shown}"
            );
        }
    } else {
        let file = Path::new("/etc/kiosk/central.toml");
        if let Err(e) = kiosk::central::config::CentralConfig::parse(text, file) {
            let shown = e.to_string();
            assert!(!shown.contains('\n'), "not one line: {shown}");
            assert_eq!(e.file(), file, "{shown}");
            assert!(shown.starts_with("/etc/kiosk/central.toml"), "{shown}");
        }
    }
});
