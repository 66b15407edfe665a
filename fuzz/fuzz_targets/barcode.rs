#![no_main]
// Scanned text of any shape: normalizing and checking never panic, and
// normalizing is idempotent.
use kiosk::domain::barcode::{check, normalize, BarcodeRules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let once = normalize(&text);
    let _ = check(&text, &BarcodeRules::default());
    assert_eq!(normalize(&once), once, "normalize is idempotent");
});
