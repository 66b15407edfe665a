//! Device event → screen updated, for the touch-screen kiosk.
//!
//! Each sample is one scan arriving as the device runner delivers it
//! (`Message::Device`), through `App::update`, the Task it returns (the
//! decision on the desk and its journal commit) run to its message, that
//! message's `App::update` (the committed result on the screen),
//! `App::view`, layout, and a full 1920×1080 frame drawn by the same
//! tiny-skia renderer the window uses (read back as pixels, so the figure
//! includes rasterising every pixel). Presenting the frame to X is not
//! included, nor what those messages set going in turn (tag security, the
//! receipt's suggestions, timed on their own below).
//!
//! The scans follow a reader's visit: card (borrow screen), five books
//! (five loans), card again (receipt), then the five books dropped off
//! without a card (five returns), over and over. Also timed: the receipt's
//! suggestions from the local history (`also_borrowed`, which the kiosk
//! runs on a blocking thread through `store::Reader` while the receipt is
//! up).
//!
//! `cargo bench --bench gui`: the 100 000-reader / 1 000 000-item demo
//! library (built once under target/, copied per run), 600 scans; prints
//! p50 / p99 / max per kind of scan and overall. Under `cargo test`
//! (no `--bench`) it runs a few scans on a small library and checks they
//! did what a reader expects. Sizes: KIOSK_BENCH_PATRONS / KIOSK_BENCH_ITEMS,
//! samples: KIOSK_BENCH_N.

use chrono::Local;
use iced::{Font, Pixels, Size};
use iced_test::core::renderer::{Headless, Style};
use iced_test::core::{mouse, theme::Base};
use iced_test::runtime::task::into_stream;
use iced_test::runtime::user_interface::{Cache, UserInterface};
use iced_test::runtime::Action;
use kiosk::config::Config;
use kiosk::devices::events::{DeviceEvent, EventKind};
use kiosk::domain::Lang;
use kiosk::store::{self, Store};
use kiosk::ui::screens::{feedback, receipt};
use kiosk::ui::{App, Message, Screen};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn env(k: &str, d: u32) -> u32 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

/// The demo library, built once under target/ and copied for this run
/// (the run lends and returns books in it).
fn library(patrons: u32, items: u32, config: &Config) -> (tempfile::TempDir, Store) {
    let cache =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-gui-{patrons}-{items}.db"));
    if !cache.exists() {
        let building = cache.with_extension("building");
        let _ = std::fs::remove_file(&building);
        let mut s = Store::open(&building, &config.kiosk.id).expect("open bench db");
        let r = store::demo::generate(&mut s, patrons, items, 42, Local::now().fixed_offset())
            .expect("demo data");
        eprintln!("demo library: {r:?}");
        drop(s);
        std::fs::rename(&building, &cache).expect("cache the bench db");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.db");
    std::fs::copy(&cache, &path).expect("copy the bench db");
    let mut s = Store::open(&path, &config.kiosk.id).expect("open bench db");
    let (rows, settings, holidays) = kiosk::config::circulation(config);
    s.configure(rows, settings, &holidays).unwrap();
    (dir, s)
}

/// The window's renderer without a window: tiny-skia, the kiosk's font.
struct Screenful {
    renderer: iced_test::renderer::Renderer,
    cache: Option<Cache>,
    size: Size,
}

impl Screenful {
    fn new() -> Screenful {
        iced_test::renderer::graphics::text::font_system()
            .write()
            .expect("font system")
            .load_font(kiosk::ui::FONT.into());
        let renderer =
            iced::futures::executor::block_on(<iced_test::renderer::Renderer as Headless>::new(
                Font::with_name(kiosk::ui::FONT_NAME),
                Pixels(16.0),
                Some("tiny-skia"),
            ))
            .expect("a tiny-skia renderer");
        Screenful {
            renderer,
            cache: Some(Cache::default()),
            size: Size::new(1920.0, 1080.0),
        }
    }

    /// Builds, lays out and draws the app's view; returns the pixel count
    /// (so the frame cannot be optimised away).
    fn draw(&mut self, app: &App) -> usize {
        let theme = kiosk::ui::theme::theme(app.high_contrast());
        let cache = self.cache.take().unwrap_or_default();
        let mut ui = UserInterface::build(app.view(), self.size, cache, &mut self.renderer);
        let base = theme.base();
        ui.draw(
            &mut self.renderer,
            &theme,
            &Style {
                text_color: base.text_color,
            },
            mouse::Cursor::Unavailable,
        );
        self.cache = Some(ui.into_cache());
        let px = self.renderer.screenshot(
            Size::new(self.size.width as u32, self.size.height as u32),
            1.0,
            base.background_color,
        );
        px.len()
    }
}

fn scan(code: &str) -> Message {
    Message::Device(DeviceEvent::now(
        "scanner",
        EventKind::ItemScanned {
            code: code.to_string(),
        },
    ))
}

/// `update(m)`, then its Task run to its messages on `rt` and each fed
/// back: the scan until the screen shows its committed result, as iced's
/// runtime would deliver it. What those messages start in turn is not run.
fn update_until_shown(rt: &tokio::runtime::Runtime, app: &mut App, m: Message) {
    use iced::futures::StreamExt;
    let Some(stream) = into_stream(app.update(m)) else {
        return;
    };
    let out: Vec<Message> = rt.block_on(
        stream
            .filter_map(|a| async move {
                match a {
                    Action::Output(m) => Some(m),
                    _ => None,
                }
            })
            .collect(),
    );
    for m in out {
        let _ = app.update(m);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<28} n = {:>4}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        v.len(),
        ms(percentile(&v, 0.5)),
        ms(percentile(&v, 0.99)),
        ms(v.last().copied().unwrap_or_default()),
    );
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (patrons, items, n) = if full {
        (
            env("KIOSK_BENCH_PATRONS", 100_000),
            env("KIOSK_BENCH_ITEMS", 1_000_000),
            env("KIOSK_BENCH_N", 600) as usize,
        )
    } else {
        (
            env("KIOSK_BENCH_PATRONS", 30),
            env("KIOSK_BENCH_ITEMS", 200),
            env("KIOSK_BENCH_N", 12) as usize,
        )
    };
    let mut config = Config::default();
    config.kiosk.languages = vec![Lang::ZhCn, Lang::En];
    let (_dir, s) = library(patrons, items, &config);
    let (cards, books) = store::demo::loanable_pairs(&s, 40).expect("demo pairs");
    assert!(
        cards.len() >= 2 && books.len() >= 10,
        "demo library too small"
    );
    let mut app = App::new(config, s, None, Lang::ZhCn).expect("the kiosk's desk");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the app's Tasks");
    let mut screen = Screenful::new();
    screen.draw(&app); // fonts and caches warm, as after the kiosk starts

    let (mut cards_t, mut loans_t, mut returns_t) = (Vec::new(), Vec::new(), Vec::new());
    let (mut suggest_t, mut suggested) = (Vec::new(), 0usize);
    let timed = |app: &mut App, screen: &mut Screenful, m: Message| {
        let t = Instant::now();
        update_until_shown(&rt, app, m);
        let px = screen.draw(app);
        let d = t.elapsed();
        assert_eq!(px, 1920 * 1080 * 4);
        d
    };
    let mut done = 0;
    let mut visit = 0usize;
    let before = app.store().counts().unwrap();
    while done < n {
        let card = &cards[visit % cards.len()];
        let five = &books[(visit * 5) % (books.len() - 4)..][..5];
        visit += 1;
        cards_t.push(timed(&mut app, &mut screen, scan(card)));
        assert!(
            matches!(app.screen(), Screen::Borrow),
            "card opens a session"
        );
        for b in five {
            loans_t.push(timed(&mut app, &mut screen, scan(b)));
        }
        let lent = app.session().map(|s| s.borrow.lines.len()).unwrap_or(0);
        assert_eq!(lent, 5, "five books listed");
        cards_t.push(timed(&mut app, &mut screen, scan(card)));
        assert!(matches!(app.screen(), Screen::Receipt(_)), "receipt");
        let t = Instant::now();
        let found = app.store().also_borrowed(card, five, 4).expect("history");
        suggest_t.push(t.elapsed());
        suggested += usize::from(!found.is_empty());
        let _ = app.update(Message::Receipt(receipt::Message::NoReceipt));
        let _ = app.update(Message::Feedback(feedback::Message::Skip));
        for b in five {
            returns_t.push(timed(&mut app, &mut screen, scan(b)));
        }
        assert!(matches!(app.screen(), Screen::Return(_)), "returns listed");
        let _ = app.update(Message::Return(kiosk::ui::screens::returns::Message::Done));
        done += 12;
    }
    let after = app.store().counts().unwrap();
    assert_eq!(
        after.current_loans, before.current_loans,
        "every loan came back"
    );
    println!(
        "device event -> screen updated (update + view + layout + 1920x1080 tiny-skia frame), {} readers / {} items:",
        patrons, items
    );
    let all: Vec<Duration> = cards_t
        .iter()
        .chain(&loans_t)
        .chain(&returns_t)
        .copied()
        .collect();
    report("card (session / receipt)", cards_t);
    report("book lent", loans_t);
    report("book returned", returns_t);
    report("all scans", all);
    let receipts = suggest_t.len();
    report("suggestions (local history)", suggest_t);
    println!("receipts with suggestions: {suggested} of {receipts}");
}
