//! Device benchmarks: decoding, a full pad read on the 3M simulator (with
//! the bytes it puts on the wire and what that costs at 19200 baud), and
//! the latency from the last byte of a scan on a pty to the typed event
//! the kiosk receives. Also prints how long an unplugged reader takes to
//! be reported down. Figures go to the README's Performance section.

use criterion::{criterion_group, criterion_main, Criterion};
use kiosk::config::{Config, DeviceSection, SerialScannerSection};
use kiosk::devices::events::{DeviceStatus, EventKind};
use kiosk::devices::m3::{self, Reader3m, Sim3m};
use kiosk::devices::rfid::{Field, SimPort, SimTag};
use kiosk::devices::runner::{read_tag, Devices};
use kiosk::devices::tag::{self, EncodeRequest, Format};
use serialport::{SerialPort, TTYPort};
use std::io::Write;
use std::time::{Duration, Instant};

fn ten_tags() -> Field {
    let field = Field::default();
    for i in 0..10u8 {
        let mut req = EncodeRequest::new(Format::Iso28560_3, format!("300010000000{i:02}"));
        req.country = Some("CN".into());
        req.isil = Some("CN-000001".into());
        let data = tag::encode(&req).unwrap();
        field.put(SimTag::new([0xE0, 4, 1, 0, 0, 0, 0, i], &data, 0x07));
    }
    field
}

fn codecs(c: &mut Criterion) {
    let mut req = EncodeRequest::new(Format::Iso28560_3, "30001000000010");
    req.country = Some("CN".into());
    req.isil = Some("CN-000001".into());
    let data = tag::encode(&req).unwrap();
    c.bench_function("tag decode (ISO 28560-3, 34 bytes)", |b| {
        b.iter(|| tag::decode(std::hint::black_box(&data)))
    });
    let answer = m3::Response::Inventory {
        afi: 0,
        options: 5,
        uids: (0..10u8).map(|i| [0xE0, 4, 1, 0, 0, 0, 0, i]).collect(),
    }
    .encode();
    c.bench_function("3M frame decode (inventory answer, 10 tags)", |b| {
        b.iter(|| {
            let mut d = m3::FrameDecoder::new();
            d.feed(std::hint::black_box(&answer))
        })
    });
}

fn pad_read(c: &mut Criterion) {
    let field = ten_tags();
    // What the kiosk's runner does when 10 new tags arrive: one inventory,
    // then read each tag's data and AFI.
    let mut reader = Reader3m::new(
        SimPort::new(Sim3m::new(field.clone())),
        Duration::from_millis(50),
    );
    let uids = kiosk::devices::rfid::RfidReader::inventory(&mut reader).unwrap();
    for uid in &uids {
        read_tag(&mut reader, uid).unwrap();
    }
    let s = reader.stats();
    let bytes_in = s.frames.bytes_in;
    let at_19200 = (s.bytes_out + bytes_in) as f64 / 1920.0;
    eprintln!(
        "pad read, 10 tags (inventory + {} blocks + AFI each): {} requests, {} bytes to the reader, {} bytes back; at 19200 baud 8N1 the wire alone needs {:.0} ms",
        kiosk::devices::runner::TAG_BLOCKS,
        s.requests,
        s.bytes_out,
        bytes_in,
        at_19200 * 1000.0
    );
    c.bench_function(
        "pad read: inventory + read 10 tags (3M, in-memory simulator)",
        |b| {
            b.iter(|| {
                let mut reader = Reader3m::new(
                    SimPort::new(Sim3m::new(field.clone())),
                    Duration::from_millis(50),
                );
                let uids = kiosk::devices::rfid::RfidReader::inventory(&mut reader).unwrap();
                for uid in &uids {
                    read_tag(&mut reader, uid).unwrap();
                }
            })
        },
    );
}

fn scan_latency(c: &mut Criterion) {
    // A serial scanner on a pty, run by the kiosk's device runner.
    let (mut master, slave) = TTYPort::pair().expect("pty pair");
    let path = slave.name().unwrap();
    let d = DeviceSection::new(
        "scanner",
        SerialScannerSection {
            port: path,
            ..SerialScannerSection::default()
        },
    );
    let config = Config {
        devices: vec![d],
        ..Config::default()
    };
    let (devices, rx) = Devices::start(&config);
    // Wait for the scanner to be up.
    let up = Instant::now();
    while up.elapsed() < Duration::from_secs(10) {
        if let Ok(e) = rx.recv_timeout(Duration::from_secs(1)) {
            if matches!(
                e.kind,
                EventKind::DeviceStatus {
                    status: DeviceStatus::Up { .. }
                }
            ) {
                break;
            }
        }
    }
    c.bench_function(
        "scan: last byte on the port -> CardScanned event (pty, runner)",
        |b| {
            b.iter_custom(|n| {
                let mut total = Duration::ZERO;
                for _ in 0..n {
                    master.write_all(b"20001000000012").unwrap();
                    master.flush().unwrap();
                    let start = Instant::now();
                    master.write_all(b"\r").unwrap();
                    master.flush().unwrap();
                    loop {
                        let e = rx.recv_timeout(Duration::from_secs(5)).expect("scan event");
                        if matches!(e.kind, EventKind::CardScanned { .. }) {
                            break;
                        }
                    }
                    total += start.elapsed();
                }
                total
            })
        },
    );
    // Unplugged: the pty's device side disappears.
    let gone = Instant::now();
    drop(master);
    drop(slave);
    let mut reported = None;
    while gone.elapsed() < Duration::from_secs(10) {
        if let Ok(e) = rx.recv_timeout(Duration::from_millis(100)) {
            if matches!(
                e.kind,
                EventKind::DeviceStatus {
                    status: DeviceStatus::Down { .. }
                }
            ) {
                reported = Some(gone.elapsed());
                break;
            }
        }
    }
    eprintln!("scanner unplugged: reported down after {reported:?}");
    devices.stop();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = codecs, pad_read, scan_latency
}
criterion_main!(benches);
