//! `[[devices]]`: one table per attached (or simulated) device.
//!
//! May import: the value readers of `de`; nothing else of the crate.

use super::de::{either, int_in};
use serde::{Deserialize, Serialize};

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
}
