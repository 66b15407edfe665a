//! Linux keyboard-wedge scanners read below the GUI: the scanner's
//! `/dev/input/event*` device is opened and grabbed (EVIOCGRAB), so its
//! keystrokes reach only the kiosk and never type into whatever window has
//! focus. Decoding is [`EvdevKeys`]; this file only touches the device.
//! The grab ends when the device is dropped (the kernel releases it when
//! the file closes), also if the kiosk crashes.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{EvdevKeys, KeyStats, Noise, ScannerError, DEFAULT_IDLE_GAP};

/// An input device that types, as `kiosk doctor` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputDeviceInfo {
    pub path: PathBuf,
    pub name: String,
    pub vendor: u16,
    pub product: u16,
}

/// Input devices with Enter and digit keys: keyboards, and the scanners
/// that pretend to be one. Devices the kiosk user cannot open are left out.
pub fn list_keyboards() -> Vec<InputDeviceInfo> {
    use ::evdev::KeyCode;
    let mut list: Vec<InputDeviceInfo> = ::evdev::enumerate()
        .filter(|(_, device)| {
            device.supported_keys().is_some_and(|keys| {
                keys.contains(KeyCode::KEY_ENTER) && keys.contains(KeyCode::KEY_0)
            })
        })
        .map(|(path, device)| InputDeviceInfo {
            path,
            name: device.name().unwrap_or("").to_string(),
            vendor: device.input_id().vendor(),
            product: device.input_id().product(),
        })
        .collect();
    list.sort_by(|a, b| a.path.cmp(&b.path));
    list
}

/// How long [`GrabbedScanner::next_codes`] waits for keys, and how often
/// it looks in the meantime.
const WAIT: Duration = Duration::from_millis(50);
const LOOK_EVERY: Duration = Duration::from_millis(10);

/// Opens the input device at `path`, grabs it for the kiosk alone and makes
/// it non-blocking.
pub fn open_grabbed(path: impl AsRef<Path>) -> Result<GrabbedScanner, ScannerError> {
    let path = path.as_ref();
    let input_error = |source| ScannerError::Input {
        path: path.to_path_buf(),
        source,
    };
    let mut device = ::evdev::Device::open(path).map_err(input_error)?;
    device.set_nonblocking(true).map_err(input_error)?;
    device.grab().map_err(|source| ScannerError::Grab {
        path: path.to_path_buf(),
        source,
    })?;
    tracing::info!(device = %path.display(), name = device.name().unwrap_or(""), "scanner grabbed");
    Ok(GrabbedScanner {
        device,
        keys: EvdevKeys::new(),
        path: path.to_path_buf(),
        last_event: None,
    })
}

/// A grabbed keyboard-wedge scanner.
pub struct GrabbedScanner {
    device: ::evdev::Device,
    keys: EvdevKeys,
    path: PathBuf,
    /// When the last key event arrived, while a code may be unfinished.
    last_event: Option<Instant>,
}

impl GrabbedScanner {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn name(&self) -> Option<&str> {
        self.device.name()
    }

    pub fn stats(&self) -> KeyStats {
        self.keys.stats()
    }

    /// Waits up to about 50 ms for key events and returns the codes they
    /// completed (often none), so a reader thread can check between calls
    /// whether it should stop. A partial code quiet for
    /// [`DEFAULT_IDLE_GAP`] is dropped as noise.
    pub fn next_codes(&mut self) -> io::Result<Vec<String>> {
        let until = Instant::now() + WAIT;
        loop {
            let (codes, events) = self.fetch()?;
            let now = Instant::now();
            if events > 0 {
                self.last_event = Some(now);
                return Ok(codes);
            }
            let quiet = self
                .last_event
                .is_some_and(|t| now.saturating_duration_since(t) >= DEFAULT_IDLE_GAP);
            if quiet {
                self.last_event = None;
                if let Some(noise) = self.keys.idle() {
                    tracing::debug!(device = %self.path.display(), noise = noise.code(), %noise, "scanner noise");
                }
            }
            if now >= until {
                return Ok(codes);
            }
            std::thread::sleep(LOOK_EVERY);
        }
    }

    /// Reads the key events waiting now, without waiting, and returns the
    /// codes they completed.
    pub fn read(&mut self) -> io::Result<Vec<String>> {
        let (codes, events) = self.fetch()?;
        if events > 0 {
            self.last_event = Some(Instant::now());
        }
        Ok(codes)
    }

    /// Drops a partial code (after a quiet gap the caller measured).
    pub fn idle(&mut self) -> Option<Noise> {
        self.last_event = None;
        self.keys.idle()
    }

    /// The codes completed by the waiting events, and how many events.
    fn fetch(&mut self) -> io::Result<(Vec<String>, usize)> {
        let events = match self.device.fetch_events() {
            Ok(events) => events,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((Vec::new(), 0)),
            Err(e) => return Err(e),
        };
        let mut codes = Vec::new();
        let mut count = 0;
        for event in events {
            count += 1;
            if let Some(code) = self
                .keys
                .feed(event.event_type().0, event.code(), event.value())
            {
                codes.push(code);
            }
        }
        Ok((codes, count))
    }
}
