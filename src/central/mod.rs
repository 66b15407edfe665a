//! The reference central server (kiosk-central): the v1 API of
//! `sync::protocol` over storage behind one trait (SQLite embedded,
//! PostgreSQL for many kiosks). Being built (issue 4).
