//! The one stream every device turns into: typed events, each with the
//! device it came from and when. The GUI subscribes to this stream; it
//! never sees bytes, ports or protocols.

use super::rfid::{uid_hex, Uid};
use super::tag::TagData;
use chrono::{DateTime, Local};
use serde::{Serialize, Serializer};

/// A tag in the reader's field, read and decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tag {
    #[serde(serialize_with = "ser_uid")]
    pub uid: Uid,
    /// The AFI as read, when the reader could read it.
    #[serde(serialize_with = "ser_afi")]
    pub afi: Option<u8>,
    pub data: TagData,
}

impl Tag {
    /// The item barcode the tag carries, if it decoded to one.
    pub fn item_id(&self) -> Option<&str> {
        self.data.item_id.as_deref()
    }
}

fn ser_uid<S: Serializer>(uid: &Uid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&uid_hex(uid))
}

fn ser_afi<S: Serializer>(afi: &Option<u8>, s: S) -> Result<S::Ok, S::Error> {
    match afi {
        Some(a) => s.serialize_str(&format!("{a:02X}")),
        None => s.serialize_none(),
    }
}

/// Whether a device can be used right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Working; `info` says what answered (e.g. the reader's version).
    Up { info: String },
    /// Gone or not answering; the kiosk keeps trying to reopen it.
    Down { reason: String },
    /// Answering, but something needs a person (paper out, AFI write failed).
    Error { reason: String },
}

/// What a status means, as a stable code the screens translate (ui.ftl
/// `device-status-<code>`); the status's own text stays for the log and
/// the command-line tools. Every status the device runner reports has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// A keyboard-wedge scanner types into the kiosk's window.
    WedgeInWindow,
    /// The RFID reader answered its probe.
    ReaderAnswering,
    /// A reader that had stopped answering answers again.
    AnsweringAgain,
    /// A serial or HID-POS scanner is open.
    ScannerReady,
    /// A keyboard-wedge scanner is held by the kiosk alone (evdev grab).
    WedgeGrabbed,
    PrinterReady,
    /// The simulated printer (receipts go to the log).
    PrinterSimulated,
    PaperLow,
    Printed,
    /// The MIFARE card reader answered.
    CardReaderReady,
    /// The port or device could not be opened (unplugged, permissions).
    CannotOpen,
    /// Open, but not answering.
    NotAnswering,
    /// It went away while in use.
    Disconnected,
    /// This build or system cannot drive it.
    NotBuiltIn,
    PaperOut,
    PrintFailed,
    /// The printer's paper state could not be read.
    PrinterUnreachable,
}

impl StatusCode {
    /// Every code, for the translation tests.
    pub const ALL: [StatusCode; 17] = [
        StatusCode::WedgeInWindow,
        StatusCode::ReaderAnswering,
        StatusCode::AnsweringAgain,
        StatusCode::ScannerReady,
        StatusCode::WedgeGrabbed,
        StatusCode::PrinterReady,
        StatusCode::PrinterSimulated,
        StatusCode::PaperLow,
        StatusCode::Printed,
        StatusCode::CardReaderReady,
        StatusCode::CannotOpen,
        StatusCode::NotAnswering,
        StatusCode::Disconnected,
        StatusCode::NotBuiltIn,
        StatusCode::PaperOut,
        StatusCode::PrintFailed,
        StatusCode::PrinterUnreachable,
    ];

    /// The Fluent message id of its text.
    pub fn message_id(self) -> &'static str {
        match self {
            StatusCode::WedgeInWindow => "device-status-wedge-in-window",
            StatusCode::ReaderAnswering => "device-status-reader-answering",
            StatusCode::AnsweringAgain => "device-status-answering-again",
            StatusCode::ScannerReady => "device-status-scanner-ready",
            StatusCode::WedgeGrabbed => "device-status-wedge-grabbed",
            StatusCode::PrinterReady => "device-status-printer-ready",
            StatusCode::PrinterSimulated => "device-status-printer-simulated",
            StatusCode::PaperLow => "device-status-paper-low",
            StatusCode::Printed => "device-status-printed",
            StatusCode::CardReaderReady => "device-status-card-reader-ready",
            StatusCode::CannotOpen => "device-status-cannot-open",
            StatusCode::NotAnswering => "device-status-not-answering",
            StatusCode::Disconnected => "device-status-disconnected",
            StatusCode::NotBuiltIn => "device-status-not-built-in",
            StatusCode::PaperOut => "device-status-paper-out",
            StatusCode::PrintFailed => "device-status-print-failed",
            StatusCode::PrinterUnreachable => "device-status-printer-unreachable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A code that the barcode rules take for a library card.
    CardScanned {
        code: String,
    },
    /// Any other code: an item barcode, ISBN, or something unknown (the
    /// store decides what it is; readers do scan the wrong thing).
    ItemScanned {
        code: String,
    },
    /// Every tag now in the field, sent whenever that set changes.
    TagsInField {
        tags: Vec<Tag>,
    },
    /// A tag was taken off the pad.
    TagLeft {
        #[serde(serialize_with = "ser_uid")]
        uid: Uid,
    },
    DeviceStatus {
        status: DeviceStatus,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceEvent {
    /// The `[[devices]] id` it came from.
    pub device: String,
    pub at: DateTime<Local>,
    #[serde(flatten)]
    pub kind: EventKind,
    /// A `DeviceStatus` event's code (None for other events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<StatusCode>,
}

impl DeviceEvent {
    pub fn now(device: &str, kind: EventKind) -> DeviceEvent {
        DeviceEvent {
            device: device.to_string(),
            at: Local::now(),
            kind,
            status_code: None,
        }
    }

    /// A status change, with its code for the screens.
    pub fn status(device: &str, code: StatusCode, status: DeviceStatus) -> DeviceEvent {
        DeviceEvent {
            status_code: Some(code),
            ..DeviceEvent::now(device, EventKind::DeviceStatus { status })
        }
    }
}
