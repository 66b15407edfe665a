//! Device events into iced: the runner's `std::sync::mpsc` receiver is
//! drained on a plain thread (it blocks) and forwarded into an async
//! stream the app subscribes to. Never interprets an event.

use crate::devices::events::DeviceEvent;
use iced::futures::{SinkExt, Stream};
use std::hash::{Hash, Hasher};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

/// The receiver, handed over once to the subscription's stream.
#[derive(Clone)]
pub struct Feed(Arc<Mutex<Option<Receiver<DeviceEvent>>>>);

impl Feed {
    pub fn new(rx: Receiver<DeviceEvent>) -> Feed {
        Feed(Arc::new(Mutex::new(Some(rx))))
    }
}

// One device feed per kiosk: the subscription's identity is constant, so
// iced keeps the same stream running across updates.
impl Hash for Feed {
    fn hash<H: Hasher>(&self, state: &mut H) {
        "kiosk-device-feed".hash(state);
    }
}

/// The stream of device events (empty if the receiver was taken already).
pub fn stream(feed: &Feed) -> impl Stream<Item = DeviceEvent> + use<> {
    let rx = feed.0.lock().ok().and_then(|mut g| g.take());
    iced::stream::channel(64, async move |mut out| {
        let Some(rx) = rx else { return };
        let (tx, mut arx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for e in rx {
                if tx.send(e).is_err() {
                    return;
                }
            }
        });
        while let Some(e) = arx.recv().await {
            if out.send(e).await.is_err() {
                return;
            }
        }
    })
}
