//! `[[devices]]`: one table per attached (or simulated) device. Its `kind`
//! says which keys the rest of the table may have: each kind is a struct
//! of its own keys, so a key of another kind (a `baud` on a keyboard
//! wedge, a `protocol` on a scanner) is an error naming its line, and the
//! RFID and printer protocols are enums, not strings matched twice.
//!
//! The tables are read here rather than by serde's internally tagged
//! enums, which buffer the table and so lose the key an error is about.
//!
//! May use: no other room; in this room, `de`, `location` and `error`.

use super::de::{either, int_in};
use super::error::{found_text, serde_issue, Issue};
use super::location::{from_serde_path, path_text, KeyPath, Seg};
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

/// What a `[[devices]]` entry drives: its `kind`.
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

impl DeviceKind {
    pub const ALL: [DeviceKind; 6] = [
        DeviceKind::BarcodeSerial,
        DeviceKind::BarcodeWedge,
        DeviceKind::BarcodeHidpos,
        DeviceKind::Rfid,
        DeviceKind::Printer,
        DeviceKind::Mifare,
    ];

    /// As written after `kind =`.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::BarcodeSerial => "barcode-serial",
            DeviceKind::BarcodeWedge => "barcode-wedge",
            DeviceKind::BarcodeHidpos => "barcode-hidpos",
            DeviceKind::Rfid => "rfid",
            DeviceKind::Printer => "printer",
            DeviceKind::Mifare => "mifare",
        }
    }

    /// The keys this kind takes besides `id`, `kind` and `required`.
    fn keys(self) -> &'static [&'static str] {
        match self {
            DeviceKind::BarcodeSerial => SerialScannerSection::KEYS,
            DeviceKind::BarcodeWedge => WedgeSection::KEYS,
            DeviceKind::BarcodeHidpos => HidposSection::KEYS,
            DeviceKind::Rfid => RfidSection::KEYS,
            DeviceKind::Printer => PrinterSection::KEYS,
            DeviceKind::Mifare => MifareSection::KEYS,
        }
    }
}

/// The keys every device has.
const COMMON_KEYS: &[&str] = &["id", "kind", "required"];

/// One `[[devices]]` entry: what every device has, and its kind's own keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSection {
    /// Unique among the devices; names it in logs, events and statuses.
    pub id: String,
    /// The kiosk goes out of service while a required device is down.
    pub required: bool,
    #[serde(flatten)]
    pub device: Device,
}

/// A device's own keys, by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Device {
    BarcodeSerial(SerialScannerSection),
    BarcodeWedge(WedgeSection),
    BarcodeHidpos(HidposSection),
    Rfid(RfidSection),
    Printer(PrinterSection),
    Mifare(MifareSection),
}

impl Device {
    pub fn kind(&self) -> DeviceKind {
        match self {
            Device::BarcodeSerial(_) => DeviceKind::BarcodeSerial,
            Device::BarcodeWedge(_) => DeviceKind::BarcodeWedge,
            Device::BarcodeHidpos(_) => DeviceKind::BarcodeHidpos,
            Device::Rfid(_) => DeviceKind::Rfid,
            Device::Printer(_) => DeviceKind::Printer,
            Device::Mifare(_) => DeviceKind::Mifare,
        }
    }
}

/// A device of this kind with every key at its default.
impl From<DeviceKind> for Device {
    fn from(kind: DeviceKind) -> Device {
        match kind {
            DeviceKind::BarcodeSerial => Device::BarcodeSerial(Default::default()),
            DeviceKind::BarcodeWedge => Device::BarcodeWedge(Default::default()),
            DeviceKind::BarcodeHidpos => Device::BarcodeHidpos(Default::default()),
            DeviceKind::Rfid => Device::Rfid(Default::default()),
            DeviceKind::Printer => Device::Printer(Default::default()),
            DeviceKind::Mifare => Device::Mifare(Default::default()),
        }
    }
}

macro_rules! device_from {
    ($($section:ident => $variant:ident),*) => {$(
        impl From<$section> for Device {
            fn from(section: $section) -> Device {
                Device::$variant(section)
            }
        }
    )*};
}

device_from!(
    SerialScannerSection => BarcodeSerial,
    WedgeSection => BarcodeWedge,
    HidposSection => BarcodeHidpos,
    RfidSection => Rfid,
    PrinterSection => Printer,
    MifareSection => Mifare
);

impl DeviceSection {
    /// A required device: `device` is a kind (every key at its default) or
    /// a kind's section.
    pub fn new(id: impl Into<String>, device: impl Into<Device>) -> Self {
        DeviceSection {
            id: id.into(),
            required: true,
            device: device.into(),
        }
    }

    pub fn kind(&self) -> DeviceKind {
        self.device.kind()
    }

    /// The port or device path; "" for a kind that has none (HID-POS).
    pub fn port(&self) -> &str {
        match &self.device {
            Device::BarcodeSerial(d) => &d.port,
            Device::BarcodeWedge(d) => &d.port,
            Device::BarcodeHidpos(_) => "",
            Device::Rfid(d) => &d.port,
            Device::Printer(d) => &d.port,
            Device::Mifare(d) => &d.port,
        }
    }

    /// Whether the built-in simulator stands in for the hardware (only RFID
    /// readers and printers have one).
    pub fn simulated(&self) -> bool {
        match &self.device {
            Device::Rfid(d) => d.simulated,
            Device::Printer(d) => d.simulated,
            _ => false,
        }
    }

    pub fn rfid(&self) -> Option<&RfidSection> {
        match &self.device {
            Device::Rfid(d) => Some(d),
            _ => None,
        }
    }

    pub fn printer(&self) -> Option<&PrinterSection> {
        match &self.device {
            Device::Printer(d) => Some(d),
            _ => None,
        }
    }

    pub fn wedge(&self) -> Option<&WedgeSection> {
        match &self.device {
            Device::BarcodeWedge(d) => Some(d),
            _ => None,
        }
    }
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

/// How a serial port is opened: the keys `baud`, `parity`, `data_bits` and
/// `stop_bits` of the kinds on a serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SerialLine {
    pub baud: u32,
    pub parity: Parity,
    pub data_bits: u8,
    pub stop_bits: u8,
}

/// `kind = "barcode-serial"`: a scanner on a serial port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SerialScannerSection {
    pub port: String,
    #[serde(deserialize_with = "int_in::<_, _, 1, 4294967295>")]
    pub baud: u32,
    pub parity: Parity,
    #[serde(deserialize_with = "either::<_, 7, 8>")]
    pub data_bits: u8,
    #[serde(deserialize_with = "either::<_, 1, 2>")]
    pub stop_bits: u8,
    /// Text the scanner sends before each code.
    pub prefix: String,
    /// Text the scanner sends after each code.
    pub suffix: String,
}

impl SerialScannerSection {
    const KEYS: &'static [&'static str] = &[
        "port",
        "baud",
        "parity",
        "data_bits",
        "stop_bits",
        "prefix",
        "suffix",
    ];

    pub fn line(&self) -> SerialLine {
        SerialLine {
            baud: self.baud,
            parity: self.parity,
            data_bits: self.data_bits,
            stop_bits: self.stop_bits,
        }
    }
}

impl Default for SerialScannerSection {
    fn default() -> Self {
        SerialScannerSection {
            port: String::new(),
            baud: 9600,
            parity: Parity::None,
            data_bits: 8,
            stop_bits: 1,
            prefix: String::new(),
            suffix: "\r".into(),
        }
    }
}

/// `kind = "barcode-wedge"`: a scanner that types like a keyboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WedgeSection {
    /// With `grab`: the evdev device to grab.
    pub port: String,
    /// Keys at most this many ms apart are one scan.
    #[serde(deserialize_with = "int_in::<_, _, 1, 1000>")]
    pub burst_gap_ms: u32,
    /// A burst shorter than this is typing, not a scan.
    #[serde(deserialize_with = "int_in::<_, _, 1, 64>")]
    pub min_length: u32,
    /// On Linux: grab `port` so the scanner's keys reach no other window.
    pub grab: bool,
}

impl WedgeSection {
    const KEYS: &'static [&'static str] = &["port", "burst_gap_ms", "min_length", "grab"];
}

impl Default for WedgeSection {
    fn default() -> Self {
        WedgeSection {
            port: String::new(),
            burst_gap_ms: 40,
            min_length: 4,
            grab: false,
        }
    }
}

/// `kind = "barcode-hidpos"`: a USB HID point-of-sale scanner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HidposSection {
    /// USB vendor and product id.
    #[serde(deserialize_with = "int_in::<_, _, 0, 65535>")]
    pub vid: u16,
    #[serde(deserialize_with = "int_in::<_, _, 0, 65535>")]
    pub pid: u16,
    /// Report layout: report id (0 = none), index of the length byte
    /// (-1 = none), index of the first data byte.
    #[serde(deserialize_with = "int_in::<_, _, 0, 255>")]
    pub report_id: u8,
    #[serde(deserialize_with = "int_in::<_, _, -1, 255>")]
    pub length_index: i16,
    #[serde(deserialize_with = "int_in::<_, _, 0, 255>")]
    pub data_offset: u8,
}

impl HidposSection {
    const KEYS: &'static [&'static str] =
        &["vid", "pid", "report_id", "length_index", "data_offset"];
}

impl Default for HidposSection {
    fn default() -> Self {
        HidposSection {
            vid: 0,
            pid: 0,
            report_id: 0,
            length_index: 1,
            data_offset: 2,
        }
    }
}

/// The language an RFID reader speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RfidProtocol {
    /// 3M 810 and compatible pads.
    #[serde(rename = "3m810")]
    M3_810,
    /// FEIG ISC readers.
    #[serde(rename = "feig")]
    Feig,
}

impl RfidProtocol {
    /// As written after `protocol =`.
    pub fn name(self) -> &'static str {
        match self {
            RfidProtocol::M3_810 => "3m810",
            RfidProtocol::Feig => "feig",
        }
    }
}

/// `kind = "rfid"`: an RFID pad on a serial port, or its simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RfidSection {
    pub port: String,
    /// Required in the file; 3m810 only for a section built in code.
    pub protocol: RfidProtocol,
    #[serde(deserialize_with = "int_in::<_, _, 1, 4294967295>")]
    pub baud: u32,
    pub parity: Parity,
    #[serde(deserialize_with = "either::<_, 7, 8>")]
    pub data_bits: u8,
    #[serde(deserialize_with = "either::<_, 1, 2>")]
    pub stop_bits: u8,
    pub simulated: bool,
    /// Simulator tag file, as written (not resolved against the config dir).
    pub tags: String,
    #[serde(deserialize_with = "int_in::<_, _, 0, 255>")]
    pub afi_in_library: u8,
    #[serde(deserialize_with = "int_in::<_, _, 0, 255>")]
    pub afi_on_loan: u8,
    /// Attempts at writing the AFI before the reader is sent to staff.
    #[serde(deserialize_with = "int_in::<_, _, 1, 10>")]
    pub afi_retries: u32,
    /// Milliseconds between inventories while the kiosk waits for items.
    #[serde(deserialize_with = "int_in::<_, _, 20, 5000>")]
    pub poll_ms: u32,
    /// Milliseconds to wait for the reader's answer.
    #[serde(deserialize_with = "int_in::<_, _, 10, 10000>")]
    pub timeout_ms: u32,
}

impl RfidSection {
    const KEYS: &'static [&'static str] = &[
        "port",
        "protocol",
        "baud",
        "parity",
        "data_bits",
        "stop_bits",
        "simulated",
        "tags",
        "afi_in_library",
        "afi_on_loan",
        "afi_retries",
        "poll_ms",
        "timeout_ms",
    ];

    pub fn line(&self) -> SerialLine {
        SerialLine {
            baud: self.baud,
            parity: self.parity,
            data_bits: self.data_bits,
            stop_bits: self.stop_bits,
        }
    }

    /// The AFI this reader writes on a tag lent (`on_loan`) or returned.
    pub fn afi(&self, on_loan: bool) -> u8 {
        if on_loan {
            self.afi_on_loan
        } else {
            self.afi_in_library
        }
    }
}

impl Default for RfidSection {
    fn default() -> Self {
        RfidSection {
            port: String::new(),
            protocol: RfidProtocol::M3_810,
            baud: 9600,
            parity: Parity::None,
            data_bits: 8,
            stop_bits: 1,
            simulated: false,
            tags: String::new(),
            afi_in_library: 0x07,
            afi_on_loan: 0xC2,
            afi_retries: 3,
            poll_ms: 250,
            timeout_ms: 300,
        }
    }
}

/// The language a receipt printer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PrinterProtocol {
    /// The only one, so `protocol = ""` (or none) means it.
    #[default]
    #[serde(rename = "escpos")]
    Escpos,
}

/// `kind = "printer"`: a receipt printer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterSection {
    /// A serial port, "tcp://HOST:9100" or a file path.
    pub port: String,
    pub protocol: PrinterProtocol,
    /// Speed of a serial port.
    #[serde(deserialize_with = "int_in::<_, _, 1, 4294967295>")]
    pub baud: u32,
    /// Receipts go to the log.
    pub simulated: bool,
    /// Characters per line (32 on 58 mm paper, 48 on 80 mm).
    #[serde(deserialize_with = "int_in::<_, _, 16, 80>")]
    pub width: u32,
}

impl PrinterSection {
    const KEYS: &'static [&'static str] = &["port", "protocol", "baud", "simulated", "width"];
}

impl Default for PrinterSection {
    fn default() -> Self {
        PrinterSection {
            port: String::new(),
            protocol: PrinterProtocol::Escpos,
            baud: 9600,
            simulated: false,
            width: 32,
        }
    }
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

/// `kind = "mifare"`: a MIFARE patron-card reader (MFRC522 over SPI).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MifareSection {
    /// The SPI device, e.g. "/dev/spidev0.0".
    pub port: String,
    pub card_map: CardMap,
    /// Text put before the mapped UID.
    pub card_prefix: String,
}

impl MifareSection {
    const KEYS: &'static [&'static str] = &["port", "card_map", "card_prefix"];
}

// ---------------------------------------------------------------------------
// Reading the tables

/// For anything deserializing a `Config` as a whole; `Config::parse` reads
/// the entries with `read_all` to name the key at fault.
impl<'de> Deserialize<'de> for DeviceSection {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let entry = toml::Value::deserialize(d)?;
        read_entry(&entry).map_err(|issue| {
            serde::de::Error::custom(format!("{}: {}", path_text(&issue.key), issue.message))
        })
    }
}

/// Every `[[devices]]` entry of the raw file, or the first problem, with
/// its key path from the top of the file.
pub(super) fn read_all(raw: &toml::Value) -> Result<Vec<DeviceSection>, Issue> {
    let entries = raw.get("devices").and_then(toml::Value::as_array);
    let entries = entries.map_or(&[][..], Vec::as_slice);
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            read_entry(entry)
                .map_err(|issue| issue.under(&[Seg::Key("devices".into()), Seg::Index(i)]))
        })
        .collect()
}

/// One entry: `kind` first, then only that kind's keys. Key paths in the
/// issue are relative to the entry.
fn read_entry(entry: &toml::Value) -> Result<DeviceSection, Issue> {
    let key = |k: &str| vec![Seg::Key(k.to_string())];
    let Some(table) = entry.as_table() else {
        return Err(Issue::new(
            Vec::new(),
            format!("expected a table, found {}", found_text(&[], entry)),
        ));
    };
    let kind = match table.get("kind") {
        None => return Err(Issue::new(key("kind"), "missing required key")),
        Some(v) => DeviceKind::deserialize(v.clone())
            .map_err(|e| serde_issue(key("kind"), e.message(), entry))?,
    };
    let own = kind.keys();
    if let Some(k) = table
        .keys()
        .find(|k| !COMMON_KEYS.contains(&k.as_str()) && !own.contains(&k.as_str()))
    {
        return Err(Issue::new(key(k), not_a_key_of(k, kind)));
    }
    let (mut common, mut own_keys) = (toml::Table::new(), toml::Table::new());
    for (k, v) in table {
        match k.as_str() {
            "kind" => {}
            "id" | "required" => {
                common.insert(k.clone(), v.clone());
            }
            _ => {
                own_keys.insert(k.clone(), v.clone());
            }
        }
    }
    // The printer's only protocol may be left empty.
    if kind == DeviceKind::Printer && own_keys.get("protocol").and_then(|p| p.as_str()) == Some("")
    {
        own_keys.remove("protocol");
    }
    let common: Common = typed(common, entry)?;
    let device = match kind {
        DeviceKind::BarcodeSerial => Device::BarcodeSerial(typed(own_keys, entry)?),
        DeviceKind::BarcodeWedge => Device::BarcodeWedge(typed(own_keys, entry)?),
        DeviceKind::BarcodeHidpos => Device::BarcodeHidpos(typed(own_keys, entry)?),
        DeviceKind::Rfid => Device::Rfid(typed(own_keys, entry)?),
        DeviceKind::Printer => Device::Printer(typed(own_keys, entry)?),
        DeviceKind::Mifare => Device::Mifare(typed(own_keys, entry)?),
    };
    // An RFID reader has no default protocol (its section's Default is for
    // code); checked after the values, as the other checks across keys are.
    if kind == DeviceKind::Rfid && !table.contains_key("protocol") {
        return Err(
            Issue::new(key("protocol"), "expected one of: 3m810, feig, found \"\"")
                .anchored_at(key("kind")),
        );
    }
    Ok(DeviceSection {
        id: common.id,
        required: common.required,
        device,
    })
}

/// `id` and `required`, read apart from the kind's keys.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    id: String,
    #[serde(default = "required_by_default")]
    required: bool,
}

fn required_by_default() -> bool {
    true
}

/// Some of an entry's keys as `T`; `entry` is where "found ..." looks.
fn typed<T: DeserializeOwned>(keys: toml::Table, entry: &toml::Value) -> Result<T, Issue> {
    serde_path_to_error::deserialize(toml::Value::Table(keys)).map_err(|e| {
        let path: KeyPath = from_serde_path(e.path());
        serde_issue(path, e.inner().message(), entry)
    })
}

/// Why `key` is refused on a device of `kind`: another kind's key, or no
/// device's at all.
fn not_a_key_of(key: &str, kind: DeviceKind) -> String {
    let takes: Vec<&str> = COMMON_KEYS.iter().chain(kind.keys()).copied().collect();
    let owners: Vec<&str> = DeviceKind::ALL
        .iter()
        .filter(|k| k.keys().contains(&key))
        .map(|k| k.name())
        .collect();
    if owners.is_empty() {
        format!("unknown key (expected one of: {})", takes.join(", "))
    } else {
        format!(
            "unknown key for kind = {:?}: {key} is a key of {} (expected one of: {})",
            kind.name(),
            owners.join(", "),
            takes.join(", ")
        )
    }
}

/// Every key any kind takes, with its default: the type an environment
/// override of `devices[n].KEY` is read as.
pub(super) fn template() -> toml::Value {
    let mut all = toml::Table::new();
    for kind in DeviceKind::ALL {
        let device = toml::Value::try_from(DeviceSection::new("template", kind))
            .expect("a device section serializes to TOML");
        for (k, v) in device.as_table().into_iter().flatten() {
            all.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    toml::Value::Table(all)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn unknown_key_in_devices() {
        let text = "[[devices]]\nid = \"a\"\nkind = \"mifare\"\n[[devices]]\nid = \"b\"\nkind = \"mifare\"\nbaudrate = 1\n";
        assert_at(&err(text), 7, "devices[1].baudrate", "unknown key");
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
        // Parity, stop bits and suffix belong to a serial scanner (the
        // printer this used to be written on never read them).
        let c = parse(
            "[[devices]]\nid = \"p\"\nkind = \"barcode-serial\"\nparity = \"even\"\nstop_bits = 2\n",
        );
        let Device::BarcodeSerial(s) = &c.devices[0].device else {
            panic!("{:?}", c.devices[0]);
        };
        assert_eq!(
            (s.parity, s.stop_bits, s.suffix.as_str()),
            (Parity::Even, 2, "\r")
        );
    }

    #[test]
    fn a_key_of_another_kind_is_an_error_at_its_line() {
        // A keyboard wedge has no serial line.
        let e = err("[[devices]]\nid = \"w\"\nkind = \"barcode-wedge\"\n\nbaud = 9600\n");
        assert_at(
            &e,
            5,
            "devices[0].baud",
            "unknown key for kind = \"barcode-wedge\": baud is a key of barcode-serial, rfid, printer",
        );
        assert!(
            e.to_string().ends_with(
                "(expected one of: id, kind, required, port, burst_gap_ms, min_length, grab)"
            ),
            "{e}"
        );
        // A serial scanner speaks no protocol the kiosk could choose.
        assert_at(
            &err("[[devices]]\nkind = \"barcode-serial\"\nid = \"s\"\nprotocol = \"3m810\"\n"),
            4,
            "devices[0].protocol",
            "protocol is a key of rfid, printer",
        );
        // The old sample's wedge carried a serial scanner's keys.
        assert_at(
            &err("[[devices]]\nid = \"w\"\nkind = \"barcode-wedge\"\nsimulated = false\n"),
            4,
            "devices[0].simulated",
            "simulated is a key of rfid, printer",
        );
        // A printer takes the speed of its port, nothing else of the line.
        assert_at(
            &err("[[devices]]\nid = \"p\"\nkind = \"printer\"\nbaud = 19200\ndata_bits = 7\n"),
            5,
            "devices[0].data_bits",
            "for kind = \"printer\"",
        );
        // A HID-POS scanner is found by its USB ids, not a port.
        assert_at(
            &err("[[devices]]\nid = \"h\"\nkind = \"barcode-hidpos\"\nport = \"/dev/hidraw0\"\n"),
            4,
            "devices[0].port",
            "port is a key of",
        );
        // Inline tables are located too.
        assert_at(
            &err("devices = [\n  { id = \"m\", kind = \"mifare\" },\n  { id = \"n\", kind = \"mifare\", width = 48 },\n]\n"),
            3,
            "devices[1].width",
            "width is a key of printer",
        );
    }

    #[test]
    fn an_override_of_another_kinds_key_names_the_variable() {
        let text = "[[devices]]\nid = \"w\"\nkind = \"barcode-wedge\"\n";
        let e = env_err(text, &[("KIOSK__DEVICES__0__BAUD", "9600")]);
        assert_eq!(e.env_var(), Some("KIOSK__DEVICES__0__BAUD"));
        assert_eq!(e.key(), Some("devices[0].baud"));
        assert!(
            e.to_string().starts_with(
                "environment KIOSK__DEVICES__0__BAUD: unknown key for kind = \"barcode-wedge\""
            ),
            "{e}"
        );
        // Keys of any kind are typed by their own kind's template.
        let text = "[[devices]]\nid = \"p\"\nkind = \"printer\"\n[[devices]]\nid = \"h\"\nkind = \"barcode-hidpos\"\n";
        let c = parse_with(
            text,
            &[
                ("KIOSK__DEVICES__0__WIDTH", "48"),
                ("KIOSK__DEVICES__1__LENGTH_INDEX", "-1"),
            ],
        )
        .unwrap();
        assert_eq!(c.devices[0].printer().map(|p| p.width), Some(48));
        let Device::BarcodeHidpos(h) = &c.devices[1].device else {
            panic!("{:?}", c.devices[1]);
        };
        assert_eq!(h.length_index, -1);
        let e = env_err(text, &[("KIOSK__DEVICES__0__WIDTH", "wide")]);
        assert_eq!(
            e.to_string(),
            "environment KIOSK__DEVICES__0__WIDTH: expected an integer from 16 to 80, found \"wide\""
        );
    }

    #[test]
    fn protocols_are_enums() {
        let c = parse(
            "[[devices]]\nid = \"r\"\nkind = \"rfid\"\nprotocol = \"feig\"\n\
             [[devices]]\nid = \"p\"\nkind = \"printer\"\nprotocol = \"\"\n\
             [[devices]]\nid = \"q\"\nkind = \"printer\"\n",
        );
        assert_eq!(
            c.devices[0].rfid().map(|r| r.protocol),
            Some(RfidProtocol::Feig)
        );
        for printer in &c.devices[1..] {
            assert_eq!(
                printer.printer().map(|p| p.protocol),
                Some(PrinterProtocol::Escpos)
            );
        }
        assert_at(
            &err("[[devices]]\nid = \"r\"\nkind = \"rfid\"\nprotocol = \"3M810\"\n"),
            4,
            "devices[0].protocol",
            "expected one of: 3m810, feig, found \"3M810\"",
        );
        assert_at(
            &err("[[devices]]\nid = \"r\"\nkind = \"scanner\"\n"),
            3,
            "devices[0].kind",
            "expected one of: barcode-serial, barcode-wedge, barcode-hidpos, rfid, printer, mifare, found \"scanner\"",
        );
        assert_at(
            &err("devices = [5]\n"),
            1,
            "devices[0]",
            "expected a table, found 5",
        );
    }

    #[test]
    fn every_kind_lists_exactly_its_keys() {
        for kind in DeviceKind::ALL {
            let written = toml::Value::try_from(DeviceSection::new("x", kind)).unwrap();
            let mut written: Vec<&str> = written
                .as_table()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut listed: Vec<&str> = COMMON_KEYS.iter().chain(kind.keys()).copied().collect();
            written.sort_unstable();
            listed.sort_unstable();
            assert_eq!(written, listed, "{kind:?}");
        }
    }

    #[test]
    fn devices_written_back_read_the_same() {
        let c = Config::parse(SAMPLE, Path::new("kiosk.toml"), Vec::new()).unwrap();
        let mut all = c.clone();
        all.devices = DeviceKind::ALL
            .iter()
            .map(|&k| DeviceSection::new(k.name(), k))
            .chain(c.devices.iter().map(|d| DeviceSection {
                id: format!("sample-{}", d.id),
                ..d.clone()
            }))
            .collect();
        let text = toml::to_string(&all).unwrap();
        let back = Config::parse(&text, Path::new("kiosk.toml"), Vec::new())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back.devices, all.devices);
        // Outside Config::parse, an entry is still read by its kind.
        let e = toml::from_str::<DeviceSection>("id = \"a\"\nkind = \"barcode-wedge\"\nbaud = 1\n")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("baud: unknown key for kind = \"barcode-wedge\""),
            "{e}"
        );
    }
}
