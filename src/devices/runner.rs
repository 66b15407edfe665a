//! Runs every configured device on a thread of its own and merges what
//! they see into one channel of `DeviceEvent`s. A device that disappears is
//! reported down and reopened until it returns; the others carry on.
//!
//! Threads here only read devices and obey commands (write an AFI, print
//! a receipt); they never decide anything about loans.

use super::events::{DeviceEvent, DeviceStatus, EventKind, StatusCode, Tag};
use super::m3::{Reader3m, Sim3m};
use super::presence::PresenceTracker;
use super::rfid::{self, DeviceError, Field, RfidReader, SimPort, SimTag, Uid};
use super::{feig, printer, scanner, tag};
use crate::config::{
    Config, Device, DeviceKind, DeviceSection, HidposSection, MifareSection, Parity,
    PrinterSection, RfidProtocol, RfidSection, SerialLine, SerialScannerSection, WedgeSection,
};
use crate::domain::barcode::{self, BarcodeKind, BarcodeRules};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a device may fail to answer before it is reported down.
pub const DOWN_AFTER: Duration = Duration::from_millis(1500);
/// How often a missing device is looked for again.
pub const REOPEN_EVERY: Duration = Duration::from_millis(500);
/// How often a real printer's paper is checked.
pub const PAPER_CHECK_EVERY: Duration = Duration::from_secs(15);
/// Blocks read from each new tag: a 34-byte ISO 28560-3 basic block and
/// the 7 blocks of the 3M format both fit.
pub const TAG_BLOCKS: u8 = 9;

/// What the kiosk asks of a device thread.
pub enum Command {
    /// Write the AFI with the device's retries; replies with the attempts used.
    SetAfi {
        uid: Uid,
        afi: u8,
        reply: Sender<Result<u32, String>>,
    },
    /// Print ESC/POS bytes.
    Print {
        bytes: Vec<u8>,
        reply: Sender<Result<(), String>>,
    },
}

/// One running device, as the kiosk addresses it.
pub struct DeviceHandle {
    pub config: DeviceSection,
    commands: Option<Sender<Command>>,
    /// The pad of a simulated RFID reader: put tags on it and take them off.
    pub field: Option<Field>,
    /// Tags a simulated reader knows (from its tag file), not on the pad.
    pub demo_tags: Vec<SimTag>,
}

/// All devices of the kiosk.
pub struct Devices {
    handles: BTreeMap<String, DeviceHandle>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Devices {
    /// Starts a thread per device in `config` (barcode-wedge scanners
    /// without `grab` type into the GUI and need none). Their events arrive
    /// on the receiver.
    pub fn start(config: &Config) -> (Devices, Receiver<DeviceEvent>) {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let rules = crate::config::barcode_rules(config);
        let mut handles = BTreeMap::new();
        let mut threads = Vec::new();
        for d in &config.devices {
            let (ctx, crx) = mpsc::channel();
            let mut handle = DeviceHandle {
                config: d.clone(),
                commands: Some(ctx),
                field: None,
                demo_tags: Vec::new(),
            };
            let job = Job {
                config: d.clone(),
                events: tx.clone(),
                commands: crx,
                stop: stop.clone(),
                rules: rules.clone(),
            };
            let spawned = match &d.device {
                Device::Rfid(section) => {
                    let field = if section.simulated {
                        let field = Field::default();
                        match load_tags_file(Path::new(&section.tags)) {
                            Ok(tags) => handle.demo_tags = tags,
                            Err(e) if section.tags.is_empty() => {
                                tracing::debug!(device = %d.id, "no tag file: {e}")
                            }
                            Err(e) => tracing::warn!(device = %d.id, "{e}"),
                        }
                        handle.field = Some(field.clone());
                        Some(field)
                    } else {
                        None
                    };
                    let section = section.clone();
                    spawn(&d.id, move || rfid_thread(job, section, field))
                }
                Device::BarcodeSerial(section) => {
                    let section = section.clone();
                    spawn(&d.id, move || serial_scanner_thread(job, section))
                }
                Device::BarcodeHidpos(section) => {
                    let section = section.clone();
                    spawn(&d.id, move || hidpos_thread(job, section))
                }
                Device::BarcodeWedge(wedge) if wedge.grab => {
                    let wedge = wedge.clone();
                    spawn(&d.id, move || wedge_grab_thread(job, wedge))
                }
                Device::BarcodeWedge(_) => {
                    // Keys arrive in the GUI, which tells bursts from typing.
                    job.status(
                        StatusCode::WedgeInWindow,
                        DeviceStatus::Up {
                            info: "keyboard wedge (keys arrive in the window)".into(),
                        },
                    );
                    handle.commands = None;
                    None
                }
                Device::Printer(section) => {
                    let section = section.clone();
                    spawn(&d.id, move || printer_thread(job, section))
                }
                Device::Mifare(section) => {
                    let section = section.clone();
                    spawn(&d.id, move || mifare_thread(job, section))
                }
            };
            threads.extend(spawned);
            handles.insert(d.id.clone(), handle);
        }
        let devices = Devices {
            handles,
            stop,
            threads,
        };
        (devices, rx)
    }

    pub fn handle(&self, device: &str) -> Option<&DeviceHandle> {
        self.handles.get(device)
    }

    pub fn handles(&self) -> impl Iterator<Item = &DeviceHandle> {
        self.handles.values()
    }

    /// Sets a tag's security after a committed loan (`on_loan`) or return,
    /// on the reader that saw it, with that reader's AFI values and retries.
    /// Err is the reason to record and show staff.
    pub fn secure(&self, device: &str, uid: &Uid, on_loan: bool) -> Result<u32, String> {
        let h = self
            .handles
            .get(device)
            .ok_or_else(|| format!("no device {device:?}"))?;
        let rfid = h
            .config
            .rfid()
            .ok_or_else(|| format!("{device} is not an RFID reader"))?;
        let afi = if on_loan {
            rfid.afi_on_loan
        } else {
            rfid.afi_in_library
        };
        let (reply, answer) = mpsc::channel();
        self.send(
            device,
            Command::SetAfi {
                uid: *uid,
                afi,
                reply,
            },
        )?;
        let wait = Duration::from_millis(rfid.timeout_ms as u64) * (rfid.afi_retries * 3 + 2)
            + Duration::from_secs(1);
        answer
            .recv_timeout(wait)
            .map_err(|_| format!("{device}: no answer to the AFI write"))?
    }

    /// Prints on the first configured printer.
    pub fn print(&self, bytes: Vec<u8>) -> Result<(), String> {
        let printer = self
            .handles
            .values()
            .find(|h| h.config.kind() == DeviceKind::Printer)
            .ok_or("no printer configured")?;
        let (reply, answer) = mpsc::channel();
        self.send(&printer.config.id, Command::Print { bytes, reply })?;
        answer
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| "the printer did not answer".to_string())?
    }

    fn send(&self, device: &str, c: Command) -> Result<(), String> {
        self.handles
            .get(device)
            .and_then(|h| h.commands.as_ref())
            .ok_or_else(|| format!("{device} takes no commands"))?
            .send(c)
            .map_err(|_| format!("{device} has stopped"))
    }

    /// Stops every device thread and waits for them.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn spawn(id: &str, f: impl FnOnce() + Send + 'static) -> Option<JoinHandle<()>> {
    match std::thread::Builder::new()
        .name(format!("device-{id}"))
        .spawn(f)
    {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!(device = id, "cannot start its thread: {e}");
            None
        }
    }
}

/// What a device thread works with.
struct Job {
    config: DeviceSection,
    events: Sender<DeviceEvent>,
    commands: Receiver<Command>,
    stop: Arc<AtomicBool>,
    rules: BarcodeRules,
}

impl Job {
    fn emit(&self, kind: EventKind) {
        // The receiver gone means the kiosk is shutting down.
        let _ = self.events.send(DeviceEvent::now(&self.config.id, kind));
    }
    fn status(&self, code: StatusCode, status: DeviceStatus) {
        // The receiver gone means the kiosk is shutting down.
        let _ = self
            .events
            .send(DeviceEvent::status(&self.config.id, code, status));
    }
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
    /// Sleeps up to `d`, waking early when stopping.
    fn nap(&self, d: Duration) {
        let end = Instant::now() + d;
        while !self.stopped() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
    }
    /// A scanned code as a card or an item, by the library's barcode rules.
    fn scanned(&self, code: String) {
        let kind = match barcode::check(&code, &self.rules).kind {
            BarcodeKind::Patron => EventKind::CardScanned { code },
            _ => EventKind::ItemScanned { code },
        };
        self.emit(kind);
    }
}

/// Reports status changes only (not every retry).
struct Reported(Option<DeviceStatus>);

impl Reported {
    fn set(&mut self, job: &Job, code: StatusCode, s: DeviceStatus) {
        if self.0.as_ref() != Some(&s) {
            if let DeviceStatus::Down { reason } | DeviceStatus::Error { reason } = &s {
                tracing::warn!(device = %job.config.id, ?code, "{reason}");
            }
            job.status(code, s.clone());
            self.0 = Some(s);
        }
    }
}

/// Opens a serial port with the line settings of a device section.
pub fn open_serial(
    port: &str,
    line: SerialLine,
    timeout: Duration,
) -> Result<serialport::TTYPort, String> {
    let parity = match line.parity {
        Parity::None => serialport::Parity::None,
        Parity::Even => serialport::Parity::Even,
        Parity::Odd => serialport::Parity::Odd,
    };
    serialport::new(port, line.baud)
        .parity(parity)
        .data_bits(if line.data_bits == 7 {
            serialport::DataBits::Seven
        } else {
            serialport::DataBits::Eight
        })
        .stop_bits(if line.stop_bits == 2 {
            serialport::StopBits::Two
        } else {
            serialport::StopBits::One
        })
        .timeout(timeout)
        .open_native()
        .map_err(|e| format!("{port}: {e}"))
}

/// Opens the RFID reader a device section describes: on its serial port,
/// or on an in-process simulator holding `field`.
pub fn open_rfid(
    d: &RfidSection,
    field: Option<&Field>,
) -> Result<Box<dyn RfidReader + Send>, String> {
    let timeout = Duration::from_millis(d.timeout_ms as u64);
    // Reads wait in small steps; the driver owns the overall timeout.
    let port = || open_serial(&d.port, d.line(), Duration::from_millis(10));
    Ok(match (d.protocol, field) {
        (RfidProtocol::M3_810, Some(f)) => {
            Box::new(Reader3m::new(SimPort::new(Sim3m::new(f.clone())), timeout))
        }
        (RfidProtocol::Feig, Some(f)) => Box::new(feig::ReaderFeig::new(
            SimPort::new(feig::SimFeig::new(f.clone())),
            0xFF,
            timeout,
        )),
        (RfidProtocol::M3_810, None) => Box::new(Reader3m::new(port()?, timeout)),
        (RfidProtocol::Feig, None) => Box::new(feig::ReaderFeig::new(port()?, 0xFF, timeout)),
    })
}

/// Reads a new tag's data and AFI and decodes it.
pub fn read_tag(reader: &mut dyn RfidReader, uid: &Uid) -> Result<Tag, DeviceError> {
    let blocks = reader.read_blocks(uid, 0, TAG_BLOCKS)?;
    let bytes: Vec<u8> = blocks.iter().flatten().copied().collect();
    let afi = reader.get_afi(uid).ok();
    Ok(Tag {
        uid: *uid,
        afi,
        data: tag::decode(&bytes),
    })
}

fn rfid_thread(job: Job, section: RfidSection, field: Option<Field>) {
    let mut reported = Reported(None);
    while !job.stopped() {
        let mut reader = match open_rfid(&section, field.as_ref()) {
            Ok(r) => r,
            Err(e) => {
                reported.set(
                    &job,
                    StatusCode::CannotOpen,
                    DeviceStatus::Down { reason: e },
                );
                job.nap(REOPEN_EVERY);
                continue;
            }
        };
        match reader.probe() {
            Ok(version) => reported.set(
                &job,
                StatusCode::ReaderAnswering,
                DeviceStatus::Up { info: version },
            ),
            Err(e) => {
                reported.set(
                    &job,
                    StatusCode::NotAnswering,
                    DeviceStatus::Down {
                        reason: format!("{}: {e}", section.port),
                    },
                );
                job.nap(REOPEN_EVERY);
                continue;
            }
        }
        poll_rfid(&job, &section, reader.as_mut(), &mut reported);
    }
}

/// Polls one open reader until it fails for longer than DOWN_AFTER, an
/// i/o error says it is gone, or the kiosk stops.
fn poll_rfid(
    job: &Job,
    section: &RfidSection,
    reader: &mut dyn RfidReader,
    reported: &mut Reported,
) {
    let mut tracker: PresenceTracker<Uid> = PresenceTracker::new(2);
    let mut tags: BTreeMap<Uid, Tag> = BTreeMap::new();
    // Present, but their data could not be read yet.
    let mut unread: BTreeSet<Uid> = BTreeSet::new();
    let mut failing_since: Option<Instant> = None;
    let poll = Duration::from_millis(section.poll_ms as u64);
    while !job.stopped() {
        let started = Instant::now();
        // Commands first: a loan waits on its AFI write.
        while let Ok(c) = job.commands.try_recv() {
            obey_rfid(section, reader, c);
        }
        match reader.inventory() {
            Ok(uids) => {
                failing_since = None;
                if matches!(reported.0, Some(DeviceStatus::Down { .. })) {
                    reported.set(
                        job,
                        StatusCode::AnsweringAgain,
                        DeviceStatus::Up {
                            info: "answering again".into(),
                        },
                    );
                }
                let change = tracker.update(uids.iter().copied());
                let mut changed = false;
                for uid in &change.left {
                    unread.remove(uid);
                    if tags.remove(uid).is_some() {
                        changed = true;
                    }
                    job.emit(EventKind::TagLeft { uid: *uid });
                }
                unread.extend(change.arrived.iter().copied());
                for uid in unread.clone() {
                    match read_tag(reader, &uid) {
                        Ok(t) => {
                            unread.remove(&uid);
                            tags.insert(uid, t);
                            changed = true;
                        }
                        // Read again after the next inventory.
                        Err(e) => tracing::warn!(
                            device = %job.config.id,
                            uid = %rfid::uid_hex(&uid),
                            "tag read failed: {e}"
                        ),
                    }
                }
                if changed {
                    job.emit(EventKind::TagsInField {
                        tags: tags.values().cloned().collect(),
                    });
                }
            }
            Err(DeviceError::Io(e)) => {
                reported.set(
                    job,
                    StatusCode::Disconnected,
                    DeviceStatus::Down {
                        reason: format!("{}: {e}", section.port),
                    },
                );
                return;
            }
            Err(e) => {
                let since = *failing_since.get_or_insert(started);
                if since.elapsed() >= DOWN_AFTER {
                    reported.set(
                        job,
                        StatusCode::NotAnswering,
                        DeviceStatus::Down {
                            reason: format!("{}: {e}", section.port),
                        },
                    );
                    return;
                }
            }
        }
        if let Some(left) = poll.checked_sub(started.elapsed()) {
            // Wake for commands while waiting for the next inventory.
            match job.commands.recv_timeout(left) {
                Ok(c) => obey_rfid(section, reader, c),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => job.nap(left),
            }
        }
    }
}

fn obey_rfid(section: &RfidSection, reader: &mut dyn RfidReader, c: Command) {
    match c {
        Command::SetAfi { uid, afi, reply } => {
            let r = rfid::set_afi_with_retries(reader, &uid, afi, section.afi_retries)
                .map_err(|e| e.to_string());
            let _ = reply.send(r);
        }
        Command::Print { reply, .. } => {
            let _ = reply.send(Err("an RFID reader cannot print".into()));
        }
    }
}

fn refuse_commands(job: &Job) {
    while let Ok(c) = job.commands.try_recv() {
        let why = format!("{} takes no commands", job.config.id);
        match c {
            Command::SetAfi { reply, .. } => drop(reply.send(Err(why))),
            Command::Print { reply, .. } => drop(reply.send(Err(why))),
        }
    }
}

fn serial_scanner_thread(job: Job, section: SerialScannerSection) {
    let mut reported = Reported(None);
    while !job.stopped() {
        let port = match open_serial(&section.port, section.line(), Duration::from_millis(20)) {
            Ok(p) => p,
            Err(e) => {
                reported.set(
                    &job,
                    StatusCode::CannotOpen,
                    DeviceStatus::Down { reason: e },
                );
                job.nap(REOPEN_EVERY);
                continue;
            }
        };
        reported.set(
            &job,
            StatusCode::ScannerReady,
            DeviceStatus::Up {
                info: format!("serial scanner on {}", section.port),
            },
        );
        let framer = scanner::ScanFramer::new(scanner::FramerConfig {
            prefix: unescape(&section.prefix),
            suffix: unescape(&section.suffix),
            max_len: 128,
        });
        let mut s = scanner::SerialScanner::new(port, framer);
        while !job.stopped() {
            refuse_commands(&job);
            match s.poll() {
                Ok(out) => {
                    for r in out {
                        match r {
                            Ok(code) => job.scanned(code),
                            Err(noise) => {
                                tracing::warn!(device = %job.config.id, "scanner noise: {noise}")
                            }
                        }
                    }
                }
                Err(e) => {
                    reported.set(
                        &job,
                        StatusCode::Disconnected,
                        DeviceStatus::Down {
                            reason: format!("{}: {e}", section.port),
                        },
                    );
                    break;
                }
            }
        }
    }
}

/// `\r`, `\n`, `\t` and `\xNN` in configured prefixes and suffixes.
pub fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let value = b
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match value {
                        Some(v) => {
                            out.push(v);
                            i += 4;
                            continue;
                        }
                        None => out.extend_from_slice(&b[i..i + 2]),
                    }
                }
                _ => out.extend_from_slice(&b[i..i + 2]),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn hidpos_thread(job: Job, hidpos: HidposSection) {
    let mut reported = Reported(None);
    let layout = scanner::HidPosLayout {
        report_id: (hidpos.report_id != 0).then_some(hidpos.report_id),
        length_index: usize::try_from(hidpos.length_index).ok(),
        data_offset: hidpos.data_offset as usize,
        max_len: 128,
    };
    while !job.stopped() {
        let dev = match scanner::open_hidpos(hidpos.vid, hidpos.pid) {
            Ok(d) => d,
            Err(e) => {
                reported.set(
                    &job,
                    StatusCode::CannotOpen,
                    DeviceStatus::Down {
                        reason: e.to_string(),
                    },
                );
                job.nap(REOPEN_EVERY);
                continue;
            }
        };
        reported.set(
            &job,
            StatusCode::ScannerReady,
            DeviceStatus::Up {
                info: format!("HID-POS {:04x}:{:04x}", hidpos.vid, hidpos.pid),
            },
        );
        let mut buf = [0u8; 256];
        while !job.stopped() {
            refuse_commands(&job);
            match dev.read_timeout(&mut buf, 100) {
                Ok(0) => {}
                Ok(n) => match layout.decode(&buf[..n]) {
                    Ok(code) => job.scanned(code),
                    Err(noise) => tracing::warn!(device = %job.config.id, "HID-POS noise: {noise}"),
                },
                Err(e) => {
                    reported.set(
                        &job,
                        StatusCode::Disconnected,
                        DeviceStatus::Down {
                            reason: e.to_string(),
                        },
                    );
                    break;
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn wedge_grab_thread(job: Job, wedge: WedgeSection) {
    let mut reported = Reported(None);
    while !job.stopped() {
        let mut dev = match scanner::open_grabbed(Path::new(&wedge.port)) {
            Ok(d) => d,
            Err(e) => {
                reported.set(
                    &job,
                    StatusCode::CannotOpen,
                    DeviceStatus::Down {
                        reason: format!("{}: {e}", wedge.port),
                    },
                );
                job.nap(REOPEN_EVERY);
                continue;
            }
        };
        reported.set(
            &job,
            StatusCode::WedgeGrabbed,
            DeviceStatus::Up {
                info: format!("keyboard wedge grabbed at {}", wedge.port),
            },
        );
        while !job.stopped() {
            refuse_commands(&job);
            match dev.next_codes() {
                Ok(codes) => codes.into_iter().for_each(|c| job.scanned(c)),
                Err(e) => {
                    reported.set(
                        &job,
                        StatusCode::Disconnected,
                        DeviceStatus::Down {
                            reason: format!("{}: {e}", wedge.port),
                        },
                    );
                    break;
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn wedge_grab_thread(job: Job, _: WedgeSection) {
    job.status(
        StatusCode::NotBuiltIn,
        DeviceStatus::Down {
            reason: "grabbing a keyboard needs Linux (evdev)".into(),
        },
    );
}

fn printer_thread(job: Job, section: PrinterSection) {
    let mut reported = Reported(None);
    let target = printer::PrinterTarget::from_port(&section.port, section.baud);
    let mut sim = section.simulated.then(printer::SimPrinter::new);
    reported.set(
        &job,
        if sim.is_some() {
            StatusCode::PrinterSimulated
        } else {
            StatusCode::PrinterReady
        },
        DeviceStatus::Up {
            info: match &sim {
                Some(_) => "simulated receipt printer (receipts go to the log)".into(),
                None => format!("receipt printer at {}", section.port),
            },
        },
    );
    // Paper is checked now and then on real printers (DLE EOT 4); a file
    // target has no paper to check.
    let mut next_check = Instant::now();
    while !job.stopped() {
        if let (None, Ok(t)) = (&sim, &target) {
            if Instant::now() >= next_check && !matches!(t, printer::PrinterTarget::File { .. }) {
                next_check = Instant::now() + PAPER_CHECK_EVERY;
                let (code, s) = match printer::paper_status(t, Duration::from_millis(500)) {
                    Ok(printer::PaperStatus::Out) => (
                        StatusCode::PaperOut,
                        DeviceStatus::Error {
                            reason: "the receipt printer is out of paper".into(),
                        },
                    ),
                    Ok(printer::PaperStatus::NearEnd) => (
                        StatusCode::PaperLow,
                        DeviceStatus::Up {
                            info: "receipt paper is running low".into(),
                        },
                    ),
                    Ok(printer::PaperStatus::Ok) => (
                        StatusCode::PrinterReady,
                        DeviceStatus::Up {
                            info: format!("receipt printer at {}", section.port),
                        },
                    ),
                    Err(e) => (
                        StatusCode::PrinterUnreachable,
                        DeviceStatus::Down {
                            reason: e.to_string(),
                        },
                    ),
                };
                reported.set(&job, code, s);
            }
        }
        match job.commands.recv_timeout(Duration::from_millis(200)) {
            Ok(Command::Print { bytes, reply }) => {
                let r = match (&mut sim, &target) {
                    (Some(sim), _) => {
                        use super::rfid::Simulator;
                        let before = sim.lines().count();
                        sim.receive(&bytes);
                        for line in sim.lines().skip(before) {
                            tracing::info!(device = %job.config.id, "receipt: {}", line.text);
                        }
                        Ok(())
                    }
                    (None, Ok(t)) => printer::print(t, &bytes).map_err(|e| e.to_string()),
                    (None, Err(e)) => Err(e.to_string()),
                };
                match &r {
                    Ok(()) => reported.set(
                        &job,
                        StatusCode::Printed,
                        DeviceStatus::Up {
                            info: "printed".into(),
                        },
                    ),
                    Err(e) => reported.set(
                        &job,
                        StatusCode::PrintFailed,
                        DeviceStatus::Error { reason: e.clone() },
                    ),
                }
                let _ = reply.send(r);
            }
            Ok(Command::SetAfi { reply, .. }) => {
                let _ = reply.send(Err("a printer has no AFI".into()));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

#[cfg(all(feature = "mifare", target_os = "linux"))]
fn mifare_thread(job: Job, mifare: MifareSection) {
    use super::mifare::{map_uid, mfrc522_spi::CardReader, CardPresence};
    let mut reported = Reported(None);
    while !job.stopped() {
        let mut reader = match CardReader::open(&mifare.port) {
            Ok((r, version)) => {
                reported.set(
                    &job,
                    StatusCode::CardReaderReady,
                    DeviceStatus::Up {
                        info: format!("MFRC522 version {version:#04x}"),
                    },
                );
                r
            }
            Err(e) => {
                reported.set(
                    &job,
                    StatusCode::CannotOpen,
                    DeviceStatus::Down { reason: e },
                );
                job.nap(REOPEN_EVERY);
                continue;
            }
        };
        let mut presence = CardPresence::new(Duration::from_millis(600));
        while !job.stopped() {
            refuse_commands(&job);
            let now = Instant::now();
            match reader.poll() {
                Some(uid) if presence.seen(&uid, now) => {
                    let code = map_uid(&uid, mifare.card_map, &mifare.card_prefix);
                    job.emit(EventKind::CardScanned { code });
                }
                Some(_) => {}
                None => presence.empty(now),
            }
            job.nap(Duration::from_millis(100));
        }
    }
}

#[cfg(not(all(feature = "mifare", target_os = "linux")))]
fn mifare_thread(job: Job, _: MifareSection) {
    job.status(
        StatusCode::NotBuiltIn,
        DeviceStatus::Down {
            reason: "this kiosk was built without MIFARE support (cargo feature \"mifare\", Linux)"
                .into(),
        },
    );
}

/// Reads a simulator tag file (see `simfile`).
pub fn load_tags_file(path: &Path) -> Result<Vec<SimTag>, String> {
    super::simfile::load(path)
}
