//! Kiosk configuration: `kiosk.toml` plus `KIOSK__SECTION__KEY` environment
//! overrides, turned into typed and validated sections.
//!
//! A kiosk that refuses to start must say exactly what to fix, so every
//! mistake is reported with the file, the 1-based line and the full key path
//! (or the environment variable that caused it). This module must never echo
//! a secret (tokens, passwords, the staff PIN hash) in an error message or a
//! `Debug` dump, never silently replace a value that was given but invalid
//! with a default, and never touch devices, databases or the network.

use crate::domain::barcode::{BarcodeRules, CodeRules, ValidationMode};
use crate::domain::{Calendar, Lang};
use chrono::{NaiveDate, Weekday};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Environment variables starting with this override configuration keys.
/// The double underscore keeps single underscores free for key names.
pub const ENV_PREFIX: &str = "KIOSK__";

/// The whole configuration, one field per `kiosk.toml` section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub kiosk: KioskSection,
    pub store: StoreSection,
    pub policy: PolicySection,
    pub barcode: BarcodeSection,
    pub staff: StaffSection,
    pub upstream: UpstreamSection,
    /// `[[devices]]`: one entry per attached (or simulated) device.
    pub devices: Vec<DeviceSection>,
    pub sync: SyncSection,
    pub offline: OfflineSection,
    pub receipt: ReceiptSection,
    pub demo: DemoSection,
}

/// `[kiosk]`: identity and behaviour of the terminal itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskSection {
    pub id: String,
    pub library_name: String,
    /// The first one is the language shown when nobody has chosen.
    pub languages: Vec<Lang>,
    #[serde(deserialize_with = "int_in::<_, _, 10, 3600>")]
    pub inactivity_timeout_secs: u32,
    #[serde(deserialize_with = "int_in::<_, _, 3, 60>")]
    pub inactivity_warning_secs: u32,
    /// An item scanned while no card is open is returned.
    pub return_without_card: bool,
    pub high_contrast: bool,
    /// Sound cues on the touch screen (accepted, refused, see staff).
    pub sounds: bool,
    /// Their loudness, 0 (silent) to 100 (the sound files as recorded).
    #[serde(deserialize_with = "int_in::<_, _, 0, 100>")]
    pub sound_volume: u32,
}

impl Default for KioskSection {
    fn default() -> Self {
        KioskSection {
            id: "kiosk-1".into(),
            library_name: "演示图书馆 Demo Library".into(),
            languages: vec![Lang::ZhCn, Lang::En],
            inactivity_timeout_secs: 60,
            inactivity_warning_secs: 10,
            return_without_card: true,
            high_contrast: false,
            sounds: true,
            sound_volume: 70,
        }
    }
}

impl KioskSection {
    /// The language shown before a reader picks one.
    pub fn default_language(&self) -> Lang {
        self.languages.first().copied().unwrap_or(Lang::ZhCn)
    }
}

/// `[store]`: the local database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Relative paths in the file are resolved against the file's directory.
    pub path: PathBuf,
    /// 0 keeps no history of returned loans.
    #[serde(deserialize_with = "int_in::<_, _, 0, 36500>")]
    pub history_retention_days: u32,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            path: PathBuf::from("kiosk.db"),
            history_retention_days: 365,
        }
    }
}

/// `[policy]`: circulation rules and the library calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    pub require_pin: bool,
    #[serde(deserialize_with = "int_in::<_, _, 1, 20>")]
    pub pin_attempts: u32,
    #[serde(deserialize_with = "int_in::<_, _, 1, 1440>")]
    pub pin_lock_minutes: u32,
    #[serde(deserialize_with = "int_in::<_, _, 1, 60>")]
    pub hold_pickup_days: u32,
    #[serde(with = "weekdays")]
    pub closed_weekdays: Vec<Weekday>,
    #[serde(with = "dates")]
    pub holidays: Vec<NaiveDate>,
    pub charge_closed_days: bool,
    pub currency: String,
    /// Item type → return sorting bin.
    pub sort_bins: BTreeMap<String, String>,
    /// `[policy.default]`: the rule for any (category, item type) without one.
    pub default: Rule,
    /// `[[policy.rules]]`: overrides merged over `default`.
    pub rules: Vec<RuleOverride>,
}

impl Default for PolicySection {
    fn default() -> Self {
        PolicySection {
            require_pin: false,
            pin_attempts: 5,
            pin_lock_minutes: 30,
            hold_pickup_days: 7,
            closed_weekdays: vec![Weekday::Sun],
            holidays: Vec::new(),
            charge_closed_days: false,
            currency: "CNY".into(),
            sort_bins: BTreeMap::from([("default".to_string(), "1".to_string())]),
            default: Rule::default(),
            rules: Vec::new(),
        }
    }
}

impl PolicySection {
    /// The default rule as ("default", "default") first, then every
    /// `[[policy.rules]]` entry merged over the default (see
    /// [`RuleOverride::apply`]), in file order.
    pub fn resolved_rules(&self) -> Vec<(String, String, Rule)> {
        let default = (
            "default".to_string(),
            "default".to_string(),
            self.default.clone(),
        );
        std::iter::once(default)
            .chain(self.rules.iter().map(|r| {
                (
                    r.category.clone(),
                    r.item_type.clone(),
                    r.apply(&self.default),
                )
            }))
            .collect()
    }
}

/// Loan limits for one (patron category, item type) pair. Money is in
/// currency units (yuan), always a whole number of cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rule {
    #[serde(deserialize_with = "int_in::<_, _, 0, 365>")]
    pub loan_days: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 168>")]
    pub loan_hours: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 1000>")]
    pub max_loans: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 100>")]
    pub max_renewals: u32,
    #[serde(deserialize_with = "int_in::<_, _, 1, 365>")]
    pub renewal_days: u32,
    #[serde(deserialize_with = "money_in::<_, 1000>")]
    pub fine_per_day: f64,
    /// 0 = no cap.
    #[serde(deserialize_with = "money_in::<_, 100000>")]
    pub fine_cap: f64,
    /// Fines owed at or above this block borrowing; 0 = never.
    #[serde(deserialize_with = "money_in::<_, 100000>")]
    pub block_fines: f64,
    /// This many overdue items block borrowing; 0 = never.
    #[serde(deserialize_with = "int_in::<_, _, 0, 1000>")]
    pub block_overdue: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 100>")]
    pub max_holds: u32,
    pub loanable: bool,
}

impl Default for Rule {
    /// The domain's defaults, in currency units rather than cents.
    fn default() -> Self {
        let d = crate::domain::Rule::default();
        let units = |c: i64| c as f64 / 100.0;
        Rule {
            loan_days: d.loan_days,
            loan_hours: d.loan_hours,
            max_loans: d.max_loans,
            max_renewals: d.max_renewals,
            renewal_days: d.renewal_days,
            fine_per_day: units(d.fine_per_day),
            fine_cap: units(d.fine_cap),
            block_fines: units(d.block_fines),
            block_overdue: d.block_overdue,
            max_holds: d.max_holds,
            loanable: d.loanable,
        }
    }
}

impl Rule {
    pub fn fine_per_day_cents(&self) -> i64 {
        cents(self.fine_per_day)
    }
    pub fn fine_cap_cents(&self) -> i64 {
        cents(self.fine_cap)
    }
    pub fn block_fines_cents(&self) -> i64 {
        cents(self.block_fines)
    }
}

/// Validation guarantees whole cents, so rounding only removes float noise.
fn cents(units: f64) -> i64 {
    (units * 100.0).round() as i64
}

/// One `[[policy.rules]]` entry: the pair it applies to plus the rule fields
/// it changes; absent fields inherit from `[policy.default]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    pub category: String,
    pub item_type: String,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 365>",
        skip_serializing_if = "Option::is_none"
    )]
    pub loan_days: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 168>",
        skip_serializing_if = "Option::is_none"
    )]
    pub loan_hours: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 1000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_loans: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 100>",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_renewals: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 1, 365>",
        skip_serializing_if = "Option::is_none"
    )]
    pub renewal_days: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_money_in::<_, 1000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub fine_per_day: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_money_in::<_, 100000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub fine_cap: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_money_in::<_, 100000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub block_fines: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 1000>",
        skip_serializing_if = "Option::is_none"
    )]
    pub block_overdue: Option<u32>,
    #[serde(
        default,
        deserialize_with = "opt_int_in::<_, _, 0, 100>",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_holds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loanable: Option<bool>,
}

impl RuleOverride {
    /// This override merged over `base`.
    ///
    /// The loan period is one setting written in days or in hours, so a rule
    /// that gives only `loan_hours = 4` means "4 hours" and drops the
    /// default's `loan_days` (and vice versa); without that every hourly
    /// rule would also have to repeat `loan_days = 0`.
    pub fn apply(&self, base: &Rule) -> Rule {
        let mut rule = base.clone();
        match (self.loan_days, self.loan_hours) {
            (Some(days), None) => {
                rule.loan_days = days;
                if days > 0 {
                    rule.loan_hours = 0;
                }
            }
            (None, Some(hours)) => {
                rule.loan_hours = hours;
                if hours > 0 {
                    rule.loan_days = 0;
                }
            }
            (Some(days), Some(hours)) => {
                rule.loan_days = days;
                rule.loan_hours = hours;
            }
            (None, None) => {}
        }
        let set = |field: &mut u32, value: Option<u32>| {
            if let Some(v) = value {
                *field = v;
            }
        };
        set(&mut rule.max_loans, self.max_loans);
        set(&mut rule.max_renewals, self.max_renewals);
        set(&mut rule.renewal_days, self.renewal_days);
        set(&mut rule.block_overdue, self.block_overdue);
        set(&mut rule.max_holds, self.max_holds);
        rule.fine_per_day = self.fine_per_day.unwrap_or(rule.fine_per_day);
        rule.fine_cap = self.fine_cap.unwrap_or(rule.fine_cap);
        rule.block_fines = self.block_fines.unwrap_or(rule.block_fines);
        rule.loanable = self.loanable.unwrap_or(rule.loanable);
        rule
    }
}

/// What the kiosk does with a code that breaks the `[barcode]` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BarcodeMode {
    Off,
    Warn,
    Reject,
}

/// `[barcode]`: the shape of patron and item numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BarcodeSection {
    pub mode: BarcodeMode,
    // Each table has its own defaults (prefix "2" vs "3"), which a single
    // container default on CodeSection could not express.
    #[serde(deserialize_with = "patron_codes")]
    pub patron: CodeSection,
    #[serde(deserialize_with = "item_codes")]
    pub item: CodeSection,
}

impl Default for BarcodeSection {
    fn default() -> Self {
        BarcodeSection {
            mode: BarcodeMode::Warn,
            patron: CodeSection::with_prefix("2"),
            item: CodeSection::with_prefix("3"),
        }
    }
}

/// `[barcode.patron]` / `[barcode.item]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeSection {
    /// Allowed lengths; empty = any.
    pub lengths: Vec<u32>,
    /// Allowed prefixes; empty = any.
    pub prefixes: Vec<String>,
    pub codabar_check: bool,
}

impl CodeSection {
    fn with_prefix(prefix: &str) -> Self {
        CodeSection {
            lengths: vec![14],
            prefixes: vec![prefix.to_string()],
            codabar_check: true,
        }
    }
}

/// What `[barcode.patron]` / `[barcode.item]` may contain, before the
/// table-specific defaults are filled in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeSectionInput {
    #[serde(default, deserialize_with = "opt_lengths")]
    lengths: Option<Vec<u32>>,
    prefixes: Option<Vec<String>>,
    codabar_check: Option<bool>,
}

fn codes_with_defaults<'de, D: Deserializer<'de>>(
    d: D,
    defaults: CodeSection,
) -> Result<CodeSection, D::Error> {
    let input = CodeSectionInput::deserialize(d)?;
    Ok(CodeSection {
        lengths: input.lengths.unwrap_or(defaults.lengths),
        prefixes: input.prefixes.unwrap_or(defaults.prefixes),
        codabar_check: input.codabar_check.unwrap_or(defaults.codabar_check),
    })
}

fn patron_codes<'de, D: Deserializer<'de>>(d: D) -> Result<CodeSection, D::Error> {
    codes_with_defaults(d, CodeSection::with_prefix("2"))
}

fn item_codes<'de, D: Deserializer<'de>>(d: D) -> Result<CodeSection, D::Error> {
    codes_with_defaults(d, CodeSection::with_prefix("3"))
}

fn opt_lengths<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u32>>, D::Error> {
    let v = Vec::<Ranged<1, 64>>::deserialize(d)?;
    Ok(Some(v.into_iter().map(|r| r.0 as u32).collect()))
}

/// `[staff]`: access to the staff menu.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffSection {
    /// Argon2 PHC string of the staff PIN; empty disables the staff menu PIN.
    pub pin_hash: String,
    /// Staff cards: scanned on the idle screen, one opens the staff menu
    /// without the corner gesture or the PIN (the card is the key).
    pub cards: Vec<String>,
}

impl StaffSection {
    /// Whether `code` (as scanned, normalised) is a staff card; letters
    /// in either case (Code 39 prints capitals, a wedge scanner with Caps
    /// Lock on types small ones).
    pub fn is_staff_card(&self, code: &str) -> bool {
        !code.is_empty()
            && self
                .cards
                .iter()
                .any(|c| crate::domain::barcode::normalize(c).eq_ignore_ascii_case(code))
    }
}

// Hand-written so a logged config never shows the hash.
impl fmt::Debug for StaffSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffSection")
            .field("pin_hash", &Redacted(&self.pin_hash))
            .field("cards", &self.cards.len())
            .finish()
    }
}

/// Which central library system the kiosk talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamKind {
    None,
    Http,
    Sip2,
}

/// Character set of SIP2 messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sip2Charset {
    #[serde(rename = "cp850")]
    Cp850,
    #[serde(rename = "ascii")]
    Ascii,
    #[serde(rename = "utf-8")]
    Utf8,
}

/// How the kiosk sends a title-level hold over SIP2 (15, BY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sip2HoldType {
    /// BY 2 ("any copy of the title") with AB and AJ: the reader's level
    /// as asked (item-level holds still go as BY 3).
    Title,
    /// BY 3 ("this copy") for every hold: ILSs that take copy holds only.
    Copy,
}

/// `[upstream]`: the central system; http and sip2 keys sit side by side.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamSection {
    pub kind: UpstreamKind,
    pub url: String,
    pub token: String,
    #[serde(deserialize_with = "int_in::<_, _, 1, 300>")]
    pub timeout_secs: u32,
    /// How long a circulation decision waits for the upstream before the
    /// kiosk decides offline under `[offline]`.
    #[serde(deserialize_with = "int_in::<_, _, 100, 30000>")]
    pub decide_timeout_ms: u32,
    pub host: String,
    #[serde(deserialize_with = "int_in::<_, _, 1, 65535>")]
    pub port: u16,
    pub institution: String,
    pub username: String,
    pub password: String,
    pub location: String,
    pub terminal_password: String,
    pub tls: bool,
    pub charset: Sip2Charset,
    pub error_detection: bool,
    #[serde(deserialize_with = "int_in::<_, _, 5, 3600>")]
    pub heartbeat_secs: u32,
    /// Extra trusted root certificates (PEM file) for `tls = true`, on top
    /// of the web PKI roots; relative to the configuration file. "" = none.
    pub tls_ca: String,
    pub hold_type: Sip2HoldType,
}

impl Default for UpstreamSection {
    fn default() -> Self {
        UpstreamSection {
            kind: UpstreamKind::None,
            url: String::new(),
            token: String::new(),
            timeout_secs: 10,
            decide_timeout_ms: 1500,
            host: String::new(),
            port: 6001,
            institution: String::new(),
            username: String::new(),
            password: String::new(),
            location: String::new(),
            terminal_password: String::new(),
            tls: false,
            charset: Sip2Charset::Cp850,
            error_detection: true,
            heartbeat_secs: 60,
            tls_ca: String::new(),
            hold_type: Sip2HoldType::Title,
        }
    }
}

// Hand-written so a logged config never shows credentials.
impl fmt::Debug for UpstreamSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamSection")
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("token", &Redacted(&self.token))
            .field("timeout_secs", &self.timeout_secs)
            .field("decide_timeout_ms", &self.decide_timeout_ms)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("institution", &self.institution)
            .field("username", &self.username)
            .field("password", &Redacted(&self.password))
            .field("location", &self.location)
            .field("terminal_password", &Redacted(&self.terminal_password))
            .field("tls", &self.tls)
            .field("charset", &self.charset)
            .field("error_detection", &self.error_detection)
            .field("heartbeat_secs", &self.heartbeat_secs)
            .field("tls_ca", &self.tls_ca)
            .field("hold_type", &self.hold_type)
            .finish()
    }
}

/// Shows whether a secret is set, never its value.
struct Redacted<'a>(&'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "<redacted>"
        })
    }
}

/// What a `[[devices]]` entry drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    BarcodeSerial,
    BarcodeWedge,
    BarcodeHidpos,
    Rfid,
    Printer,
    Mifare,
}

/// Serial-line parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parity {
    #[default]
    None,
    Even,
    Odd,
}

/// One `[[devices]]` entry. `id` and `kind` are required, so defaults are
/// per field rather than for the whole table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSection {
    pub id: String,
    pub kind: DeviceKind,
    #[serde(default)]
    pub port: String,
    /// rfid: "3m810" | "feig"; printer: "escpos".
    #[serde(default)]
    pub protocol: String,
    #[serde(
        default = "device_defaults::baud",
        deserialize_with = "int_in::<_, _, 1, 4294967295>"
    )]
    pub baud: u32,
    #[serde(default)]
    pub parity: Parity,
    #[serde(
        default = "device_defaults::data_bits",
        deserialize_with = "either::<_, 7, 8>"
    )]
    pub data_bits: u8,
    #[serde(
        default = "device_defaults::stop_bits",
        deserialize_with = "either::<_, 1, 2>"
    )]
    pub stop_bits: u8,
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "device_defaults::suffix")]
    pub suffix: String,
    #[serde(default)]
    pub simulated: bool,
    /// Simulator tag file, as written (not resolved against the config dir).
    #[serde(default)]
    pub tags: String,
    #[serde(
        default = "device_defaults::afi_in_library",
        deserialize_with = "int_in::<_, _, 0, 255>"
    )]
    pub afi_in_library: u8,
    #[serde(
        default = "device_defaults::afi_on_loan",
        deserialize_with = "int_in::<_, _, 0, 255>"
    )]
    pub afi_on_loan: u8,
    /// The kiosk goes out of service while a required device is down.
    #[serde(default = "device_defaults::required")]
    pub required: bool,
    /// RFID: attempts at writing the AFI before the reader is sent to staff.
    #[serde(
        default = "device_defaults::afi_retries",
        deserialize_with = "int_in::<_, _, 1, 10>"
    )]
    pub afi_retries: u32,
    /// RFID: milliseconds between inventories while the kiosk waits for items.
    #[serde(
        default = "device_defaults::poll_ms",
        deserialize_with = "int_in::<_, _, 20, 5000>"
    )]
    pub poll_ms: u32,
    /// Milliseconds to wait for a device's answer.
    #[serde(
        default = "device_defaults::timeout_ms",
        deserialize_with = "int_in::<_, _, 10, 10000>"
    )]
    pub timeout_ms: u32,
    /// Keyboard wedge: keys at most this many ms apart are one scan.
    #[serde(
        default = "device_defaults::burst_gap_ms",
        deserialize_with = "int_in::<_, _, 1, 1000>"
    )]
    pub burst_gap_ms: u32,
    /// Keyboard wedge: a burst shorter than this is typing, not a scan.
    #[serde(
        default = "device_defaults::min_length",
        deserialize_with = "int_in::<_, _, 1, 64>"
    )]
    pub min_length: u32,
    /// Keyboard wedge on Linux: grab `port` (an evdev path) so the scanner's
    /// keys reach no other window.
    #[serde(default)]
    pub grab: bool,
    /// HID-POS: USB vendor and product id.
    #[serde(default, deserialize_with = "int_in::<_, _, 0, 65535>")]
    pub vid: u16,
    #[serde(default, deserialize_with = "int_in::<_, _, 0, 65535>")]
    pub pid: u16,
    /// HID-POS report layout: report id (0 = none), index of the length
    /// byte (-1 = none), index of the first data byte.
    #[serde(default, deserialize_with = "int_in::<_, _, 0, 255>")]
    pub report_id: u8,
    #[serde(
        default = "device_defaults::length_index",
        deserialize_with = "int_in::<_, _, -1, 255>"
    )]
    pub length_index: i16,
    #[serde(
        default = "device_defaults::data_offset",
        deserialize_with = "int_in::<_, _, 0, 255>"
    )]
    pub data_offset: u8,
    /// MIFARE: how a card UID becomes a patron barcode.
    #[serde(default)]
    pub card_map: CardMap,
    /// MIFARE: text put before the mapped UID.
    #[serde(default)]
    pub card_prefix: String,
    /// Printer: characters per line (32 on 58 mm paper, 48 on 80 mm).
    #[serde(
        default = "device_defaults::width",
        deserialize_with = "int_in::<_, _, 16, 80>"
    )]
    pub width: u32,
}

/// How a MIFARE card's UID turns into the patron barcode the library uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardMap {
    /// Upper-case hex in read order (`04A1B2C3`).
    #[default]
    Hex,
    /// Hex with the bytes reversed (how many desktop readers print it).
    HexReversed,
    /// The UID read as a little-endian number, in decimal (common on
    /// campus cards).
    Decimal,
    /// Big-endian number in decimal.
    DecimalBigEndian,
}

impl DeviceSection {
    /// A device with every optional key at its default.
    pub fn new(id: impl Into<String>, kind: DeviceKind) -> Self {
        DeviceSection {
            id: id.into(),
            kind,
            port: String::new(),
            protocol: String::new(),
            baud: device_defaults::baud(),
            parity: Parity::None,
            data_bits: device_defaults::data_bits(),
            stop_bits: device_defaults::stop_bits(),
            prefix: String::new(),
            suffix: device_defaults::suffix(),
            simulated: false,
            tags: String::new(),
            afi_in_library: device_defaults::afi_in_library(),
            afi_on_loan: device_defaults::afi_on_loan(),
            required: device_defaults::required(),
            afi_retries: device_defaults::afi_retries(),
            poll_ms: device_defaults::poll_ms(),
            timeout_ms: device_defaults::timeout_ms(),
            burst_gap_ms: device_defaults::burst_gap_ms(),
            min_length: device_defaults::min_length(),
            grab: false,
            vid: 0,
            pid: 0,
            report_id: 0,
            length_index: device_defaults::length_index(),
            data_offset: device_defaults::data_offset(),
            card_map: CardMap::Hex,
            card_prefix: String::new(),
            width: device_defaults::width(),
        }
    }
}

mod device_defaults {
    pub fn baud() -> u32 {
        9600
    }
    pub fn data_bits() -> u8 {
        8
    }
    pub fn stop_bits() -> u8 {
        1
    }
    pub fn suffix() -> String {
        "\r".into()
    }
    pub fn afi_in_library() -> u8 {
        0x07
    }
    pub fn afi_on_loan() -> u8 {
        0xC2
    }
    pub fn required() -> bool {
        true
    }
    pub fn afi_retries() -> u32 {
        3
    }
    pub fn poll_ms() -> u32 {
        250
    }
    pub fn timeout_ms() -> u32 {
        300
    }
    pub fn burst_gap_ms() -> u32 {
        40
    }
    pub fn min_length() -> u32 {
        4
    }
    pub fn length_index() -> i16 {
        1
    }
    pub fn data_offset() -> u8 {
        2
    }
    pub fn width() -> u32 {
        32
    }
}

/// `[sync]`: exchange with the central system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    #[serde(deserialize_with = "int_in::<_, _, 5, 86400>")]
    pub interval_secs: u32,
    /// Cron expression (5 or 6 fields) of the nightly full sync.
    pub nightly: String,
    #[serde(deserialize_with = "int_in::<_, _, 1, 10000>")]
    pub batch_size: u32,
    /// Most records asked for in one page of a pull.
    #[serde(deserialize_with = "int_in::<_, _, 1, 5000>")]
    pub page_size: u32,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            interval_secs: 30,
            nightly: "0 30 2 * * *".into(),
            batch_size: 1000,
            page_size: 5000,
        }
    }
}

/// What the kiosk still does while the central system is unreachable.
pub use crate::domain::offline::OfflinePolicy;

/// `[offline]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OfflineSection {
    pub policy: OfflinePolicy,
    #[serde(deserialize_with = "int_in::<_, _, 0, 100>")]
    pub max_loans_per_reader: u32,
    /// Offline checkouts need a cache refreshed from the upstream within
    /// this many hours; 0 = no limit.
    #[serde(deserialize_with = "int_in::<_, _, 0, 8760>")]
    pub max_cache_age_hours: u32,
}

impl Default for OfflineSection {
    fn default() -> Self {
        OfflineSection {
            policy: OfflinePolicy::ReturnsAndCheckouts,
            max_loans_per_reader: 3,
            max_cache_age_hours: 72,
        }
    }
}

/// `[receipt]`: how readers may take the receipt of their session (the
/// printer is offered whenever a `printer` device is configured).
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiptSection {
    /// Offer to e-mail the receipt to the address on the reader's record.
    pub email: bool,
    /// The mail server, in lettre's URL form: "smtp://mail.lan:25",
    /// "smtps://user:password@mail.example.org",
    /// "smtp://mail.lan:587?tls=required".
    pub smtp_url: String,
    /// From: address of receipts.
    pub from: String,
}

// Hand-written so a logged config never shows the mail password.
impl fmt::Debug for ReceiptSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSection")
            .field("email", &self.email)
            .field("smtp_url", &Redacted(&self.smtp_url))
            .field("from", &self.from)
            .finish()
    }
}

/// `[demo]`: generated sample data. Off unless asked for, so a real
/// installation never gets fake patrons by accident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoSection {
    pub enabled: bool,
    #[serde(deserialize_with = "int_in::<_, _, 1, 1000000>")]
    pub patrons: u32,
    #[serde(deserialize_with = "int_in::<_, _, 1, 10000000>")]
    pub items: u32,
    #[serde(deserialize_with = "int_in::<_, _, 0, 9223372036854775807>")]
    pub seed: u64,
}

impl Default for DemoSection {
    fn default() -> Self {
        DemoSection {
            enabled: false,
            patrons: 300,
            items: 3000,
            seed: 42,
        }
    }
}

// ---------------------------------------------------------------------------
// Errors

/// Why the configuration could not be used. Display is always one line:
/// - `FILE:LINE: key KEY: MESSAGE` (`FILE: key KEY: MESSAGE` if no line),
/// - `FILE:LINE: invalid TOML: MESSAGE`,
/// - `environment VAR: MESSAGE`, or `environment VAR: key KEY: MESSAGE` when
///   the variable caused a problem with another key (KIND=http, no url),
/// - `FILE: configuration file not found`, `FILE: cannot read ...: REASON`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: configuration file not found", .file.display())]
    NotFound { file: PathBuf },
    #[error("{}: cannot read the configuration file: {source}", .file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: invalid TOML: {message}", .file.display())]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    /// A key in the file is unknown, of the wrong type or invalid. `line` is
    /// `None` only when the key is neither in the file nor near anything that is.
    #[error("{}{}: key {key}: {message}", .file.display(), line_suffix(*.line))]
    Invalid {
        file: PathBuf,
        line: Option<usize>,
        key: String,
        message: String,
    },
    /// An environment override is malformed, unknown or invalid.
    #[error("environment {var}: {message}")]
    Env {
        file: PathBuf,
        var: String,
        key: String,
        message: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl ConfigError {
    /// The configuration file concerned (for environment errors, the file
    /// being loaded when the override was applied).
    pub fn file(&self) -> &Path {
        match self {
            ConfigError::NotFound { file }
            | ConfigError::Io { file, .. }
            | ConfigError::Syntax { file, .. }
            | ConfigError::Invalid { file, .. }
            | ConfigError::Env { file, .. } => file,
        }
    }

    /// 1-based line in the file, when the error is located there.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Syntax { line, .. } => Some(*line),
            ConfigError::Invalid { line, .. } => *line,
            _ => None,
        }
    }

    /// Full key path such as `policy.rules[1].loan_days`.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } | ConfigError::Env { key, .. } if !key.is_empty() => {
                Some(key)
            }
            _ => None,
        }
    }

    /// The environment variable at fault, for override errors.
    pub fn env_var(&self) -> Option<&str> {
        match self {
            ConfigError::Env { var, .. } => Some(var),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Loading

impl Config {
    /// Read the file, apply KIOSK__SECTION__KEY overrides from the process
    /// environment, validate.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ConfigError::NotFound {
                    file: path.to_path_buf(),
                }
            } else {
                ConfigError::Io {
                    file: path.to_path_buf(),
                    source,
                }
            }
        })?;
        // vars() would panic on a non-UTF-8 variable anywhere in the
        // environment; only ours matter, and a garbled value of ours is
        // better reported than skipped.
        let env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            let value = value.to_string_lossy().into_owned();
            Some((name, value))
        });
        Config::parse(&text, path, env)
    }

    /// Same from text; `file` is used in messages and to resolve a relative
    /// `store.path` against its directory (an override's path is taken as
    /// given); `env` is the list of (name, value) to consider, of which only
    /// names starting with `KIOSK__` are used.
    pub fn parse(
        text: &str,
        file: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let doc = toml_edit::ImDocument::parse(text).map_err(|e| syntax_error(file, text, &e))?;
        let table: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_path_buf(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            message: one_line(e.message()),
        })?;
        let mut raw = toml::Value::Table(table);
        let ctx = Context {
            file,
            text,
            doc: &doc,
            env: apply_env(&mut raw, file, env)?,
        };
        normalize_dates(&mut raw);

        let mut config: Config = serde_path_to_error::deserialize(raw.clone()).map_err(|e| {
            let path = from_serde_path(e.path());
            ctx.error(serde_issue(path, e.inner().message(), &raw))
        })?;

        if let Some(issue) = validate(&config)
            .into_iter()
            .map(|i| ctx.error(i))
            .min_by_key(error_order)
        {
            return Err(issue);
        }
        let store_from_env = ctx
            .env
            .iter()
            .any(|(p, _)| p[..] == keypath("store.path")[..]);
        if !store_from_env && config.store.path.is_relative() {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                config.store.path = dir.join(&config.store.path);
            }
        }
        // The TLS roots file, like the store, is found next to the file.
        let ca_from_env = ctx
            .env
            .iter()
            .any(|(p, _)| p[..] == keypath("upstream.tls_ca")[..]);
        let ca = Path::new(&config.upstream.tls_ca);
        if !ca_from_env && !config.upstream.tls_ca.is_empty() && ca.is_relative() {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                config.upstream.tls_ca = dir.join(ca).display().to_string();
            }
        }
        Ok(config)
    }
}

/// Environment errors first (they are what the operator just changed), then
/// file errors by line.
fn error_order(e: &ConfigError) -> (u8, usize, String) {
    match e {
        ConfigError::Env { var, .. } => (0, 0, var.clone()),
        other => (1, other.line().unwrap_or(usize::MAX), String::new()),
    }
}

fn syntax_error(file: &Path, text: &str, e: &toml_edit::TomlError) -> ConfigError {
    ConfigError::Syntax {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: one_line(e.message()),
    }
}

/// Parser messages may span lines; ours must stay one line for logs.
fn one_line(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("; ")
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

// ---------------------------------------------------------------------------
// Key paths and locating them

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

type KeyPath = Vec<Seg>;

/// Builds a path from internal literals such as `policy.rules[1].loan_days`
/// (all bare keys, so no quoting to handle).
fn keypath(text: &str) -> KeyPath {
    let mut path = Vec::new();
    for part in text.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        path.push(Seg::Key(name.to_string()));
        for index in rest.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                path.push(Seg::Index(i));
            }
        }
    }
    path
}

fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let bare = !k.is_empty()
                    && k.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn from_serde_path(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|seg| match seg {
            Segment::Seq { index } => Some(Seg::Index(*index)),
            Segment::Map { key } => Some(Seg::Key(key.clone())),
            Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
            Segment::Unknown => None,
        })
        .collect()
}

/// One problem found after parsing: the key it is about, where else to
/// point if that key is not written anywhere (e.g. `upstream.url` missing
/// is best shown at `kind = "http"`), and the message.
struct Issue {
    key: KeyPath,
    anchors: Vec<KeyPath>,
    message: String,
}

impl Issue {
    fn new(key: KeyPath, message: impl Into<String>) -> Issue {
        Issue {
            key,
            anchors: Vec::new(),
            message: message.into(),
        }
    }
    fn at(key: &str, message: impl Into<String>) -> Issue {
        Issue::new(keypath(key), message)
    }
    fn anchored(mut self, anchor: &str) -> Issue {
        self.anchors.push(keypath(anchor));
        self
    }
}

struct Context<'a> {
    file: &'a Path,
    text: &'a str,
    doc: &'a toml_edit::ImDocument<&'a str>,
    /// Key paths set from the environment, with the variable that set them.
    env: Vec<(KeyPath, String)>,
}

impl Context<'_> {
    fn error(&self, issue: Issue) -> ConfigError {
        let key = path_text(&issue.key);
        for candidate in std::iter::once(&issue.key).chain(&issue.anchors) {
            if let Some((set, var)) = self.env.iter().find(|(p, _)| candidate.starts_with(p)) {
                // Say which key is wrong when it is not the one the
                // variable names (e.g. url missing after KIND=http).
                let message = if *set == issue.key || issue.key.starts_with(set) {
                    issue.message
                } else {
                    format!("key {key}: {}", issue.message)
                };
                return ConfigError::Env {
                    file: self.file.into(),
                    var: var.clone(),
                    key,
                    message,
                };
            }
            let (depth, line) = self.locate(candidate);
            if depth == candidate.len() {
                return ConfigError::Invalid {
                    file: self.file.into(),
                    line,
                    key,
                    message: issue.message,
                };
            }
        }
        let (_, line) = self.locate(&issue.key);
        ConfigError::Invalid {
            file: self.file.into(),
            line,
            key,
            message: issue.message,
        }
    }

    /// How many segments of `path` exist in the document, and the line of
    /// the deepest one found.
    fn locate(&self, path: &[Seg]) -> (usize, Option<usize>) {
        use toml_edit::{Item, Value};
        enum Node<'a> {
            Table(&'a toml_edit::Table),
            Inline(&'a toml_edit::InlineTable),
            Array(&'a toml_edit::Array),
            Tables(&'a toml_edit::ArrayOfTables),
            Leaf,
        }
        fn of_value(v: &Value) -> Node<'_> {
            match v {
                Value::InlineTable(t) => Node::Inline(t),
                Value::Array(a) => Node::Array(a),
                _ => Node::Leaf,
            }
        }
        fn of_item(item: &Item) -> Node<'_> {
            match item {
                Item::Table(t) => Node::Table(t),
                Item::ArrayOfTables(a) => Node::Tables(a),
                Item::Value(v) => of_value(v),
                Item::None => Node::Leaf,
            }
        }
        let mut node = Node::Table(self.doc.as_table());
        let mut line = None;
        for (depth, seg) in path.iter().enumerate() {
            let step = match (&node, seg) {
                (Node::Table(t), Seg::Key(k)) => t
                    .get_key_value(k)
                    .map(|(key, item)| (key.span().or_else(|| item.span()), of_item(item))),
                (Node::Inline(t), Seg::Key(k)) => t
                    .get_key_value(k)
                    .map(|(key, item)| (key.span().or_else(|| item.span()), of_item(item))),
                (Node::Tables(a), Seg::Index(i)) => a.get(*i).map(|t| (t.span(), Node::Table(t))),
                (Node::Array(a), Seg::Index(i)) => a.get(*i).map(|v| (v.span(), of_value(v))),
                _ => None,
            };
            match step {
                Some((span, next)) => {
                    if let Some(span) = span {
                        line = Some(line_of(self.text, span.start));
                    }
                    node = next;
                }
                None => return (depth, line),
            }
        }
        (path.len(), line)
    }
}

fn lookup<'v>(root: &'v toml::Value, path: &[Seg]) -> Option<&'v toml::Value> {
    path.iter().try_fold(root, |v, seg| match seg {
        Seg::Key(k) => v.as_table()?.get(k),
        Seg::Index(i) => v.as_array()?.get(*i),
    })
}

/// Keys whose values must never appear in messages.
const SECRET_KEYS: &[&str] = &[
    "upstream.token",
    "upstream.password",
    "upstream.terminal_password",
    "staff.pin_hash",
    "receipt.smtp_url",
];

/// How a value is shown after "found": as written in TOML, or only its type
/// for secrets.
fn found_text(path: &[Seg], value: &toml::Value) -> String {
    let key = path_text(path);
    // A staff card is a key to the staff menu: never echoed either.
    if SECRET_KEYS.contains(&key.as_str()) || key.starts_with("staff.cards") {
        return match value {
            toml::Value::String(_) => "a string",
            toml::Value::Integer(_) => "an integer",
            toml::Value::Float(_) => "a float",
            toml::Value::Boolean(_) => "a boolean",
            toml::Value::Datetime(_) => "a date-time",
            toml::Value::Array(_) => "an array",
            toml::Value::Table(_) => "a table",
        }
        .to_string();
    }
    match value {
        toml::Value::String(s) if s.chars().count() > 60 => {
            let head: String = s.chars().take(57).collect();
            format!("{:?}", head + "...")
        }
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Table(_) => "a table".to_string(),
        toml::Value::Array(a) => {
            let text = value.to_string();
            if text.chars().count() <= 60 {
                text
            } else {
                format!("an array of {} values", a.len())
            }
        }
        other => other.to_string(),
    }
}

/// Turns serde's wording into ours: "expected X, found Y" with Y as written
/// in the file, and "unknown key (expected one of: ...)".
fn serde_issue(path: KeyPath, message: &str, raw: &toml::Value) -> Issue {
    let backticked = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let names = backticked(rest.split_once('`').map_or("", |(_, r)| r));
        let message = if names.is_empty() {
            "unknown key (this table takes no keys)".to_string()
        } else {
            format!("unknown key (expected one of: {})", names.join(", "))
        };
        return Issue::new(path, message);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let mut key = path;
        key.push(Seg::Key(
            rest.split('`').next().unwrap_or_default().to_string(),
        ));
        return Issue::new(key, "missing required key");
    }
    let expected = if let Some(rest) = message.strip_prefix("unknown variant `") {
        let names = backticked(rest.split_once('`').map_or("", |(_, r)| r));
        Some(format!("one of: {}", names.join(", ")))
    } else if message.starts_with("wanted exactly 1 element") {
        // toml's wording when a table is given where an enum's string belongs.
        Some("a string".to_string())
    } else if ["invalid type: ", "invalid value: ", "invalid length "]
        .iter()
        .any(|p| message.starts_with(p))
    {
        message
            .rsplit_once(", expected ")
            .map(|(_, e)| plain_expected(e))
    } else {
        message.strip_prefix("expected ").map(str::to_string)
    };
    let Some(expected) = expected else {
        return Issue::new(path, message);
    };
    let message = match lookup(raw, &path) {
        Some(value) => format!("expected {expected}, found {}", found_text(&path, value)),
        None => format!("expected {expected}"),
    };
    Issue::new(path, message)
}

/// serde names types the Rust way; the reader knows TOML.
fn plain_expected(expected: &str) -> String {
    match expected {
        "a sequence" => "an array".into(),
        "a map" => "a table".into(),
        "a boolean" => "true or false".into(),
        "path string" => "a path string".into(),
        "string only" => "a string".into(),
        e if e.starts_with("struct ") => "a table".into(),
        e => e.into(),
    }
}

// ---------------------------------------------------------------------------
// Environment overrides

/// Applies `KIOSK__...` variables to the parsed file, returning which key
/// each one set. Values are typed by what the key expects, taken from a
/// serialized default config so the two can never drift apart.
fn apply_env(
    raw: &mut toml::Value,
    file: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(KeyPath, String)>, ConfigError> {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .collect();
    if vars.is_empty() {
        return Ok(Vec::new());
    }
    // Sorted so that the first error reported does not depend on the
    // platform's environment order.
    vars.sort();
    let template = env_template();
    let mut set = Vec::new();
    for (var, value) in vars {
        let fail = |key: &KeyPath, message: String| ConfigError::Env {
            file: file.to_path_buf(),
            var: var.clone(),
            key: path_text(key),
            message,
        };
        let (path, leaf) = env_target(&var, &template).map_err(|(k, m)| fail(&k, m))?;
        let value = env_value(&leaf, &value).map_err(|m| fail(&path, m))?;
        set_value(raw, &path, value).map_err(|m| fail(&path, m))?;
        set.push((path, var));
    }
    Ok(set)
}

/// Defaults plus one entry of each array of tables, so that every key that
/// can be overridden has a typed example.
fn env_template() -> toml::Value {
    let mut config = Config::default();
    config
        .devices
        .push(DeviceSection::new("template", DeviceKind::Rfid));
    let rule = config.policy.default.clone();
    config.policy.rules.push(RuleOverride {
        category: "c".into(),
        item_type: "t".into(),
        loan_days: Some(rule.loan_days),
        loan_hours: Some(rule.loan_hours),
        max_loans: Some(rule.max_loans),
        max_renewals: Some(rule.max_renewals),
        renewal_days: Some(rule.renewal_days),
        fine_per_day: Some(rule.fine_per_day),
        fine_cap: Some(rule.fine_cap),
        block_fines: Some(rule.block_fines),
        block_overdue: Some(rule.block_overdue),
        max_holds: Some(rule.max_holds),
        loanable: Some(rule.loanable),
    });
    toml::Value::try_from(&config).expect("the default config serializes to TOML")
}

/// Tables whose keys are chosen by the library (item types), not by us.
const FREE_TABLES: &[&str] = &["policy.sort_bins"];

/// Resolves a variable name to a key path and the template value there.
fn env_target(
    var: &str,
    template: &toml::Value,
) -> Result<(KeyPath, toml::Value), (KeyPath, String)> {
    let rest = &var[ENV_PREFIX.len()..];
    let parts: Vec<&str> = rest.split("__").collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err((
            Vec::new(),
            "expected KIOSK__SECTION__KEY (parts separated by double underscores)".into(),
        ));
    }
    let string_template = toml::Value::String(String::new());
    let mut node = template;
    let mut path = Vec::new();
    for (i, part) in parts.iter().copied().enumerate() {
        let lower = part.to_ascii_lowercase();
        match node {
            toml::Value::Table(_) if FREE_TABLES.contains(&path_text(&path).as_str()) => {
                path.push(Seg::Key(lower));
                node = &string_template;
            }
            toml::Value::Table(t) => match t.keys().find(|k| k.eq_ignore_ascii_case(part)) {
                Some(k) => {
                    path.push(Seg::Key(k.clone()));
                    node = &t[k];
                }
                None => {
                    let known: Vec<&str> = t.keys().map(String::as_str).collect();
                    path.push(Seg::Key(lower));
                    let message = format!(
                        "unknown key {} (expected one of: {})",
                        path_text(&path),
                        known.join(", ")
                    );
                    return Err((path, message));
                }
            },
            toml::Value::Array(a) if a.first().is_some_and(toml::Value::is_table) => {
                let Ok(index) = part.parse::<usize>() else {
                    let message = format!(
                        "expected an entry number after {}, as in {ENV_PREFIX}{}__0__KEY",
                        path_text(&path),
                        parts[..i].join("__")
                    );
                    return Err((path, message));
                };
                path.push(Seg::Index(index));
                node = &a[0];
            }
            _ => {
                path.push(Seg::Key(lower));
                let message = format!("unknown key {}", path_text(&path));
                return Err((path, message));
            }
        }
    }
    match node {
        toml::Value::Table(_) => Err((
            path.clone(),
            format!("{} is a table: set its keys one by one", path_text(&path)),
        )),
        toml::Value::Array(a) if a.first().is_some_and(toml::Value::is_table) => Err((
            path.clone(),
            format!(
                "{} is a list of tables: set keys of one entry, as in {var}__0__KEY",
                path_text(&path)
            ),
        )),
        leaf => Ok((path, leaf.clone())),
    }
}

/// Interprets an override's text by the type of the key's template.
/// Text that does not fit is kept as a string so that deserialization
/// reports it with the same "expected ..., found ..." as a file value.
fn env_value(template: &toml::Value, text: &str) -> Result<toml::Value, String> {
    use toml::Value;
    let scalar = |text: &str| -> Option<Value> {
        let mut table: toml::Table = toml::from_str(&format!("v = {}", text.trim())).ok()?;
        if table.len() == 1 {
            table.remove("v")
        } else {
            None
        }
    };
    Ok(match template {
        Value::String(_) => Value::String(text.to_string()),
        Value::Integer(_) => match scalar(text) {
            Some(v @ Value::Integer(_)) => v,
            _ => Value::String(text.to_string()),
        },
        Value::Float(_) => match scalar(text) {
            Some(v @ (Value::Integer(_) | Value::Float(_))) => v,
            _ => Value::String(text.to_string()),
        },
        Value::Boolean(_) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Value::Boolean(true),
            "false" | "0" | "no" | "off" => Value::Boolean(false),
            _ => Value::String(text.to_string()),
        },
        Value::Array(a) => {
            if text.trim_start().starts_with('[') {
                match scalar(text) {
                    Some(v @ Value::Array(_)) => v,
                    _ => {
                        return Err(format!(
                            "expected a TOML array such as [\"a\", \"b\"] or a comma-separated list, found {text:?}"
                        ))
                    }
                }
            } else {
                let element = a.first().cloned().unwrap_or(Value::String(String::new()));
                let items = text.split(',').map(str::trim).filter(|s| !s.is_empty());
                Value::Array(
                    items
                        .map(|s| env_value(&element, s))
                        .collect::<Result<_, _>>()?,
                )
            }
        }
        Value::Datetime(_) | Value::Table(_) => Value::String(text.to_string()),
    })
}

fn set_value(raw: &mut toml::Value, path: &[Seg], value: toml::Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("expected KIOSK__SECTION__KEY".into());
    };
    let mut node = raw;
    for (depth, seg) in parents.iter().enumerate() {
        let here = || path_text(&path[..=depth]);
        node = match seg {
            Seg::Key(k) => {
                let table = node.as_table_mut().ok_or_else(|| {
                    format!("cannot override: {} in the file is not a table", here())
                })?;
                table
                    .entry(k.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            }
            Seg::Index(i) => {
                let len = node.as_array().map_or(0, Vec::len);
                node.as_array_mut()
                    .and_then(|a| a.get_mut(*i))
                    .ok_or_else(|| {
                        format!("no such entry {}: the file has {len} of them", here())
                    })?
            }
        };
    }
    let (Seg::Key(k), Some(table)) = (last, node.as_table_mut()) else {
        return Err(format!(
            "cannot override {}: its parent is not a table",
            path_text(path)
        ));
    };
    // A free table (sort_bins) may already have this key in another case.
    let existing = table.keys().find(|e| e.eq_ignore_ascii_case(k)).cloned();
    table.insert(existing.unwrap_or_else(|| k.clone()), value);
    Ok(())
}

/// Holidays may be written as TOML dates (2025-01-01) or strings
/// ("2025-01-01"); both reach the date parser as text.
fn normalize_dates(raw: &mut toml::Value) {
    let holidays = raw
        .get_mut("policy")
        .and_then(|p| p.get_mut("holidays"))
        .and_then(toml::Value::as_array_mut);
    for value in holidays.into_iter().flatten() {
        if let toml::Value::Datetime(dt) = value {
            *value = toml::Value::String(dt.to_string());
        }
    }
}

// ---------------------------------------------------------------------------
// Checks across keys (ranges are checked while deserializing)

fn validate(c: &Config) -> Vec<Issue> {
    let mut issues = Vec::new();
    let k = &c.kiosk;
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ".-_".contains(ch))
    };
    if !id_ok(&k.id) {
        issues.push(Issue::at(
            "kiosk.id",
            format!(
                "expected 1 to 64 characters from A-Z a-z 0-9 . _ -, found {:?}",
                k.id
            ),
        ));
    }
    if k.languages.is_empty() {
        issues.push(Issue::at(
            "kiosk.languages",
            "expected at least one of: zh-CN, en",
        ));
    }
    for (i, lang) in k.languages.iter().enumerate() {
        if k.languages[..i].contains(lang) {
            issues.push(Issue::at(
                &format!("kiosk.languages[{i}]"),
                format!("{:?} is listed twice", lang.tag()),
            ));
        }
    }
    if k.inactivity_warning_secs >= k.inactivity_timeout_secs {
        issues.push(Issue::at(
            "kiosk.inactivity_warning_secs",
            format!(
                "must be less than inactivity_timeout_secs ({}), found {}",
                k.inactivity_timeout_secs, k.inactivity_warning_secs
            ),
        ));
    }

    if c.store.path.as_os_str().is_empty() {
        issues.push(Issue::at("store.path", "must not be empty"));
    }

    validate_policy(&c.policy, &mut issues);

    let pin = &c.staff.pin_hash;
    let phc_like = pin.starts_with("$argon2")
        && pin.split('$').count() >= 5
        && !pin.contains(char::is_whitespace);
    if !pin.is_empty() && !phc_like {
        // The value itself is never echoed: see SECRET_KEYS.
        issues.push(Issue::at(
            "staff.pin_hash",
            "expected an argon2 PHC string such as \"$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>\"",
        ));
    }

    let r = &c.receipt;
    if r.email && r.smtp_url.is_empty() {
        issues.push(
            Issue::at("receipt.smtp_url", "required when email = true").anchored("receipt.email"),
        );
    } else if !(r.smtp_url.is_empty()
        || r.smtp_url.starts_with("smtp://")
        || r.smtp_url.starts_with("smtps://"))
    {
        // Not echoed: it may carry a password.
        issues.push(Issue::at(
            "receipt.smtp_url",
            "expected smtp://HOST[:PORT] or smtps://USER:PASSWORD@HOST",
        ));
    }
    if r.email && !r.from.contains('@') {
        issues.push(
            Issue::at(
                "receipt.from",
                "an e-mail address is required when email = true",
            )
            .anchored("receipt.email"),
        );
    }

    for (i, card) in c.staff.cards.iter().enumerate() {
        if card.trim().is_empty() {
            issues.push(Issue::at(
                &format!("staff.cards[{i}]"),
                "must not be empty (a card number as its scanner reads it)",
            ));
        }
    }

    let u = &c.upstream;
    let is_http_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
    if u.kind == UpstreamKind::Http && u.url.is_empty() {
        issues.push(
            Issue::at("upstream.url", "required when kind = \"http\"").anchored("upstream.kind"),
        );
    } else if !u.url.is_empty() && !is_http_url(&u.url) {
        // Not echoed: a URL may carry credentials.
        issues.push(Issue::at(
            "upstream.url",
            "expected a URL starting with http:// or https://",
        ));
    }
    if u.kind == UpstreamKind::Sip2 && u.host.trim().is_empty() {
        issues.push(
            Issue::at("upstream.host", "required when kind = \"sip2\"").anchored("upstream.kind"),
        );
    }
    let https = u.url.trim().to_ascii_lowercase().starts_with("https://");
    if !u.tls_ca.is_empty() && u.kind == UpstreamKind::Http && !https {
        issues.push(Issue::at(
            "upstream.tls_ca",
            "set, but the url is not https://: the certificate would not be used",
        ));
    } else if !u.tls_ca.is_empty() && u.kind != UpstreamKind::Http && !u.tls {
        issues.push(Issue::at(
            "upstream.tls_ca",
            "set, but tls = false: the certificate would not be used",
        ));
    }

    for (i, d) in c.devices.iter().enumerate() {
        if d.id.trim().is_empty() {
            issues.push(Issue::at(&format!("devices[{i}].id"), "must not be empty"));
        } else if let Some(first) = c.devices[..i].iter().position(|o| o.id == d.id) {
            issues.push(Issue::at(
                &format!("devices[{i}].id"),
                format!("duplicate device id {:?} (also devices[{first}])", d.id),
            ));
        }
        let allowed: &[&str] = match d.kind {
            DeviceKind::Rfid => &["3m810", "feig"],
            // The only printer protocol, so leaving it out is unambiguous.
            DeviceKind::Printer => &["escpos", ""],
            _ => &[],
        };
        if !allowed.is_empty() && !allowed.contains(&d.protocol.as_str()) {
            let names: Vec<&str> = allowed.iter().copied().filter(|p| !p.is_empty()).collect();
            issues.push(
                Issue::at(
                    &format!("devices[{i}].protocol"),
                    format!(
                        "expected one of: {}, found {:?}",
                        names.join(", "),
                        d.protocol
                    ),
                )
                .anchored(&format!("devices[{i}].kind")),
            );
        }
    }

    let fields: Vec<&str> = c.sync.nightly.split_whitespace().collect();
    let cron_char = |ch: char| ch.is_ascii_alphanumeric() || "*/,-?#".contains(ch);
    if !(5..=6).contains(&fields.len()) || !fields.iter().all(|f| f.chars().all(cron_char)) {
        issues.push(Issue::at(
            "sync.nightly",
            format!(
                "expected a cron expression of 5 or 6 fields such as \"0 30 2 * * *\", found {:?}",
                c.sync.nightly
            ),
        ));
    }
    issues
}

fn validate_policy(p: &PolicySection, issues: &mut Vec<Issue>) {
    let currency_ok = p.currency.len() == 3 && p.currency.chars().all(|ch| ch.is_ascii_uppercase());
    if !currency_ok {
        issues.push(Issue::at(
            "policy.currency",
            format!(
                "expected 3 upper-case letters such as \"CNY\", found {:?}",
                p.currency
            ),
        ));
    }
    for (i, r) in p.rules.iter().enumerate() {
        let at = |key: &str| format!("policy.rules[{i}].{key}");
        if r.category.trim().is_empty() {
            issues.push(Issue::at(&at("category"), "must not be empty"));
        }
        if r.item_type.trim().is_empty() {
            issues.push(Issue::at(&at("item_type"), "must not be empty"));
        }
        if r.category == "default" && r.item_type == "default" {
            issues.push(Issue::at(
                &at("category"),
                "category \"default\" with item_type \"default\" is [policy.default]: set it there",
            ));
        } else if let Some(first) = p.rules[..i]
            .iter()
            .position(|o| o.category == r.category && o.item_type == r.item_type)
        {
            issues.push(Issue::at(
                &at("category"),
                format!(
                    "duplicate rule for category {:?} and item_type {:?} (also policy.rules[{first}])",
                    r.category, r.item_type
                ),
            ));
        }
    }
    for (i, (_, _, rule)) in p.resolved_rules().into_iter().enumerate() {
        if rule.loanable && (rule.loan_days > 0) == (rule.loan_hours > 0) {
            let table = match i {
                0 => "policy.default".to_string(),
                n => format!("policy.rules[{}]", n - 1),
            };
            issues.push(
                Issue::at(
                    &format!("{table}.loan_days"),
                    format!(
                        "exactly one of loan_days and loan_hours must be greater than 0 for a loanable item, found loan_days = {} and loan_hours = {}",
                        rule.loan_days, rule.loan_hours
                    ),
                )
                .anchored(&format!("{table}.loan_hours")),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Value parsers with messages a librarian can act on. Out-of-range and
// wrong-type errors say only "expected ..."; the caller adds "found ...".

struct IntIn {
    min: i64,
    max: i64,
}

impl IntIn {
    fn err<E: de::Error>(&self) -> E {
        E::custom(format_args!(
            "expected an integer from {} to {}",
            self.min, self.max
        ))
    }
}

impl Visitor<'_> for IntIn {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer from {} to {}", self.min, self.max)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        if (self.min..=self.max).contains(&v) {
            Ok(v)
        } else {
            Err(self.err())
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v)
            .map_err(|_| self.err())
            .and_then(|v| self.visit_i64(v))
    }
}

fn int_in<'de, D, T, const MIN: i64, const MAX: i64>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let range = IntIn { min: MIN, max: MAX };
    let v = d.deserialize_any(IntIn { min: MIN, max: MAX })?;
    T::try_from(v).map_err(|_| range.err())
}

fn opt_int_in<'de, D, T, const MIN: i64, const MAX: i64>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    int_in::<D, T, MIN, MAX>(d).map(Some)
}

/// An integer checked while deserializing a list (barcode lengths).
struct Ranged<const MIN: i64, const MAX: i64>(i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Ranged<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IntIn { min: MIN, max: MAX }).map(Ranged)
    }
}

fn either<'de, D: Deserializer<'de>, const A: i64, const B: i64>(d: D) -> Result<u8, D::Error> {
    struct Either(i64, i64);
    impl Visitor<'_> for Either {
        type Value = u8;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{} or {}", self.0, self.1)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u8, E> {
            if v == self.0 || v == self.1 {
                Ok(v as u8)
            } else {
                Err(E::custom(format_args!("expected {} or {}", self.0, self.1)))
            }
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u8, E> {
            self.visit_i64(i64::try_from(v).unwrap_or(-1))
        }
    }
    d.deserialize_any(Either(A, B))
}

/// Money in currency units: 0..=MAX and a whole number of cents, so that
/// converting to integer cents never rounds away a configured amount.
struct Money(i64);

impl Visitor<'_> for Money {
    type Value = f64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an amount from 0 to {}", self.0)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        if !(0.0..=self.0 as f64).contains(&v) {
            return Err(E::custom(format_args!(
                "expected an amount from 0 to {}",
                self.0
            )));
        }
        let hundredths = v * 100.0;
        if (hundredths - hundredths.round()).abs() > 1e-6 {
            return Err(E::custom(
                "expected an amount in whole cents (at most 2 decimal places)",
            ));
        }
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        self.visit_f64(v as f64)
    }
}

fn money_in<'de, D: Deserializer<'de>, const MAX: i64>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(Money(MAX))
}

fn opt_money_in<'de, D: Deserializer<'de>, const MAX: i64>(d: D) -> Result<Option<f64>, D::Error> {
    money_in::<D, MAX>(d).map(Some)
}

/// A list element parsed from a string by a fixed function, e.g. weekdays.
struct Parsed<T> {
    what: &'static str,
    parse: fn(&str) -> Option<T>,
}

impl<T> Visitor<'_> for Parsed<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).ok_or_else(|| E::custom(format_args!("expected {}", self.what)))
    }
}

/// `closed_weekdays` as "mon" .. "sun".
mod weekdays {
    use super::*;

    const NAMES: [(&str, Weekday); 7] = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];

    struct Day(Weekday);

    impl<'de> Deserialize<'de> for Day {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Parsed {
                what: "one of: mon, tue, wed, thu, fri, sat, sun",
                parse: |s| NAMES.iter().find(|(n, _)| *n == s).map(|(_, w)| *w),
            })
            .map(Day)
        }
    }

    pub fn serialize<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
        let name = |w: &Weekday| NAMES.iter().find(|(_, d)| d == w).map_or("?", |(n, _)| *n);
        s.collect_seq(days.iter().map(name))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
        Ok(Vec::<Day>::deserialize(d)?
            .into_iter()
            .map(|d| d.0)
            .collect())
    }
}

/// `holidays` as "YYYY-MM-DD".
mod dates {
    use super::*;

    struct Date(NaiveDate);

    impl<'de> Deserialize<'de> for Date {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Parsed {
                what: "a date written YYYY-MM-DD",
                // The length check rejects chrono's lenient forms like 2025-1-1.
                parse: |s| {
                    (s.len() == 10).then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())?
                },
            })
            .map(Date)
        }
    }

    pub fn serialize<S: Serializer>(days: &[NaiveDate], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(days.iter().map(|d| d.format("%Y-%m-%d").to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
        Ok(Vec::<Date>::deserialize(d)?
            .into_iter()
            .map(|d| d.0)
            .collect())
    }
}

// ---------------------------------------------------------------------------
// The configuration in the domain's types. Kept here so that the rest of the
// crate never has to know how a kiosk.toml value maps onto a domain value
// (money in units vs cents, lengths as u32 vs usize).

impl Rule {
    /// This rule as the circulation engine stores it (money in cents).
    pub fn to_domain(&self) -> crate::domain::Rule {
        crate::domain::Rule {
            loan_days: self.loan_days,
            loan_hours: self.loan_hours,
            max_loans: self.max_loans,
            max_renewals: self.max_renewals,
            renewal_days: self.renewal_days,
            fine_per_day: self.fine_per_day_cents(),
            fine_cap: self.fine_cap_cents(),
            block_fines: self.block_fines_cents(),
            block_overdue: self.block_overdue,
            max_holds: self.max_holds,
            loanable: self.loanable,
        }
    }
}

/// Policy rows, kiosk-wide settings and holidays, as `Store::configure`
/// takes them.
pub fn circulation(
    config: &Config,
) -> (
    Vec<(String, String, crate::domain::Rule)>,
    crate::domain::Settings,
    Vec<NaiveDate>,
) {
    let p = &config.policy;
    let rows = p
        .resolved_rules()
        .into_iter()
        .map(|(category, item_type, rule)| (category, item_type, rule.to_domain()))
        .collect();
    let settings = crate::domain::Settings {
        calendar: Calendar::new(
            p.closed_weekdays.iter().copied(),
            p.holidays.iter().copied(),
        ),
        charge_closed_days: p.charge_closed_days,
        hold_pickup_days: p.hold_pickup_days,
        require_pin: p.require_pin,
        pin_attempts: p.pin_attempts,
        pin_lock_minutes: p.pin_lock_minutes,
        sort_bins: p.sort_bins.clone(),
    };
    (rows, settings, p.holidays.clone())
}

/// The language shown before a reader picks one.
pub fn default_lang(config: &Config) -> Lang {
    config.kiosk.default_language()
}

/// The `[barcode]` section as the barcode checker takes it.
pub fn barcode_rules(config: &Config) -> BarcodeRules {
    let codes = |c: &CodeSection| CodeRules {
        lengths: c.lengths.iter().map(|&l| l as usize).collect(),
        prefixes: c.prefixes.clone(),
        codabar_check: c.codabar_check,
    };
    BarcodeRules {
        mode: match config.barcode.mode {
            BarcodeMode::Off => ValidationMode::Off,
            BarcodeMode::Warn => ValidationMode::Warn,
            BarcodeMode::Reject => ValidationMode::Reject,
        },
        patron: codes(&config.barcode.patron),
        item: codes(&config.barcode.item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../kiosk.toml");

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse_with(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("kiosk.toml"), env(vars))
    }

    fn parse(text: &str) -> Config {
        parse_with(text, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> ConfigError {
        match parse_with(text, &[]) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        }
    }

    fn env_err(text: &str, vars: &[(&str, &str)]) -> ConfigError {
        match parse_with(text, vars) {
            Ok(_) => panic!("accepted {vars:?}"),
            Err(e) => e,
        }
    }

    /// Asserts line and key, and that the message mentions `needle`.
    fn assert_at(e: &ConfigError, line: usize, key: &str, needle: &str) {
        let text = e.to_string();
        assert_eq!(e.line(), Some(line), "{text}");
        assert_eq!(e.key(), Some(key), "{text}");
        assert!(
            text.starts_with(&format!("kiosk.toml:{line}: key {key}: ")),
            "{text}"
        );
        assert!(text.contains(needle), "{text:?} lacks {needle:?}");
    }

    // --- defaults and the shipped sample ---

    #[test]
    fn empty_file_gives_default() {
        assert_eq!(parse(""), Config::default());
        assert!(!Config::default().demo.enabled);
    }

    #[test]
    fn default_values_match_the_brief() {
        let c = Config::default();
        assert_eq!(c.kiosk.id, "kiosk-1");
        assert_eq!(c.kiosk.languages, [Lang::ZhCn, Lang::En]);
        assert_eq!(c.kiosk.default_language(), Lang::ZhCn);
        assert_eq!(c.store.path, PathBuf::from("kiosk.db"));
        assert_eq!(c.policy.closed_weekdays, [Weekday::Sun]);
        assert_eq!(
            c.policy.sort_bins.get("default").map(String::as_str),
            Some("1")
        );
        assert_eq!(c.policy.default.fine_per_day_cents(), 10);
        assert_eq!(c.policy.default.fine_cap_cents(), 2000);
        assert_eq!(c.policy.default.block_fines_cents(), 1000);
        assert_eq!(c.barcode.mode, BarcodeMode::Warn);
        assert_eq!(c.barcode.patron.prefixes, ["2"]);
        assert_eq!(c.barcode.item.prefixes, ["3"]);
        assert_eq!(c.upstream.kind, UpstreamKind::None);
        assert_eq!(c.upstream.port, 6001);
        assert_eq!(c.upstream.charset, Sip2Charset::Cp850);
        assert_eq!(c.sync.nightly, "0 30 2 * * *");
        assert_eq!(c.offline.policy, OfflinePolicy::ReturnsAndCheckouts);
        assert_eq!((c.demo.patrons, c.demo.items, c.demo.seed), (300, 3000, 42));
    }

    #[test]
    fn sample_parses_and_shows_the_defaults() {
        let c = Config::parse(SAMPLE, Path::new("kiosk.toml"), Vec::new())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.demo.enabled);
        assert_eq!(c.upstream.kind, UpstreamKind::None);
        assert_eq!(c.store.path, PathBuf::from("kiosk.db"));

        let wedge = DeviceSection::new("wedge", DeviceKind::BarcodeWedge);
        let mut rfid = DeviceSection::new("rfid", DeviceKind::Rfid);
        rfid.protocol = "3m810".into();
        rfid.simulated = true;
        rfid.tags = "assets/demo-tags.json".into();
        rfid.required = false;
        let mut printer = DeviceSection::new("printer", DeviceKind::Printer);
        printer.protocol = "escpos".into();
        printer.simulated = true;
        printer.required = false;
        assert_eq!(c.devices, [wedge, rfid, printer]);

        let rules = c.policy.resolved_rules();
        let pairs: Vec<(&str, &str)> = rules
            .iter()
            .map(|(a, b, _)| (a.as_str(), b.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("default", "default"),
                ("child", "default"),
                ("default", "dvd"),
                ("default", "reference")
            ]
        );
        assert_eq!(rules[1].2.max_loans, 5);
        assert_eq!((rules[2].2.loan_days, rules[2].2.max_renewals), (7, 1));
        assert!(!rules[3].2.loanable);

        // Apart from the examples, the sample must state the true defaults.
        let mut c = c;
        c.demo.enabled = false;
        c.devices.clear();
        c.policy.rules.clear();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn sample_mentions_every_key() {
        fn walk(
            template: &toml::Value,
            sample: &toml::Value,
            path: &str,
            missing: &mut Vec<String>,
        ) {
            let (Some(t), Some(s)) = (template.as_table(), sample.as_table()) else {
                return;
            };
            for (key, value) in t {
                let here = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match s.get(key) {
                    None => missing.push(here),
                    Some(sv) => walk(value, sv, &here, missing),
                }
            }
        }
        let template = env_template();
        let sample: toml::Value = toml::from_str(SAMPLE).unwrap();
        let mut missing = Vec::new();
        walk(&template, &sample, "", &mut missing);
        // Device keys may be spread over the sample's devices; keys of
        // kinds the demo does not use are documented in the key list.
        let device_keys = template["devices"][0].as_table().unwrap();
        let sample_devices = sample["devices"].as_array().unwrap();
        for key in device_keys.keys() {
            let documented = SAMPLE.lines().any(|l| {
                l.trim_start_matches('#')
                    .trim_start()
                    .starts_with(&format!("{key} "))
            });
            if !documented && !sample_devices.iter().any(|d| d.get(key).is_some()) {
                missing.push(format!("devices.{key}"));
            }
        }
        assert!(missing.is_empty(), "sample lacks {missing:?}");
    }

    // --- errors in the file ---

    #[test]
    fn unknown_key_at_top_level() {
        let e = err("[kiosk]\nid = \"k\"\n\nlanguages = [\"en\"]\nstore_path = \"x\"\n");
        // A bare key after [kiosk] belongs to kiosk; at the top it needs no header.
        assert_at(
            &e,
            5,
            "kiosk.store_path",
            "unknown key (expected one of: id, library_name,",
        );
        let e = err("title = \"x\"\n[kiosk]\n");
        assert_at(
            &e,
            1,
            "title",
            "unknown key (expected one of: kiosk, store, policy,",
        );
    }

    #[test]
    fn unknown_key_in_section_matches_the_documented_format() {
        let e = err("# kiosk\n\n[kiosk]\nlanguagez = [\"en\"]\n");
        assert_eq!(
            e.to_string(),
            "kiosk.toml:4: key kiosk.languagez: unknown key (expected one of: id, library_name, languages, \
             inactivity_timeout_secs, inactivity_warning_secs, return_without_card, high_contrast, sounds, \
             sound_volume)"
        );
        assert_eq!(e.file(), Path::new("kiosk.toml"));
        let e = err("[barcode.item]\nlength = [13]\n");
        assert_at(
            &e,
            2,
            "barcode.item.length",
            "unknown key (expected one of: lengths, prefixes, codabar_check)",
        );
    }

    #[test]
    fn unknown_key_in_policy_rules() {
        let text = "[[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\n\n\
                    [[policy.rules]]\ncategory = \"adult\"\nitem_type = \"dvd\"\nloan_dayz = 3\n";
        assert_at(
            &err(text),
            8,
            "policy.rules[1].loan_dayz",
            "unknown key (expected one of: category, item_type,",
        );
    }

    #[test]
    fn unknown_key_in_devices() {
        let text = "[[devices]]\nid = \"a\"\nkind = \"mifare\"\n[[devices]]\nid = \"b\"\nkind = \"mifare\"\nbaudrate = 1\n";
        assert_at(&err(text), 7, "devices[1].baudrate", "unknown key");
    }

    #[test]
    fn wrong_type() {
        assert_eq!(
            err("[kiosk]\nsounds = \"yes\"\n").to_string(),
            "kiosk.toml:2: key kiosk.sounds: expected true or false, found \"yes\""
        );
        assert_at(
            &err("[kiosk]\nlanguages = \"en\"\n"),
            2,
            "kiosk.languages",
            "expected an array, found \"en\"",
        );
        assert_at(
            &err("[sync]\ninterval_secs = \"30\"\n"),
            2,
            "sync.interval_secs",
            "found \"30\"",
        );
        assert_at(
            &err("[sync]\ninterval_secs = 2.5\n"),
            2,
            "sync.interval_secs",
            "found 2.5",
        );
        assert_at(
            &err("\nkiosk = 5\n"),
            2,
            "kiosk",
            "expected a table, found 5",
        );
        assert_at(
            &err("[policy.sort_bins]\ndvd = 2\n"),
            2,
            "policy.sort_bins.dvd",
            "expected a string, found 2",
        );
    }

    #[test]
    fn out_of_range_matches_the_documented_format() {
        let mut text = "# comment\n".repeat(10);
        text.push_str("[policy.default]\nmax_loans = -3\n");
        assert_eq!(
            err(&text).to_string(),
            "kiosk.toml:12: key policy.default.max_loans: expected an integer from 0 to 1000, found -3"
        );
        assert_at(
            &err("[kiosk]\ninactivity_timeout_secs = 5\n"),
            2,
            "kiosk.inactivity_timeout_secs",
            "from 10 to 3600, found 5",
        );
        assert_at(
            &err("[upstream]\nport = 70000\n"),
            2,
            "upstream.port",
            "from 1 to 65535, found 70000",
        );
        assert_at(
            &err("[barcode.patron]\nlengths = [14, 65]\n"),
            2,
            "barcode.patron.lengths[1]",
            "from 1 to 64, found 65",
        );
        assert_at(
            &err("[[devices]]\nid = \"p\"\nkind = \"printer\"\ndata_bits = 9\n"),
            4,
            "devices[0].data_bits",
            "expected 7 or 8, found 9",
        );
        assert_at(
            &err("[[devices]]\nid = \"p\"\nkind = \"rfid\"\nafi_on_loan = 0x100\n"),
            4,
            "devices[0].afi_on_loan",
            "from 0 to 255, found 256",
        );
    }

    #[test]
    fn bad_toml_syntax() {
        let e = err("[kiosk]\nid = \"a\"\nsounds = = true\n");
        assert_eq!(e.line(), Some(3));
        assert_eq!(e.key(), None);
        assert!(
            e.to_string().starts_with("kiosk.toml:3: invalid TOML: "),
            "{e}"
        );
        assert!(!e.to_string().contains('\n'), "{e}");
        let e = err("[kiosk]\nid = \"a\"\n[kiosk]\n");
        assert_eq!(e.line(), Some(3), "{e}");
    }

    #[test]
    fn bad_enum_value() {
        assert_at(
            &err("[barcode]\nmode = \"strict\"\n"),
            2,
            "barcode.mode",
            "expected one of: off, warn, reject, found \"strict\"",
        );
        assert_at(
            &err("[offline]\npolicy = \"returns\"\n"),
            2,
            "offline.policy",
            "off, returns-only, returns-and-checkouts",
        );
        assert_at(
            &err("[kiosk]\nlanguages = [\"en\", \"fr\"]\n"),
            2,
            "kiosk.languages[1]",
            "expected one of: zh-CN, en, found \"fr\"",
        );
        assert_at(
            &err("[upstream]\nkind = 5\n"),
            2,
            "upstream.kind",
            "found 5",
        );
    }

    #[test]
    fn http_without_url_points_at_kind() {
        let e = err("[upstream]\n# central\nkind = \"http\"\ntoken = \"t\"\n");
        assert_eq!(
            e.to_string(),
            "kiosk.toml:3: key upstream.url: required when kind = \"http\""
        );
        // Present but empty: point at the url itself.
        assert_at(
            &err("[upstream]\nkind = \"http\"\nurl = \"\"\n"),
            3,
            "upstream.url",
            "required",
        );
        assert_at(
            &err("[upstream]\nkind = \"http\"\nurl = \"ftp://x\"\n"),
            3,
            "upstream.url",
            "http:// or https://",
        );
        assert_at(
            &err("[upstream]\nkind = \"sip2\"\n"),
            2,
            "upstream.host",
            "required when kind = \"sip2\"",
        );
        let ok = parse("[upstream]\nkind = \"http\"\nurl = \"https://central.example/api\"\n");
        assert_eq!(ok.upstream.kind, UpstreamKind::Http);
    }

    #[test]
    fn duplicate_rule() {
        let text = "[[policy.rules]]\ncategory = \"child\"\nitem_type = \"dvd\"\n\
                    [[policy.rules]]\ncategory = \"adult\"\nitem_type = \"dvd\"\n\
                    [[policy.rules]]\nitem_type = \"dvd\"\ncategory = \"child\"\nmax_loans = 1\n";
        assert_at(
            &err(text),
            9,
            "policy.rules[2].category",
            "duplicate rule for category \"child\" and item_type \"dvd\" (also policy.rules[0])",
        );
        let text = "[[policy.rules]]\ncategory = \"default\"\nitem_type = \"default\"\n";
        assert_at(
            &err(text),
            2,
            "policy.rules[0].category",
            "[policy.default]",
        );
        let text = "[[policy.rules]]\ncategory = \"child\"\n";
        assert_at(
            &err(text),
            1,
            "policy.rules[0].item_type",
            "missing required key",
        );
    }

    #[test]
    fn duplicate_device_id() {
        let text = "[[devices]]\nid = \"scan\"\nkind = \"barcode-wedge\"\n\n\
                    [[devices]]\nkind = \"barcode-serial\"\nid = \"scan\"\n";
        assert_at(
            &err(text),
            7,
            "devices[1].id",
            "duplicate device id \"scan\" (also devices[0])",
        );
    }

    #[test]
    fn device_checks() {
        assert_at(
            &err("[[devices]]\nid = \"a\"\n"),
            1,
            "devices[0].kind",
            "missing required key",
        );
        assert_at(
            &err("\n[[devices]]\nid = \"r\"\nkind = \"rfid\"\n"),
            4,
            "devices[0].protocol",
            "expected one of: 3m810, feig, found \"\"",
        );
        assert_at(
            &err("[[devices]]\nid = \"r\"\nkind = \"printer\"\nprotocol = \"zpl\"\n"),
            4,
            "devices[0].protocol",
            "expected one of: escpos",
        );
        assert_at(
            &err("[[devices]]\nid = \"\"\nkind = \"mifare\"\n"),
            2,
            "devices[0].id",
            "must not be empty",
        );
        let c = parse(
            "[[devices]]\nid = \"p\"\nkind = \"printer\"\nparity = \"even\"\nstop_bits = 2\n",
        );
        assert_eq!(
            (
                c.devices[0].parity,
                c.devices[0].stop_bits,
                c.devices[0].suffix.as_str()
            ),
            (Parity::Even, 2, "\r")
        );
    }

    #[test]
    fn bad_weekday() {
        let text = "[policy]\nclosed_weekdays = [\n  \"sat\",\n  \"sunday\",\n]\n";
        assert_at(
            &err(text),
            4,
            "policy.closed_weekdays[1]",
            "expected one of: mon, tue, wed, thu, fri, sat, sun, found \"sunday\"",
        );
        let c = parse("[policy]\nclosed_weekdays = [\"sat\", \"sun\"]\n");
        assert_eq!(c.policy.closed_weekdays, [Weekday::Sat, Weekday::Sun]);
    }

    #[test]
    fn holidays_as_strings_or_dates() {
        let c = parse("[policy]\nholidays = [\"2025-01-01\", 2025-10-01]\n");
        let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
        assert_eq!(c.policy.holidays, [d(1, 1), d(10, 1)]);
        assert_at(
            &err("[policy]\nholidays = [\"2025-01-01\", \"2025-13-01\"]\n"),
            2,
            "policy.holidays[1]",
            "expected a date written YYYY-MM-DD",
        );
        assert_at(
            &err("[policy]\nholidays = [\"2025-1-1\"]\n"),
            2,
            "policy.holidays[0]",
            "YYYY-MM-DD",
        );
    }

    #[test]
    fn bad_money_precision() {
        let text = "[[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\nfine_per_day = 0.105\n";
        assert_eq!(
            err(text).to_string(),
            "kiosk.toml:4: key policy.rules[0].fine_per_day: expected an amount in whole cents (at most 2 decimal places), found 0.105"
        );
        assert_at(
            &err("[policy.default]\nfine_cap = 100000.01\n"),
            2,
            "policy.default.fine_cap",
            "from 0 to 100000",
        );
        assert_at(
            &err("[policy.default]\nblock_fines = -1\n"),
            2,
            "policy.default.block_fines",
            "found -1",
        );
        let c = parse("[policy.default]\nfine_per_day = 0.3\nfine_cap = 5\nblock_fines = 19.99\n");
        let r = &c.policy.default;
        assert_eq!(
            (
                r.fine_per_day_cents(),
                r.fine_cap_cents(),
                r.block_fines_cents()
            ),
            (30, 500, 1999)
        );
    }

    #[test]
    fn loan_period_is_days_or_hours() {
        let e = err("[policy.default]\nloan_hours = 4\n");
        assert_at(
            &e,
            2,
            "policy.default.loan_days",
            "exactly one of loan_days and loan_hours",
        );
        let e = err("[policy.default]\nloan_days = 0\n");
        assert_at(
            &e,
            2,
            "policy.default.loan_days",
            "found loan_days = 0 and loan_hours = 0",
        );
        let e = err("[[policy.rules]]\ncategory = \"a\"\nitem_type = \"b\"\nloan_days = 3\nloan_hours = 2\n");
        assert_at(&e, 4, "policy.rules[0].loan_days", "exactly one");
        // Not loanable: no period needed.
        parse("[policy.default]\nloan_days = 0\nloanable = false\n");
    }

    #[test]
    fn rules_merge_over_the_default() {
        let c = parse(
            "[policy.default]\nmax_loans = 8\nfine_per_day = 0.5\n\
             [[policy.rules]]\ncategory = \"reading-room\"\nitem_type = \"default\"\nloan_hours = 4\n\
             [[policy.rules]]\ncategory = \"child\"\nitem_type = \"dvd\"\nloan_days = 3\nfine_per_day = 0\n",
        );
        let rules = c.policy.resolved_rules();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            (rules[0].0.as_str(), rules[0].1.as_str()),
            ("default", "default")
        );
        let hourly = &rules[1].2;
        // Giving only hours replaces the inherited day period.
        assert_eq!(
            (hourly.loan_days, hourly.loan_hours, hourly.max_loans),
            (0, 4, 8)
        );
        let dvd = &rules[2].2;
        assert_eq!(
            (
                dvd.loan_days,
                dvd.loan_hours,
                dvd.fine_per_day_cents(),
                dvd.max_loans
            ),
            (3, 0, 0, 8)
        );
    }

    #[test]
    fn kiosk_checks() {
        assert_at(
            &err("[kiosk]\nid = \"kiosk 1\"\n"),
            2,
            "kiosk.id",
            "found \"kiosk 1\"",
        );
        assert_at(
            &err(&format!("[kiosk]\nid = \"{}\"\n", "k".repeat(65))),
            2,
            "kiosk.id",
            "1 to 64 characters",
        );
        assert_at(
            &err("[kiosk]\nlanguages = []\n"),
            2,
            "kiosk.languages",
            "at least one",
        );
        assert_at(
            &err("[kiosk]\nlanguages = [\"en\", \"en\"]\n"),
            2,
            "kiosk.languages[1]",
            "listed twice",
        );
        assert_at(
            &err("[kiosk]\ninactivity_timeout_secs = 30\ninactivity_warning_secs = 30\n"),
            3,
            "kiosk.inactivity_warning_secs",
            "must be less than inactivity_timeout_secs (30), found 30",
        );
        let c = parse("[kiosk]\nlanguages = [\"en\", \"zh-CN\"]\n");
        assert_eq!(c.kiosk.default_language(), Lang::En);
    }

    #[test]
    fn other_semantic_checks() {
        assert_at(
            &err("[policy]\ncurrency = \"cny\"\n"),
            2,
            "policy.currency",
            "3 upper-case letters",
        );
        assert_at(
            &err("[sync]\nnightly = \"30 2 * *\"\n"),
            2,
            "sync.nightly",
            "5 or 6 fields",
        );
        parse("[sync]\nnightly = \"30 2 * * mon-fri\"\n");
        assert_at(
            &err("[staff]\npin_hash = \"1234\"\n"),
            2,
            "staff.pin_hash",
            "argon2 PHC string",
        );
        parse(
            "[staff]\npin_hash = \"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo\"\n",
        );
    }

    #[test]
    fn staff_cards_are_checked_matched_and_never_shown() {
        let c = parse("[staff]\ncards = [\"STAFF-0042\", \" A123456B \"]\n");
        assert!(c.staff.is_staff_card("STAFF-0042"));
        assert!(
            c.staff.is_staff_card("staff-0042"),
            "Caps Lock on the wedge"
        );
        // Written as the card prints (Codabar guards, spaces): matched as scanned.
        assert!(c.staff.is_staff_card("123456"));
        assert!(!c.staff.is_staff_card("STAFF-004"));
        assert!(!c.staff.is_staff_card(""));
        assert!(!format!("{:?}", c.staff).contains("0042"));
        assert_at(
            &err("[staff]\ncards = [\"ok\", \"  \"]\n"),
            2,
            "staff.cards[1]",
            "must not be empty",
        );
        let e = err("[staff]\ncards = [\"S-1\", 777777]\n");
        assert!(!e.to_string().contains("777777"), "{e}");
    }

    #[test]
    fn email_receipts_need_a_server_and_a_sender_and_hide_the_password() {
        assert_at(
            &err("[receipt]\nemail = true\nfrom = \"k@lib.example\"\n"),
            2,
            "receipt.smtp_url",
            "required when email = true",
        );
        let e = err("[receipt]\nsmtp_url = \"mail.lan:25\"\n");
        assert_at(&e, 2, "receipt.smtp_url", "smtp://");
        assert_at(
            &err("[receipt]\nemail = true\nsmtp_url = \"smtp://mail.lan\"\n"),
            2,
            "receipt.from",
            "e-mail address",
        );
        let c = parse(
            "[receipt]\nemail = true\nsmtp_url = \"smtps://k:s3cret@mail.lan\"\nfrom = \"k@lib.example\"\n",
        );
        assert!(c.receipt.email);
        assert!(!format!("{c:?}").contains("s3cret"));
        let e = err("[receipt]\nsmtp_url = 42\n");
        assert!(!e.to_string().contains("42"), "{e}");
    }

    #[test]
    fn barcode_tables_keep_their_own_defaults() {
        let c = parse("[barcode.item]\nlengths = [13, 14]\n[barcode.patron]\nprefixes = []\n");
        assert_eq!(c.barcode.item.prefixes, ["3"]);
        assert_eq!(c.barcode.item.lengths, [13, 14]);
        assert!(c.barcode.patron.prefixes.is_empty());
        assert_eq!(c.barcode.patron.lengths, [14]);
    }

    #[test]
    fn secrets_are_never_shown() {
        let e = err("[upstream]\npassword = 98765\n");
        assert_at(
            &e,
            2,
            "upstream.password",
            "expected a string, found an integer",
        );
        assert!(!e.to_string().contains("98765"));
        let e = env_err("", &[("KIOSK__STAFF__PIN_HASH", "secret-pin")]);
        assert!(!e.to_string().contains("secret-pin"), "{e}");
        let c = parse("[upstream]\ntoken = \"tok-123\"\npassword = \"pw-456\"\n[staff]\npin_hash = \"$argon2id$v=19$m=1,t=1,p=1$s$h\"\n");
        let shown = format!("{c:?}");
        for secret in ["tok-123", "pw-456", "$argon2id"] {
            assert!(!shown.contains(secret), "Debug shows {secret}");
        }
        assert!(shown.contains("<redacted>"));
    }

    // --- environment overrides ---

    #[test]
    fn env_string_stays_a_string() {
        let c = parse_with(
            "[kiosk]\nid = \"a\"\n",
            &[
                ("KIOSK__KIOSK__ID", "0123"),
                ("KIOSK__UPSTREAM__TOKEN", "[1]"),
            ],
        )
        .unwrap();
        assert_eq!(c.kiosk.id, "0123");
        assert_eq!(c.upstream.token, "[1]");
        let c = parse_with(
            "",
            &[("KIOSK__KIOSK__LIBRARY_NAME", "市图书馆 City Library")],
        )
        .unwrap();
        assert_eq!(c.kiosk.library_name, "市图书馆 City Library");
    }

    #[test]
    fn env_integer_bool_float_and_enum() {
        let c = parse_with(
            "[sync]\ninterval_secs = 60\n",
            &[
                ("KIOSK__SYNC__INTERVAL_SECS", "120"),
                ("KIOSK__kiosk__Sounds", "false"),
                ("KIOSK__KIOSK__HIGH_CONTRAST", "1"),
                ("KIOSK__POLICY__DEFAULT__FINE_PER_DAY", "0.25"),
                ("KIOSK__POLICY__DEFAULT__FINE_CAP", "5"),
                ("KIOSK__OFFLINE__POLICY", "returns-only"),
                ("KIOSK__DEMO__SEED", "0x10"),
            ],
        )
        .unwrap();
        assert_eq!(c.sync.interval_secs, 120);
        assert!(!c.kiosk.sounds);
        assert!(c.kiosk.high_contrast);
        assert_eq!(c.policy.default.fine_per_day_cents(), 25);
        assert_eq!(c.policy.default.fine_cap_cents(), 500);
        assert_eq!(c.offline.policy, OfflinePolicy::ReturnsOnly);
        assert_eq!(c.demo.seed, 16);
    }

    #[test]
    fn env_arrays() {
        let c = parse_with("", &[("KIOSK__KIOSK__LANGUAGES", "en, zh-CN")]).unwrap();
        assert_eq!(c.kiosk.languages, [Lang::En, Lang::ZhCn]);
        let c = parse_with("", &[("KIOSK__KIOSK__LANGUAGES", "[\"en\"]")]).unwrap();
        assert_eq!(c.kiosk.languages, [Lang::En]);
        let c = parse_with(
            "",
            &[
                ("KIOSK__BARCODE__ITEM__LENGTHS", "13,14"),
                ("KIOSK__BARCODE__ITEM__PREFIXES", ""),
                ("KIOSK__POLICY__CLOSED_WEEKDAYS", "sat,sun"),
                ("KIOSK__POLICY__HOLIDAYS", "2025-01-01"),
            ],
        )
        .unwrap();
        assert_eq!(c.barcode.item.lengths, [13, 14]);
        assert!(c.barcode.item.prefixes.is_empty());
        assert_eq!(c.policy.closed_weekdays, [Weekday::Sat, Weekday::Sun]);
        assert_eq!(
            c.policy.holidays,
            [NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()]
        );
        let e = env_err("", &[("KIOSK__BARCODE__ITEM__LENGTHS", "13,x")]);
        assert_eq!(e.to_string(), "environment KIOSK__BARCODE__ITEM__LENGTHS: expected an integer from 1 to 64, found \"x\"");
        let e = env_err("", &[("KIOSK__KIOSK__LANGUAGES", "[\"en\"")]);
        assert!(e.to_string().contains("expected a TOML array"), "{e}");
    }

    #[test]
    fn env_nested_tables() {
        let text = "[policy.default]\nloan_days = 14\n";
        let c = parse_with(
            text,
            &[
                ("KIOSK__POLICY__DEFAULT__LOAN_DAYS", "21"),
                ("KIOSK__POLICY__SORT_BINS__DVD", "2"),
                ("KIOSK__POLICY__SORT_BINS__DEFAULT", "9"),
            ],
        )
        .unwrap();
        assert_eq!(c.policy.default.loan_days, 21);
        assert_eq!(c.policy.sort_bins.get("dvd").map(String::as_str), Some("2"));
        assert_eq!(
            c.policy.sort_bins.get("default").map(String::as_str),
            Some("9")
        );
    }

    #[test]
    fn env_array_of_tables_by_index() {
        let text = "[[devices]]\nid = \"wedge\"\nkind = \"barcode-wedge\"\n\
                    [[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\n";
        let c = parse_with(
            text,
            &[
                ("KIOSK__DEVICES__0__PORT", "/dev/ttyUSB1"),
                ("KIOSK__POLICY__RULES__0__MAX_LOANS", "3"),
            ],
        )
        .unwrap();
        assert_eq!(c.devices[0].port, "/dev/ttyUSB1");
        assert_eq!(c.policy.resolved_rules()[1].2.max_loans, 3);
        let e = env_err(text, &[("KIOSK__POLICY__RULES__FIRST__MAX_LOANS", "3")]);
        assert!(
            e.to_string().contains("as in KIOSK__POLICY__RULES__0__KEY"),
            "{e}"
        );
        let e = env_err(text, &[("KIOSK__DEVICES__1__PORT", "x")]);
        assert_eq!(e.env_var(), Some("KIOSK__DEVICES__1__PORT"));
        assert!(e.to_string().contains("no such entry devices[1]"), "{e}");
        assert!(env_err(text, &[("KIOSK__DEVICES", "x")])
            .to_string()
            .contains("list of tables"));
    }

    #[test]
    fn env_unknown_key_is_an_error() {
        let e = env_err("", &[("KIOSK__KIOSK__LANGUAGEZ", "en")]);
        assert_eq!(e.env_var(), Some("KIOSK__KIOSK__LANGUAGEZ"));
        assert_eq!(e.key(), Some("kiosk.languagez"));
        assert_eq!(e.line(), None);
        assert!(e.to_string().starts_with("environment KIOSK__KIOSK__LANGUAGEZ: unknown key kiosk.languagez (expected one of: "), "{e}");
        let e = env_err("", &[("KIOSK__NETWORK__PORT", "1")]);
        assert!(e.to_string().contains("unknown key network"), "{e}");
        let e = env_err("", &[("KIOSK__STORE__PATH__X", "1")]);
        assert!(e.to_string().contains("unknown key store.path.x"), "{e}");
        let e = env_err("", &[("KIOSK__STORE", "x")]);
        assert!(e.to_string().contains("store is a table"), "{e}");
        let e = env_err("", &[("KIOSK____PATH", "x")]);
        assert!(e.to_string().contains("KIOSK__SECTION__KEY"), "{e}");
    }

    #[test]
    fn env_bad_value_names_the_variable() {
        let e = env_err(
            "[sync]\ninterval_secs = 30\n",
            &[("KIOSK__SYNC__INTERVAL_SECS", "abc")],
        );
        assert_eq!(e.to_string(), "environment KIOSK__SYNC__INTERVAL_SECS: expected an integer from 5 to 86400, found \"abc\"");
        assert_eq!(e.key(), Some("sync.interval_secs"));
        let e = env_err("", &[("KIOSK__SYNC__INTERVAL_SECS", "1")]);
        assert_eq!(
            e.to_string(),
            "environment KIOSK__SYNC__INTERVAL_SECS: expected an integer from 5 to 86400, found 1"
        );
        let e = env_err("", &[("KIOSK__KIOSK__SOUNDS", "maybe")]);
        assert_eq!(
            e.to_string(),
            "environment KIOSK__KIOSK__SOUNDS: expected true or false, found \"maybe\""
        );
        // A cross-key check caused by an override names the variable too.
        let e = env_err("", &[("KIOSK__UPSTREAM__KIND", "http")]);
        assert_eq!(
            e.to_string(),
            "environment KIOSK__UPSTREAM__KIND: key upstream.url: required when kind = \"http\""
        );
        let e = env_err("", &[("KIOSK__KIOSK__INACTIVITY_WARNING_SECS", "60")]);
        assert!(
            e.to_string()
                .starts_with("environment KIOSK__KIOSK__INACTIVITY_WARNING_SECS: must be less"),
            "{e}"
        );
    }

    #[test]
    fn env_override_replaces_a_bad_file_value() {
        let c = parse_with(
            "[sync]\ninterval_secs = 1\n",
            &[("KIOSK__SYNC__INTERVAL_SECS", "30")],
        )
        .unwrap();
        assert_eq!(c.sync.interval_secs, 30);
    }

    #[test]
    fn other_env_vars_are_ignored() {
        let c = parse_with(
            "",
            &[
                ("KIOSK_CONFIG", "/x.toml"),
                ("KIOSKID", "x"),
                ("PATH", "/bin"),
                ("kiosk__kiosk__id", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c, Config::default());
    }

    // --- paths and files ---

    #[test]
    fn relative_store_path_is_relative_to_the_file() {
        let c = Config::parse("", Path::new("/etc/kiosk/kiosk.toml"), Vec::new()).unwrap();
        assert_eq!(c.store.path, PathBuf::from("/etc/kiosk/kiosk.db"));
        let c = Config::parse(
            "[store]\npath = \"data/k.db\"\n",
            Path::new("/etc/kiosk/kiosk.toml"),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/etc/kiosk/data/k.db"));
        let c = Config::parse(
            "[store]\npath = \"/var/lib/k.db\"\n",
            Path::new("/etc/kiosk/kiosk.toml"),
            Vec::new(),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/var/lib/k.db"));
        // A bare file name has no directory to resolve against.
        let c = Config::parse("", Path::new("kiosk.toml"), Vec::new()).unwrap();
        assert_eq!(c.store.path, PathBuf::from("kiosk.db"));
        // Overrides are taken as given (relative to the working directory).
        let c = Config::parse(
            "",
            Path::new("/etc/kiosk/kiosk.toml"),
            env(&[("KIOSK__STORE__PATH", "k.db")]),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("k.db"));
        let c = Config::parse(
            "",
            Path::new("/etc/kiosk/kiosk.toml"),
            env(&[("KIOSK__STORE__PATH", "/var/lib/kiosk/kiosk.db")]),
        )
        .unwrap();
        assert_eq!(c.store.path, PathBuf::from("/var/lib/kiosk/kiosk.db"));
    }

    #[test]
    fn load_reads_the_file_and_resolves_paths() {
        let dir = std::env::temp_dir().join(format!("kiosk-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kiosk.toml");
        std::fs::write(&file, "[kiosk]\nid = \"from-file\"\n").unwrap();
        let c = Config::load(&file);
        let bad_file = dir.join("bad.toml");
        std::fs::write(&bad_file, "[kiosk]\nid = 7\n").unwrap();
        let bad = Config::load(&bad_file);
        std::fs::remove_dir_all(&dir).unwrap();

        let c = c.unwrap();
        assert_eq!(c.store.path, dir.join("kiosk.db"));
        let bad = bad.unwrap_err();
        assert_eq!(
            bad.to_string(),
            format!(
                "{}:2: key kiosk.id: expected a string, found 7",
                bad_file.display()
            )
        );
    }

    #[test]
    fn missing_file_names_the_file() {
        let file = Path::new("/nonexistent/kiosk-config-test/kiosk.toml");
        let e = Config::load(file).unwrap_err();
        assert!(matches!(e, ConfigError::NotFound { .. }));
        assert_eq!(e.file(), file);
        assert_eq!(
            e.to_string(),
            "/nonexistent/kiosk-config-test/kiosk.toml: configuration file not found"
        );
        let e = Config::load(&std::env::temp_dir()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: cannot read", std::env::temp_dir().display())),
            "{e}"
        );
    }

    // --- domain adapters ---

    #[test]
    fn adapters_match_the_domain_defaults() {
        let c = Config::default();
        let (rows, settings, holidays) = circulation(&c);
        assert_eq!(
            rows,
            [(
                "default".to_string(),
                "default".to_string(),
                crate::domain::Rule::default()
            )]
        );
        let domain_default = crate::domain::Settings::default();
        assert_eq!(
            (
                settings.hold_pickup_days,
                settings.pin_attempts,
                settings.pin_lock_minutes,
                &settings.sort_bins
            ),
            (
                domain_default.hold_pickup_days,
                domain_default.pin_attempts,
                domain_default.pin_lock_minutes,
                &domain_default.sort_bins
            )
        );
        assert_eq!(settings.calendar, Calendar::new([Weekday::Sun], []));
        assert!(holidays.is_empty());
        assert_eq!(barcode_rules(&c), BarcodeRules::default());
        assert_eq!(default_lang(&c), Lang::ZhCn);
    }

    #[test]
    fn adapters_carry_the_configured_values() {
        let c = parse(
            "[kiosk]\nlanguages = [\"en\"]\n[policy]\nholidays = [\"2026-12-07\"]\n\
             [policy.default]\nfine_per_day = 0.5\n[[policy.rules]]\ncategory = \"child\"\nitem_type = \"default\"\nmax_loans = 1\n\
             [barcode]\nmode = \"reject\"\n[barcode.item]\nlengths = [10, 13]\n",
        );
        let (rows, settings, holidays) = circulation(&c);
        assert_eq!(rows[0].2.fine_per_day, 50);
        assert_eq!(
            (
                rows[1].0.as_str(),
                rows[1].2.max_loans,
                rows[1].2.fine_per_day
            ),
            ("child", 1, 50)
        );
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(holidays, [day]);
        assert!(!settings.calendar.is_open(day));
        let rules = barcode_rules(&c);
        assert_eq!(rules.mode, ValidationMode::Reject);
        assert_eq!(rules.item.lengths, [10, 13]);
        assert_eq!(default_lang(&c), Lang::En);
    }
}
