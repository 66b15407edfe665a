//! Sync: the `Upstream` trait and its implementations (wire types in
//! [`crate::protocol`]), the outbox drain and the schedules.
//! Never decides a loan itself: it moves journal entries up and the
//! central state down, and routes a circulation request to whoever may
//! decide it (`circulation`).
//!
//! - `upstream`: the trait every central system implements (async, boxed
//!   futures), and its errors (offline vs answered-with-an-error).
//! - `http`: kiosk-central's JSON API v1 (reqwest + backon retries).
//! - `sip2`: a SIP2 ILS (codec, client, `Sip2Upstream`).
//! - `memory`: an in-memory central with fault injection, for tests only
//!   (`cfg(test)` or the `test-support` feature the integration tests turn on).
//! - `plan`: the pure half of the push (what to send, what answers mean).
//! - `engine`: the executor (push, pull, status), `schedule`: when.
//! - `circulation`: online decision with offline fallback; `fresh`: whether
//!   the cache is recent enough to lend on alone (the pull, or the
//!   upstream's word on one reader); `titles`: the catalogue's title where
//!   the upstream's charset mangled it.
//! - `health`: what the heartbeat says of the devices and the paper.
//!
//! May use: `domain`, `protocol`, `privacy`, `config`, `store`, `devices`
//! (device events), `i18n` (docs/architecture.md).

pub mod circulation;
pub mod engine;
pub(crate) mod fresh;
pub mod health;
pub mod http;
#[cfg(any(test, feature = "test-support"))]
pub mod memory;
pub mod plan;
pub mod schedule;
pub mod sip2;
pub(crate) mod titles;
pub mod upstream;

pub use circulation::{AccountView, Circulation, Decision, Mode, OfflineRules, RenewAll};
pub use engine::{Engine, PullProgress, SyncError, SyncReport, SyncStatus};
pub use upstream::{Upstream, UpstreamError};

use crate::config::{Config, UpstreamKind};
use std::sync::Arc;
use std::time::Duration;

/// The upstream `[upstream]` describes; None for `kind = "none"`.
pub fn upstream_from_config(config: &Config) -> Result<Option<Arc<dyn Upstream>>, SyncError> {
    let u = &config.upstream;
    match u.kind {
        UpstreamKind::None => Ok(None),
        UpstreamKind::Http => {
            let settings = http::HttpSettings {
                timeout: Duration::from_secs(u.timeout_secs as u64),
                tls_ca: (!u.tls_ca.is_empty()).then(|| u.tls_ca.clone().into()),
                ..http::HttpSettings::default()
            };
            let up = http::HttpUpstream::new(&u.url, &u.token, settings)?;
            Ok(Some(Arc::new(up)))
        }
        UpstreamKind::Sip2 => Ok(Some(Arc::new(sip2::Sip2Upstream::from_config(u)))),
    }
}

/// The circulation façade `kiosk.toml` describes.
pub fn circulation_from_config(config: &Config) -> Result<Circulation, SyncError> {
    Ok(Circulation::new(
        upstream_from_config(config)?,
        Duration::from_millis(config.upstream.decide_timeout_ms as u64),
        OfflineRules::from(&config.offline),
    ))
}
