//! `kiosk-central`: the reference central server.
//!
//! The server (axum, SQLite and PostgreSQL storage, sync API) is built in
//! its own issue; until then this binary says so and exits with code 2, so
//! no script mistakes it for a running server.

fn main() {
    eprintln!(
        "kiosk-central {}: the central server is not part of this build yet; \
         kiosks run stand-alone with [upstream] kind = \"none\"",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
