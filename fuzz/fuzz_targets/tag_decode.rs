#![no_main]
// Every decoder must take any bytes without panicking. The entry points
// exist only under `--cfg fuzzing`, which cargo-fuzz sets.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kiosk::devices::fuzz::tag_decode(data);
});
