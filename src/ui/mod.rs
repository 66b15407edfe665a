//! The touch-screen kiosk (iced, software rendering): the application that
//! owns the store and the devices, routes scans, and turns the screens'
//! Events into circulation calls.
//!
//! Screens (src/ui/screens) never touch the store or a device; the `App`
//! sends every decision through the desk (`ui::sync::Desk`, which is
//! `sync::Circulation`, standalone without an upstream) in a Task, and
//! draws a success only when its committed decision comes back. It reads
//! the store (titles, accounts) but never writes it, and runs no SQL: the
//! staff figures and suggestions come from `store::Reader` off the UI
//! thread. Scans arrive from the device
//! runner (a Subscription over its channel) and from a keyboard-wedge
//! scanner typing into the window (told apart from people by
//! `WedgeDetector`). Nothing here logs a PIN or a full card number.
//!
//! May import: `sync` (the desk, the engine's status), `store` (reads and
//! types), `domain`, `devices`, `config`, `i18n`, `privacy`, `cli`'s
//! `Env` for `run`; nothing imports `ui` but `cli` and the binaries.

pub mod app;
pub mod feed;
pub mod log;
pub mod mail;
pub mod screens;
pub mod sound;
pub mod sync;
pub mod theme;

pub use app::{App, Message, Screen};

use crate::devices::runner::Devices;
use crate::launch::{Env, Failure as CliError};
use crate::store;
use iced::{window, Font, Point, Size};

/// The family name of the bundled CJK font (assets/fonts).
pub const FONT_NAME: &str = "Noto Sans CJK SC";
/// The bundled font: Latin, GB2312 symbols and level-1 hanzi.
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Kiosk.otf");

/// Runs the kiosk's touch screen until staff quit it.
pub fn run(env: &Env) -> Result<i32, CliError> {
    // No screen to draw on (a server, an ssh session): run the same kiosk in
    // text mode rather than failing.
    let has_display = ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !has_display {
        eprintln!(
            "{}",
            crate::i18n::Texts::get().text(env.lang, "kiosk-gui-pending", &[])
        );
        return crate::textkiosk::run(env, true);
    }
    // Screenshots (`--features stager`): the kiosk on a throwaway copy of
    // its database, put on the screen KIOSK_UI_SCREEN names.
    #[cfg(feature = "stager")]
    let staged = app::stager::Staged::from_env(env)?;
    #[cfg(feature = "stager")]
    let env = staged.as_ref().map_or(env, |s| &s.env);
    #[cfg(not(feature = "stager"))]
    if std::env::var_os("KIOSK_UI_SCREEN").is_some() {
        tracing::warn!("KIOSK_UI_SCREEN is for screenshots: build with --features stager");
    }
    // The database's check runs after the first frame (`app::start`):
    // on a large library it takes longer than the whole start may.
    let mut store = env.open_store_unchecked()?;
    let demo = &env.config.demo;
    if demo.enabled && store.counts()?.patrons == 0 {
        let r = store::demo::generate(&mut store, demo.patrons, demo.items, demo.seed, env.now)?;
        eprintln!(
            "demo library created: {} readers, {} items",
            r.patrons, r.items
        );
    }
    if demo.enabled {
        let (patrons, items) = store::demo::loanable_pairs(&store, 3)?;
        eprintln!(
            "demo cards: {}   demo books: {}",
            patrons.join(" "),
            items.join(" ")
        );
    }
    // With an upstream: the sync schedules beside the window, and every
    // loan, return, renewal and hold decided through it (offline rules
    // when it cannot be reached), started once the database passed its
    // check (`app::start`). A configuration it cannot use stops the kiosk
    // here, with the reason, like any other configuration error.
    sync::Background::check_config(&env.config)
        .map_err(|e| CliError::Usage(format!("sync: {e}")))?;
    let background = sync::BackgroundSlot::default();
    let (devices, events) = Devices::start(&env.config);
    let mut app = App::new(env.config.clone(), store, Some(devices), env.lang)?;
    app.set_feed(feed::Feed::new(events));
    if env.config.kiosk.sounds {
        app.set_sound(sound::Player::start(env.config.kiosk.sound_volume));
    }
    if env.config.upstream.kind != crate::config::UpstreamKind::None {
        app.sync_after_check(env.db.clone(), background.clone());
    }
    #[cfg(feature = "stager")]
    if let Some(s) = &staged {
        app.jump_to(&s.screen);
    }
    let geometry = std::env::var("KIOSK_WINDOW")
        .ok()
        .and_then(|g| parse_geometry(&g));
    let window = window::Settings {
        size: geometry.unwrap_or(Size::new(1920.0, 1080.0)),
        position: window::Position::Specific(Point::ORIGIN),
        // No window manager on a kiosk: no title bar, no close button, and
        // nothing may cover the screen.
        decorations: false,
        resizable: false,
        closeable: false,
        minimizable: false,
        fullscreen: geometry.is_none(),
        level: window::Level::AlwaysOnTop,
        ..window::Settings::default()
    };
    // Out of service until the database passed its check; retention
    // (a write) after that.
    let check = app.check_store();
    let high_contrast = env.config.kiosk.high_contrast;
    let restart = app.restart_flag();
    let slot = std::sync::Mutex::new(Some((app, check)));
    let boot = move || {
        let (app, check) = slot
            .lock()
            .ok()
            .and_then(|mut s| s.take())
            .expect("iced boots the kiosk once");
        let fit = if geometry.is_some() {
            iced::Task::none()
        } else {
            app::fit_to_monitor()
        };
        (app, iced::Task::batch([fit, check]))
    };
    let result = iced::application(boot, App::update, App::view)
        .title(|_: &App| "kiosk".to_string())
        .subscription(App::subscription)
        .theme(move |a: &App| theme::theme(a.high_contrast() || high_contrast))
        .font(FONT)
        .default_font(Font::with_name(FONT_NAME))
        .window(window)
        // A reader must not be able to close the kiosk; staff quit from
        // the staff menu.
        .exit_on_close_request(false)
        .run();
    let running = background.lock().ok().and_then(|mut b| b.take());
    if let Some(b) = running {
        b.stop();
    }
    result.map_err(|e| CliError::Usage(format!("the touch screen failed: {e}")))?;
    if restart.load(std::sync::atomic::Ordering::SeqCst) {
        return start_again();
    }
    Ok(0)
}

/// Staff chose "restart": the same program with the same arguments takes
/// this process's place (configuration re-read, devices reopened, the
/// database opened afresh). argv[0] first, so a kiosk upgraded in place
/// starts the new binary.
#[cfg(unix)]
fn start_again() -> Result<i32, CliError> {
    use std::os::unix::process::CommandExt;
    let mut args = std::env::args_os();
    let program = args
        .next()
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_exe().ok())
        .ok_or_else(|| CliError::Usage("restart: the program's path is unknown".into()))?;
    tracing::info!(program = %program.display(), "starting the kiosk again");
    let err = std::process::Command::new(&program).args(args).exec();
    Err(CliError::Usage(format!(
        "restart: could not start {} again: {err}",
        program.display()
    )))
}

#[cfg(not(unix))]
fn start_again() -> Result<i32, CliError> {
    Err(CliError::Usage(
        "restart: start the kiosk again by hand (only Unix restarts itself)".into(),
    ))
}

/// `1920x1080` → a window size; anything else → None (fullscreen).
pub fn parse_geometry(s: &str) -> Option<Size> {
    let (w, h) = s.trim().split_once(['x', 'X'])?;
    let (w, h): (u32, u32) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    ((100..=10_000).contains(&w) && (100..=10_000).contains(&h))
        .then(|| Size::new(w as f32, h as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_parses_or_falls_back() {
        assert_eq!(parse_geometry("1280x800"), Some(Size::new(1280.0, 800.0)));
        assert_eq!(parse_geometry(" 800X480 "), Some(Size::new(800.0, 480.0)));
        assert_eq!(parse_geometry("big"), None);
        assert_eq!(parse_geometry("0x0"), None);
        assert_eq!(parse_geometry("1920x"), None);
    }
}
