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
}

impl DeviceEvent {
    pub fn now(device: &str, kind: EventKind) -> DeviceEvent {
        DeviceEvent {
            device: device.to_string(),
            at: Local::now(),
            kind,
        }
    }
}
