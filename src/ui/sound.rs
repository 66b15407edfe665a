//! Sound cues: which of three sounds an outcome deserves (a pure choice,
//! tested), and a player on a thread of its own that plays them without
//! ever holding up the screen: by default through the system's player
//! program (pw-play, paplay or aplay, found on `PATH` at the first cue), or
//! in-process through rodio when built with `--features rodio` (which needs
//! the ALSA headers to build; docs/deploy.md says why it is not the default).
//!
//! A kiosk without a sound card (CI, Xvfb, a PC with the speakers
//! unplugged) must start and work exactly as with one: the player tries the
//! output at the first cue, logs once if there is none, and from then on
//! drops cues quietly. It must never panic, block `update` or retry in a
//! loop. The sounds are synthesized by assets/sounds/make-sounds.py.
//!
//! Imports: `ui::screens` (the outcomes a cue is chosen for) and std; no
//! store, sync or devices.

use super::screens::{borrow, returns, Notice};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// One of the kiosk's three sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// A loan, return, renewal or hold went through.
    Success,
    /// Refused: the screen says why.
    Error,
    /// Something needs a look: see staff, the hold shelf, "are you still
    /// there?".
    Attention,
}

impl Cue {
    /// The WAV file, built into the binary.
    pub fn wav(self) -> &'static [u8] {
        match self {
            Cue::Success => include_bytes!("../../assets/sounds/success.wav"),
            Cue::Error => include_bytes!("../../assets/sounds/error.wav"),
            Cue::Attention => include_bytes!("../../assets/sounds/attention.wav"),
        }
    }
}

/// The sound for a line on the borrow screen.
pub fn for_loan(status: &borrow::Status) -> Cue {
    match status {
        borrow::Status::Borrowed { .. } | borrow::Status::Renewed { .. } => Cue::Success,
        // Lent, but the tag's security could not be set: see staff.
        borrow::Status::BorrowedInsecure { .. } => Cue::Attention,
        borrow::Status::Refused(_) => Cue::Error,
    }
}

/// The sound for a line on the return screen: a plain return chimes; an
/// item for the hold shelf or for staff, or a tag that kept its loan
/// security, asks for attention; a refused return buzzes.
pub fn for_return(line: &returns::Line) -> Cue {
    match &line.result {
        Ok(r) if r.security_failed => Cue::Attention,
        Ok(r) => match r.route {
            returns::Where::Bin(_) => Cue::Success,
            returns::Where::HoldShelf { .. } | returns::Where::Staff => Cue::Attention,
        },
        Err(_) => Cue::Error,
    }
}

/// The sound for a notice told to the reader.
pub fn for_notice(n: &Notice) -> Cue {
    match n {
        Notice::Refused(_) => Cue::Error,
        Notice::Said(id, _) => match *id {
            "hold-ok" | "renew-ok" | "hold-cancelled" | "feedback-thanks" => Cue::Success,
            _ => Cue::Attention,
        },
    }
}

/// Where the cues go: a player program, rodio, or anything a test puts in.
pub trait Output {
    /// Starts `cue` at `volume` (0.0–1.0) and returns at once.
    fn play(&mut self, cue: Cue, volume: f32) -> Result<(), String>;
}

/// Opens the output; called once, on the player's thread, at the first cue.
pub type Opener = Box<dyn FnOnce() -> Result<Box<dyn Output>, String> + Send>;

/// What the player found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No cue asked for yet: the output has not been tried.
    NotTried,
    /// Cues are being played.
    Playing,
    /// No output (or it failed): cues are dropped. Logged once.
    Silent(String),
}

/// Plays cues on its own thread; `play` never waits.
pub struct Player {
    tx: Option<mpsc::Sender<Cue>>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Player({:?})", self.state())
    }
}

impl Player {
    /// Through the default sound card at `volume` (0–100, `[kiosk]
    /// sound_volume`).
    pub fn start(volume: u32) -> Player {
        Player::with_output(volume, Box::new(open_default))
    }

    /// Through whatever `open` returns (tests inject a missing device).
    pub fn with_output(volume: u32, open: Opener) -> Player {
        let volume = volume.min(100) as f32 / 100.0;
        let state = Arc::new(Mutex::new(State::NotTried));
        let (tx, rx) = mpsc::channel::<Cue>();
        let shared = state.clone();
        let spawned = std::thread::Builder::new()
            .name("kiosk-sound".into())
            .spawn(move || play_all(rx, open, volume, &shared));
        match spawned {
            Ok(_) => Player {
                tx: Some(tx),
                state,
            },
            Err(e) => {
                tracing::warn!(error = %e, "no thread for sounds; the kiosk carries on without them");
                *state.lock().unwrap_or_else(|p| p.into_inner()) =
                    State::Silent(format!("no thread: {e}"));
                Player { tx: None, state }
            }
        }
    }

    /// Queues `cue`; returns at once whatever the sound card does.
    pub fn play(&self, cue: Cue) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(cue);
        }
    }

    pub fn state(&self) -> State {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

fn play_all(rx: mpsc::Receiver<Cue>, open: Opener, volume: f32, state: &Mutex<State>) {
    let set = |s: State| *state.lock().unwrap_or_else(|p| p.into_inner()) = s;
    // Nothing is opened before the first cue: an idle kiosk holds no
    // sound device, and start-up does not wait for one.
    let Ok(first) = rx.recv() else { return };
    let mut output = match open() {
        Ok(o) => {
            set(State::Playing);
            o
        }
        Err(e) => {
            tracing::warn!(error = %e, "no sound output; the kiosk carries on without sounds");
            set(State::Silent(e));
            // Drain quietly until the kiosk stops.
            while rx.recv().is_ok() {}
            return;
        }
    };
    let mut failed = false;
    for cue in std::iter::once(first).chain(rx.iter()) {
        match output.play(cue, volume) {
            Ok(()) => failed = false,
            Err(e) => {
                // Logged once per run of failures, not once per cue.
                if !failed {
                    tracing::warn!(error = %e, ?cue, "a sound could not be played");
                }
                failed = true;
            }
        }
    }
}

/// The default output: the sound card must exist, then rodio (with
/// `--features rodio`) or else the first player program on `PATH`.
fn open_default() -> Result<Box<dyn Output>, String> {
    // Without any sound card ALSA would print a dozen lines of its own
    // to stderr while failing; say it once, in the kiosk's log, instead.
    #[cfg(target_os = "linux")]
    if !has_sound_card(
        std::fs::read_to_string("/proc/asound/cards")
            .ok()
            .as_deref(),
    ) {
        return Err("no sound card (/proc/asound/cards lists none)".into());
    }
    #[cfg(feature = "rodio")]
    let rodio_failed = match speaker::open() {
        Ok(o) => return Ok(o),
        Err(e) => e,
    };
    let path = std::env::var_os("PATH");
    let found = programs_on(path.as_deref());
    match Programs::new(found) {
        Ok(p) => Ok(Box::new(p)),
        #[cfg(feature = "rodio")]
        Err(e) => Err(format!("{rodio_failed}; {e}")),
        #[cfg(not(feature = "rodio"))]
        Err(e) => Err(e),
    }
}

/// The default sound card through rodio (cpal, ALSA on Linux): only with
/// `--features rodio`, which needs libasound2-dev to build.
#[cfg(feature = "rodio")]
mod speaker {
    use super::{Cue, Output};
    use std::io::Cursor;

    struct Speaker(rodio::OutputStream);

    impl Output for Speaker {
        fn play(&mut self, cue: Cue, volume: f32) -> Result<(), String> {
            let sink =
                rodio::play(self.0.mixer(), Cursor::new(cue.wav())).map_err(|e| e.to_string())?;
            sink.set_volume(volume);
            // Plays to the end on the mixer; the next cue does not wait.
            sink.detach();
            Ok(())
        }
    }

    pub(super) fn open() -> Result<Box<dyn Output>, String> {
        let mut stream = rodio::OutputStreamBuilder::open_default_stream()
            .map_err(|e| format!("cannot open the default sound output: {e}"))?;
        // rodio says so on stderr when the stream closes; the kiosk's log is
        // tracing's.
        stream.log_on_drop(false);
        Ok(Box::new(Speaker(stream)))
    }
}

/// The player programs tried, in order, and the arguments before the file:
/// PipeWire's (Debian 12's desktop default), PulseAudio's (also served by
/// pipewire-pulse), then plain ALSA's (a kiosk with no sound server).
const PROGRAMS: [(&str, &[&str]); 3] = [("pw-play", &[]), ("paplay", &[]), ("aplay", &["-q"])];

/// How to install one of `PROGRAMS`, for the log line of a silent kiosk.
const INSTALL_A_PLAYER: &str =
    "Debian: apt install alsa-utils (aplay), pulseaudio-utils (paplay) or pipewire-bin (pw-play)";

/// A player program found on the search path, with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Program {
    path: PathBuf,
    args: &'static [&'static str],
}

/// The `PROGRAMS` present and executable on `path` (a `PATH` value), in
/// `PROGRAMS` order.
fn programs_on(path: Option<&std::ffi::OsStr>) -> Vec<Program> {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = path else { return Vec::new() };
    let dirs: Vec<_> = std::env::split_paths(path).collect();
    PROGRAMS
        .iter()
        .filter_map(|&(name, args)| {
            dirs.iter().map(|d| d.join(name)).find_map(|p| {
                let executable = std::fs::metadata(&p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
                executable.then_some(Program { path: p, args })
            })
        })
        .collect()
}

/// Cues played by handing a WAV file to a player program (`PROGRAMS`),
/// one process per cue, so cues overlap as with a mixer and none waits for
/// another. The files, scaled to the volume, are written once into a
/// private directory that goes when the player stops. A program that
/// fails is logged once and the next one found is tried.
struct Programs {
    found: Vec<Program>,
    /// Index into `found` of the program in use.
    current: usize,
    dir: PathBuf,
    written: Vec<(Cue, u32, PathBuf)>,
    running: Vec<(usize, Cue, Child)>,
    /// Why the last program failed (once every program has).
    last_error: String,
}

impl Programs {
    fn new(found: Vec<Program>) -> Result<Programs, String> {
        if found.is_empty() {
            return Err(format!(
                "no sound player program on PATH (pw-play, paplay or aplay; {INSTALL_A_PLAYER})"
            ));
        }
        let dir = private_dir().map_err(|e| format!("no directory for the sound files: {e}"))?;
        Ok(Programs {
            found,
            current: 0,
            dir,
            written: Vec::new(),
            running: Vec::new(),
            last_error: String::new(),
        })
    }

    /// The WAV file for `cue` at `volume`, written at its first use.
    fn file(&mut self, cue: Cue, volume: f32) -> Result<PathBuf, String> {
        let percent = (volume.clamp(0.0, 1.0) * 100.0).round() as u32;
        if let Some((.., p)) = self
            .written
            .iter()
            .find(|(c, v, _)| *c == cue && *v == percent)
        {
            return Ok(p.clone());
        }
        let path = self
            .dir
            .join(format!("{cue:?}-{percent}.wav").to_lowercase());
        std::fs::write(&path, scaled_wav(cue.wav(), percent as f32 / 100.0))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        self.written.push((cue, percent, path.clone()));
        Ok(path)
    }

    /// Collects the finished processes; a program that failed is left for
    /// the next one found (logged here: it happens once per program).
    fn reap(&mut self) {
        let mut still = Vec::new();
        for (program, cue, mut child) in std::mem::take(&mut self.running) {
            match child.try_wait() {
                Ok(None) => still.push((program, cue, child)),
                Ok(Some(status)) if status.success() => {}
                Ok(Some(status)) => {
                    let mut said = String::new();
                    if let Some(mut e) = child.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut said);
                    }
                    self.failed(program, cue, format!("{status}: {}", said.trim()));
                }
                Err(e) => self.failed(program, cue, e.to_string()),
            }
        }
        self.running = still;
    }

    fn failed(&mut self, program: usize, cue: Cue, why: String) {
        if program != self.current {
            return; // already moved on
        }
        self.current += 1;
        if let Some(next) = self.found.get(self.current) {
            tracing::warn!(
                failed = %self.found[program].path.display(),
                next = %next.path.display(),
                ?cue,
                error = %why,
                "a sound player program failed; trying the next one"
            );
        }
        self.last_error = format!("{}: {why}", self.found[program].path.display());
    }
}

impl Output for Programs {
    fn play(&mut self, cue: Cue, volume: f32) -> Result<(), String> {
        self.reap();
        let Some(program) = self.found.get(self.current).cloned() else {
            return Err(format!(
                "every sound player program failed, the last {}",
                self.last_error
            ));
        };
        let file = self.file(cue, volume)?;
        let child = Command::new(&program.path)
            .args(program.args)
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.path.display()))?;
        self.running.push((self.current, cue, child));
        Ok(())
    }
}

impl Drop for Programs {
    fn drop(&mut self) {
        // A program still playing has its file open: removing it is safe.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A new directory only this user can read, under `XDG_RUNTIME_DIR` (or
/// the temporary directory), with a name no one could have guessed.
fn private_dir() -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!(
        "kiosk-sounds-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(dir)
}

/// `wav` with its 16-bit PCM samples scaled by `volume` (0.0–1.0); any
/// other WAV (or not a WAV) as it is. Player programs have no common
/// volume option, so the volume is in the file.
fn scaled_wav(wav: &[u8], volume: f32) -> Vec<u8> {
    let mut out = wav.to_vec();
    if !wav.starts_with(b"RIFF") || wav.get(8..12) != Some(b"WAVE") || volume >= 1.0 {
        return out;
    }
    let u16_at = |at: usize| {
        wav.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let mut pcm16 = false;
    let mut at = 12;
    while let Some(head) = wav.get(at..at + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let body = at + 8;
        match &head[..4] {
            b"fmt " => pcm16 = u16_at(body) == Some(1) && u16_at(body + 14) == Some(16),
            b"data" if pcm16 => {
                let end = (body + len).min(wav.len());
                for s in out[body..end].chunks_exact_mut(2) {
                    let v = i16::from_le_bytes([s[0], s[1]]) as f32 * volume.max(0.0);
                    s.copy_from_slice(&(v.round() as i16).to_le_bytes());
                }
                return out;
            }
            _ => {}
        }
        // Chunks are padded to an even length.
        at = body + len + (len & 1);
    }
    out
}

/// Whether `/proc/asound/cards` (its text, None if absent) lists a card.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn has_sound_card(cards: Option<&str>) -> bool {
    cards.is_some_and(|c| !c.trim().is_empty() && !c.contains("no soundcards"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Refusal;
    use std::time::{Duration, Instant};

    fn wait_for(p: &Player, want: impl Fn(&State) -> bool) -> State {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let s = p.state();
            if want(&s) || Instant::now() > until {
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn every_sound_is_a_wav_file() {
        for c in [Cue::Success, Cue::Error, Cue::Attention] {
            let w = c.wav();
            assert_eq!(&w[..4], b"RIFF", "{c:?}");
            assert_eq!(&w[8..12], b"WAVE", "{c:?}");
            assert!(w.len() > 1000, "{c:?}");
        }
        assert_ne!(Cue::Success.wav(), Cue::Error.wav());
    }

    #[test]
    fn the_sound_fits_the_outcome() {
        let due = || "2026-12-01".to_string();
        assert_eq!(
            for_loan(&borrow::Status::Borrowed { due: due() }),
            Cue::Success
        );
        assert_eq!(
            for_loan(&borrow::Status::Renewed { due: due() }),
            Cue::Success
        );
        assert_eq!(
            for_loan(&borrow::Status::BorrowedInsecure { due: due() }),
            Cue::Attention
        );
        assert_eq!(
            for_loan(&borrow::Status::Refused(Refusal::UnknownItem)),
            Cue::Error
        );
        let ret = |route, security_failed| returns::Line {
            item: "I".into(),
            title: "T".into(),
            result: Ok(returns::Returned {
                fine_cents: 0,
                overdue_days: 0,
                route,
                security_failed,
            }),
        };
        assert_eq!(
            for_return(&ret(returns::Where::Bin("A".into()), false)),
            Cue::Success
        );
        assert_eq!(
            for_return(&ret(returns::Where::Bin("A".into()), true)),
            Cue::Attention
        );
        assert_eq!(
            for_return(&ret(
                returns::Where::HoldShelf {
                    code: "123456".into()
                },
                false
            )),
            Cue::Attention
        );
        assert_eq!(
            for_return(&ret(returns::Where::Staff, false)),
            Cue::Attention
        );
        let refused = returns::Line {
            item: "I".into(),
            title: "T".into(),
            result: Err(Refusal::UnknownItem),
        };
        assert_eq!(for_return(&refused), Cue::Error);
        assert_eq!(
            for_notice(&Notice::Refused(Refusal::UnknownPatron)),
            Cue::Error
        );
        assert_eq!(for_notice(&Notice::said("ui-error-staff")), Cue::Attention);
        assert_eq!(for_notice(&Notice::said("hold-ok")), Cue::Success);
    }

    #[test]
    fn no_sound_device_is_logged_once_and_never_stops_anything() {
        let p = Player::with_output(70, Box::new(|| Err("no card".to_string())));
        assert_eq!(p.state(), State::NotTried, "nothing opened before a cue");
        for _ in 0..50 {
            p.play(Cue::Error);
        }
        assert_eq!(
            wait_for(&p, |s| *s != State::NotTried),
            State::Silent("no card".into())
        );
        p.play(Cue::Success);
        assert_eq!(p.state(), State::Silent("no card".into()));
    }

    /// Records what it was asked to play.
    struct Recorder(Arc<Mutex<Vec<(Cue, f32)>>>);

    impl Output for Recorder {
        fn play(&mut self, cue: Cue, volume: f32) -> Result<(), String> {
            self.0.lock().unwrap().push((cue, volume));
            Ok(())
        }
    }

    #[test]
    fn cues_reach_the_output_in_order_at_the_configured_volume() {
        let played = Arc::new(Mutex::new(Vec::new()));
        let sink = played.clone();
        let p = Player::with_output(40, Box::new(move || Ok(Box::new(Recorder(sink)) as _)));
        p.play(Cue::Success);
        p.play(Cue::Attention);
        let until = Instant::now() + Duration::from_secs(30);
        while played.lock().unwrap().len() < 2 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            *played.lock().unwrap(),
            vec![(Cue::Success, 0.4), (Cue::Attention, 0.4)]
        );
        assert_eq!(p.state(), State::Playing);
    }

    #[test]
    fn sound_cards_are_found_in_proc_asound() {
        assert!(!has_sound_card(None));
        assert!(!has_sound_card(Some("--- no soundcards ---\n")));
        assert!(!has_sound_card(Some("")));
        assert!(has_sound_card(Some(
            " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
        )));
    }

    /// A 16-bit mono WAV of `samples`, with an odd-sized chunk before
    /// `data` (padded, as a LIST chunk may be).
    fn wav16(samples: &[i16]) -> Vec<u8> {
        let mut data = Vec::new();
        for s in samples {
            data.extend_from_slice(&s.to_le_bytes());
        }
        let mut w = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        w.extend_from_slice(&16u32.to_le_bytes());
        w.extend_from_slice(&[1, 0, 1, 0]); // PCM, mono
        w.extend_from_slice(&22050u32.to_le_bytes());
        w.extend_from_slice(&44100u32.to_le_bytes());
        w.extend_from_slice(&[2, 0, 16, 0]); // block align 2, 16 bits
        w.extend_from_slice(b"LIST\x03\0\0\0abc\0");
        w.extend_from_slice(b"data");
        w.extend_from_slice(&(data.len() as u32).to_le_bytes());
        w.extend_from_slice(&data);
        w
    }

    fn samples_of(wav: &[u8]) -> Vec<i16> {
        let at = wav.windows(4).position(|w| w == b"data").unwrap() + 8;
        wav[at..]
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn the_volume_is_in_the_file_a_program_plays() {
        let w = wav16(&[1000, -1000, 32767, -32768, 3]);
        assert_eq!(scaled_wav(&w, 1.0), w, "full volume: the same bytes");
        let half = scaled_wav(&w, 0.5);
        assert_eq!(half.len(), w.len());
        assert_eq!(half[..half.len() - 10], w[..w.len() - 10], "header kept");
        assert_eq!(samples_of(&half), vec![500, -500, 16384, -16384, 2]);
        assert_eq!(samples_of(&scaled_wav(&w, 0.0)), vec![0; 5]);
        // The kiosk's own sounds are 16-bit PCM: they get quieter.
        let cue = Cue::Success.wav();
        let quiet = samples_of(&scaled_wav(cue, 0.25));
        let loud = samples_of(cue);
        assert_eq!(quiet.len(), loud.len());
        assert!(loud.iter().any(|s| s.abs() > 1000));
        assert!(quiet.iter().zip(&loud).all(|(q, l)| q.abs() <= l.abs()));
        // Anything else is played as it is.
        assert_eq!(scaled_wav(b"not a wav", 0.5), b"not a wav".to_vec());
        let mut float = w.clone();
        float[20] = 3; // IEEE float, not PCM
        assert_eq!(scaled_wav(&float, 0.5), float);
    }

    /// A directory of fake player programs: each named program is a shell
    /// script running `body` (with `$OUT` set to `out`).
    fn fake_programs(dir: &std::path::Path, out: &std::path::Path, programs: &[(&str, &str)]) {
        use std::os::unix::fs::PermissionsExt;
        for (name, body) in programs {
            let p = dir.join(name);
            let script = format!("#!/bin/sh\nOUT='{}'\n{body}\n", out.display());
            std::fs::write(&p, script).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    /// Waits until `path` exists (a fake program has written it).
    fn wait_for_file(path: &std::path::Path) -> Vec<u8> {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok(b) = std::fs::read(path) {
                // Written by cp: complete once it is as long as a cue.
                if b.len() > 1000 {
                    return b;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} never appeared", path.display());
    }

    #[test]
    fn player_programs_are_found_on_the_path_in_order() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        fake_programs(a.path(), a.path(), &[("aplay", "exit 0")]);
        fake_programs(
            b.path(),
            b.path(),
            &[("paplay", "exit 0"), ("aplay", "exit 0")],
        );
        // Not executable: not a program.
        std::fs::write(a.path().join("pw-play"), "").unwrap();
        let path = std::env::join_paths([a.path(), b.path()]).unwrap();
        let found = programs_on(Some(&path));
        assert_eq!(
            found,
            vec![
                Program {
                    path: b.path().join("paplay"),
                    args: &[]
                },
                Program {
                    path: a.path().join("aplay"),
                    args: &["-q"]
                },
            ],
            "paplay before aplay; the first aplay on the path"
        );
        assert!(programs_on(None).is_empty());
        let empty = tempfile::tempdir().unwrap();
        assert!(programs_on(Some(empty.path().as_os_str())).is_empty());
        let none = Programs::new(Vec::new()).err().unwrap();
        assert!(none.contains("apt install alsa-utils"), "{none}");
    }

    #[test]
    fn a_player_program_gets_each_cue_as_a_wav_file_at_the_volume() {
        let bin = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        // aplay is called with -q and the file; it keeps a copy per call.
        fake_programs(
            bin.path(),
            out.path(),
            &[(
                "aplay",
                r#"[ "$1" = -q ] || exit 2; n=$(ls "$OUT" | wc -l); cp "$2" "$OUT/tmp$n"; mv "$OUT/tmp$n" "$OUT/$n.wav""#,
            )],
        );
        let found = programs_on(Some(bin.path().as_os_str()));
        let p = Player::with_output(
            40,
            Box::new(move || Ok(Box::new(Programs::new(found)?) as _)),
        );
        p.play(Cue::Error);
        assert_eq!(
            wait_for_file(&out.path().join("0.wav")),
            scaled_wav(Cue::Error.wav(), 0.4)
        );
        p.play(Cue::Success);
        assert_eq!(
            wait_for_file(&out.path().join("1.wav")),
            scaled_wav(Cue::Success.wav(), 0.4)
        );
        assert_eq!(p.state(), State::Playing);
    }

    #[test]
    fn a_failing_player_program_gives_way_to_the_next() {
        let bin = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        // pw-play without a PipeWire daemon: says so and fails.
        fake_programs(
            bin.path(),
            out.path(),
            &[
                (
                    "pw-play",
                    r#"echo "can't connect: Host is down" >&2; touch "$OUT/pw-tried"; exit 1"#,
                ),
                (
                    "aplay",
                    r#"cp "$2" "$OUT/tmp"; mv "$OUT/tmp" "$OUT/aplay.wav""#,
                ),
            ],
        );
        let mut programs = Programs::new(programs_on(Some(bin.path().as_os_str()))).unwrap();
        let dir = programs.dir.clone();
        assert!(dir.is_dir());
        programs.play(Cue::Attention, 1.0).unwrap();
        // Once pw-play has failed, the next cue goes to aplay.
        let until = Instant::now() + Duration::from_secs(30);
        while programs.current == 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
            programs.reap();
        }
        assert_eq!(programs.current, 1, "moved on to aplay");
        programs.play(Cue::Attention, 1.0).unwrap();
        assert_eq!(
            wait_for_file(&out.path().join("aplay.wav")),
            Cue::Attention.wav()
        );
        assert!(out.path().join("pw-tried").exists());
        // When the last one fails too, cues fail, saying why.
        programs.current = 1;
        programs.failed(1, Cue::Error, "exit status: 1: no card".into());
        let e = programs.play(Cue::Error, 1.0).unwrap_err();
        assert!(e.contains("aplay: exit status: 1: no card"), "{e}");
        // The sound files go with the player.
        drop(programs);
        assert!(!dir.exists());
    }

    #[test]
    fn the_real_sound_card_or_none_the_kiosk_carries_on() {
        // CI and Xvfb have no sound card, a developer's machine may: either
        // way playing never fails or blocks.
        let p = Player::start(0);
        p.play(Cue::Success);
        let s = wait_for(&p, |s| *s != State::NotTried);
        assert_ne!(s, State::NotTried, "the output was tried");
        p.play(Cue::Error);
    }
}
