//! Sound cues: which of three sounds an outcome deserves (a pure choice,
//! tested), and a player on a thread of its own that plays them through
//! rodio without ever holding up the screen.
//!
//! A kiosk without a sound card (CI, Xvfb, a PC with the speakers
//! unplugged) must start and work exactly as with one: the player tries the
//! output at the first cue, logs once if there is none, and from then on
//! drops cues quietly. It must never panic, block `update` or retry in a
//! loop. The sounds are synthesized by assets/sounds/make-sounds.py.

use super::screens::{borrow, returns, Notice};
use std::io::Cursor;
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

/// Where the cues go: the sound card (rodio), or anything a test puts in.
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

/// The default sound card through rodio.
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
    let mut stream = rodio::OutputStreamBuilder::open_default_stream()
        .map_err(|e| format!("cannot open the default sound output: {e}"))?;
    // rodio says so on stderr when the stream closes; the kiosk's log is
    // tracing's.
    stream.log_on_drop(false);
    Ok(Box::new(Speaker(stream)))
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
