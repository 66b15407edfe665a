#![no_main]
// Every decoder must take any bytes without panicking.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kiosk::devices::printer::fuzz_printer(data);
});
