//! The `kiosk` command line: a contract other tools and tests rely on.
//!
//! Output is JSON on stdout (one object, or one per line for lists); errors
//! are text on stderr. Exit codes: 0 done/accepted, 1 refused (or some rows
//! rejected), 2 error (bad config, bad input, unreadable database).
//!
//! The top room: it may use every other; nothing but `src/bin/` uses it.

pub mod bench;
pub mod devtools;
pub mod sip2;
pub mod sync;

use crate::config::Config;
use crate::domain::barcode::{self, BarcodeKind, Verdict};
use crate::domain::{format_money, Lang, Refusal};
use crate::i18n::Texts;
pub(crate) use crate::launch::{Env, Failure as CliError};
use crate::privacy::mask;
use crate::store::{self, HoldLevel, Store, SyncStatus};
use crate::sync::circulation::FromOnline;
use crate::sync::{Decision, Mode};
use crate::textkiosk::{checkin_message, checkout_message};
use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "kiosk",
    version,
    about = "Self-service library kiosk: borrow, return, renew, reserve — offline first"
)]
pub struct Cli {
    /// Configuration file [default: $KIOSK_CONFIG, else ./kiosk.toml if present, else built-in defaults]
    #[arg(long, global = true, env = "KIOSK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database file; overrides [store] path
    #[arg(long, global = true)]
    pub db: Option<PathBuf>,
    /// Language of messages (zh-CN or en) [default: the first of [kiosk] languages]
    #[arg(long, global = true)]
    pub lang: Option<String>,
    /// Pretend the time is this (RFC 3339, or YYYY-MM-DDTHH:MM local): for replays and tests
    #[arg(long, global = true, env = "KIOSK_NOW", hide = true)]
    pub now: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the kiosk (default)
    Run(RunArgs),
    /// Validate a configuration file without starting anything
    CheckConfig { path: Option<PathBuf> },
    /// Import or update patrons and items from CSV files (header row required)
    Import {
        #[arg(long)]
        patrons: Option<PathBuf>,
        #[arg(long)]
        items: Option<PathBuf>,
    },
    /// Fill the database with a deterministic demo library
    DemoData {
        #[arg(long, default_value_t = 300)]
        patrons: u32,
        #[arg(long, default_value_t = 3000)]
        items: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Circulation: checkout, checkin, renew, account, hold, …
    #[command(subcommand)]
    Circ(Circ),
    /// The transaction journal as JSON lines
    Journal {
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
    },
    /// Export transactions, loans or statistics as CSV
    Export {
        #[arg(long, value_enum)]
        what: ExportWhat,
        #[arg(long)]
        from: NaiveDate,
        #[arg(long)]
        to: NaiveDate,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Write here instead of stdout
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Barcode tools
    #[command(subcommand)]
    Barcode(BarcodeCmd),
    /// RFID tag data: decode and encode
    #[command(subcommand)]
    Tag(devtools::TagCmd),
    /// Talk to an RFID reader: scan the field, set a tag's AFI
    #[command(subcommand)]
    Rfid(devtools::RfidCmd),
    /// Run a device simulator on a pty
    #[command(subcommand)]
    Sim(devtools::SimCmd),
    /// SIP2 tools: checksum and decode messages
    #[command(subcommand)]
    Sip2(sip2::Sip2Cmd),
    /// List ports and HID devices; probe the configured devices
    Doctor,
    /// Database counts, schema version and integrity
    Status,
    /// Hash a staff PIN for `[staff] pin_hash`: reads the PIN (4 to 12
    /// digits, as the PIN pad types it) from the first line of stdin and
    /// prints its argon2id PHC string; the PIN itself is never printed
    HashPin,
    /// Drop reader history older than [store] history_retention_days
    Retention,
    /// Exchange with the central system: `sync --once` pushes the outbox
    /// and pulls changes once (exit 0 only when the outbox is empty);
    /// `sync status` prints what the database knows; plain `sync` runs the
    /// schedules until interrupted
    Sync(SyncArgs),
    /// Measure circulation speed on a demo library (see README, Performance)
    Bench(bench::BenchArgs),
    /// Commit checkouts and returns as fast as possible, printing each
    /// committed journal id (used by the crash test)
    #[command(hide = true)]
    Hammer {
        #[arg(long, default_value_t = u64::MAX)]
        count: u64,
    },
}

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// Text-mode kiosk on this terminal (scan with a keyboard-wedge scanner or type)
    #[arg(long)]
    pub text: bool,
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// One push + pull, then exit: 0 outbox empty, 1 entries left, 2 error
    #[arg(long)]
    pub once: bool,
    /// With --once: pull the whole change feed again (the nightly full sync)
    #[arg(long, requires = "once")]
    pub full: bool,
    #[command(subcommand)]
    pub what: Option<SyncWhat>,
}

#[derive(Subcommand, Debug)]
pub enum SyncWhat {
    /// Outbox, conflicts, last sync and pull cursor as JSON (no network)
    Status,
}

#[derive(Subcommand, Debug)]
pub enum Circ {
    /// Lend an item to a reader
    Checkout {
        #[arg(long)]
        patron: String,
        #[arg(long)]
        item: String,
        #[arg(long)]
        pin: Option<String>,
        /// Parts of a multi-part set seen together (RFID); omitted for barcode scans
        #[arg(long)]
        parts_seen: Option<u8>,
    },
    /// Take an item back
    Checkin {
        #[arg(long)]
        item: String,
        #[arg(long)]
        parts_seen: Option<u8>,
    },
    /// Renew one loan, or all of a reader's loans with --all (= renew-all)
    Renew {
        #[arg(long)]
        patron: String,
        #[arg(long, required_unless_present = "all")]
        item: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        pin: Option<String>,
    },
    /// Renew all of a reader's loans (one request to an ILS that has one,
    /// SIP2 65); one JSON line per loan
    RenewAll {
        #[arg(long)]
        patron: String,
        #[arg(long)]
        pin: Option<String>,
    },
    /// Record a fee payment (cash acceptor, staff): decided by the central
    /// system when it takes payments, else recorded and synced
    Pay {
        #[arg(long)]
        patron: String,
        /// Amount paid, e.g. 2.50
        #[arg(long)]
        amount: String,
        /// The central system's id of the fee paid (SIP2 CG)
        #[arg(long)]
        fee_id: Option<String>,
        #[arg(long, value_enum, default_value = "cash")]
        payment_type: PaymentTypeArg,
        #[arg(long, value_enum, default_value = "other")]
        fee_type: FeeTypeArg,
        /// ISO 4217 currency [default: [policy] currency]
        #[arg(long)]
        currency: Option<String>,
    },
    /// End a reader's session (tells the central system, SIP2 35)
    EndSession {
        #[arg(long)]
        patron: String,
    },
    /// A reader's loans with due dates, holds and fines
    Account {
        #[arg(long)]
        patron: String,
        #[arg(long)]
        pin: Option<String>,
    },
    /// Place a hold (reservation) on the title of an item, or on the copy
    Hold {
        #[arg(long)]
        patron: String,
        #[arg(long)]
        item: String,
        #[arg(long, value_enum, default_value = "title")]
        level: LevelArg,
        #[arg(long)]
        pin: Option<String>,
    },
    /// Cancel a reader's hold on the title of an item
    CancelHold {
        #[arg(long)]
        patron: String,
        #[arg(long)]
        item: String,
    },
    /// Record a reader's rating (1-5) and comment
    Feedback {
        #[arg(long)]
        patron: Option<String>,
        #[arg(long)]
        rating: u8,
        #[arg(long)]
        topic: Vec<String>,
        #[arg(long)]
        comment: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BarcodeCmd {
    /// Classify and validate a scanned code
    Check { code: String },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum StatusArg {
    Pending,
    Sent,
    Acknowledged,
    Conflict,
}

/// SIP2 payment types (00–02).
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum PaymentTypeArg {
    Cash,
    Visa,
    CreditCard,
}

/// SIP2 fee types (01–09).
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FeeTypeArg {
    Other,
    Administrative,
    Damage,
    Overdue,
    Processing,
    Rental,
    Replacement,
    ComputerAccess,
    Hold,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum LevelArg {
    Title,
    Item,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportWhat {
    Transactions,
    Loans,
    Stats,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Csv,
}

/// Parses `--now`: RFC 3339, or a local `YYYY-MM-DDTHH:MM[:SS]`.
pub fn parse_now(text: Option<&str>) -> Result<DateTime<FixedOffset>, CliError> {
    let Some(text) = text else {
        return Ok(Local::now().fixed_offset());
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t);
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .and_then(|n| Local.from_local_datetime(&n).earliest())
        .map(|t| t.fixed_offset())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--now {text:?}: expected RFC 3339 or YYYY-MM-DDTHH:MM"
            ))
        })
}

/// Finds and loads the configuration as the flags and environment say.
pub fn load_config(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), CliError> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("kiosk.toml")).filter(|p| p.exists()),
    };
    match path {
        Some(p) => Ok((Config::load(&p)?, Some(p))),
        None => Ok((
            Config::parse("", Path::new("<built-in defaults>"), std::env::vars())?,
            None,
        )),
    }
}

fn print(v: &Value) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v).map_err(std::io::Error::other)?;
    writeln!(out)?;
    Ok(())
}

/// Runs the command line; returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiosk: {e}");
            2
        }
    }
}

fn run(cli: Cli) -> Result<i32, CliError> {
    if let Some(Command::HashPin) = &cli.command {
        // Needs no configuration or database: run before either is read.
        return hash_pin_from(std::io::stdin().lock());
    }
    if let Some(Command::CheckConfig { path }) = &cli.command {
        let explicit = path.as_deref().or(cli.config.as_deref());
        let (config, used) = load_config(explicit)?;
        print(&json!({
            "ok": true,
            "file": used.map(|p| p.display().to_string()),
            "kiosk_id": config.kiosk.id,
            "store": config.store.path.display().to_string(),
        }))?;
        return Ok(0);
    }
    let (config, config_path) = load_config(cli.config.as_deref())?;
    // A kiosk.toml with the staff PIN hash or a token in it, readable by
    // other users: said at every start (and in `kiosk status`).
    if let Some(w) = config_path
        .as_deref()
        .and_then(crate::config::secrets::kiosk_config_warning)
    {
        tracing::warn!("{w}");
    }
    let lang = match &cli.lang {
        Some(l) => Lang::parse(l)
            .ok_or_else(|| CliError::Usage(format!("--lang {l:?}: use zh-CN or en")))?,
        None => crate::config::default_lang(&config),
    };
    let env = Env {
        db: cli.db.clone().unwrap_or_else(|| config.store.path.clone()),
        config,
        config_path,
        lang,
        now: parse_now(cli.now.as_deref())?,
    };
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Run(args) if args.text => crate::textkiosk::run(&env, true),
        Command::Run(_) => crate::ui::run(&env),
        Command::CheckConfig { .. } | Command::HashPin => unreachable!("handled above"),
        Command::Import { patrons, items } => import(&env, patrons, items),
        Command::DemoData {
            patrons,
            items,
            seed,
        } => {
            let mut store = env.open_store()?;
            let report = store::demo::generate(&mut store, patrons, items, seed, env.now)?;
            print(&serde_json::to_value(report).map_err(std::io::Error::other)?)?;
            Ok(0)
        }
        Command::Circ(c) => circ(&env, c),
        Command::Journal { status } => {
            let store = env.open_store_for_reading()?;
            let status = status.map(|s| match s {
                StatusArg::Pending => SyncStatus::Pending,
                StatusArg::Sent => SyncStatus::Sent,
                StatusArg::Acknowledged => SyncStatus::Acknowledged,
                StatusArg::Conflict => SyncStatus::Conflict,
            });
            for e in store.journal(status)? {
                print(&serde_json::to_value(e).map_err(std::io::Error::other)?)?;
            }
            Ok(0)
        }
        Command::Export {
            what,
            from,
            to,
            format: _,
            out,
        } => {
            if to < from {
                return Err(CliError::Usage(format!(
                    "--to {to} is before --from {from}"
                )));
            }
            let store = env.open_store_for_reading()?;
            let mut w: Box<dyn Write> = match out {
                Some(p) => Box::new(store::export::create_file(&p, &env.db)?),
                None => Box::new(std::io::stdout().lock()),
            };
            let what = match what {
                ExportWhat::Transactions => store::export::What::Transactions,
                ExportWhat::Loans => store::export::What::Loans,
                ExportWhat::Stats => store::export::What::Stats,
            };
            store::export::export(&store, what, from, to, &mut w)?;
            w.flush()?;
            Ok(0)
        }
        Command::Barcode(BarcodeCmd::Check { code }) => {
            let rules = crate::config::barcode_rules(&env.config);
            let check = barcode::check(&code, &rules);
            print(&serde_json::to_value(check).map_err(std::io::Error::other)?)?;
            Ok(0)
        }
        Command::Status => {
            let store = env.open_store_for_reading()?;
            // The full check (index against table too), whatever it says;
            // a damaged page may make the counts themselves fail.
            let integrity = match store.integrity_check() {
                Ok(text) => text,
                Err(e) => e.to_string(),
            };
            let counts = store.counts().ok();
            let warnings: Vec<String> = env
                .config_path
                .as_deref()
                .and_then(crate::config::secrets::kiosk_config_warning)
                .map(|e| {
                    Texts::get().text(
                        env.lang,
                        "config-secrets-readable",
                        &[
                            ("file", e.path.display().to_string()),
                            ("keys", e.what.join(", ")),
                            ("mode", format!("{:o}", e.mode)),
                        ],
                    )
                })
                .into_iter()
                .collect();
            print(&json!({
                "db": env.db.display().to_string(),
                "kiosk_id": store.kiosk_id(),
                "schema_version": store::schema_version(),
                "integrity": integrity,
                "counts": counts,
                "warnings": warnings,
            }))?;
            if integrity != "ok" {
                eprintln!(
                    "the kiosk database {} failed its integrity check: nothing should be lent or returned with it; restore it from a backup (docs/deploy.md)",
                    env.db.display()
                );
                return Ok(2);
            }
            Ok(0)
        }
        Command::Retention => {
            let mut store = env.open_store()?;
            let r = store.apply_retention(env.config.store.history_retention_days, env.now)?;
            print(&serde_json::to_value(r).map_err(std::io::Error::other)?)?;
            Ok(0)
        }
        Command::Sync(args) => sync::run(&env, args),
        Command::Bench(args) => bench::run(&env, args),
        Command::Tag(c) => devtools::tag_cmd(c),
        Command::Rfid(c) => devtools::rfid_cmd(c),
        Command::Sim(c) => devtools::sim_cmd(c),
        Command::Doctor => devtools::doctor(&env),
        Command::Sip2(c) => sip2::run(c),
        Command::Hammer { count } => hammer(&env, count),
    }
}

/// `kiosk hash-pin`: the PIN from `input`'s first line, hashed.
fn hash_pin_from(mut input: impl std::io::BufRead) -> Result<i32, CliError> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    let pin = line.trim_end_matches(['\r', '\n']);
    if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::Usage(
            "hash-pin: the PIN must be 4 to 12 digits (the staff PIN pad has only digits)".into(),
        ));
    }
    println!("{}", crate::privacy::hash_pin(pin));
    Ok(0)
}

fn import(env: &Env, patrons: Option<PathBuf>, items: Option<PathBuf>) -> Result<i32, CliError> {
    if patrons.is_none() && items.is_none() {
        return Err(CliError::Usage(
            "import needs --patrons FILE and/or --items FILE".into(),
        ));
    }
    let mut store = env.open_store()?;
    let mut out = serde_json::Map::new();
    let mut rejected = 0;
    if let Some(p) = patrons {
        let r = store::import::patrons(&mut store, &p, env.now)?;
        rejected += r.errors.len();
        out.insert(
            "patrons".into(),
            serde_json::to_value(r).map_err(std::io::Error::other)?,
        );
    }
    if let Some(p) = items {
        let r = store::import::items(&mut store, &p, env.now)?;
        rejected += r.errors.len();
        out.insert(
            "items".into(),
            serde_json::to_value(r).map_err(std::io::Error::other)?,
        );
    }
    print(&Value::Object(out))?;
    Ok(if rejected > 0 { 1 } else { 0 })
}

/// Normalizes a scanned code and applies the [barcode] validation mode.
fn scanned(env: &Env, code: &str, expected: BarcodeKind) -> Result<String, Refusal> {
    let rules = crate::config::barcode_rules(&env.config);
    let normalized = barcode::normalize(code);
    match barcode::validate(code, expected, &rules) {
        Verdict::Accept => Ok(normalized),
        Verdict::Warn(why) => {
            tracing::warn!(code = %mask(&normalized), kind = ?expected, "{why}");
            Ok(normalized)
        }
        Verdict::Reject(why) => Err(Refusal::InvalidBarcode { detail: why }),
    }
}

fn refusal_json(env: &Env, r: &Refusal) -> Value {
    json!({
        "ok": false,
        "reason": r.code(),
        "message": Texts::get().refusal(env.lang, r),
    })
}

/// A cancelled hold, as `circ cancel-hold` prints it.
#[derive(Debug, Clone, serde::Serialize)]
struct HoldCancelled {
    title: String,
}

impl FromOnline for HoldCancelled {
    fn from_online(due: Option<&str>, detail: &Value) -> Option<Self> {
        String::from_online(due, detail).map(|title| HoldCancelled { title })
    }
}

/// Runs one circulation future on the command's small runtime. One
/// runtime for the whole command: an upstream connection opened by the
/// PIN check is reused by the loan that follows (a connection belongs to
/// the runtime that opened it).
fn block_on<F: std::future::Future>(f: F) -> Result<F::Output, CliError> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if RUNTIME.get().is_none() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let _ = RUNTIME.set(rt);
    }
    let rt = RUNTIME.get().expect("set above");
    Ok(rt.block_on(f))
}

/// Prints a decision, whoever took it: the accepted result's fields plus
/// `ok`, `message`, `entry`, `seq` (or `ok:false`, `reason`, `message`),
/// plus `mode` (online | offline | standalone) and, for online decisions,
/// `upstream` (what the central system sent: title, route, its own
/// message…). Returns the exit code.
fn print_decision<T: FromOnline + Clone + serde::Serialize>(
    env: &Env,
    d: &Decision<T>,
    message: impl Fn(&T) -> String,
) -> Result<i32, CliError> {
    // What the central system asked to show the reader (SIP2 AF) follows
    // the kiosk's own sentence.
    let said: Vec<&str> = match d.mode {
        Mode::Online => d.detail["screen_messages"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m.as_str()).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let (mut v, code) = match d.typed() {
        Some(Ok(t)) => {
            let mut v = serde_json::to_value(&t).map_err(std::io::Error::other)?;
            let obj = v.as_object_mut().expect("outcomes are structs");
            let mut text = message(&t);
            for m in said.iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
                text.push(' ');
                text.push_str(m);
            }
            obj.insert("message".into(), json!(text));
            let mut all = serde_json::Map::new();
            all.insert("ok".into(), json!(true));
            all.append(obj);
            (Value::Object(all), 0)
        }
        Some(Err(r)) => (refusal_json(env, &r), 1),
        None => (
            json!({
                "ok": true,
                "due": d.due,
                "message": Texts::get().text(env.lang, "circ-accepted", &[]),
            }),
            0,
        ),
    };
    let obj = v.as_object_mut().expect("object");
    obj.insert("entry".into(), json!(d.entry.id));
    obj.insert("seq".into(), json!(d.entry.seq));
    obj.insert("mode".into(), json!(d.mode));
    if d.mode == Mode::Online {
        obj.insert("upstream".into(), d.detail.clone());
    }
    print(&v)?;
    Ok(code)
}

fn refused(env: &Env, r: &Refusal) -> Result<i32, CliError> {
    print(&refusal_json(env, r))?;
    Ok(1)
}

/// Checks a PIN when given or required (against the cached hash, else by
/// the upstream: `Circulation::check_pin`); Some(exit code) when refused.
fn pin_gate(
    env: &Env,
    circ: &crate::sync::Circulation,
    store: &mut Store,
    patron: &str,
    pin: Option<&str>,
) -> Result<Option<i32>, CliError> {
    match block_on(circ.check_pin(store, patron, pin, env.now))?? {
        Ok(()) => Ok(None),
        Err(r) => refused(env, &r).map(Some),
    }
}

/// `renew --all` / `renew-all`: one JSON line per loan (as `renew`), plus
/// `mode`; a refusal of the whole request is one refusal line. Returns the
/// exit code (the worst of the lines).
fn renew_all(
    env: &Env,
    circ: &crate::sync::Circulation,
    store: &mut Store,
    patron: &str,
) -> Result<i32, CliError> {
    let lang = env.lang;
    let msg = |r: &store::RenewOk| {
        Texts::get().text(
            lang,
            "renew-ok",
            &[("title", r.title.clone()), ("due", r.due.to_string())],
        )
    };
    let all = block_on(circ.renew_all(store, patron, env.now))??;
    if let Some(r) = &all.refused {
        let mut v = refusal_json(env, r);
        v["mode"] = json!(all.mode);
        if !all.screen_messages.is_empty() {
            v["upstream"] = json!({ "screen_messages": all.screen_messages });
        }
        print(&v)?;
        return Ok(1);
    }
    let mut worst = 0;
    for d in &all.loans {
        worst = worst.max(print_decision(env, d, msg)?);
    }
    Ok(worst)
}

/// `2.50` → 250 cents; None for anything else (negative, more than two
/// decimals, not a number).
fn parse_amount(text: &str) -> Option<i64> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if (whole.is_empty() && frac.is_empty())
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
    {
        return None;
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let frac: i64 = format!("{frac:0<2}").parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

fn circ(env: &Env, c: Circ) -> Result<i32, CliError> {
    let lang = env.lang;
    let t = Texts::get();
    match c {
        Circ::Checkout {
            patron,
            item,
            pin,
            parts_seen,
        } => {
            let (patron, item) = match (
                scanned(env, &patron, BarcodeKind::Patron),
                scanned(env, &item, BarcodeKind::Item),
            ) {
                (Err(r), _) | (_, Err(r)) => return refused(env, &r),
                (Ok(p), Ok(i)) => (p, i),
            };
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            if let Some(code) = pin_gate(env, &circ, &mut store, &patron, pin.as_deref())? {
                return Ok(code);
            }
            let d = block_on(circ.checkout(&mut store, &patron, &item, parts_seen, env.now))??;
            print_decision(env, &d, |c| checkout_message(lang, c))
        }
        Circ::Checkin { item, parts_seen } => {
            let item = match scanned(env, &item, BarcodeKind::Item) {
                Err(r) => return refused(env, &r),
                Ok(i) => i,
            };
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            let d = block_on(circ.checkin(&mut store, &item, parts_seen, env.now))??;
            print_decision(env, &d, |c| checkin_message(lang, c))
        }
        Circ::Renew {
            patron,
            item,
            all,
            pin,
        } => {
            let patron = match scanned(env, &patron, BarcodeKind::Patron) {
                Err(r) => return refused(env, &r),
                Ok(p) => p,
            };
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            if let Some(code) = pin_gate(env, &circ, &mut store, &patron, pin.as_deref())? {
                return Ok(code);
            }
            let msg = |r: &store::RenewOk| {
                t.text(
                    lang,
                    "renew-ok",
                    &[("title", r.title.clone()), ("due", r.due.to_string())],
                )
            };
            if all {
                return renew_all(env, &circ, &mut store, &patron);
            }
            let item = barcode::normalize(&item.unwrap_or_default());
            let d = block_on(circ.renew(&mut store, &patron, &item, env.now))??;
            print_decision(env, &d, msg)
        }
        Circ::RenewAll { patron, pin } => {
            let patron = match scanned(env, &patron, BarcodeKind::Patron) {
                Err(r) => return refused(env, &r),
                Ok(p) => p,
            };
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            if let Some(code) = pin_gate(env, &circ, &mut store, &patron, pin.as_deref())? {
                return Ok(code);
            }
            renew_all(env, &circ, &mut store, &patron)
        }
        Circ::Pay {
            patron,
            amount,
            fee_id,
            payment_type,
            fee_type,
            currency,
        } => {
            let patron = barcode::normalize(&patron);
            let Some(cents) = parse_amount(&amount).filter(|c| *c > 0) else {
                return Err(CliError::Usage(format!(
                    "--amount {amount:?}: expected an amount above 0 with at most 2 decimals, e.g. 2.50"
                )));
            };
            let currency = currency
                .unwrap_or_else(|| env.config.policy.currency.clone())
                .to_ascii_uppercase();
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(CliError::Usage(format!(
                    "--currency {currency:?}: expected a 3-letter ISO 4217 code such as CNY"
                )));
            }
            let payment = store::Payment {
                amount_cents: cents,
                currency,
                payment_type: value_name(payment_type),
                fee_type: value_name(fee_type),
                fee_id: fee_id.filter(|f| !f.trim().is_empty()),
            };
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            let d = block_on(circ.pay(&mut store, &patron, &payment, env.now))??;
            print_decision(env, &d, |p| {
                t.text(
                    lang,
                    "pay-ok",
                    &[("amount", format_money(p.payment.amount_cents))],
                )
            })
        }
        Circ::EndSession { patron } => {
            let circ = crate::sync::circulation_from_config(&env.config)?;
            let mode = block_on(circ.end_session(&barcode::normalize(&patron)))?;
            print(&json!({
                "ok": true,
                "mode": mode,
                "message": t.text(lang, "session-ended", &[]),
            }))?;
            Ok(0)
        }
        Circ::Account { patron, pin } => {
            let patron = barcode::normalize(&patron);
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            if let Some(code) = pin_gate(env, &circ, &mut store, &patron, pin.as_deref())? {
                return Ok(code);
            }
            match block_on(circ.account(&store, &patron, env.now))?? {
                None => refused(env, &Refusal::UnknownPatron),
                Some(crate::sync::AccountView::Local(a)) => {
                    let mut v = serde_json::to_value(&a).map_err(std::io::Error::other)?;
                    let obj = v.as_object_mut().expect("object");
                    obj.insert("ok".into(), json!(true));
                    obj.insert("fines_owed".into(), json!(format_money(a.fines_owed_cents)));
                    obj.insert("source".into(), json!("kiosk"));
                    print(&v)?;
                    Ok(0)
                }
                Some(crate::sync::AccountView::Upstream(a)) => {
                    // The same shape, from the upstream's records; titles
                    // it did not send come from the kiosk's catalogue.
                    let mut v = serde_json::to_value(&a).map_err(std::io::Error::other)?;
                    for key in ["loans", "holds"] {
                        if let Some(list) = v[key].as_array_mut() {
                            for l in list {
                                if l["title"].is_null() {
                                    let item = l["item"].as_str().unwrap_or_default();
                                    if let Some((title, _)) = store.item_title(item)? {
                                        l["title"] = json!(title);
                                    }
                                }
                            }
                        }
                    }
                    let obj = v.as_object_mut().expect("object");
                    obj.insert("ok".into(), json!(true));
                    obj.insert("fines_owed".into(), json!(format_money(a.fines_owed_cents)));
                    obj.insert("source".into(), json!("upstream"));
                    print(&v)?;
                    Ok(0)
                }
            }
        }
        Circ::Hold {
            patron,
            item,
            level,
            pin,
        } => {
            let patron = barcode::normalize(&patron);
            let item = barcode::normalize(&item);
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            if let Some(code) = pin_gate(env, &circ, &mut store, &patron, pin.as_deref())? {
                return Ok(code);
            }
            let level = match level {
                LevelArg::Title => HoldLevel::Title,
                LevelArg::Item => HoldLevel::Item,
            };
            let d = block_on(circ.place_hold(&mut store, &patron, &item, level, env.now))??;
            print_decision(env, &d, |h| {
                t.text(lang, "hold-ok", &[("title", h.title.clone())])
            })
        }
        Circ::CancelHold { patron, item } => {
            let mut store = env.open_store()?;
            let circ = crate::sync::circulation_from_config(&env.config)?;
            let d = block_on(circ.cancel_hold(
                &mut store,
                &barcode::normalize(&patron),
                &barcode::normalize(&item),
                env.now,
            ))??;
            print_decision(env, &d.map(|title| HoldCancelled { title }), |v| {
                t.text(lang, "hold-cancelled", &[("title", v.title.clone())])
            })
        }
        Circ::Feedback {
            patron,
            rating,
            topic,
            comment,
        } => {
            let mut store = env.open_store()?;
            let patron = patron.map(|p| barcode::normalize(&p));
            let entry = store
                .record_feedback(
                    patron.as_deref(),
                    rating,
                    &topic,
                    comment.as_deref(),
                    env.now,
                )
                .map_err(|e| match e {
                    store::StoreError::Input(m) => CliError::Usage(m),
                    e => e.into(),
                })?;
            print(&json!({
                "ok": true,
                "message": t.text(lang, "feedback-thanks", &[]),
                "entry": entry.id,
                "seq": entry.seq,
            }))?;
            Ok(0)
        }
    }
}

/// A clap value's name as typed on the command line (`credit-card`).
fn value_name(v: impl ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// Checkout then return, over and over, across the first items of the
/// database; prints each committed journal id as soon as it is committed.
fn hammer(env: &Env, count: u64) -> Result<i32, CliError> {
    let mut store = env.open_store()?;
    let (patrons, items) = store::demo::loanable_pairs(&store, 50)?;
    if patrons.is_empty() || items.is_empty() {
        return Err(CliError::Usage(
            "hammer needs patrons and available items (run demo-data first)".into(),
        ));
    }
    let mut out = std::io::stdout().lock();
    let mut n = 0u64;
    let mut k = 0usize;
    while n < count {
        let item = &items[k % items.len()];
        let patron = &patrons[k % patrons.len()];
        k += 1;
        let now = Local::now().fixed_offset();
        let o = store.checkout(patron, item, None, now)?;
        writeln!(out, "{}", o.entry.id)?;
        out.flush()?;
        let o = store.checkin(item, None, now)?;
        writeln!(out, "{}", o.entry.id)?;
        out.flush()?;
        n += 2;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::parse_amount;

    #[test]
    fn amounts_are_read_in_cents() {
        assert_eq!(parse_amount("2.50"), Some(250));
        assert_eq!(parse_amount("2.5"), Some(250));
        assert_eq!(parse_amount("3"), Some(300));
        assert_eq!(parse_amount(".05"), Some(5));
        assert_eq!(parse_amount(" 12.00 "), Some(1200));
        for bad in [
            "",
            ".",
            "-1",
            "1.005",
            "1,50",
            "abc",
            "1e3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad:?}");
        }
    }
}
