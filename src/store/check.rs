//! The kiosk database's check at start (`PRAGMA quick_check`) and the
//! note of a check that passed, so that the command line does not pay
//! for the check on every command.
//!
//! The quick check reads every page of the file: about 1.7 s on the
//! 1M-item demo library (README, Performance). The front ends (touch
//! screen, text kiosk) run it off their first frame on a read-only
//! connection of its own (`Reader::check`) and stay out of service until
//! it passes. The command line runs it before any command that writes
//! (`Store::check_remembered`), and remembers a pass in a side file,
//! `<database>-checked` (0600, beside the database, written by rename so a
//! link there is replaced, never followed). The note holds the **key** of
//! the files that were checked: device and inode, size and modification
//! time of the database, and size and modification time of its `-wal`
//! (an empty or missing `-wal` counts as none). The next command reuses
//! the pass when the key is the same and the pass is younger than
//! [`MARK_MAX_AGE`]; otherwise it checks again.
//!
//! The trade-off: the key sees a file replaced, restored from a backup,
//! copied over, truncated or written by anything else, but not a disk
//! that silently changes bytes in place without touching the
//! modification time (bit rot): such damage is found at the latest
//! [`MARK_MAX_AGE`] after the last full check, at the touch screen's
//! next start (it always checks), or by `kiosk status` (a full
//! `integrity_check` every time). The kiosk's own writes change the key
//! too, so a command that opened the database through the check writes
//! the key of the files as it leaves them into the note when it ends
//! ([`Restamp`], after its connection closed), keeping the time of the
//! check that actually ran: damage done by something else while that
//! command ran is the one thing taken on trust, and only until the pass
//! is [`MARK_MAX_AGE`] old. A check that fails removes the note.
//!
//! May import what `store` may; nothing here writes the database.

use super::figures::Reader;
use super::{Result, Store, StoreError};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a passed check is reused by the command line.
pub const MARK_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Whether `Store::check_remembered` ran the check or reused a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Ran,
    Reused,
}

/// The side file that remembers a passed check of `db`.
pub fn mark_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_os_string();
    s.push("-checked");
    PathBuf::from(s)
}

/// Size and modification time of one file (and, for the database, where
/// it is on the disk).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct FileKey {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_s: i64,
    mtime_ns: u32,
}

impl FileKey {
    fn of(path: &Path) -> Option<FileKey> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        let mtime = meta.modified().ok()?;
        let since = mtime.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        Some(FileKey {
            dev,
            ino,
            size: meta.len(),
            mtime_s: since.as_secs() as i64,
            mtime_ns: since.subsec_nanos(),
        })
    }
}

/// What a check saw: the database and its `-wal` (None when missing or
/// empty: SQLite creates an empty one on opening).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Key {
    db: Option<FileKey>,
    wal: Option<FileKey>,
}

impl Key {
    fn of(db: &Path) -> Key {
        let mut wal = db.as_os_str().to_os_string();
        wal.push("-wal");
        let wal = FileKey::of(Path::new(&wal))
            .filter(|k| k.size > 0)
            .map(|k| FileKey {
                dev: 0,
                ino: 0,
                ..k
            });
        Key {
            db: FileKey::of(db),
            wal,
        }
    }
}

/// The note in `<database>-checked`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Mark {
    key: Key,
    /// When the check that passed ran (seconds since 1970).
    checked_at: u64,
}

fn read_mark(db: &Path) -> Option<Mark> {
    let text = std::fs::read_to_string(mark_path(db)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Writes the note: a new file of the kiosk's user only, renamed into
/// place (a link at the name is replaced, not followed). A note that
/// cannot be written only costs the next command a check.
fn write_mark(db: &Path, mark: &Mark) {
    let target = mark_path(db);
    let mut tmp = target.as_os_str().to_os_string();
    tmp.push(format!(".{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| -> std::io::Result<()> {
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            open.mode(0o600);
        }
        let mut f = open.open(&tmp)?;
        let text = serde_json::to_string(mark).map_err(std::io::Error::other)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        std::fs::rename(&tmp, &target)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::warn!(file = %target.display(), "the passed database check could not be noted (the next command checks again): {e}");
    }
}

/// Forgets any pass noted for `db` (a check failed).
pub fn forget(db: &Path) {
    let _ = std::fs::remove_file(mark_path(db));
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `PRAGMA quick_check` on `conn`: the problems it finds (none when
/// healthy); a file too damaged to answer is one problem, not an error.
fn problems(conn: &Connection) -> Result<Vec<String>> {
    let run = || -> rusqlite::Result<Vec<String>> {
        let mut st = conn.prepare("PRAGMA quick_check(20)")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        let mut problems = vec![];
        for r in rows {
            let r = r?;
            if r != "ok" {
                problems.push(r);
            }
        }
        Ok(problems)
    };
    match run() {
        Ok(p) => Ok(p),
        Err(e)
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
            ) =>
        {
            Ok(vec![e.to_string()])
        }
        Err(e) => Err(e.into()),
    }
}

/// Problems found → `StoreError::Damaged`, the note forgotten.
fn verdict(path: &Path, problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    forget(path);
    tracing::error!(path = %path.display(), ?problems, "the kiosk database failed its check");
    Err(StoreError::Damaged {
        path: path.to_path_buf(),
        problems,
    })
}

impl Store {
    /// `PRAGMA quick_check`: the problems it finds (none when healthy).
    /// Reads every page of the file but skips the index-to-table cross
    /// checks of `integrity_check` (README, Performance: its time on the
    /// 1M-item demo library).
    pub fn quick_check(&self) -> Result<Vec<String>> {
        problems(&self.conn)
    }

    /// Refuses a database that fails [`Store::quick_check`]: the kiosk
    /// must not lend or return with it (a damaged page may hide a loan).
    pub fn check_at_start(&self, path: &Path) -> Result<()> {
        verdict(path, self.quick_check()?)
    }

    /// [`Store::check_at_start`] for the command line, reusing a pass
    /// noted in `<path>-checked` while the files are as that pass (or a
    /// command after it) left them and the pass is younger than
    /// [`MARK_MAX_AGE`] at `now` (module doc). When this store is dropped
    /// the note takes the files' new key.
    pub fn check_remembered(&mut self, path: &Path, now: SystemTime) -> Result<Checked> {
        let key = Key::of(path);
        let now_s = secs(now);
        let fresh = |m: &Mark| {
            m.key == key && m.checked_at <= now_s && now_s - m.checked_at < MARK_MAX_AGE.as_secs()
        };
        let (checked, checked_at) = match read_mark(path) {
            Some(m) if fresh(&m) => {
                tracing::info!(path = %path.display(), checked_at = m.checked_at, "database check passed earlier; not run again");
                (Checked::Reused, m.checked_at)
            }
            _ => {
                tracing::info!(path = %path.display(), "database check ran");
                self.check_at_start(path)?;
                write_mark(
                    path,
                    &Mark {
                        key,
                        checked_at: now_s,
                    },
                );
                (Checked::Ran, now_s)
            }
        };
        self.restamp = Some(Restamp {
            db: path.to_path_buf(),
            checked_at,
        });
        Ok(checked)
    }
}

impl Reader {
    /// [`Store::check_at_start`] on a read-only connection of its own
    /// (call it on a blocking thread): the front ends' check after their
    /// first frame. A failure forgets the command line's note.
    pub(crate) fn check(&self) -> Result<()> {
        let conn = self.open()?;
        let problems = problems(&conn)?;
        drop(conn);
        verdict(&self.path(), problems)
    }
}

/// Held by a store opened through `Store::check_remembered` (its last
/// field, so it is dropped after the connection closed): writes the key
/// of the files as this command leaves them into the note, with the time
/// of the check that passed, unless the note is gone or newer.
#[derive(Debug)]
pub(crate) struct Restamp {
    db: PathBuf,
    checked_at: u64,
}

impl Drop for Restamp {
    fn drop(&mut self) {
        if let Some(m) = read_mark(&self.db) {
            if m.checked_at == self.checked_at {
                write_mark(
                    &self.db,
                    &Mark {
                        key: Key::of(&self.db),
                        checked_at: self.checked_at,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_is_reused_until_the_files_change_or_it_is_old() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("k.db");
        let now = SystemTime::now();
        let mut s = Store::open(&db, "k1").unwrap();
        assert_eq!(s.check_remembered(&db, now).unwrap(), Checked::Ran);
        s.set_sync_state("x", "1").unwrap();
        drop(s);
        let mark = read_mark(&db).expect("a note");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(mark_path(&db))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        // The store's own writes were noted as it closed.
        let mut s = Store::open(&db, "k1").unwrap();
        assert_eq!(s.check_remembered(&db, now).unwrap(), Checked::Reused);
        drop(s);
        assert_eq!(read_mark(&db).unwrap().checked_at, mark.checked_at);
        // Too old: checked again.
        let later = now + MARK_MAX_AGE + Duration::from_secs(1);
        let mut s = Store::open(&db, "k1").unwrap();
        assert_eq!(s.check_remembered(&db, later).unwrap(), Checked::Ran);
        drop(s);
        // Written by something else (one byte of the file's free space
        // at the end, the same size): checked again.
        let mut s = Store::open(&db, "k1").unwrap();
        assert_eq!(s.check_remembered(&db, later).unwrap(), Checked::Reused);
        drop(s);
        std::thread::sleep(Duration::from_millis(20));
        let bytes = std::fs::read(&db).unwrap();
        std::fs::write(&db, &bytes).unwrap();
        let mut s = Store::open(&db, "k1").unwrap();
        assert_eq!(s.check_remembered(&db, later).unwrap(), Checked::Ran);
    }
}
