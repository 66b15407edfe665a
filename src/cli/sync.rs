//! `kiosk sync`: the headless face of the engine for cron jobs, scripts and
//! staff. `--once` exits 0 only when the outbox is empty afterwards and the
//! server refused no entry, 1 when entries are left (upstream unreachable,
//! or none configured) or were refused (`ok: false` with the reason), 2 on an
//! error (configuration, database, or an upstream refusing the request).

use crate::cli::{CliError, Env, SyncArgs, SyncWhat};
use crate::store::cache;
use crate::sync::engine::{stored_status, Engine, SyncError};
use crate::sync::schedule;
use serde_json::{json, Value};
use std::io::Write;
use std::time::Duration;

fn print(v: &Value) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v).map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn run(env: &Env, args: SyncArgs) -> Result<i32, CliError> {
    if let Some(SyncWhat::Status) = args.what {
        return status(env);
    }
    let upstream = crate::sync::upstream_from_config(&env.config)?;
    let mut store = env.open_store()?;
    let Some(upstream) = upstream else {
        let outbox = store.counts()?.outbox;
        if !args.once {
            return Err(CliError::Usage(
                "[upstream] kind = \"none\": there is nothing to sync with".into(),
            ));
        }
        print(&json!({
            "ok": outbox == 0,
            "upstream": null,
            "outbox": outbox,
            "message": "no upstream configured ([upstream] kind = \"none\"); entries stay in the outbox",
        }))?;
        return Ok(if outbox == 0 { 0 } else { 1 });
    };
    let engine =
        Engine::new(upstream, env.config.sync.batch_size).with_page_size(env.config.sync.page_size);
    let rt = runtime()?;
    if !args.once {
        let cron = schedule::parse_cron(&env.config.sync.nightly)?;
        let interval = Duration::from_secs(env.config.sync.interval_secs as u64);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        rt.block_on(async {
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                let _ = stop.send(true);
            });
            schedule::run(&engine, &mut store, interval, &cron, stopped).await;
        });
        return Ok(0);
    }
    let result = rt.block_on(async {
        if args.full {
            engine.full_sync(&mut store, env.now).await
        } else {
            engine.sync_once(&mut store, env.now).await
        }
    });
    match result {
        Ok(report) => {
            let mut v = serde_json::to_value(report).map_err(std::io::Error::other)?;
            // An entry the server refused (not applied) is never success.
            let refused = report.push.refused;
            let ok = report.outbox == 0 && refused == 0;
            v["ok"] = json!(ok);
            v["upstream"] = json!(engine.upstream().describe());
            if refused > 0 {
                v["error"] = json!(format!(
                    "the server refused {refused} journal entr{} as sequence_reused and did not apply {}: \
                     their seqs belong to other entries of kiosk {} (another machine with the same kiosk id, \
                     or a database restored from before them). They are conflicts in `kiosk journal` and \
                     at the centre; give each machine its own [kiosk] id",
                    if refused == 1 { "y" } else { "ies" },
                    if refused == 1 { "it" } else { "them" },
                    store.kiosk_id(),
                ));
            }
            print(&v)?;
            Ok(if ok { 0 } else { 1 })
        }
        Err(e) if e.is_offline() || matches!(e, SyncError::NoProgress(_)) => {
            let outbox = store.counts()?.outbox;
            print(&json!({
                "ok": false,
                "offline": e.is_offline(),
                "upstream": engine.upstream().describe(),
                "error": e.to_string(),
                "outbox": outbox,
            }))?;
            Ok(if outbox == 0 { 0 } else { 1 })
        }
        Err(e) => Err(e.into()),
    }
}

fn status(env: &Env) -> Result<i32, CliError> {
    let store = env.open_store_for_reading()?;
    let upstream = match env.config.upstream.kind {
        crate::config::UpstreamKind::None => None,
        crate::config::UpstreamKind::Http => Some(format!("http {}", env.config.upstream.url)),
        crate::config::UpstreamKind::Sip2 => Some(format!(
            "sip2 {}:{}",
            env.config.upstream.host, env.config.upstream.port
        )),
    };
    let s = stored_status(&store, upstream)?;
    let mut v = serde_json::to_value(&s).map_err(std::io::Error::other)?;
    v["cursor"] = json!(store.sync_state(cache::CURSOR_KEY)?);
    v["last_full_pull"] = json!(store.sync_state(cache::PULLED_AT_KEY)?);
    v["last_nightly"] = json!(store.sync_state(schedule::NIGHTLY_KEY)?);
    v["kiosk_id"] = json!(store.kiosk_id());
    print(&v)?;
    Ok(0)
}
