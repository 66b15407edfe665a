//! Device tools of the `kiosk` command line: `tag`, `rfid`, `sim`,
//! `doctor`. JSON on stdout (a contract scripts and tests rely on), text on
//! stderr; exit 0 done, 1 the device said no, 2 error.

use crate::cli::{CliError, Env};
use crate::config::{Device, DeviceSection, Parity, RfidProtocol, RfidSection};
use crate::devices::m3::Sim3m;
use crate::devices::rfid::{self, parse_uid, uid_hex, Field, Simulator};
use crate::devices::runner::{self, open_rfid, open_serial, read_tag};
use crate::devices::{feig, printer, pty::Pty, scanner, simfile, tag};
use clap::{Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum TagCmd {
    /// Decode tag memory given as hex
    Decode { hex: String },
    /// Encode tag memory; prints hex
    Encode {
        #[arg(long, value_enum)]
        format: TagFormat,
        #[arg(long)]
        item_id: String,
        #[arg(long)]
        isil: Option<String>,
        #[arg(long)]
        country: Option<String>,
        #[arg(long, default_value_t = 1)]
        parts: u8,
        #[arg(long, default_value_t = 1)]
        part: u8,
        /// Type of usage (1 circulating, 2 not for loan, …)
        #[arg(long, default_value_t = 1)]
        usage: u8,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TagFormat {
    #[value(name = "iso28560-3")]
    Iso28560_3,
    #[value(name = "iso28560-2")]
    Iso28560_2,
    #[value(name = "3m")]
    M3,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    #[value(name = "3m810")]
    M3,
    #[value(name = "feig")]
    Feig,
}

impl Protocol {
    fn rfid_protocol(self) -> RfidProtocol {
        match self {
            Protocol::M3 => RfidProtocol::M3_810,
            Protocol::Feig => RfidProtocol::Feig,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum RfidCmd {
    /// Read every tag in the field and decode it
    Scan {
        #[arg(long)]
        port: String,
        #[arg(long, value_enum)]
        protocol: Protocol,
        /// [default: 19200 for 3m810, 38400 for feig]
        #[arg(long)]
        baud: Option<u32>,
    },
    /// Write a tag's AFI (bounded retries) and read it back
    SetAfi {
        #[arg(long)]
        port: String,
        #[arg(long, value_enum)]
        protocol: Protocol,
        #[arg(long)]
        uid: String,
        /// Hex byte, e.g. 07 (in library) or C2 (on loan)
        #[arg(long)]
        afi: String,
        #[arg(long)]
        baud: Option<u32>,
        #[arg(long, default_value_t = 3)]
        tries: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum SimCmd {
    /// Simulate an RFID reader on a new pty; prints its path first. Reads
    /// commands on stdin: `put UID`, `take UID`, `clear`, `all`,
    /// `fail-writes N`, `no-answer N`, `bad-crc N`
    Rfid {
        #[arg(long, value_enum)]
        protocol: Protocol,
        /// Tag file (JSON; see src/devices/simfile.rs)
        #[arg(long)]
        tags: Option<PathBuf>,
        /// Start with an empty pad (tags come with `put`)
        #[arg(long)]
        empty: bool,
        /// Also make this symlink to the pty (a stable port for kiosk.toml)
        #[arg(long)]
        link: Option<PathBuf>,
    },
    /// Simulate a serial barcode scanner on a new pty; prints its path
    /// first, then sends each line of stdin (and of --codes) as a scan
    Scanner {
        /// A file of codes, one per line, scanned at start
        #[arg(long, alias = "tags")]
        codes: Option<PathBuf>,
        /// Sent after each code (\r, \n, \xNN escapes)
        #[arg(long, default_value = "\\r")]
        suffix: String,
        #[arg(long, default_value = "")]
        prefix: String,
        #[arg(long)]
        link: Option<PathBuf>,
    },
}

fn print(v: &Value) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v).map_err(std::io::Error::other)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

pub fn tag_cmd(c: TagCmd) -> Result<i32, CliError> {
    match c {
        TagCmd::Decode { hex } => {
            let bytes = rfid::parse_hex(&hex)
                .ok_or_else(|| CliError::Usage(format!("{hex:?} is not hex")))?;
            print(&serde_json::to_value(tag::decode(&bytes)).map_err(std::io::Error::other)?)?;
            Ok(0)
        }
        TagCmd::Encode {
            format,
            item_id,
            isil,
            country,
            parts,
            part,
            usage,
        } => {
            let format = match format {
                TagFormat::Iso28560_3 => tag::Format::Iso28560_3,
                TagFormat::Iso28560_2 => tag::Format::Iso28560_2,
                TagFormat::M3 => tag::Format::M3,
            };
            let req = tag::EncodeRequest {
                isil,
                country,
                parts,
                part,
                usage,
                ..tag::EncodeRequest::new(format, item_id)
            };
            let bytes = tag::encode(&req).map_err(|e| CliError::Usage(e.to_string()))?;
            println!("{}", rfid::hex(&bytes));
            Ok(0)
        }
    }
}

/// A device section for a reader named on the command line.
fn reader_section(port: &str, protocol: Protocol, baud: Option<u32>) -> RfidSection {
    let mut d = RfidSection {
        port: port.to_string(),
        protocol: protocol.rfid_protocol(),
        timeout_ms: 500,
        ..RfidSection::default()
    };
    match protocol {
        Protocol::M3 => d.baud = baud.unwrap_or(19200),
        Protocol::Feig => {
            d.baud = baud.unwrap_or(38400);
            d.parity = Parity::Even;
        }
    }
    d
}

fn device_error(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

pub fn rfid_cmd(c: RfidCmd) -> Result<i32, CliError> {
    match c {
        RfidCmd::Scan {
            port,
            protocol,
            baud,
        } => {
            let d = reader_section(&port, protocol, baud);
            let mut reader = open_rfid(&d, None).map_err(device_error)?;
            let uids = reader.inventory().map_err(device_error)?;
            let mut tags = Vec::new();
            for uid in &uids {
                let t = read_tag(reader.as_mut(), uid).map_err(device_error)?;
                let mut v = serde_json::to_value(&t.data).map_err(std::io::Error::other)?;
                if let Value::Object(m) = &mut v {
                    m.insert("uid".into(), json!(uid_hex(uid)));
                    m.insert("afi".into(), json!(t.afi.map(|a| format!("{a:02X}"))));
                }
                tags.push(v);
            }
            print(&json!({ "tags": tags }))?;
            Ok(0)
        }
        RfidCmd::SetAfi {
            port,
            protocol,
            uid,
            afi,
            baud,
            tries,
        } => {
            let uid_bytes = parse_uid(&uid)
                .ok_or_else(|| CliError::Usage(format!("--uid {uid:?}: 16 hex digits")))?;
            let afi_byte = u8::from_str_radix(afi.trim_start_matches("0x"), 16)
                .map_err(|_| CliError::Usage(format!("--afi {afi:?}: one hex byte")))?;
            let d = reader_section(&port, protocol, baud);
            let mut reader = open_rfid(&d, None).map_err(device_error)?;
            match rfid::set_afi_with_retries(reader.as_mut(), &uid_bytes, afi_byte, tries) {
                Ok(attempts) => {
                    print(&json!({"ok": true, "uid": uid_hex(&uid_bytes),
                        "afi": format!("{afi_byte:02X}"), "attempts": attempts}))?;
                    Ok(0)
                }
                Err(
                    e @ (rfid::DeviceError::WriteFailed { .. }
                    | rfid::DeviceError::NoTransponder(_)
                    | rfid::DeviceError::Reader { .. }),
                ) => {
                    print(&json!({"ok": false, "uid": uid_hex(&uid_bytes),
                        "afi": format!("{afi_byte:02X}"), "error": e.to_string()}))?;
                    Ok(1)
                }
                Err(e) => Err(device_error(e)),
            }
        }
    }
}

pub fn sim_cmd(c: SimCmd) -> Result<i32, CliError> {
    match c {
        SimCmd::Rfid {
            protocol,
            tags,
            empty,
            link,
        } => {
            let known = match &tags {
                Some(p) => simfile::load(p).map_err(CliError::Usage)?,
                None => Vec::new(),
            };
            let field = Field::default();
            if !empty {
                known.iter().cloned().for_each(|t| field.put(t));
            }
            let mut pty = Pty::open(link.as_deref())?;
            println!("{}", pty.path().display());
            std::io::stdout().flush()?;
            let mut sim: Box<dyn Simulator + Send> = match protocol {
                Protocol::M3 => Box::new(Sim3m::new(field.clone())),
                Protocol::Feig => Box::new(feig::SimFeig::new(field.clone())),
            };
            let faults = Arc::new(std::sync::Mutex::new(Vec::<(String, u32)>::new()));
            let stop = Arc::new(AtomicBool::new(false));
            {
                let field = field.clone();
                let faults = faults.clone();
                std::thread::spawn(move || sim_stdin(&field, &known, &faults));
            }
            // Serve, applying faults asked for on stdin between requests.
            let mut wrapper = FaultsFromStdin {
                sim: sim.as_mut(),
                asked: faults,
            };
            pty.serve(&mut wrapper, &stop)?;
            Ok(0)
        }
        SimCmd::Scanner {
            codes,
            suffix,
            prefix,
            link,
        } => {
            let mut pty = Pty::open(link.as_deref())?;
            println!("{}", pty.path().display());
            std::io::stdout().flush()?;
            let sim =
                scanner::SimScanner::new(runner::unescape(&prefix), runner::unescape(&suffix));
            if let Some(p) = codes {
                for line in std::fs::read_to_string(&p)?.lines() {
                    if !line.trim().is_empty() {
                        pty.send(&sim.frame(line.trim()))?;
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            // `noise N` sends a line of N garbage bytes, `partial CODE` the
            // start of a scan that never ends; anything else is scanned.
            let mut sim = sim;
            for line in std::io::stdin().lock().lines() {
                let line = line?;
                let line = line.trim();
                let bytes = match line.split_once(' ') {
                    Some(("noise", n)) => sim.noise_line(n.parse().unwrap_or(8)),
                    Some(("partial", code)) => sim.partial(code, code.len() / 2),
                    _ if line.is_empty() => continue,
                    _ => sim.frame(line),
                };
                pty.send(&bytes)?;
            }
            // Keep the pty open until killed, so the reader side sees no hangup.
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
    }
}

/// Applies faults typed on the simulator's stdin.
struct FaultsFromStdin<'a> {
    sim: &'a mut (dyn Simulator + Send),
    asked: Arc<std::sync::Mutex<Vec<(String, u32)>>>,
}

impl Simulator for FaultsFromStdin<'_> {
    fn receive(&mut self, bytes: &[u8]) -> Vec<u8> {
        let asked: Vec<_> = match self.asked.lock() {
            Ok(mut a) => a.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        for (what, n) in asked {
            let f = self.sim.faults();
            match what.as_str() {
                "fail-writes" => f.write_failures = n,
                "no-answer" => f.no_answer = n,
                "bad-crc" => f.bad_crc = n,
                "no-transponder" => f.no_transponder = n,
                _ => {}
            }
        }
        self.sim.receive(bytes)
    }
    fn faults(&mut self) -> &mut rfid::Faults {
        self.sim.faults()
    }
}

fn sim_stdin(field: &Field, known: &[rfid::SimTag], faults: &std::sync::Mutex<Vec<(String, u32)>>) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let mut words = line.split_whitespace();
        let (cmd, arg) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let reply = match cmd {
            "put" => match parse_uid(arg).and_then(|u| known.iter().find(|t| t.uid == u)) {
                Some(t) => {
                    field.put(t.clone());
                    format!("put {}", uid_hex(&t.uid))
                }
                None => format!("no tag {arg:?} in the tag file"),
            },
            "take" => match parse_uid(arg).and_then(|u| field.take(&u)) {
                Some(t) => format!("took {}", uid_hex(&t.uid)),
                None => format!("no tag {arg:?} on the pad"),
            },
            "clear" => {
                field.uids().iter().for_each(|u| drop(field.take(u)));
                "cleared".into()
            }
            "all" => {
                known.iter().cloned().for_each(|t| field.put(t));
                format!("{} tags on the pad", known.len())
            }
            "fail-writes" | "no-answer" | "bad-crc" | "no-transponder" => match arg.parse() {
                Ok(n) => {
                    if let Ok(mut f) = faults.lock() {
                        f.push((cmd.to_string(), n));
                    }
                    format!("{cmd} {n}")
                }
                Err(_) => format!("{cmd} needs a count"),
            },
            "" => continue,
            other => format!("unknown command {other:?}"),
        };
        eprintln!("sim: {reply}");
    }
}

/// `kiosk doctor`: what is plugged in, and how each configured device is.
pub fn doctor(env: &Env) -> Result<i32, CliError> {
    let ports: Vec<Value> = serialport::available_ports()
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let kind = match p.port_type {
                serialport::SerialPortType::UsbPort(u) => json!({
                    "usb": format!("{:04x}:{:04x}", u.vid, u.pid),
                    "product": u.product, "manufacturer": u.manufacturer, "serial": u.serial_number}),
                serialport::SerialPortType::PciPort => json!("pci"),
                serialport::SerialPortType::BluetoothPort => json!("bluetooth"),
                serialport::SerialPortType::Unknown => json!("unknown"),
            };
            json!({"port": p.port_name, "type": kind})
        })
        .collect();
    let hid = scanner::list_hid();
    let mut all_up = true;
    let mut devices = Vec::new();
    for d in &env.config.devices {
        let (state, info) = probe(d);
        if state != "up" && d.required {
            all_up = false;
        }
        devices.push(json!({"id": d.id, "kind": d.kind(), "port": d.port(),
            "simulated": d.simulated(), "required": d.required, "state": state, "info": info}));
    }
    print(&json!({"serial_ports": ports, "hid": hid, "devices": devices}))?;
    Ok(if all_up { 0 } else { 1 })
}

fn probe(d: &DeviceSection) -> (&'static str, String) {
    match &d.device {
        Device::Rfid(rfid) => {
            let field = rfid.simulated.then(Field::default);
            match open_rfid(rfid, field.as_ref())
                .and_then(|mut r| r.probe().map_err(|e| e.to_string()))
            {
                Ok(v) => ("up", v),
                Err(e) => ("down", e),
            }
        }
        Device::BarcodeSerial(s) => match open_serial(&s.port, s.line(), Duration::from_millis(50))
        {
            Ok(_) => ("up", format!("{} opens", s.port)),
            Err(e) => ("down", e),
        },
        Device::BarcodeWedge(w) if w.grab => {
            match scanner::open_grabbed(std::path::Path::new(&w.port)) {
                Ok(_) => ("up", format!("{} can be grabbed", w.port)),
                Err(e) => ("down", format!("{}: {e}", w.port)),
            }
        }
        Device::BarcodeWedge(_) => ("up", "keyboard wedge: keys arrive in the window".into()),
        Device::BarcodeHidpos(h) => match scanner::open_hidpos(h.vid, h.pid) {
            Ok(_) => ("up", format!("{:04x}:{:04x} opens", h.vid, h.pid)),
            Err(e) => ("down", e.to_string()),
        },
        Device::Printer(p) if p.simulated => ("up", "simulated printer".into()),
        Device::Printer(p) => match printer::PrinterTarget::from_port(&p.port, p.baud) {
            Ok(t) => match printer::paper_status(&t, Duration::from_millis(500)) {
                Ok(status) => ("up", format!("paper {status:?}")),
                Err(e) => ("down", e.to_string()),
            },
            Err(e) => ("down", e.to_string()),
        },
        Device::Mifare(m) => mifare_probe(m),
    }
}

#[cfg(all(feature = "mifare", target_os = "linux"))]
fn mifare_probe(d: &crate::config::MifareSection) -> (&'static str, String) {
    match crate::devices::mifare::mfrc522_spi::CardReader::open(&d.port) {
        Ok((_, v)) => ("up", format!("MFRC522 version {v:#04x}")),
        Err(e) => ("down", e),
    }
}

#[cfg(not(all(feature = "mifare", target_os = "linux")))]
fn mifare_probe(_: &crate::config::MifareSection) -> (&'static str, String) {
    (
        "down",
        "built without MIFARE support (cargo feature \"mifare\")".into(),
    )
}
