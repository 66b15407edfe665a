#![no_main]
// kiosk-central's JSON bodies (push, decide, heartbeat, conflict resolve):
// the first byte picks the route, the rest is the body, read and checked as
// the handler does. Never a panic; a refusal is a 4xx with a JSON reason.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kiosk::central::http::fuzz_body(data);
});
