//! `kiosk-central`: the reference central server and its staff commands.
//! Thin: parses the command line and the config, opens the storage
//! (SQLite file or PostgreSQL), and hands over to `kiosk::central`.
//! Exit codes: 0 ok, 1 failure, 2 usage or configuration error.

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::{Parser, Subcommand};
use kiosk::central::config::CentralConfig;
use kiosk::central::{self, http, import, PgStorage, SqliteStorage, Storage};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "kiosk-central",
    version,
    about = "Reference central server for self-service library kiosks"
)]
struct Cli {
    /// central.toml (server, database, [policy] as in kiosk.toml).
    #[arg(long, global = true, env = "KIOSK_CENTRAL_CONFIG")]
    config: Option<PathBuf>,
    /// SQLite database file (default central.db).
    #[arg(long, global = true, conflicts_with = "postgres")]
    db: Option<PathBuf>,
    /// PostgreSQL connection string instead of SQLite.
    #[arg(long, global = true, env = "KIOSK_CENTRAL_POSTGRES")]
    postgres: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve API v1 until SIGTERM / ctrl-c.
    Serve {
        /// ADDRESS:PORT (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Kiosk tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Import readers and/or items from the kiosk's CSV formats.
    Import {
        #[arg(long)]
        patrons: Option<PathBuf>,
        #[arg(long)]
        items: Option<PathBuf>,
    },
    /// Current loans as JSON lines.
    Loans {
        #[arg(long)]
        patron: Option<String>,
    },
    /// Open conflicts as JSON lines (`--resolved`: the closed ones, with
    /// their notes); `conflicts resolve ID --note ...` closes one.
    Conflicts {
        #[command(subcommand)]
        action: Option<ConflictAction>,
        #[arg(long)]
        kiosk: Option<String>,
        /// List the conflicts staff closed instead of the open ones.
        #[arg(long)]
        resolved: bool,
    },
    /// Kiosks: last seq, clock offset, last heartbeat (JSON lines).
    Kiosks,
    /// The configuration in use (database, retention) and warnings about
    /// files holding secrets that other users can read, as JSON.
    Status,
    /// Sends due-soon, overdue and hold-ready reminders once ([reminders]).
    Remind {
        /// The day to remind as of (default today).
        #[arg(long)]
        today: Option<NaiveDate>,
        /// List what would be sent, send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Anonymises readers' history older than `[privacy]
    /// history_retention_days` now (serve does it at start and daily);
    /// prints what it did as JSON.
    Retention {
        /// Days to keep instead of the configured number (0: nothing past).
        #[arg(long)]
        days: Option<u32>,
    },
    /// Reports.
    Report {
        /// stats (loans and returns by day, hour, kiosk, branch, item
        /// type, reader category; top titles; active readers) | feedback
        #[arg(long, default_value = "stats")]
        what: String,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        /// json | csv
        #[arg(long, default_value = "json")]
        format: String,
    },
}

#[derive(Subcommand)]
enum ConflictAction {
    /// Closes a conflict (the entry stays as it was; it is never applied).
    Resolve {
        /// The conflicting entry's id (first field of `conflicts`).
        id: String,
        /// What was done about it.
        #[arg(long)]
        note: String,
        /// Who closed it.
        #[arg(long, default_value = "staff")]
        by: String,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Prints a new token once (only its SHA-256 is stored): a kiosk's
    /// (`--kiosk ID`, replacing its older one) or a staff one (`--staff NAME`).
    Create {
        /// The kiosk the token is for: it may push, pull, decide and close
        /// its own conflicts, nothing else.
        #[arg(long, conflicts_with = "staff", required_unless_present = "staff")]
        kiosk: Option<String>,
        /// The feed and lookups carry readers' PIN hashes to this kiosk, so
        /// it checks PINs offline (without: PINs cannot be checked there).
        #[arg(long, requires = "kiosk")]
        offline_pins: bool,
        /// A staff token under this name: all conflicts, reports,
        /// feedback, the kiosk list.
        #[arg(long)]
        staff: Option<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match &cli.config {
        Some(path) => match CentralConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("kiosk-central: {e}");
                std::process::exit(2);
            }
        },
        None => CentralConfig::default(),
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let out = rt.block_on(run(cli, config));
    // Storage calls still on the blocking pool after a shutdown (a report
    // being interrupted, a write committing) get a moment, not for ever.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    match out {
        Ok(()) => {}
        Err(e) => {
            eprintln!("kiosk-central: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run(cli: Cli, config: CentralConfig) -> anyhow::Result<()> {
    let settings = config.settings();
    let postgres = cli.postgres.clone().or(config.server.postgres.clone());
    let sqlite = match (&postgres, &cli.db) {
        (Some(_), None) => None,
        _ => Some(cli.db.clone().unwrap_or(config.server.db.clone())),
    };
    // Secrets (passwords, the TLS key, readers' data) other users can
    // read: said at every start, and listed by `status`.
    let warnings = config.secret_warnings(cli.config.as_deref(), sqlite.as_deref());
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if let Command::Status = cli.command {
        json_line(&serde_json::json!({
            "config": cli.config.as_ref().map(|p| p.display().to_string()),
            "database": match &sqlite {
                Some(p) => p.display().to_string(),
                None => "postgresql".into(),
            },
            "history_retention_days": config.privacy.history_retention_days,
            "warnings": warnings,
        }))?;
        return Ok(());
    }
    if let (Some(url), None) = (postgres, &cli.db) {
        let st = PgStorage::connect(&url, settings)
            .await
            .context("connecting to PostgreSQL")?;
        command(Arc::new(st), cli.command, config).await
    } else {
        let path = cli.db.clone().unwrap_or(config.server.db.clone());
        let st = SqliteStorage::open(&path, settings)
            .with_context(|| format!("opening {}", path.display()))?;
        command(Arc::new(st), cli.command, config).await
    }
}

fn json_line<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

async fn command<S: Storage>(
    st: Arc<S>,
    cmd: Command,
    config: CentralConfig,
) -> anyhow::Result<()> {
    let now = Utc::now();
    match cmd {
        Command::Serve { listen } => {
            st.set_policies(config.policy_records(), config.closed_days())
                .await
                .context("storing the policy")?;
            let listen = listen.unwrap_or(config.server.listen.clone());
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let addr = listener.local_addr()?;
            // Retention at start and daily, beside the requests.
            tokio::spawn(central::retention_daily(
                st.clone(),
                config.privacy.history_retention_days,
            ));
            if let Some(cron) = central::remind::schedule(&config.reminders)? {
                tracing::info!(schedule = %config.reminders.schedule, "reminders scheduled");
                tokio::spawn(central::remind::scheduled(
                    st.clone(),
                    config.reminders.clone(),
                    cron,
                ));
            }
            let app = http::router(st, config.server.max_body_bytes);
            let limits = config.server.limits();
            match (&config.server.tls_cert, &config.server.tls_key) {
                (Some(cert), Some(key)) => {
                    let tls = central::listen::tls_acceptor(cert, key)
                        .map_err(|e| anyhow::anyhow!("[server] {e}"))?;
                    println!("kiosk-central listening on https://{addr}");
                    tracing::info!(%addr, "serving API v1 over TLS");
                    let stop = central::listen::shutdown_signal();
                    central::listen::serve(listener, Some(tls), app, limits, stop).await?;
                }
                (None, None) => {
                    println!("kiosk-central listening on http://{addr}");
                    tracing::info!(%addr, "serving API v1");
                    let stop = central::listen::shutdown_signal();
                    central::listen::serve(listener, None, app, limits, stop).await?;
                }
                _ => anyhow::bail!("[server] tls_cert and tls_key: give both or neither"),
            }
        }
        Command::Token {
            action:
                TokenAction::Create {
                    kiosk,
                    offline_pins,
                    staff,
                },
        } => {
            let token = central::new_token();
            if let Some(kiosk) = kiosk {
                anyhow::ensure!(!kiosk.trim().is_empty(), "--kiosk must name the kiosk");
                st.set_token(
                    kiosk.clone(),
                    central::token_hash(&token),
                    offline_pins,
                    now,
                )
                .await?;
                eprintln!(
                    "token for kiosk {kiosk}{} (shown once; put it in the kiosk's [upstream] token):",
                    if offline_pins { ", with PIN hashes" } else { "" }
                );
            } else if let Some(name) = staff {
                anyhow::ensure!(!name.trim().is_empty(), "--staff must name who holds it");
                st.set_staff_token(name.clone(), central::token_hash(&token), now)
                    .await?;
                eprintln!("staff token for {name} (shown once; keep it like a password):");
            }
            println!("{token}");
        }
        Command::Import { patrons, items } => {
            anyhow::ensure!(
                patrons.is_some() || items.is_some(),
                "give --patrons CSV and/or --items CSV"
            );
            if let Some(path) = patrons {
                let (rows, mut errors) = import::patrons(&path)?;
                // The optional `language` column, for reminder mails.
                let (langs, lang_errors) = import::patron_languages(&path)?;
                let known: std::collections::HashSet<&str> =
                    rows.iter().map(|r| r.barcode.as_str()).collect();
                let langs: Vec<_> = langs
                    .into_iter()
                    .filter(|(b, _)| known.contains(b.as_str()))
                    .collect();
                errors.extend(lang_errors);
                errors.sort_by_key(|e| e.line);
                let (ins, upd) = st.import_patrons(rows, now).await?;
                st.set_patron_languages(langs).await?;
                json_line(
                    &serde_json::json!({"file": path, "inserted": ins, "updated": upd, "errors": errors}),
                )?;
            }
            if let Some(path) = items {
                let (rows, errors) = import::items(&path)?;
                let (ins, upd) = st.import_items(rows, now).await?;
                json_line(
                    &serde_json::json!({"file": path, "inserted": ins, "updated": upd, "errors": errors}),
                )?;
            }
        }
        Command::Loans { patron } => {
            for l in st.loans(patron).await? {
                json_line(&l)?;
            }
        }
        Command::Conflicts {
            action: None,
            kiosk,
            resolved,
        } => {
            if resolved {
                for c in st.resolved_conflicts(kiosk).await? {
                    json_line(&c)?;
                }
            } else {
                for c in st.conflicts(kiosk).await? {
                    json_line(&c)?;
                }
            }
        }
        Command::Conflicts {
            action: Some(ConflictAction::Resolve { id, note, by }),
            ..
        } => {
            let id: uuid::Uuid = id
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not an entry id (UUID)"))?;
            anyhow::ensure!(
                !note.trim().is_empty(),
                "--note: say what was done about the conflict"
            );
            let result = st
                .resolve_conflict(id.to_string(), note, by, None, now)
                .await?;
            anyhow::ensure!(
                result != central::engine::Resolve::NotAConflict,
                "no open conflict with id {id} (see kiosk-central conflicts)"
            );
            json_line(&serde_json::json!({"id": id, "result": result}))?;
        }
        Command::Remind { today, dry_run } => {
            let today = today.unwrap_or_else(|| chrono::Local::now().date_naive());
            for s in central::remind::run_once(&*st, &config.reminders, today, dry_run).await? {
                json_line(&s)?;
            }
        }
        Command::Retention { days } => {
            let days = days.unwrap_or(config.privacy.history_retention_days);
            anyhow::ensure!(
                days <= central::config::MAX_RETENTION_DAYS,
                "--days: at most {} (100 years)",
                central::config::MAX_RETENTION_DAYS
            );
            let done = st.retention(days, now).await?;
            let before = central::engine::retention_cutoff(days, now);
            json_line(&serde_json::json!({
                "history_retention_days": days,
                "anonymised_before": before.to_string(),
                "loans": done.loans,
                "entries": done.entries,
                "holds": done.holds,
                "fees": done.fees,
            }))?;
        }
        Command::Kiosks => {
            for k in st.kiosks().await? {
                json_line(&k)?;
            }
        }
        Command::Status => unreachable!("answered before the storage is opened"),
        Command::Report {
            what,
            from,
            to,
            format,
        } => match (what.as_str(), format.as_str()) {
            ("stats", "json") => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&st.stats(from, to).await?)?
                )
            }
            ("stats", "csv") => print!("{}", st.stats(from, to).await?.to_csv()),
            ("feedback", "json") => {
                for f in st.feedback(from, to).await? {
                    json_line(&f)?;
                }
            }
            ("feedback", "csv") => print!(
                "{}",
                central::engine::feedback_csv(&st.feedback(from, to).await?)
            ),
            (w, f) => {
                anyhow::bail!("report --what {w} --format {f}: use stats or feedback, json or csv")
            }
        },
    }
    Ok(())
}
