//! The tables of `kiosk.toml` other than `[policy]` and `[[devices]]`:
//! their keys, types and defaults. Ranges and formats are checked while
//! reading (see `de`); checks across keys are in `validate`.
//!
//! May use: `domain` (languages, the offline policy); in this room, `de`.

use super::de::{int_in, item_codes, patron_codes};
use crate::domain::Lang;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

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
    pub(super) fn with_prefix(prefix: &str) -> Self {
        CodeSection {
            lengths: vec![14],
            prefixes: vec![prefix.to_string()],
            codabar_check: true,
        }
    }
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
    /// The one folder the staff menu exports into (an absolute path,
    /// best where the USB stick mounts, so it is missing without one),
    /// under a generated name; "" switches the export off.
    pub export_dir: String,
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
            .field("export_dir", &self.export_dir)
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
    /// this many hours (the last pull, or the upstream's word on that
    /// reader: `sync::fresh`); 0 = no limit.
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
