//! A simulator on a pseudo-terminal: `kiosk sim …` creates a pty pair,
//! prints the path of its terminal side, and answers whatever a driver
//! writes there exactly as the simulated device would. A pty carries bytes
//! but no baud rate, parity or timing.
//!
//! Unix only (the kiosk's Linux targets); never used by the kiosk itself
//! except in its demo and tests.

use super::rfid::Simulator;
use serialport::{SerialPort, TTYPort};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The device end of a pty pair, with the terminal end kept open so the
/// pty lives while drivers come and go.
pub struct Pty {
    master: TTYPort,
    _slave: TTYPort,
    path: PathBuf,
    link: Option<PathBuf>,
}

impl Pty {
    /// Opens a pty pair. With `link`, a symlink at that path points to the
    /// terminal side (replacing an older link), so a configuration can name
    /// a stable port across simulator restarts.
    pub fn open(link: Option<&Path>) -> io::Result<Pty> {
        let (mut master, slave) = TTYPort::pair().map_err(io::Error::other)?;
        master
            .set_timeout(Duration::from_millis(20))
            .map_err(io::Error::other)?;
        let path = slave
            .name()
            .map(PathBuf::from)
            .ok_or_else(|| io::Error::other("pty without a name"))?;
        if let Some(link) = link {
            match std::fs::symlink_metadata(link) {
                Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(link)?,
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} exists and is not a symlink", link.display()),
                    ))
                }
                Err(_) => {}
            }
            std::os::unix::fs::symlink(&path, link)?;
        }
        Ok(Pty {
            master,
            _slave: slave,
            path,
            link: link.map(Path::to_path_buf),
        })
    }

    /// The terminal side a driver opens (`/dev/pts/N`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes raw bytes to the driver (a scanner "scanning").
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.master.write_all(bytes)?;
        self.master.flush()
    }

    /// Answers the driver until `stop` is set: every byte read goes to the
    /// simulator, every byte it answers goes back.
    pub fn serve(&mut self, sim: &mut dyn Simulator, stop: &AtomicBool) -> io::Result<()> {
        let mut buf = [0u8; 512];
        while !stop.load(Ordering::Relaxed) {
            match self.master.read(&mut buf) {
                Ok(0) => std::thread::sleep(Duration::from_millis(5)),
                Ok(n) => {
                    let answer = sim.receive(&buf[..n]);
                    if !answer.is_empty() {
                        self.send(&answer)?;
                    }
                }
                Err(e) if is_idle(&e) => {
                    if e.raw_os_error() == Some(5) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Nothing to read right now, or nobody has the terminal side open
/// (Linux reports EIO on the master then): keep waiting.
fn is_idle(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    ) || e.raw_os_error() == Some(5)
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            if std::fs::read_link(link).ok().as_deref() == Some(self.path.as_path()) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}
