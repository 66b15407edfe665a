//! Where the receipt printer is ([`PrinterTarget`]: serial, TCP or a
//! device file) and sending bytes there, or asking it for its paper.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use escpos::driver::{Driver, FileDriver, NetworkDriver};
use serde::{Deserialize, Serialize};

use super::error::PrinterError;
use super::status::*;
/// The raw TCP port network receipt printers listen on.
pub const DEFAULT_TCP_PORT: u16 = 9100;
/// How long opening a port or sending one receipt may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the receipt printer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PrinterTarget {
    /// A serial port (`/dev/ttyUSB0`, `COM3`).
    Serial { path: String, baud: u32 },
    /// A network printer's raw port (usually 9100).
    Network { host: String, port: u16 },
    /// A device file such as `/dev/usb/lp0` (or a plain file, for tests and
    /// dry runs).
    File { path: PathBuf },
}

impl PrinterTarget {
    /// Reads a device `port` setting: `tcp://HOST[:PORT]` (port 9100 by
    /// default, `[v6]:PORT` for IPv6), `file://PATH`, a `/dev/usb/lp*` or
    /// `/dev/lp*` path as a file, anything else as a serial port at `baud`.
    pub fn from_port(port: &str, baud: u32) -> Result<PrinterTarget, PrinterError> {
        let port = port.trim();
        let bad = || PrinterError::BadTarget(port.to_owned());
        if let Some(rest) = port.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            let (host, tcp_port) = if let Some(v6) = rest.strip_prefix('[') {
                let (host, after) = v6.split_once(']').ok_or_else(bad)?;
                match after {
                    "" => (host, None),
                    _ => (host, Some(after.strip_prefix(':').ok_or_else(bad)?)),
                }
            } else {
                match rest.split_once(':') {
                    Some((host, p)) => (host, Some(p)),
                    None => (rest, None),
                }
            };
            let tcp_port = match tcp_port {
                Some(p) => p.parse::<u16>().map_err(|_| bad())?,
                None => DEFAULT_TCP_PORT,
            };
            if host.is_empty() {
                return Err(bad());
            }
            return Ok(PrinterTarget::Network {
                host: host.to_owned(),
                port: tcp_port,
            });
        }
        if let Some(path) = port.strip_prefix("file://") {
            if path.is_empty() {
                return Err(bad());
            }
            return Ok(PrinterTarget::File { path: path.into() });
        }
        if port.is_empty() {
            return Err(bad());
        }
        if port.starts_with("/dev/usb/lp") || port.starts_with("/dev/lp") {
            return Ok(PrinterTarget::File { path: port.into() });
        }
        Ok(PrinterTarget::Serial {
            path: port.to_owned(),
            baud,
        })
    }
}

impl fmt::Display for PrinterTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterTarget::Serial { path, baud } => write!(f, "{path} at {baud} baud"),
            PrinterTarget::Network { host, port } if host.contains(':') => {
                write!(f, "tcp://[{host}]:{port}")
            }
            PrinterTarget::Network { host, port } => write!(f, "tcp://{host}:{port}"),
            PrinterTarget::File { path } => write!(f, "{}", path.display()),
        }
    }
}

fn open_error(target: &PrinterTarget, reason: impl fmt::Display) -> PrinterError {
    PrinterError::Open {
        target: target.to_string(),
        reason: reason.to_string(),
    }
}

fn resolve(target: &PrinterTarget, host: &str, port: u16) -> Result<Vec<SocketAddr>, PrinterError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| open_error(target, e))?
        .collect();
    if addrs.is_empty() {
        return Err(open_error(target, "the host name has no address"));
    }
    Ok(addrs)
}

/// An escpos driver over a serial port. escpos has one of its own, but its
/// `serial_port` feature turns on serialport's libudev default, which needs
/// libudev-dev and pkg-config to build (see docs/deploy.md).
struct SerialDriver {
    path: String,
    port: Mutex<Box<dyn serialport::SerialPort>>,
}

impl SerialDriver {
    fn open(path: &str, baud: u32, timeout: Duration) -> Result<SerialDriver, serialport::Error> {
        let port = serialport::new(path, baud).timeout(timeout).open()?;
        Ok(SerialDriver {
            path: path.to_owned(),
            port: Mutex::new(port),
        })
    }

    fn port(&self) -> std::sync::MutexGuard<'_, Box<dyn serialport::SerialPort>> {
        self.port.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Driver for SerialDriver {
    fn name(&self) -> String {
        format!("Serial port ({})", self.path)
    }
    fn write(&self, data: &[u8]) -> escpos::errors::Result<()> {
        Ok(self.port().write_all(data)?)
    }
    fn read(&self, buf: &mut [u8]) -> escpos::errors::Result<usize> {
        Ok(self.port().read(buf)?)
    }
    fn flush(&self) -> escpos::errors::Result<()> {
        Ok(self.port().flush()?)
    }
}

/// Opens one of escpos's drivers for the target.
fn open_driver(target: &PrinterTarget) -> Result<Box<dyn Driver>, PrinterError> {
    match target {
        PrinterTarget::Serial { path, baud } => SerialDriver::open(path, *baud, SEND_TIMEOUT)
            .map(|d| Box::new(d) as Box<dyn Driver>)
            .map_err(|e| open_error(target, e)),
        PrinterTarget::Network { host, port } => {
            // escpos's NetworkDriver only applies a connect timeout to an IP
            // literal, so names are resolved here first.
            let mut last = None;
            for addr in resolve(target, host, *port)? {
                match NetworkDriver::open(&addr.ip().to_string(), addr.port(), Some(SEND_TIMEOUT)) {
                    Ok(d) => return Ok(Box::new(d)),
                    Err(e) => last = Some(e),
                }
            }
            Err(open_error(
                target,
                last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
            ))
        }
        PrinterTarget::File { path } => {
            let mut options = OpenOptions::new();
            // Never create a device node: with the printer unplugged that
            // would leave a plain file in /dev swallowing every receipt.
            options.append(true).create(!path.starts_with("/dev"));
            FileDriver::open_with_options(path, &options)
                .map(|d| Box::new(d) as Box<dyn Driver>)
                .map_err(|e| open_error(target, e))
        }
    }
}

/// Sends `bytes` (from `render`) to the printer and waits until they are
/// handed over; it does not check the paper first (see `paper_status`).
pub fn print(target: &PrinterTarget, bytes: &[u8]) -> Result<(), PrinterError> {
    let driver = open_driver(target).inspect_err(|e| {
        tracing::warn!(device = %target, error = %e, "cannot open the receipt printer");
    })?;
    driver
        .write(bytes)
        .and_then(|()| driver.flush())
        .map_err(|e| {
            tracing::warn!(device = %target, error = %e, "sending a receipt failed");
            PrinterError::Send {
                target: target.to_string(),
                reason: e.to_string(),
            }
        })?;
    tracing::info!(device = %target, bytes = bytes.len(), "receipt sent to the printer");
    Ok(())
}

/// Opens the target and asks for its paper status (`status`).
pub fn paper_status(
    target: &PrinterTarget,
    timeout: Duration,
) -> Result<PaperStatus, PrinterError> {
    match target {
        PrinterTarget::Serial { path, baud } => {
            let mut port = serialport::new(path, *baud)
                .timeout(timeout)
                .open()
                .map_err(|e| open_error(target, e))?;
            status(&mut port, timeout)
        }
        PrinterTarget::Network { host, port } => {
            let mut last = None;
            for addr in resolve(target, host, *port)? {
                match TcpStream::connect_timeout(&addr, timeout) {
                    Ok(mut stream) => {
                        stream.set_read_timeout(Some(timeout))?;
                        stream.set_write_timeout(Some(timeout))?;
                        return status(&mut stream, timeout);
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(open_error(
                target,
                last.map_or_else(|| "no address".to_owned(), |e| e.to_string()),
            ))
        }
        PrinterTarget::File { path } => {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| open_error(target, e))?;
            status(&mut file, timeout)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::render;
    use crate::devices::printer::test_support::*;
    use crate::domain::Lang;
    use std::io;
    use std::net::TcpListener;
    use std::time::Instant;

    #[test]
    fn print_to_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("receipt.bin");
        let target = PrinterTarget::File { path: path.clone() };
        let bytes = render(&en_receipt(), Lang::En, 32);
        print(&target, &bytes).unwrap();
        print(&target, &bytes).unwrap();
        assert_eq!(
            std::fs::read(&path).unwrap(),
            [bytes.clone(), bytes].concat()
        );
    }

    #[test]
    fn print_over_a_serial_port() {
        use serialport::SerialPort;
        // The kiosk's own serial driver (not escpos's): the bytes arrive
        // as rendered.
        let (mut master, slave) = serialport::TTYPort::pair().unwrap();
        master.set_timeout(Duration::from_millis(100)).unwrap();
        let target = PrinterTarget::Serial {
            path: slave.name().unwrap(),
            baud: 19200,
        };
        let bytes = render(&en_receipt(), Lang::En, 32);
        let reader = std::thread::spawn(move || {
            let mut received = Vec::new();
            let until = Instant::now() + Duration::from_secs(30);
            let mut buf = [0u8; 4096];
            while Instant::now() < until {
                match master.read(&mut buf) {
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::TimedOut && !received.is_empty() => break,
                    Err(_) => {}
                }
            }
            received
        });
        print(&target, &bytes).unwrap();
        assert_eq!(reader.join().unwrap(), bytes);
        drop(slave);
    }

    #[test]
    fn print_and_status_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let printer = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            conn.read_to_end(&mut received).unwrap();
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 3];
            conn.read_exact(&mut request).unwrap();
            conn.write_all(&[PaperStatus::Out.status_byte()]).unwrap();
            (received, request)
        });
        let target = PrinterTarget::Network {
            host: "127.0.0.1".into(),
            port,
        };
        let bytes = render(&zh_receipt(), Lang::ZhCn, 32);
        print(&target, &bytes).unwrap();
        assert_eq!(
            paper_status(&target, Duration::from_secs(5)).unwrap(),
            PaperStatus::Out
        );
        let (received, request) = printer.join().unwrap();
        assert_eq!(received, bytes);
        assert_eq!(request, PAPER_STATUS_REQUEST);
    }

    #[test]
    fn a_missing_printer_is_an_open_error_naming_it() {
        let target = PrinterTarget::Serial {
            path: "/nonexistent/ttyPRINTER".into(),
            baud: 9600,
        };
        let e = print(&target, b"x").unwrap_err();
        assert!(matches!(e, PrinterError::Open { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/ttyPRINTER"), "{e}");
    }

    #[test]
    fn port_settings_become_targets() {
        let t = |s| PrinterTarget::from_port(s, 19200);
        assert_eq!(
            t("/dev/ttyUSB0").unwrap(),
            PrinterTarget::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 19200
            }
        );
        assert_eq!(
            t("COM3").unwrap(),
            PrinterTarget::Serial {
                path: "COM3".into(),
                baud: 19200
            }
        );
        assert_eq!(
            t("tcp://192.168.1.50").unwrap(),
            PrinterTarget::Network {
                host: "192.168.1.50".into(),
                port: 9100
            }
        );
        assert_eq!(
            t("tcp://printer.local:9101").unwrap(),
            PrinterTarget::Network {
                host: "printer.local".into(),
                port: 9101
            }
        );
        let v6 = t("tcp://[::1]:9100").unwrap();
        assert_eq!(
            v6,
            PrinterTarget::Network {
                host: "::1".into(),
                port: 9100
            }
        );
        assert_eq!(v6.to_string(), "tcp://[::1]:9100");
        assert_eq!(
            t("/dev/usb/lp0").unwrap(),
            PrinterTarget::File {
                path: "/dev/usb/lp0".into()
            }
        );
        assert_eq!(
            t("file:///tmp/r.bin").unwrap(),
            PrinterTarget::File {
                path: "/tmp/r.bin".into()
            }
        );
        for bad in ["", "tcp://", "tcp://host:port", "tcp://[::1", "file://"] {
            assert!(matches!(t(bad), Err(PrinterError::BadTarget(_))), "{bad:?}");
        }
    }
}
