#![no_main]
// SIP2 lines from a server: any bytes, every charset, never a panic; what
// parses re-encodes to the same bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kiosk::sync::sip2::fuzz_decode(data);
});
