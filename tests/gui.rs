//! The touch-screen kiosk without a window: the app's `update` driven by
//! scans, taps and ticks over a real (in-memory) store, and the iced_test
//! simulator clicking through the borrow and return flows on the rendered
//! views. No test waits on the clock: ticks carry their own instants.

use chrono::Local;
use iced::keyboard;
use kiosk::config::Config;
use kiosk::domain::{Lang, Refusal};
use kiosk::store::{self, Store};
use kiosk::ui::screens::{
    account, attract, borrow, feedback, holds, identify, receipt, staff, Notice,
};
use kiosk::ui::{App, Message, Screen};
use std::time::{Duration, Instant};

#[path = "support/smtp.rs"]
mod smtp;
mod support;

/// A kiosk over a small demo library; returns (app, cards, items).
fn kiosk_with(mut config: Config) -> (App, Vec<String>, Vec<String>) {
    if config.staff.pin_hash.is_empty() {
        config.staff.pin_hash = staff_pin_hash();
    }
    let mut s = configured_store(&mut config);
    store::demo::generate(&mut s, 30, 120, 7, Local::now().fixed_offset()).unwrap();
    let (cards, items) = store::demo::loanable_pairs(&s, 5).unwrap();
    (App::new(config, s, None, Lang::En).unwrap(), cards, items)
}

/// The tests' runtime for the app's Tasks (decisions on the desk, reads
/// off the UI thread), as iced's runtime runs them in the window.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

/// Driving the app as iced does: each message's Tasks run to the end and
/// what they produce fed back, before the test looks at the screen.
trait Drive {
    /// `update(m)` and every Task it leads to.
    fn send(&mut self, m: Message);
    /// A key at `at` (`App::key_at`) and every Task it leads to.
    fn press(&mut self, e: keyboard::Event, at: Instant);
    /// The staff PIN at `now` (`App::staff_pin`) and every Task it leads to.
    fn staff_pin_sent(&mut self, pin: &str, now: Instant);
    /// Runs `task` and every Task it leads to.
    fn run(&mut self, task: iced::Task<Message>);
}

impl Drive for App {
    fn send(&mut self, m: Message) {
        let t = self.update(m);
        self.run(t);
    }

    fn press(&mut self, e: keyboard::Event, at: Instant) {
        let t = self.key_at(e, at);
        self.run(t);
    }

    fn staff_pin_sent(&mut self, pin: &str, now: Instant) {
        let t = self.staff_pin(pin, now);
        self.run(t);
    }

    fn run(&mut self, task: iced::Task<Message>) {
        run_task(runtime(), self, task);
    }
}

fn kiosk() -> (App, Vec<String>, Vec<String>) {
    kiosk_with(Config::default())
}

fn lines(app: &App) -> Vec<borrow::Line> {
    app.session()
        .map(|s| s.borrow.lines.clone())
        .unwrap_or_default()
}

fn on_loan(app: &App) -> i64 {
    app.store().counts().unwrap().current_loans
}

fn journal_count(app: &App, kind: &str) -> i64 {
    app.store()
        .conn()
        .query_row(
            "SELECT count(*) FROM journal WHERE kind = ?1",
            [kind],
            |r| r.get(0),
        )
        .unwrap()
}

/// The reader declines the receipt and skips the feedback: the idle
/// screen again.
fn no_receipt_no_feedback(app: &mut App) {
    app.send(Message::Receipt(receipt::Message::NoReceipt));
    app.send(Message::Feedback(feedback::Message::Skip));
}

/// Gives the reader `card` the PIN `pin` (as an import would).
fn set_pin(app: &App, card: &str, pin: &str) {
    app.store()
        .conn()
        .execute(
            "UPDATE patrons SET pin_hash = ?1 WHERE barcode = ?2",
            [kiosk::privacy::hash_pin(pin), card.to_string()],
        )
        .unwrap();
}

/// The staff PIN the tests' kiosks have unless a test sets its own (a
/// kiosk without one ignores the corner gesture).
const STAFF_PIN: &str = "13579";

fn staff_pin_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| kiosk::privacy::hash_pin(STAFF_PIN))
        .clone()
}

/// The five taps on the idle screen's corner: the staff PIN pad (when a
/// PIN is configured), and the Task of the last tap.
fn staff_corner(app: &mut App) -> iced::Task<Message> {
    let mut task = iced::Task::none();
    for _ in 0..attract::STAFF_TAPS {
        task = app.update(Message::Attract(attract::Message::CornerTapped));
    }
    task
}

/// The corner gesture and the tests' staff PIN: the staff menu, and the
/// Task that reads its figures.
fn open_staff_menu(app: &mut App) -> iced::Task<Message> {
    let t = staff_corner(app);
    app.run(t);
    assert!(
        matches!(app.screen(), Screen::Identify(_)),
        "the corner asks for the staff PIN: {:?}",
        app.screen()
    );
    for d in STAFF_PIN.chars() {
        let d = d.to_digit(10).unwrap() as u8;
        app.send(Message::Identify(identify::Message::Digit(d)));
    }
    app.update(Message::Identify(identify::Message::Submit))
}

/// A configuration exporting into a "USB stick" (a folder in a temporary
/// directory): (config, the directory to keep, the stick's folder).
fn with_stick() -> (Config, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let stick = dir.path().join("KIOSK-USB");
    std::fs::create_dir(&stick).unwrap();
    let mut config = Config::default();
    config.staff.export_dir = stick.display().to_string();
    (config, dir, stick)
}

/// The files in `dir`, sorted.
fn exports(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// A configuration with a receipt printer "printer" and an RFID pad "pad".
fn printer_and_pad() -> Config {
    use kiosk::config::{DeviceKind, DeviceSection};
    Config {
        devices: vec![
            DeviceSection::new("printer", DeviceKind::Printer),
            DeviceSection::new("pad", DeviceKind::Rfid),
        ],
        ..Config::default()
    }
}

/// The printer reports an empty roll (with its code, as its driver does)
/// and the pad is unplugged (a status without a code).
fn printer_out_of_paper_pad_gone(app: &mut App) {
    use kiosk::devices::events::{DeviceEvent, DeviceStatus, EventKind, StatusCode};
    app.send(Message::Device(DeviceEvent::status(
        "printer",
        StatusCode::PaperOut,
        DeviceStatus::Error {
            reason: "the receipt printer is out of paper".into(),
        },
    )));
    app.send(Message::Device(DeviceEvent::now(
        "pad",
        EventKind::DeviceStatus {
            status: DeviceStatus::Down {
                reason: "/dev/ttyUSB0: gone".into(),
            },
        },
    )));
}

#[test]
fn borrow_flow_commits_then_receipt_feedback_and_back_to_idle() {
    let (mut app, cards, items) = kiosk();
    let before = on_loan(&app);
    // An earlier visit: items[2] is already at home with this reader.
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[2].clone()));
    app.send(Message::Scanned(cards[0].clone()));
    no_receipt_no_feedback(&mut app);
    assert!(matches!(app.screen(), Screen::Attract(_)));
    app.send(Message::Scanned(cards[0].clone()));
    assert!(matches!(app.screen(), Screen::Borrow));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Scanned(items[1].clone()));
    let l = lines(&app);
    assert_eq!(l.len(), 2);
    assert!(l
        .iter()
        .all(|l| matches!(l.status, borrow::Status::Borrowed { .. })));
    // Committed before shown.
    assert_eq!(on_loan(&app), before + 3);
    // A book borrowed a moment ago, read again: still just borrowed.
    app.send(Message::Scanned(items[0].clone()));
    assert_eq!(lines(&app), l);
    // A book from the earlier visit: no second loan, a renewal is offered.
    app.send(Message::Scanned(items[2].clone()));
    let l = lines(&app);
    let idx = l.iter().position(|l| l.item == items[2]).unwrap();
    assert!(matches!(
        l[idx].status,
        borrow::Status::Refused(Refusal::AlreadyOnLoanToYou { .. })
    ));
    app.send(Message::Borrow(borrow::Message::Renew(idx)));
    let l = lines(&app);
    let renewed = l.iter().find(|l| l.item == items[2]).unwrap();
    assert!(
        matches!(
            renewed.status,
            borrow::Status::Renewed { .. } | borrow::Status::Refused(_)
        ),
        "{renewed:?}"
    );
    assert_eq!(journal_count(&app, "renew"), 1);
    // The card again ends the session.
    app.send(Message::Scanned(cards[0].clone()));
    assert!(app.session().is_none(), "card logged out");
    match app.screen() {
        Screen::Receipt(r) => assert_eq!(r.borrowed.len(), 2),
        other => panic!("expected the receipt screen, got {other:?}"),
    }
    app.send(Message::Receipt(receipt::Message::NoReceipt));
    assert!(matches!(app.screen(), Screen::Feedback(_)));
    app.send(Message::Feedback(feedback::Message::Rate(5)));
    app.send(Message::Feedback(feedback::Message::Send));
    assert!(matches!(app.screen(), Screen::Attract(_)));
    assert_eq!(journal_count(&app, "feedback"), 1);
    let anonymous: Option<String> = app
        .store()
        .conn()
        .query_row(
            "SELECT patron FROM journal WHERE kind = 'feedback'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(anonymous, None, "feedback is not tied to a card");
}

#[test]
fn items_without_a_card_are_returned_with_their_route() {
    let (mut app, cards, items) = kiosk();
    let before = on_loan(&app);
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Borrow(borrow::Message::Finish));
    no_receipt_no_feedback(&mut app);
    assert!(matches!(app.screen(), Screen::Attract(_)));
    app.send(Message::Scanned(items[0].clone()));
    match app.screen() {
        Screen::Return(r) => {
            assert_eq!(r.lines.len(), 1);
            assert!(r.lines[0].result.is_ok(), "{:?}", r.lines[0]);
        }
        other => panic!("expected the return screen, got {other:?}"),
    }
    assert_eq!(on_loan(&app), before);
    app.send(Message::Return(kiosk::ui::screens::returns::Message::Done));
    assert!(matches!(app.screen(), Screen::Attract(_)));
}

#[test]
fn returns_can_be_switched_off() {
    let mut config = Config::default();
    config.kiosk.return_without_card = false;
    let (mut app, _, items) = kiosk_with(config);
    app.send(Message::Scanned(items[0].clone()));
    assert!(matches!(app.screen(), Screen::Attract(_)));
    assert!(app.notice().is_some());
}

#[test]
fn unknown_and_garbage_codes_say_so_and_never_crash() {
    let (mut app, _, _) = kiosk();
    app.send(Message::Scanned("29999999999999".into()));
    assert_eq!(
        app.notice(),
        Some(&kiosk::ui::screens::Notice::Refused(Refusal::UnknownPatron))
    );
    for junk in [
        "",
        "   ",
        "\u{0}\u{7f}",
        "'; DROP TABLE items; --",
        &"9".repeat(5000),
    ] {
        app.send(Message::Scanned(junk.to_string()));
    }
    assert!(matches!(app.screen(), Screen::Attract(_)));
}

#[test]
fn pin_pad_wrong_then_right() {
    let mut config = Config::default();
    config.policy.require_pin = true;
    let (mut app, cards, _) = kiosk_with(config);
    set_pin(&app, &cards[0], "1234");
    app.send(Message::Scanned(cards[0].clone()));
    assert!(matches!(app.screen(), Screen::Identify(_)));
    for d in [9, 9, 9, 9] {
        app.send(Message::Identify(identify::Message::Digit(d)));
    }
    app.send(Message::Identify(identify::Message::Submit));
    match app.screen() {
        Screen::Identify(i) => {
            assert!(matches!(
                i.error,
                Some(kiosk::ui::screens::Notice::Refused(
                    Refusal::WrongPin { .. }
                ))
            ));
            assert!(i.is_empty(), "the wrong PIN is cleared");
        }
        other => panic!("still on the PIN pad expected, got {other:?}"),
    }
    assert!(app.session().is_none());
    for d in [1, 2, 3, 4] {
        app.send(Message::Identify(identify::Message::Digit(d)));
    }
    app.send(Message::Identify(identify::Message::Submit));
    assert!(matches!(app.screen(), Screen::Borrow));
    assert_eq!(app.session().unwrap().card, cards[0]);
}

#[test]
fn pin_pad_cancel_forgets_the_card() {
    let mut config = Config::default();
    config.policy.require_pin = true;
    let (mut app, cards, items) = kiosk_with(config);
    let before = on_loan(&app);
    set_pin(&app, &cards[0], "1234");
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Identify(identify::Message::Cancel));
    assert!(matches!(app.screen(), Screen::Attract(_)));
    // A book now is a return, not a loan to the cancelled card.
    app.send(Message::Scanned(items[0].clone()));
    assert!(matches!(app.screen(), Screen::Return(_)));
    assert_eq!(on_loan(&app), before);
}

#[test]
fn inactivity_warns_counts_down_and_logs_out() {
    let (mut app, cards, _) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    let t0 = Instant::now();
    app.send(Message::Tick(t0 + Duration::from_secs(5)));
    assert!(app.warning().is_none());
    let later = t0 + Duration::from_secs(55);
    app.send(Message::Tick(later));
    assert_eq!(app.warning().map(|w| w.left), Some(10));
    for i in 1..10 {
        app.send(Message::Tick(later + Duration::from_secs(i)));
        assert!(app.session().is_some());
    }
    app.send(Message::Tick(later + Duration::from_secs(10)));
    assert!(app.session().is_none());
    assert!(matches!(app.screen(), Screen::Attract(_)));
}

#[test]
fn still_here_keeps_the_session() {
    let (mut app, cards, _) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Tick(Instant::now() + Duration::from_secs(58)));
    assert!(app.warning().is_some());
    app.send(Message::Warning(
        kiosk::ui::screens::warning::Message::StillHere,
    ));
    assert!(app.warning().is_none());
    assert!(app.session().is_some());
}

#[test]
fn language_switch_and_reset_after_the_session() {
    let (mut app, cards, _) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::SetLang(Lang::ZhCn));
    assert_eq!(app.lang(), Lang::ZhCn);
    app.send(Message::Borrow(borrow::Message::Finish));
    app.send(Message::Feedback(feedback::Message::Skip));
    // Back to the first configured language for the next reader.
    assert_eq!(app.lang(), Lang::En);
}

#[test]
fn account_renew_all_and_back() {
    let (mut app, cards, items) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Borrow(borrow::Message::Account));
    match app.screen() {
        Screen::Account(a) => assert_eq!(a.data.loans.len(), 1),
        other => panic!("expected the account, got {other:?}"),
    }
    app.send(Message::Account(account::Message::RenewAll));
    assert_eq!(journal_count(&app, "renew"), 1);
    app.send(Message::Account(account::Message::Back));
    assert!(matches!(app.screen(), Screen::Borrow));
    assert_eq!(lines(&app).len(), 1, "the borrow list survived the visit");
}

#[test]
fn holds_are_placed_by_scanning_on_the_holds_screen() {
    let (mut app, cards, items) = kiosk();
    let before = on_loan(&app);
    // Someone else has the book.
    app.send(Message::Scanned(cards[1].clone()));
    app.send(Message::Scanned(items[3].clone()));
    app.send(Message::Scanned(cards[1].clone()));
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Borrow(borrow::Message::Holds));
    app.send(Message::Scanned(items[3].clone()));
    match app.screen() {
        Screen::Holds(h) => {
            assert_eq!(h.holds.len(), 1, "{h:?}");
            assert!(!h.placed[0].is_refusal());
        }
        other => panic!("expected holds, got {other:?}"),
    }
    assert_eq!(on_loan(&app), before + 1, "a hold is not a loan");
    app.send(Message::Holds(holds::Message::Back));
    assert!(matches!(app.screen(), Screen::Borrow));
}

#[test]
fn another_card_mid_session_must_wait() {
    let (mut app, cards, _) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(cards[1].clone()));
    assert_eq!(app.session().unwrap().card, cards[0]);
    assert!(app.notice().is_some());
}

#[test]
fn staff_gesture_export_out_of_service_and_back() {
    let (config, _dir, stick) = with_stick();
    let (mut app, cards, items) = kiosk_with(config);
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Borrow(borrow::Message::Finish));
    no_receipt_no_feedback(&mut app);
    let t = open_staff_menu(&mut app);
    app.run(t);
    match app.screen() {
        Screen::Staff(s) => {
            assert_eq!(s.figures.hourly.len(), 24);
            let loans: u32 = s.figures.hourly.iter().map(|h| h.0).sum();
            assert_eq!(loans, 1);
            assert!(s.figures.outbox >= 1);
        }
        other => panic!("expected the staff menu, got {other:?}"),
    }
    // The export goes into [staff] export_dir under a generated name.
    app.send(Message::Staff(staff::Message::Export));
    let files = exports(&stick);
    assert_eq!(files.len(), 1, "{files:?}");
    let csv = std::fs::read_to_string(&files[0]).unwrap();
    assert!(csv.lines().count() >= 2, "{csv}");
    // The stick pulled out: its folder is gone, and the menu says so.
    std::fs::remove_dir_all(&stick).unwrap();
    app.send(Message::Staff(staff::Message::Export));
    match app.screen() {
        Screen::Staff(s) => {
            let status = s.status.clone().unwrap_or_default();
            assert!(status.contains("No USB stick found"), "{status}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!stick.exists(), "nothing made in its place");
    app.send(Message::Staff(staff::Message::ToggleService));
    app.send(Message::Staff(staff::Message::Back));
    assert!(app.out_of_service());
    match app.screen() {
        Screen::Attract(a) => assert!(a.out_of_service),
        other => panic!("{other:?}"),
    }
    // Out of service: scans do nothing.
    app.send(Message::Scanned(cards[0].clone()));
    assert!(app.session().is_none());
}

#[test]
fn staff_pin_is_checked_against_the_configured_hash() {
    let mut config = Config::default();
    config.staff.pin_hash = kiosk::privacy::hash_pin("24680");
    let (mut app, _, _) = kiosk_with(config);
    let t = staff_corner(&mut app);
    app.run(t);
    assert!(matches!(app.screen(), Screen::Identify(_)));
    for d in [1, 1, 1] {
        app.send(Message::Identify(identify::Message::Digit(d)));
    }
    app.send(Message::Identify(identify::Message::Submit));
    assert!(matches!(app.screen(), Screen::Identify(_)));
    for d in [2, 4, 6, 8, 0] {
        app.send(Message::Identify(identify::Message::Digit(d)));
    }
    app.send(Message::Identify(identify::Message::Submit));
    assert!(matches!(app.screen(), Screen::Staff(_)));
}

/// The shipped configuration's kiosk (demo library, simulated pad and
/// printer, wedge "wedge") over an in-memory store, its devices running.
struct Shipped {
    app: App,
    /// Readers in good standing.
    cards: Vec<String>,
    /// The simulated pad's field and its demo tags.
    field: kiosk::devices::rfid::Field,
    tags: Vec<kiosk::devices::rfid::SimTag>,
    /// The pad's AFI for an item on loan.
    on_loan_afi: u8,
    /// The device runner's events (the app has no feed in tests).
    events: std::sync::mpsc::Receiver<kiosk::devices::events::DeviceEvent>,
}

/// An in-memory store configured by `config` (its languages English
/// first, so the simulator tests can click English labels).
fn configured_store(config: &mut Config) -> Store {
    config.kiosk.languages = vec![Lang::En, Lang::ZhCn];
    let mut s = Store::open_in_memory(&config.kiosk.id).unwrap();
    let (rows, settings, holidays) = kiosk::config::circulation(config);
    s.configure(rows, settings, &holidays).unwrap();
    s
}

fn shipped_kiosk() -> Shipped {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("kiosk.toml");
    let mut config = Config::load(&path).unwrap();
    // The shipped kiosk.toml has no staff PIN (staff set one with `kiosk
    // hash-pin`); the tests' kiosk has one.
    config.staff.pin_hash = staff_pin_hash();
    let mut s = configured_store(&mut config);
    let d = &config.demo;
    store::demo::generate(
        &mut s,
        d.patrons,
        d.items,
        d.seed,
        Local::now().fixed_offset(),
    )
    .unwrap();
    let (cards, _) = store::demo::loanable_pairs(&s, 2).unwrap();
    let (devices, events) = kiosk::devices::runner::Devices::start(&config);
    let (field, tags, on_loan_afi) = devices
        .handles()
        .find_map(|h| {
            let on_loan = h.config.rfid()?.afi_on_loan;
            h.field.clone().map(|f| (f, h.demo_tags.clone(), on_loan))
        })
        .expect("a simulated pad");
    Shipped {
        app: App::new(config, s, Some(devices), Lang::En).unwrap(),
        cards,
        field,
        tags,
        on_loan_afi,
        events,
    }
}

fn test_reads(app: &App) -> Vec<staff::TestRead> {
    match app.screen() {
        Screen::Staff(s) => s.tests.clone(),
        other => panic!("expected the staff menu, got {other:?}"),
    }
}

#[test]
fn the_staff_menu_tests_scanners_tags_and_the_printer_without_lending() {
    use staff::TestKind;
    let Shipped {
        mut app,
        cards,
        field,
        tags,
        events,
        ..
    } = shipped_kiosk();
    let before = app.store().counts().unwrap();
    let t = open_staff_menu(&mut app);
    app.run(t);
    assert!(test_reads(&app).is_empty());
    // A reader's card: named as a card, masked.
    app.send(Message::Scanned(cards[0].clone()));
    let r = test_reads(&app);
    let tail: String = cards[0]
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert_eq!(
        r[0].what,
        TestKind::Card {
            masked: format!("…{tail}")
        }
    );
    let (line, good) = staff::test_line(&r[0], Lang::En);
    assert!(good && !line.contains(&cards[0]), "{line}");
    // A book from a serial scanner: its title.
    let book = "30001000000036";
    let title = app.store().item_title(book).unwrap().unwrap().0;
    app.send(Message::Device(kiosk::devices::events::DeviceEvent::now(
        "scanner-2",
        kiosk::devices::events::EventKind::ItemScanned { code: book.into() },
    )));
    let r = test_reads(&app);
    assert_eq!(r[0].device, "scanner-2");
    assert_eq!(
        r[0].what,
        TestKind::Item {
            code: book.into(),
            title: title.clone()
        }
    );
    // The keyboard wedge's burst: a test read from "wedge".
    let t0 = Instant::now();
    for (i, ch) in "39999999999994".chars().enumerate() {
        app.press(key(ch), t0 + Duration::from_millis(2 * i as u64));
    }
    app.press(enter(), t0 + Duration::from_millis(40));
    let r = test_reads(&app);
    assert_eq!(r[0].device, "wedge");
    assert_eq!(
        r[0].what,
        TestKind::Unknown {
            code: "39999999999994".into()
        }
    );
    assert!(!staff::test_line(&r[0], Lang::ZhCn).1);
    // Tags on the pad: the book's tag with its item and title, then a
    // blank one that carries no book; a repeat of the same field adds
    // nothing.
    field.put(tags[0].clone());
    let e = tags_event(&events);
    app.send(Message::Device(e.clone()));
    app.send(Message::Device(e));
    let r = test_reads(&app);
    assert_eq!(r.len(), 4, "{r:?}");
    match &r[0].what {
        TestKind::Tag {
            item,
            title: t,
            format,
            ..
        } => {
            assert_eq!(item.as_deref(), Some(book));
            assert_eq!(t.as_deref(), Some(title.as_str()));
            assert_eq!(format, "iso28560-3");
        }
        other => panic!("{other:?}"),
    }
    // assets/demo-tags.json: the 12th is blank.
    field.put(tags[11].clone());
    app.send(Message::Device(tags_event(&events)));
    let r = test_reads(&app);
    assert_eq!(r.len(), 5, "{r:?}");
    assert!(
        matches!(&r[0].what, TestKind::Tag { item: None, .. }),
        "{r:?}"
    );
    let (line, good) = staff::test_line(&r[0], Lang::En);
    assert!(!good && line.contains("carries no book number"), "{line}");
    // Nothing was lent or returned, nothing journaled.
    let after = app.store().counts().unwrap();
    assert_eq!(after.current_loans, before.current_loans);
    assert_eq!(after.journal, before.journal);
    // The test print goes to the (simulated) printer, off the UI thread.
    let t = app.update(Message::Staff(staff::Message::TestPrint));
    match app.screen() {
        Screen::Staff(s) => assert!(s.printer && s.printing),
        other => panic!("{other:?}"),
    }
    app.run(t);
    match app.screen() {
        Screen::Staff(s) => {
            assert!(!s.printing);
            assert_eq!(s.status.as_deref(), Some("Test page printed."));
        }
        other => panic!("{other:?}"),
    }
    // Back on the idle screen, the same card opens a session again.
    app.send(Message::Staff(staff::Message::Back));
    app.send(Message::Scanned(cards[0].clone()));
    assert!(matches!(app.screen(), Screen::Borrow));
}

#[test]
fn a_staff_card_opens_the_menu_from_the_idle_screen_only() {
    let mut config = Config::default();
    config.staff.cards = vec!["STAFF-0042".into()];
    // A PIN is set: the card opens the menu without it.
    config.staff.pin_hash = kiosk::privacy::hash_pin("2468");
    let (mut app, cards, _) = kiosk_with(config);
    app.send(Message::Scanned("staff-0042".into()));
    assert!(
        matches!(app.screen(), Screen::Staff(_)),
        "normalised like any scan: {:?}",
        app.screen()
    );
    // On its own test panel it reads as a staff card.
    app.send(Message::Scanned("STAFF-0042".into()));
    assert_eq!(test_reads(&app)[0].what, staff::TestKind::StaffCard);
    app.send(Message::Staff(staff::Message::Back));
    // Over a reader's session it does nothing: their list stays.
    app.send(Message::Scanned(cards[0].clone()));
    assert!(matches!(app.screen(), Screen::Borrow));
    app.send(Message::Scanned("STAFF-0042".into()));
    assert!(matches!(app.screen(), Screen::Borrow));
    assert!(app.session().is_some());
    // Out of service, the card still lets staff in.
    app.send(Message::Scanned(cards[0].clone()));
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned("STAFF-0042".into()));
    app.send(Message::Staff(staff::Message::ToggleService));
    app.send(Message::Staff(staff::Message::Back));
    assert!(app.out_of_service());
    app.send(Message::Scanned("STAFF-0042".into()));
    assert!(matches!(app.screen(), Screen::Staff(_)));
}

#[test]
fn readers_see_their_own_language_unless_they_chose_one() {
    let (mut app, cards, _) = kiosk();
    for c in &cards[..2] {
        app.store()
            .conn()
            .execute(
                "UPDATE patrons SET language = 'zh-CN' WHERE barcode = ?1",
                [c],
            )
            .unwrap();
    }
    assert_eq!(app.lang(), Lang::En);
    app.send(Message::Scanned(cards[0].clone()));
    assert_eq!(app.lang(), Lang::ZhCn, "their record says zh-CN");
    app.send(Message::Borrow(borrow::Message::Finish));
    no_receipt_no_feedback(&mut app);
    assert_eq!(app.lang(), Lang::En, "back to the kiosk's default");
    // Someone who pressed English first keeps English.
    app.send(Message::SetLang(Lang::En));
    app.send(Message::Scanned(cards[1].clone()));
    assert!(matches!(app.screen(), Screen::Borrow));
    assert_eq!(app.lang(), Lang::En);
    // A reader without a language on record: the kiosk's default.
    app.send(Message::Borrow(borrow::Message::Finish));
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned(cards[2].clone()));
    assert!(matches!(app.screen(), Screen::Borrow));
    assert_eq!(app.lang(), Lang::En);
}

#[test]
fn staff_figures_are_read_off_the_ui_thread_with_item_types() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.kiosk.languages = vec![Lang::En, Lang::ZhCn];
    config.staff.pin_hash = staff_pin_hash();
    let mut s = Store::open(&dir.path().join("kiosk.db"), &config.kiosk.id).unwrap();
    let (rows, settings, holidays) = kiosk::config::circulation(&config);
    s.configure(rows, settings, &holidays).unwrap();
    store::demo::generate(&mut s, 30, 120, 7, Local::now().fixed_offset()).unwrap();
    let (cards, items) = store::demo::loanable_pairs(&s, 5).unwrap();
    let mut app = App::new(config, s, None, Lang::En).unwrap();
    app.send(Message::Scanned(cards[0].clone()));
    for i in &items[..3] {
        app.send(Message::Scanned(i.clone()));
    }
    app.send(Message::Borrow(borrow::Message::Finish));
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Return(kiosk::ui::screens::returns::Message::Done));
    let task = open_staff_menu(&mut app);
    // The menu is up at once; the database's figures follow from a Task.
    let by_type = |app: &App| match app.screen() {
        Screen::Staff(s) => s.figures.by_type.clone(),
        other => panic!("{other:?}"),
    };
    assert!(by_type(&app).is_empty());
    app.run(task);
    let t = by_type(&app);
    assert_eq!(t.iter().map(|t| t.loans).sum::<u32>(), 3, "{t:?}");
    assert_eq!(t.iter().map(|t| t.returns).sum::<u32>(), 1, "{t:?}");
    match app.screen() {
        Screen::Staff(s) => {
            assert_eq!(s.figures.hourly.iter().map(|h| h.0).sum::<u32>(), 3);
            assert!(s.figures.outbox >= 4);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn restart_closes_the_window_and_asks_run_to_start_again() {
    let (mut app, _, _) = kiosk();
    let flag = app.restart_flag();
    let t = open_staff_menu(&mut app);
    app.run(t);
    app.send(Message::Staff(staff::Message::Quit));
    assert!(
        !flag.load(std::sync::atomic::Ordering::SeqCst),
        "quit is not restart"
    );
    app.send(Message::Staff(staff::Message::Restart));
    assert!(flag.load(std::sync::atomic::Ordering::SeqCst));
}

fn key(ch: char) -> keyboard::Event {
    keyboard::Event::KeyPressed {
        key: keyboard::Key::Character(ch.to_string().into()),
        modified_key: keyboard::Key::Character(ch.to_string().into()),
        physical_key: keyboard::key::Physical::Unidentified(
            keyboard::key::NativeCode::Unidentified,
        ),
        location: keyboard::Location::Standard,
        modifiers: keyboard::Modifiers::empty(),
        text: Some(ch.to_string().into()),
        repeat: false,
    }
}

fn enter() -> keyboard::Event {
    keyboard::Event::KeyPressed {
        key: keyboard::Key::Named(keyboard::key::Named::Enter),
        modified_key: keyboard::Key::Named(keyboard::key::Named::Enter),
        physical_key: keyboard::key::Physical::Unidentified(
            keyboard::key::NativeCode::Unidentified,
        ),
        location: keyboard::Location::Standard,
        modifiers: keyboard::Modifiers::empty(),
        text: None,
        repeat: false,
    }
}

#[test]
fn keyboard_wedge_burst_is_a_scan_and_slow_typing_is_too_after_enter() {
    let (mut app, cards, items) = kiosk();
    let t0 = Instant::now();
    // A scanner: keys 2 ms apart, then Enter.
    for (i, ch) in cards[0].chars().enumerate() {
        app.press(key(ch), t0 + Duration::from_millis(2 * i as u64));
    }
    app.press(enter(), t0 + Duration::from_millis(40));
    assert!(matches!(app.screen(), Screen::Borrow));
    // A person typing slowly, then Enter: handed over as typing, and a
    // typed code with Enter counts as a scan too.
    let t1 = t0 + Duration::from_secs(10);
    for (i, ch) in items[0].chars().enumerate() {
        app.press(key(ch), t1 + Duration::from_millis(300 * i as u64));
    }
    app.press(enter(), t1 + Duration::from_secs(30));
    assert_eq!(lines(&app).len(), 1);
}

#[test]
fn a_scan_cut_in_two_by_a_busy_screen_is_still_one_return() {
    // Logged on a loaded kiosk (tests/gui_window.rs): right after the
    // session closed, the GUI got to the book's first four keys, spent
    // 60 ms drawing the receipt (its wedge timer then fired), and got the
    // rest with Enter at once. The book must come back, not "unknown".
    let (mut app, cards, items) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Scanned(cards[0].clone()));
    assert!(matches!(app.screen(), Screen::Receipt(_)));
    let t0 = Instant::now();
    let (head, tail) = items[0].split_at(4);
    for ch in head.chars() {
        app.press(key(ch), t0);
    }
    app.send(Message::WedgeTick(t0 + Duration::from_millis(61)));
    for ch in tail.chars() {
        app.press(key(ch), t0 + Duration::from_millis(62));
    }
    app.press(enter(), t0 + Duration::from_millis(62));
    match app.screen() {
        Screen::Return(r) => {
            assert_eq!(r.lines.len(), 1, "{:?}", r.lines);
            assert_eq!(r.lines[0].item, items[0]);
            assert!(r.lines[0].result.is_ok(), "{:?}", r.lines[0]);
        }
        other => panic!("expected the return screen, got {other:?}"),
    }
    assert_eq!(journal_count(&app, "checkin"), 1);
    // Nothing of it is left as typing: a later Enter scans nothing.
    app.press(enter(), t0 + Duration::from_secs(5));
    assert_eq!(journal_count(&app, "checkin"), 1);
}

#[test]
fn the_receipt_is_emailed_to_the_address_on_the_readers_record() {
    if !support::require(support::Peer::Aiosmtpd) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mails = dir.path().join("mails.jsonl");
    let (sink, port) = smtp::smtp_sink(&mails);
    let mut config = Config::default();
    config.receipt = kiosk::config::ReceiptSection {
        email: true,
        smtp_url: format!("smtp://127.0.0.1:{port}"),
        from: "kiosk@library.example".into(),
    };
    let (mut app, cards, items) = kiosk_with(config);
    for (card, email) in [
        (&cards[0], Some("reader.one@example.org")),
        (&cards[1], None),
    ] {
        app.store()
            .conn()
            .execute(
                "UPDATE patrons SET email = ?1 WHERE barcode = ?2",
                rusqlite::params![email, card],
            )
            .unwrap();
    }
    let titles: Vec<String> = items[..2]
        .iter()
        .map(|i| app.store().item_title(i).unwrap().unwrap().0)
        .collect();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Scanned(items[1].clone()));
    app.send(Message::Scanned(cards[0].clone()));
    match app.screen() {
        Screen::Receipt(r) => assert_eq!(r.email.as_deref(), Some("r…@example.org")),
        other => panic!("expected the receipt, got {other:?}"),
    }
    {
        let mut ui = simulator(&app);
        ui.find("E-mail it to r…@example.org")
            .expect("the e-mail button, address masked");
    }
    app.send(Message::Receipt(receipt::Message::Email));
    assert!(
        matches!(app.screen(), Screen::Feedback(_)),
        "sent: on to the feedback ({:?})",
        app.notice()
    );
    let sent: Vec<serde_json::Value> = std::fs::read_to_string(&mails)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["to"][0], "reader.one@example.org");
    assert_eq!(sent[0]["from"], "kiosk@library.example");
    let body = sent[0]["body"].as_str().unwrap();
    for t in &titles {
        assert!(body.contains(t.as_str()), "{t} in {body}");
    }
    assert!(body.contains("due "), "{body}");
    app.send(Message::Feedback(feedback::Message::Skip));
    // A reader without an address is not offered it.
    app.send(Message::Scanned(cards[1].clone()));
    app.send(Message::Scanned(items[2].clone()));
    app.send(Message::Scanned(cards[1].clone()));
    match app.screen() {
        Screen::Receipt(r) => assert_eq!(r.email, None),
        other => panic!("{other:?}"),
    }
    no_receipt_no_feedback(&mut app);
    // The mail server gone: the reader is told, the button goes, the
    // loans stay recorded.
    drop(sink);
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[3].clone()));
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Receipt(receipt::Message::Email));
    match app.screen() {
        Screen::Receipt(r) => {
            assert_eq!(r.email, None);
            assert_eq!(r.notice, Some(Notice::said("receipt-email-failed")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(journal_count(&app, "checkout"), 4);
}

/// The app's current view in the iced_test simulator, at 1920×1080.
fn simulator(app: &App) -> iced_test::Simulator<'_, Message> {
    iced_test::Simulator::with_size(
        iced::Settings::default(),
        iced::Size::new(1920.0, 1080.0),
        app.view(),
    )
}

/// Clicks `label` on the app's current view, then feeds the messages back.
fn click(app: &mut App, label: &str) {
    let messages: Vec<Message> = {
        let mut ui = simulator(app);
        ui.click(label)
            .unwrap_or_else(|e| panic!("no {label:?} on screen: {e:?}"));
        ui.into_messages().collect()
    };
    for m in messages {
        app.send(m);
    }
}

#[test]
fn simulator_clicks_through_borrow_and_return() {
    let (mut app, cards, items) = kiosk();
    let before = on_loan(&app);
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    click(&mut app, "Finish");
    click(&mut app, "No receipt, thanks");
    click(&mut app, "Skip");
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[1].clone()));
    app.send(Message::Scanned(items[0].clone()));
    click(&mut app, "Renew");
    assert_eq!(journal_count(&app, "renew"), 1);
    click(&mut app, "My account");
    assert!(matches!(app.screen(), Screen::Account(_)));
    click(&mut app, "Back");
    click(&mut app, "Finish");
    assert!(matches!(app.screen(), Screen::Receipt(_)));
    click(&mut app, "No receipt, thanks");
    click(&mut app, "Skip");
    assert!(matches!(app.screen(), Screen::Attract(_)));
    // Return both and press Done.
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Scanned(items[1].clone()));
    assert!(matches!(app.screen(), Screen::Return(_)));
    click(&mut app, "Done");
    assert!(matches!(app.screen(), Screen::Attract(_)));
    assert_eq!(on_loan(&app), before);
}

#[test]
fn simulator_reserves_rates_and_staff_export_then_restart() {
    let (config, _dir, stick) = with_stick();
    let (mut app, cards, items) = kiosk_with(config);
    // Another reader has items[0] at home.
    app.send(Message::Scanned(cards[1].clone()));
    app.send(Message::Scanned(items[0].clone()));
    click(&mut app, "Finish");
    click(&mut app, "No receipt, thanks");
    click(&mut app, "Skip");
    // A reader reserves it from the reservations screen.
    app.send(Message::Scanned(cards[0].clone()));
    click(&mut app, "Reservations");
    assert!(matches!(app.screen(), Screen::Holds(_)));
    app.send(Message::Scanned(items[0].clone()));
    assert_eq!(journal_count(&app, "hold_placed"), 1);
    click(&mut app, "Back");
    click(&mut app, "Finish");
    // Nothing borrowed: no receipt, straight to the feedback.
    assert!(matches!(app.screen(), Screen::Feedback(_)));
    // Feedback: the first star, a topic, send.
    click(&mut app, "☆");
    click(&mut app, "Fast");
    click(&mut app, "Send");
    assert_eq!(journal_count(&app, "feedback"), 1);
    let (rating, detail): (String, String) = app
        .store()
        .conn()
        .query_row(
            "SELECT reason, detail FROM journal WHERE kind = 'feedback'",
            [],
            |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    r.get(1)?,
                ))
            },
        )
        .unwrap();
    assert!(
        format!("{rating} {detail}").contains("fast"),
        "{rating} {detail}"
    );
    assert!(matches!(app.screen(), Screen::Attract(_)));
    // Staff: export by clicking, then restart.
    let t = open_staff_menu(&mut app);
    app.run(t);
    click(&mut app, "Export");
    let files = exports(&stick);
    assert_eq!(files.len(), 1, "{files:?}");
    let csv = std::fs::read_to_string(&files[0]).unwrap();
    assert!(
        csv.contains("hold_placed") && csv.contains("feedback"),
        "{csv}"
    );
    click(&mut app, "Refresh");
    let flag = app.restart_flag();
    click(&mut app, "Restart kiosk");
    assert!(flag.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn simulator_switches_language_and_types_a_pin() {
    let mut config = Config::default();
    config.policy.require_pin = true;
    let (mut app, cards, _) = kiosk_with(config);
    set_pin(&app, &cards[0], "4321");
    click(&mut app, "中文");
    assert_eq!(app.lang(), Lang::ZhCn);
    click(&mut app, "English");
    app.send(Message::Scanned(cards[0].clone()));
    for d in ["4", "3", "2", "1"] {
        click(&mut app, d);
    }
    click(&mut app, "OK");
    assert!(matches!(app.screen(), Screen::Borrow));
}

#[test]
fn offline_banner_follows_the_sync_status() {
    let (mut app, _, _) = kiosk();
    assert!(!app.offline());
    app.send(Message::Online(Some(false)));
    assert!(app.offline());
    app.send(Message::Online(None));
    assert!(!app.offline(), "unknown is not offline");
}

/// Runs an app Task to the end on `rt`, feeding what it produces back into
/// the app (and the Tasks those produce), as iced's runtime would.
fn run_task(rt: &tokio::runtime::Runtime, app: &mut App, task: iced::Task<Message>) {
    use iced::futures::StreamExt;
    use iced_test::runtime::{task::into_stream, Action};
    let Some(stream) = into_stream(task) else {
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
        let t = app.update(m);
        run_task(rt, app, t);
    }
}

fn central_bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk-central"));
    c.env("RUST_LOG", "warn").env_remove("KIOSK_CENTRAL_CONFIG");
    c
}

/// Kills kiosk-central when the test ends, passed or not.
struct Central(std::process::Child);

impl Drop for Central {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A kiosk-central process on loopback over `dir/central.db` with these
/// readers and items (CSV rows without the header) and a token for
/// kiosk-1: (the process, its base URL, the token).
fn start_central(dir: &std::path::Path, patrons: &str, items: &str) -> (Central, String, String) {
    use std::io::BufRead;
    let cdb = dir.join("central.db");
    let cdb = cdb.to_str().unwrap();
    let token = central_token(cdb, "kiosk-1");
    let patrons_csv = dir.join("patrons.csv");
    std::fs::write(
        &patrons_csv,
        format!("barcode,name,category,expires,pin,blocked\n{patrons}"),
    )
    .unwrap();
    let items_csv = dir.join("items.csv");
    std::fs::write(
        &items_csv,
        format!("barcode,title,author,isbn,item_type,rfid_uid,parts,status\n{items}"),
    )
    .unwrap();
    let imported = central_bin()
        .args(["--db", cdb, "import", "--patrons"])
        .arg(&patrons_csv)
        .arg("--items")
        .arg(&items_csv)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let mut child = central_bin()
        .args(["--db", cdb, "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let central = Central(child);
    let base = line
        .trim()
        .strip_prefix("kiosk-central listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (central, base, token)
}

/// A new token for `kiosk` at the central database `cdb`.
fn central_token(cdb: &str, kiosk: &str) -> String {
    let token = central_bin()
        .args(["--db", cdb, "token", "create", "--kiosk", kiosk])
        .output()
        .unwrap();
    assert!(token.status.success(), "{token:?}");
    String::from_utf8(token.stdout).unwrap().trim().to_string()
}

/// A touch-screen kiosk (kiosk-1, database `db`) whose upstream is the
/// kiosk-central at `base`, once the background sync's first round has
/// filled its reader cache; the background keeps running.
fn online_app(base: &str, token: &str, db: &std::path::Path) -> (App, kiosk::ui::sync::Background) {
    online_app_with(base, token, db, Config::default())
}

/// `online_app` with `config` (its upstream and sync settings replaced).
fn online_app_with(
    base: &str,
    token: &str,
    db: &std::path::Path,
    mut config: Config,
) -> (App, kiosk::ui::sync::Background) {
    config.kiosk.languages = vec![Lang::En, Lang::ZhCn];
    if config.staff.pin_hash.is_empty() {
        config.staff.pin_hash = staff_pin_hash();
    }
    config.upstream.kind = kiosk::config::UpstreamKind::Http;
    config.upstream.url = base.to_string();
    config.upstream.token = token.to_string();
    config.upstream.decide_timeout_ms = 1500;
    config.sync.interval_secs = 3600;
    let bg = kiosk::ui::sync::Background::start(&config, db)
        .unwrap()
        .expect("an upstream is configured");
    let mut store = Store::open(db, &config.kiosk.id).unwrap();
    let (rows, settings, holidays) = kiosk::config::circulation(&config);
    store.configure(rows, settings, &holidays).unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while store.sync_state("sync.last_success").unwrap().is_none() {
        assert!(Instant::now() < until, "the first sync never finished");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut app = App::new(config, store, None, Lang::En).unwrap();
    app.set_sync(bg.desk.clone(), None);
    (app, bg)
}

#[test]
fn the_touch_screen_tells_kiosk_central_its_devices_and_the_paper() {
    let dir = tempfile::tempdir().unwrap();
    let (_central, base, token) = start_central(
        dir.path(),
        "P1,Reader One,adult,2099-12-31,,\n",
        "I1,Alpha,Author,,book,,1,\n",
    );
    let config = printer_and_pad();
    let (mut app, bg) = online_app_with(&base, &token, &dir.path().join("kiosk.db"), config);
    // The printer runs out of paper (as its driver says it), the pad is
    // unplugged.
    printer_out_of_paper_pad_gone(&mut app);
    // A sync round ends with a heartbeat; staff start one.
    let t = open_staff_menu(&mut app);
    app.run(t);
    app.send(Message::Staff(staff::Message::SyncNow));
    let out = central_bin()
        .args([
            "--db",
            dir.path().join("central.db").to_str().unwrap(),
            "kiosks",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let kiosks: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hb = &kiosks
        .iter()
        .find(|k| k["kiosk_id"] == "kiosk-1")
        .expect("kiosk-1 reported")["heartbeat"];
    assert_eq!(hb["paper"], "out", "{hb}");
    let devices = hb["devices"].as_array().expect("devices");
    let state = |id: &str| {
        devices
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| d["state"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(state("printer").as_deref(), Some("error"), "{hb}");
    assert_eq!(state("pad").as_deref(), Some("down"), "{hb}");
    bg.stop();
}

#[test]
fn a_readers_language_known_to_kiosk_central_switches_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let (_central, base, token) = start_central(
        dir.path(),
        "P1,Reader One,adult,2099-12-31,,\nP2,Reader Two,adult,2099-12-31,,\n",
        "I1,Alpha,Author,,book,,1,\n",
    );
    // The centre learns (from its patrons CSV) that P1 reads Chinese.
    let langs = dir.path().join("languages.csv");
    std::fs::write(
        &langs,
        "barcode,name,category,expires,pin,blocked,language\nP1,Reader One,adult,2099-12-31,,,zh-CN\n",
    )
    .unwrap();
    let imported = central_bin()
        .args(["--db", dir.path().join("central.db").to_str().unwrap()])
        .args(["import", "--patrons"])
        .arg(&langs)
        .output()
        .unwrap();
    assert!(imported.status.success(), "{imported:?}");
    let (mut app, bg) = online_app(&base, &token, &dir.path().join("kiosk.db"));
    // The pull carried it into the kiosk's cache; P2 has none.
    assert_eq!(app.store().patron_language("P1").unwrap(), Some(Lang::ZhCn));
    assert_eq!(app.store().patron_language("P2").unwrap(), None);
    assert_eq!(app.lang(), Lang::En);
    app.send(Message::Scanned("P1".into()));
    assert!(matches!(app.screen(), Screen::Borrow));
    assert_eq!(app.lang(), Lang::ZhCn);
    bg.stop();
}

#[test]
fn loans_and_returns_go_through_kiosk_central_then_offline_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (central, base, token) = start_central(
        dir.path(),
        "P1,Reader One,adult,2099-12-31,,\n",
        "I1,Alpha,Author,,book,,1,\nI2,Beta,Author,,book,,1,\nI3,Gamma,Author,,book,,1,\n",
    );

    let (mut app, bg) = online_app(&base, &token, &dir.path().join("kiosk.db"));

    // Online: the central system decides, the kiosk journals its answer.
    app.send(Message::Scanned("P1".into()));
    assert!(matches!(app.screen(), Screen::Borrow));
    let t = app.update(Message::Scanned("I1".into()));
    assert!(lines(&app).is_empty(), "nothing shown before the decision");
    app.run(t);
    let l = lines(&app);
    assert_eq!(l.len(), 1, "{l:?}");
    assert_eq!(l[0].title, "Alpha");
    assert!(
        matches!(&l[0].status, borrow::Status::Borrowed { due } if due.len() == 10),
        "{l:?}"
    );
    let online: (i64, String) = app
        .store()
        .conn()
        .query_row(
            "SELECT offline, decision FROM journal WHERE kind = 'checkout' AND item = 'I1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(online, (0, "accepted".to_string()));
    // A hold goes through the central system too.
    app.send(Message::Borrow(borrow::Message::Holds));
    app.send(Message::Scanned("I3".into()));
    match app.screen() {
        Screen::Holds(h) => assert_eq!(
            h.placed.last(),
            Some(&Notice::Refused(Refusal::ItemAvailable)),
            "{h:?}"
        ),
        other => panic!("expected holds, got {other:?}"),
    }
    app.send(Message::Holds(holds::Message::Back));
    // A refusal from the central system reads as the local one would.
    app.send(Message::Scanned("P1".into()));
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned("I1".into()));
    match app.screen() {
        Screen::Return(r) => assert!(
            matches!(&r.lines[..], [l] if l.title == "Alpha" && l.result.is_ok()),
            "{:?}",
            r.lines
        ),
        _ => panic!("not the return screen"),
    }

    // The central system stops: the kiosk decides alone under [offline].
    drop(central);
    app.send(Message::Scanned("P1".into()));
    app.send(Message::Scanned("I2".into()));
    let l = lines(&app);
    assert!(
        matches!(&l[0].status, borrow::Status::Borrowed { .. }),
        "an offline loan under returns-and-checkouts: {l:?}"
    );
    let offline: i64 = app
        .store()
        .conn()
        .query_row(
            "SELECT offline FROM journal WHERE kind = 'checkout' AND item = 'I2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(offline, 1, "journaled as an offline decision");
    // Renew all from the account screen: each loan is its own decision on
    // the desk (offline now, by the same rules: the loan is minutes old).
    app.send(Message::Borrow(borrow::Message::Account));
    app.send(Message::Account(account::Message::RenewAll));
    match app.screen() {
        Screen::Account(a) => assert!(
            matches!(
                a.notices.get("I2"),
                Some(Notice::Refused(Refusal::TooSoonToRenew { .. }))
            ),
            "{:?}",
            a.notices
        ),
        other => panic!("expected the account, got {other:?}"),
    }
    let renew_offline: i64 = app
        .store()
        .conn()
        .query_row(
            "SELECT offline FROM journal WHERE kind = 'renew' AND item = 'I2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(renew_offline, 1, "renewed through the desk, offline");
    app.send(Message::Account(account::Message::Back));
    // The engine's status (what the subscription delivers) turns the
    // banner on; the idle screen says what still works.
    let s = bg.status();
    assert_eq!(s.online, Some(false), "{s:?}");
    assert!(s.outbox >= 1, "the offline loan waits in the outbox: {s:?}");
    app.send(Message::Sync(s));
    assert!(app.offline());
    app.send(Message::Scanned("P1".into()));
    no_receipt_no_feedback(&mut app);
    match app.screen() {
        Screen::Attract(a) => assert_eq!(
            a.offline,
            Some(kiosk::domain::offline::OfflinePolicy::ReturnsAndCheckouts)
        ),
        _ => panic!("not idle"),
    }
    bg.stop();
}

#[test]
fn staff_pin_locks_after_too_many_wrong_ones() {
    let mut config = Config::default();
    config.staff.pin_hash = kiosk::privacy::hash_pin("24680");
    config.policy.pin_attempts = 3;
    config.policy.pin_lock_minutes = 10;
    let (mut app, _, _) = kiosk_with(config);
    let t = staff_corner(&mut app);
    app.run(t);
    let t0 = Instant::now();
    let error = |app: &App| match app.screen() {
        Screen::Identify(i) => i.error.clone(),
        other => panic!("expected the PIN pad, got {other:?}"),
    };
    app.staff_pin_sent("1111", t0);
    assert!(matches!(
        error(&app),
        Some(Notice::Said("ui-staff-pin-wrong-left", a)) if a == vec![("left", "2".to_string())]
    ));
    app.staff_pin_sent("2222", t0);
    app.staff_pin_sent("3333", t0);
    assert!(matches!(
        error(&app),
        Some(Notice::Said("ui-staff-pin-locked", _))
    ));
    // Locked: even the right PIN does not open the menu, nor does a new
    // gesture reset the count.
    app.staff_pin_sent("24680", t0 + Duration::from_secs(60));
    assert!(matches!(app.screen(), Screen::Identify(_)));
    app.send(Message::Identify(identify::Message::Cancel));
    let t = staff_corner(&mut app);
    app.run(t);
    assert!(matches!(
        error(&app),
        Some(Notice::Said("ui-staff-pin-locked", _))
    ));
    // After the lock time, the right PIN opens it.
    app.staff_pin_sent("24680", t0 + Duration::from_secs(10 * 60 + 1));
    assert!(matches!(app.screen(), Screen::Staff(_)));
}

#[test]
fn a_hold_on_a_book_the_reader_has_says_until_when() {
    let (mut app, cards, items) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    let due = match &lines(&app)[0].status {
        borrow::Status::Borrowed { due } => due.clone(),
        other => panic!("not lent: {other:?}"),
    };
    app.send(Message::Borrow(borrow::Message::Holds));
    app.send(Message::Scanned(items[0].clone()));
    match app.screen() {
        Screen::Holds(h) => {
            assert_eq!(
                h.placed.last(),
                Some(&Notice::Refused(Refusal::AlreadyOnLoanToYou {
                    due: due.clone()
                }))
            );
            assert!(h.placed.last().unwrap().render(Lang::En).contains(&due));
        }
        other => panic!("expected holds, got {other:?}"),
    }
}

/// The next `TagsInField` from the device runner, within 10 s.
fn tags_event(
    events: &std::sync::mpsc::Receiver<kiosk::devices::events::DeviceEvent>,
) -> kiosk::devices::events::DeviceEvent {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let left = until.saturating_duration_since(Instant::now());
        let e = events.recv_timeout(left).expect("the pad reports the tags");
        if matches!(
            e.kind,
            kiosk::devices::events::EventKind::TagsInField { .. }
        ) {
            return e;
        }
    }
}

#[test]
fn tags_on_the_simulated_pad_are_lent_and_secured_off_the_ui_thread() {
    // The shipped configuration: the demo library and the simulated 3M pad
    // with the demo tags.
    let Shipped {
        mut app,
        cards,
        field,
        tags,
        on_loan_afi,
        events,
    } = shipped_kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    assert!(matches!(app.screen(), Screen::Borrow));

    // A good tag: lent, then its AFI set to "on loan" by a Task.
    field.put(tags[0].clone());
    app.send(Message::Device(tags_event(&events)));
    let l = lines(&app);
    assert_eq!(l.len(), 1, "{l:?}");
    assert!(
        matches!(l[0].status, borrow::Status::Borrowed { .. }),
        "{l:?}"
    );
    assert_eq!(field.get(&tags[0].uid).unwrap().afi, on_loan_afi);
    assert_eq!(journal_count(&app, "security"), 0);

    // A tag whose AFI is locked: still lent (the loan is committed), the
    // failure journaled, and the line sends the reader to staff.
    let mut locked = tags[1].clone();
    locked.afi_locked = true;
    field.put(locked);
    app.send(Message::Device(tags_event(&events)));
    let l = lines(&app);
    assert_eq!(l.len(), 2, "{l:?}");
    assert!(
        matches!(l[1].status, borrow::Status::BorrowedInsecure { .. }),
        "{l:?}"
    );
    assert_eq!(journal_count(&app, "security"), 1);
}

#[test]
fn a_reader_cancels_a_reservation_from_the_holds_screen() {
    let (mut app, cards, items) = kiosk();
    // Reader 0 borrows the book, so reader 1 can only reserve it.
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Scanned(cards[0].clone()));
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned(cards[1].clone()));
    app.send(Message::Borrow(borrow::Message::Holds));
    app.send(Message::Scanned(items[0].clone()));
    match app.screen() {
        Screen::Holds(h) => {
            assert!(
                matches!(h.placed.last(), Some(Notice::Said("hold-ok", _))),
                "{:?}",
                h.placed
            );
            assert_eq!(h.holds.len(), 1);
            assert_eq!(h.holds[0].item.as_deref(), Some(items[0].as_str()));
        }
        other => panic!("expected holds, got {other:?}"),
    }
    app.send(Message::Holds(holds::Message::Cancel(0)));
    match app.screen() {
        Screen::Holds(h) => {
            assert!(
                matches!(h.placed.last(), Some(Notice::Said("hold-cancelled", _))),
                "{:?}",
                h.placed
            );
            assert!(h.holds.is_empty(), "{:?}", h.holds);
            assert!(h
                .placed
                .last()
                .unwrap()
                .render(Lang::En)
                .contains("cancelled"));
        }
        other => panic!("expected holds, got {other:?}"),
    }
    let cancelled: (String, String) = app
        .store()
        .conn()
        .query_row(
            "SELECT decision, patron FROM journal WHERE kind = 'hold_cancelled'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(cancelled, ("accepted".to_string(), cards[1].clone()));
}

/// The suggestions on the receipt screen, as (title, author).
fn suggestions(app: &App) -> Vec<(String, String)> {
    match app.screen() {
        Screen::Receipt(r) => r
            .recommendations
            .iter()
            .map(|s| (s.title.clone(), s.author.clone()))
            .collect(),
        other => panic!("expected the receipt, got {other:?}"),
    }
}

#[test]
fn without_a_central_system_the_receipt_suggests_from_the_local_history() {
    let (mut app, cards, items) = kiosk();
    // Only what happens here counts: no demo history.
    app.store()
        .conn()
        .execute("DELETE FROM loans WHERE returned IS NOT NULL", [])
        .unwrap();
    let title = |i: &str| -> (String, String) {
        app.store()
            .conn()
            .query_row(
                "SELECT title, author FROM items WHERE barcode = ?1",
                [i],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let isbn = |i: &str| -> Option<String> {
        app.store()
            .conn()
            .query_row("SELECT isbn FROM items WHERE barcode = ?1", [i], |r| {
                r.get(0)
            })
            .unwrap()
    };
    // The demo library has several copies of a title: the other book must
    // be another title.
    let other = items[2..]
        .iter()
        .find(|i| isbn(i) != isbn(&items[0]))
        .expect("two titles among the demo books")
        .clone();
    let (t0, t3) = (title(&items[0]), title(&other));
    // Another reader borrowed items[0] and the other title, and brought
    // them back.
    for code in [&cards[1], &items[0], &other, &cards[1]] {
        app.send(Message::Scanned(code.clone()));
    }
    no_receipt_no_feedback(&mut app);
    for code in [&items[0], &other] {
        app.send(Message::Scanned(code.clone()));
    }
    app.send(Message::Return(kiosk::ui::screens::returns::Message::Done));
    // This reader borrows items[0]: the receipt comes at once, empty, and
    // the suggestion follows from the Task.
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    let t = app.update(Message::Scanned(cards[0].clone()));
    assert!(suggestions(&app).is_empty(), "nothing before the answer");
    app.run(t);
    let got = suggestions(&app);
    assert_eq!(got, vec![t3.clone()], "what the other reader also borrowed");
    assert!(!got.contains(&t0), "not what was just borrowed");
    // On the screen, with its heading (iced_test simulator).
    {
        let mut ui = simulator(&app);
        ui.find("You might also like:").expect("the heading");
        ui.find(t3.0.as_str()).expect("the suggested title");
    }
    // A late answer for an earlier receipt never lands on a new one.
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned(cards[2].clone()));
    app.send(Message::Scanned(items[1].clone()));
    app.send(Message::Scanned(cards[2].clone()));
    app.send(Message::Recommended(Box::new(
        kiosk::ui::app::Recommended {
            receipt: 1,
            patron: cards[0].clone(),
            items: vec![items[0].clone()],
            result: Ok(vec![receipt::Suggestion {
                title: "Stale".into(),
                author: String::new(),
            }]),
        },
    )));
    assert!(suggestions(&app).is_empty(), "{:?}", suggestions(&app));
}

#[test]
fn the_receipt_shows_what_kiosk_central_recommends() {
    let dir = tempfile::tempdir().unwrap();
    let (_central, base, token) = start_central(
        dir.path(),
        "P1,Reader One,adult,2099-12-31,,\nP2,Reader Two,adult,2099-12-31,,\n",
        "I1,Alpha,Ann,,book,,1,\nI2,Beta,Bo,,book,,1,\nI3,Gamma,Cy,,book,,1,\n",
    );
    // Another kiosk lends Alpha and Gamma to P2, who brings them back:
    // history only the central system has.
    let k2 = dir.path().join("k2");
    std::fs::create_dir(&k2).unwrap();
    let t2 = central_token(dir.path().join("central.db").to_str().unwrap(), "kiosk-2");
    std::fs::write(
        k2.join("kiosk.toml"),
        format!(
            "[kiosk]\nid = \"kiosk-2\"\n[store]\npath = \"k2.db\"\n[barcode]\nmode = \"off\"\n\
             [upstream]\nkind = \"http\"\nurl = \"{base}\"\ntoken = \"{t2}\"\n\
             [offline]\nmax_cache_age_hours = 0\n"
        ),
    )
    .unwrap();
    let circ = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
            .current_dir(&k2)
            .env_remove("KIOSK_CONFIG")
            .env("RUST_LOG", "warn")
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {stdout} {out:?}");
        assert!(
            stdout.contains("\"online\""),
            "decided by the server: {stdout}"
        );
    };
    let synced = std::process::Command::new(env!("CARGO_BIN_EXE_kiosk"))
        .current_dir(&k2)
        .env_remove("KIOSK_CONFIG")
        .args(["sync", "--once"])
        .output()
        .unwrap();
    assert!(synced.status.success(), "{synced:?}");
    for item in ["I1", "I3"] {
        circ(&["circ", "checkout", "--patron", "P2", "--item", item]);
        circ(&["circ", "checkin", "--item", item]);
    }

    let (mut app, bg) = online_app(&base, &token, &dir.path().join("kiosk.db"));
    app.send(Message::Scanned("P1".into()));
    app.send(Message::Scanned("I1".into()));
    assert!(
        matches!(&lines(&app)[..], [l] if matches!(l.status, borrow::Status::Borrowed { .. })),
        "{:?}",
        lines(&app)
    );
    // This kiosk's own history knows nothing of P2's loans.
    assert!(app
        .store()
        .also_borrowed("P1", &["I1".to_string()], 4)
        .unwrap()
        .is_empty());
    let t = app.update(Message::Scanned("P1".into()));
    assert!(
        suggestions(&app).is_empty(),
        "the receipt is up before the answer"
    );
    app.run(t);
    assert_eq!(
        suggestions(&app),
        vec![("Gamma".to_string(), "Cy".to_string())],
        "the central system's recommendation"
    );
    let mut ui = simulator(&app);
    ui.find("Gamma").expect("shown on the receipt");
    ui.find("Cy").expect("with its author");
    drop(ui);
    bg.stop();
}

#[test]
fn each_outcome_chooses_its_sound_and_a_missing_sound_card_changes_nothing() {
    use kiosk::ui::sound::{Cue, Player};
    let (mut app, cards, items) = kiosk();
    // A player whose sound card is missing, as on CI and under Xvfb.
    let player = Player::with_output(70, Box::new(|| Err("no sound card".to_string())));
    app.set_sound(player);
    assert_eq!(app.last_cue(), None);
    app.send(Message::Scanned("39999999999994".into()));
    assert_eq!(app.last_cue(), Some(Cue::Error), "an unknown code buzzes");
    let before = on_loan(&app);
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    assert_eq!(app.last_cue(), Some(Cue::Success), "a loan chimes");
    assert_eq!(on_loan(&app), before + 1, "lent all the same");
    app.send(Message::Scanned(cards[1].clone()));
    assert_eq!(
        app.last_cue(),
        Some(Cue::Attention),
        "another card: finish first"
    );
    app.send(Message::Scanned(cards[0].clone()));
    no_receipt_no_feedback(&mut app);
    app.send(Message::Scanned(items[0].clone()));
    assert_eq!(app.last_cue(), Some(Cue::Success), "a plain return chimes");
    assert_eq!(on_loan(&app), before);

    // Switched off: no cue is even chosen.
    let mut config = Config::default();
    config.kiosk.sounds = false;
    let (mut quiet, _, _) = kiosk_with(config);
    let _ = quiet.update(Message::Scanned("39999999999994".into()));
    assert_eq!(quiet.last_cue(), None);
}

#[test]
fn device_statuses_read_in_the_chosen_language() {
    use kiosk::devices::events::{DeviceEvent, DeviceStatus, StatusCode};
    let config = printer_and_pad();
    let (mut app, _, _) = kiosk_with(config);
    // The pad's status comes without a code: it keeps its own words.
    printer_out_of_paper_pad_gone(&mut app);
    let t = open_staff_menu(&mut app);
    app.run(t);
    let shown = |app: &App| -> Vec<(String, bool, String)> {
        match app.screen() {
            Screen::Staff(s) => s
                .figures
                .devices
                .iter()
                .map(|d| (d.id.clone(), d.ok, d.status.clone()))
                .collect(),
            other => panic!("expected the staff menu, got {other:?}"),
        }
    };
    assert_eq!(
        shown(&app),
        vec![
            ("pad".into(), false, "/dev/ttyUSB0: gone".into()),
            ("printer".into(), false, "Out of paper".into()),
        ]
    );
    app.send(Message::SetLang(Lang::ZhCn));
    assert_eq!(shown(&app)[1].2, "缺纸");
    // The printer is back: its new code replaces the old one.
    app.send(Message::Device(DeviceEvent::status(
        "printer",
        StatusCode::PrinterReady,
        DeviceStatus::Up {
            info: "receipt printer at /dev/usb/lp0".into(),
        },
    )));
    app.send(Message::Staff(staff::Message::Refresh));
    assert_eq!(
        shown(&app)[1],
        ("printer".into(), true, "就绪：凭条打印机已连接".into())
    );
    // Every code the devices can send reads in both languages.
    let t = kiosk::i18n::Texts::get();
    for code in StatusCode::ALL {
        for lang in [Lang::En, Lang::ZhCn] {
            assert!(t.has(lang, code.message_id()), "{code:?} in {lang:?}");
        }
    }
}

#[test]
fn while_the_receipt_prints_the_reader_is_offered_done_not_no_receipt() {
    let printing = receipt::Receipt {
        borrowed: vec![("Alpha".into(), "2026-12-01".into())],
        printing: true,
        notice: Some(Notice::said("ui-receipt-printing")),
        ..receipt::Receipt::default()
    };
    let mut ui = iced_test::Simulator::with_size(
        iced::Settings::default(),
        iced::Size::new(1920.0, 1080.0),
        printing.view(Lang::En),
    );
    ui.find("Printing your receipt ...")
        .expect("says it prints");
    assert!(ui.find("No receipt, thanks").is_err());
    ui.click("Done").expect("a way on");
    let messages: Vec<receipt::Message> = ui.into_messages().collect();
    assert_eq!(messages, vec![receipt::Message::NoReceipt]);
}

#[test]
fn a_pin_checked_by_the_central_system_opens_the_pad_then_the_session() {
    use kiosk::ui::app::PinChecked;
    let (mut app, cards, _) = kiosk();
    let answer = |card: &str, entered: bool, result: Result<(), Refusal>| {
        Message::PinChecked(Box::new(PinChecked {
            card: card.to_string(),
            entered,
            result: Ok(result),
        }))
    };
    // As Circulation::check_pin answers through the desk: a PIN is needed.
    app.send(answer(&cards[0], false, Err(Refusal::PinRequired)));
    assert!(matches!(app.screen(), Screen::Identify(_)));
    // A late answer about another card changes nothing.
    app.send(answer(&cards[1], true, Ok(())));
    assert!(app.session().is_none());
    // Wrong, then right.
    app.send(answer(
        &cards[0],
        true,
        Err(Refusal::WrongPin { attempts_left: 4 }),
    ));
    match app.screen() {
        Screen::Identify(i) => assert!(
            matches!(i.error, Some(Notice::Refused(Refusal::WrongPin { .. }))),
            "{i:?}"
        ),
        other => panic!("expected the PIN pad, got {other:?}"),
    }
    app.send(answer(&cards[0], true, Ok(())));
    assert!(matches!(app.screen(), Screen::Borrow));
    assert_eq!(
        app.session().map(|s| s.card.as_str()),
        Some(cards[0].as_str())
    );
    // An upstream failure sends the reader to staff, no session.
    app.send(Message::Borrow(borrow::Message::Finish));
    app.send(Message::Feedback(feedback::Message::Skip));
    app.send(Message::PinChecked(Box::new(PinChecked {
        card: cards[1].clone(),
        entered: false,
        result: Err("the central system failed".into()),
    })));
    assert!(app.session().is_none());
    assert_eq!(app.notice(), Some(&Notice::said("ui-error-staff")));
}

#[test]
fn staff_see_the_open_conflicts_with_reasons_and_masked_readers() {
    let (mut app, cards, items) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Scanned(items[1].clone()));
    app.send(Message::Borrow(borrow::Message::Finish));
    no_receipt_no_feedback(&mut app);
    // The upstream turned the first loan into a conflict, and staff
    // closed the second one's conflict at the centre already.
    let conn = app.store().conn();
    conn.execute(
        "UPDATE journal SET sync_status = 'conflict', sync_reason = 'item already on loan upstream'
         WHERE kind = 'checkout' AND item = ?1",
        [&items[0]],
    )
    .unwrap();
    conn.execute(
        "UPDATE journal SET sync_status = 'conflict', sync_reason = 'closed one'
         WHERE kind = 'checkout' AND item = ?1",
        [&items[1]],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO conflict_resolutions (entry_id, resolved, resolved_by, note)
         SELECT id, '2026-01-01T00:00:00Z', 'staff', 'ok' FROM journal
         WHERE kind = 'checkout' AND item = ?1",
        [&items[1]],
    )
    .unwrap();
    let t = open_staff_menu(&mut app);
    app.run(t);
    let list = match app.screen() {
        Screen::Staff(s) => s.figures.conflicts.clone(),
        other => panic!("expected the staff menu, got {other:?}"),
    };
    assert_eq!(list.len(), 1, "{list:?}");
    let c = &list[0];
    assert_eq!(c.kind, "checkout");
    assert_eq!(c.item.as_deref(), Some(items[0].as_str()));
    assert_eq!(c.reason, "item already on loan upstream");
    let tail: String = cards[0]
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert_eq!(c.reader, Some(format!("…{tail}")));
    assert_ne!(c.reader.as_deref(), Some(cards[0].as_str()));
    let line = format!(
        "{} Loan item {} reader …{tail}: item already on loan upstream",
        c.at, items[0]
    );
    let mut ui = simulator(&app);
    ui.find("Latest open conflicts:").expect("the heading");
    ui.find(line.as_str()).expect("the conflict line");
    assert!(
        ui.find(cards[0].as_str()).is_err(),
        "full card number shown"
    );
}

#[test]
fn staff_see_each_device_last_event_and_error_count() {
    use chrono::TimeZone;
    use kiosk::devices::events::{DeviceEvent, DeviceStatus, EventKind, Tag};
    use kiosk::devices::tag::{Format, TagData};
    let config = printer_and_pad();
    let (mut app, _, _) = kiosk_with(config);
    let at = |h, m, s| Local.with_ymd_and_hms(2026, 3, 4, h, m, s).unwrap();
    let send = |app: &mut App, device: &str, when, kind| {
        let mut e = DeviceEvent::now(device, kind);
        e.at = when;
        app.send(Message::Device(e));
    };
    let down = || EventKind::DeviceStatus {
        status: DeviceStatus::Down {
            reason: "/dev/ttyUSB0: gone".into(),
        },
    };
    let up = || EventKind::DeviceStatus {
        status: DeviceStatus::Up {
            info: "back".into(),
        },
    };
    // Down, the same down again (one change), up, down again: 2 errors.
    send(&mut app, "pad", at(9, 0, 0), down());
    send(&mut app, "pad", at(9, 0, 5), down());
    send(&mut app, "pad", at(9, 1, 0), up());
    send(&mut app, "pad", at(9, 2, 0), down());
    send(&mut app, "pad", at(9, 3, 0), up());
    // A blank tag that decodes to no item: one more.
    send(
        &mut app,
        "pad",
        at(9, 3, 7),
        EventKind::TagsInField {
            tags: vec![Tag {
                uid: [0xE0, 4, 1, 0, 0, 0, 0, 9],
                afi: None,
                data: TagData::only(Format::Blank),
            }],
        },
    );
    let t = open_staff_menu(&mut app);
    app.run(t);
    let devices = match app.screen() {
        Screen::Staff(s) => s.figures.devices.clone(),
        other => panic!("expected the staff menu, got {other:?}"),
    };
    let pad = devices.iter().find(|d| d.id == "pad").unwrap();
    assert_eq!(pad.last_event.as_deref(), Some("09:03:07"));
    assert_eq!(pad.errors, 3);
    let printer = devices.iter().find(|d| d.id == "printer").unwrap();
    assert_eq!((printer.last_event.as_deref(), printer.errors), (None, 0));
    {
        let mut ui = simulator(&app);
        ui.find("last event 09:03:07, 3 errors")
            .expect("the pad's line");
        ui.find("last event never, 0 errors")
            .expect("the printer's line");
    }
    app.send(Message::SetLang(Lang::ZhCn));
    app.send(Message::Staff(staff::Message::Refresh));
    let mut ui = simulator(&app);
    ui.find("最近事件 09:03:07，错误 3 次")
        .expect("the pad's line in Chinese");
}

#[test]
fn staff_see_the_recent_warnings_in_the_log_box() {
    use tracing_subscriber::prelude::*;
    let (mut app, _, _) = kiosk();
    let subscriber = tracing_subscriber::registry().with(kiosk::ui::log::RecentLayer);
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("gui-log-test not shown");
        tracing::warn!(device = "pad", "gui-log-test the pad went away");
    });
    let t = open_staff_menu(&mut app);
    app.run(t);
    let log = match app.screen() {
        Screen::Staff(s) => s.figures.log.clone(),
        other => panic!("expected the staff menu, got {other:?}"),
    };
    let line = log
        .iter()
        .find(|l| l.ends_with("gui-log-test the pad went away device=pad"))
        .unwrap_or_else(|| panic!("{log:?}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(!log.iter().any(|l| l.contains("gui-log-test not shown")));
    let mut ui = simulator(&app);
    ui.find("Recent warnings and errors (newest first):")
        .expect("the heading");
    ui.find(line.as_str()).expect("the warning in the box");
}

#[test]
fn staff_words_replace_the_out_of_service_text() {
    let (mut app, _, _) = kiosk();
    let t = open_staff_menu(&mut app);
    app.run(t);
    app.send(Message::Staff(staff::Message::ServiceMessageChanged(
        " Back at 14:00 after the move ".into(),
    )));
    click(&mut app, "Take out of service");
    click(&mut app, "Back");
    match app.screen() {
        Screen::Attract(a) => assert!(a.out_of_service),
        other => panic!("{other:?}"),
    }
    {
        let mut ui = simulator(&app);
        ui.find("Back at 14:00 after the move")
            .expect("staff's words");
        assert!(ui
            .find("Sorry, this kiosk cannot be used right now. Please ask at the desk.")
            .is_err());
    }
    // Staff come back: the field holds the (trimmed) words; cleared, the
    // default text returns.
    let t = open_staff_menu(&mut app);
    app.run(t);
    match app.screen() {
        Screen::Staff(s) => assert_eq!(s.service_message, "Back at 14:00 after the move"),
        other => panic!("{other:?}"),
    }
    app.send(Message::Staff(staff::Message::ServiceMessageChanged(
        String::new(),
    )));
    click(&mut app, "Back");
    let mut ui = simulator(&app);
    ui.find("Sorry, this kiosk cannot be used right now. Please ask at the desk.")
        .expect("the default text");
}

/// The reader borrows `items[0]` and scans the card again: the receipt is
/// up and the book is on loan, ready to be returned with no card.
fn on_the_receipt_with_a_book_to_return() -> (App, String) {
    let (mut app, cards, items) = kiosk();
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Scanned(cards[0].clone()));
    assert!(
        matches!(app.screen(), Screen::Receipt(_)),
        "{:?}",
        app.screen()
    );
    (app, items[0].clone())
}

/// The book came back whole: one accepted return, and nothing refused.
fn returned_whole(app: &App, book: &str) {
    match app.screen() {
        Screen::Return(r) => {
            assert_eq!(r.lines.len(), 1, "{:?}", r.lines);
            assert!(r.lines[0].result.is_ok(), "{:?}", r.lines[0]);
        }
        other => panic!("expected the return of {book}, got {other:?}"),
    }
    assert_eq!(journal_count(app, "checkin"), 1);
    assert_eq!(app.notice(), None);
}

/// Seen in the real window (tests/gui_window.rs) right after a session
/// closed: the kiosk drew the receipt while a scanner typed a book. Ten
/// keys were read, then the UI thread was busy for about 55 ms; the
/// wedge timer's ticks, fired meanwhile, were handled before the keys
/// that had arrived at the same time. The late ticks must not take the
/// kiosk's own busy time for the reader's pause: one scan, the whole book.
#[test]
fn a_scan_typed_while_the_kiosk_was_busy_drawing_is_one_scan() {
    let (mut app, book) = on_the_receipt_with_a_book_to_return();
    let (head, tail) = book.split_at(book.len() - 4);
    let t = Instant::now();
    let read = t - Duration::from_millis(60);
    for ch in head.chars() {
        app.press(key(ch), read);
    }
    // The timer fired every 10 ms during the stall; the ticks reach the
    // app only now, late, and the last one just in time.
    for late in [50, 40, 30, 20, 10] {
        app.send(Message::WedgeTick(t - Duration::from_millis(late)));
    }
    app.send(Message::WedgeTick(Instant::now()));
    let now = Instant::now();
    for ch in tail.chars() {
        app.press(key(ch), now);
    }
    app.press(enter(), now);
    returned_whole(&app, &book);
}

/// The same stall with the keys read before the ticks: the gap between
/// two keys of one burst, as the app sees them, holds the kiosk's drawing
/// time and is not the reader's pause.
#[test]
fn keys_held_up_behind_a_redraw_are_still_one_scan() {
    let (mut app, book) = on_the_receipt_with_a_book_to_return();
    let (head, tail) = book.split_at(book.len() - 4);
    let t = Instant::now();
    for ch in head.chars() {
        app.press(key(ch), t);
    }
    let later = t + Duration::from_millis(58);
    for ch in tail.chars() {
        app.press(key(ch), later);
    }
    app.press(enter(), later);
    returned_whole(&app, &book);
}

/// The first key of a burst handled alone (the kiosk was idle), then the
/// kiosk busy for 60 ms, the ticks fired meanwhile handled late, then the
/// rest: one key handed over as typing would not be taken back (a single
/// key is a person's), and the rest would be a wrong code. The late ticks
/// show the kiosk was busy: nothing is handed over, one scan.
#[test]
fn a_scan_whose_first_key_came_alone_before_a_redraw_is_one_scan() {
    let (mut app, book) = on_the_receipt_with_a_book_to_return();
    let (head, tail) = book.split_at(1);
    let t = Instant::now();
    for ch in head.chars() {
        app.press(key(ch), t - Duration::from_millis(60));
    }
    for late in [50, 40, 30, 20, 10] {
        app.send(Message::WedgeTick(t - Duration::from_millis(late)));
    }
    let now = Instant::now();
    for ch in tail.chars() {
        app.press(key(ch), now);
    }
    app.press(enter(), now);
    returned_whole(&app, &book);
}

/// No staff PIN configured (the shipped kiosk.toml's `pin_hash = ""`): the
/// corner gesture does nothing on a kiosk in a public hall; a staff card
/// still opens the menu.
#[test]
fn without_a_staff_pin_the_corner_does_nothing_but_a_staff_card_works() {
    let mut config = Config::default();
    config.staff.cards = vec!["STAFF-0042".into()];
    let s = configured_store(&mut config);
    assert!(config.staff.pin_hash.is_empty());
    let mut app = App::new(config, s, None, Lang::En).unwrap();
    let t = staff_corner(&mut app);
    app.run(t);
    assert!(
        matches!(app.screen(), Screen::Attract(_)),
        "{:?}",
        app.screen()
    );
    app.send(Message::Scanned("STAFF-0042".into()));
    assert!(matches!(app.screen(), Screen::Staff(_)));
}

/// The staff PIN's lock-out is kept in the database: a kiosk restarted
/// (or unplugged) after three wrong PINs is still locked.
#[test]
fn the_staff_pin_lock_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let start = |db: &std::path::Path| {
        let mut config = Config::default();
        config.staff.pin_hash = staff_pin_hash();
        config.policy.pin_attempts = 3;
        config.policy.pin_lock_minutes = 10;
        config.kiosk.languages = vec![Lang::En, Lang::ZhCn];
        let mut s = Store::open(db, &config.kiosk.id).unwrap();
        let (rows, settings, holidays) = kiosk::config::circulation(&config);
        s.configure(rows, settings, &holidays).unwrap();
        App::new(config, s, None, Lang::En).unwrap()
    };
    let mut app = start(&db);
    let t = staff_corner(&mut app);
    app.run(t);
    let t0 = Instant::now();
    app.staff_pin_sent("1111", t0);
    app.staff_pin_sent("2222", t0);
    // Restarted after two wrong tries: the third still locks.
    drop(app);
    let mut app = start(&db);
    let t = staff_corner(&mut app);
    app.run(t);
    app.staff_pin_sent("3333", t0);
    drop(app);
    // Restarted while locked: the pad says so, and the right PIN waits.
    let mut app = start(&db);
    let t = staff_corner(&mut app);
    app.run(t);
    match app.screen() {
        Screen::Identify(i) => assert!(
            matches!(i.error, Some(Notice::Said("ui-staff-pin-locked", _))),
            "{:?}",
            i.error
        ),
        other => panic!("expected the PIN pad, got {other:?}"),
    }
    app.staff_pin_sent(STAFF_PIN, Instant::now());
    assert!(matches!(app.screen(), Screen::Identify(_)));
}

/// A kiosk over a demo library in a database file (so it can be damaged):
/// (app, cards, items, the database's directory to keep).
fn kiosk_on_file(damaged: bool) -> (App, Vec<String>, Vec<String>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("kiosk.db");
    let mut config = Config::default();
    config.kiosk.languages = vec![Lang::En, Lang::ZhCn];
    config.staff.pin_hash = staff_pin_hash();
    let (cards, items) = {
        let mut s = Store::open(&db, &config.kiosk.id).unwrap();
        let (rows, settings, holidays) = kiosk::config::circulation(&config);
        s.configure(rows, settings, &holidays).unwrap();
        store::demo::generate(&mut s, 30, 120, 7, Local::now().fixed_offset()).unwrap();
        store::demo::loanable_pairs(&s, 5).unwrap()
    };
    if damaged {
        support::kiosk::damage_inside(&db);
    }
    let mut s = Store::open(&db, &config.kiosk.id).unwrap();
    let (rows, settings, holidays) = kiosk::config::circulation(&config);
    s.configure(rows, settings, &holidays).unwrap();
    (
        App::new(config, s, None, Lang::En).unwrap(),
        cards,
        items,
        dir,
    )
}

/// The touch screen's first view comes before the database's check (on
/// the 1M-item library the check alone takes longer than the start may):
/// out of service while it runs, in service once it passed.
#[test]
fn the_first_view_comes_before_the_database_check_and_circulation_after() {
    let (mut app, cards, items, _dir) = kiosk_on_file(false);
    let loans = on_loan(&app);
    let check = app.check_store();
    assert_eq!(app.db_check(), &kiosk::ui::app::DbCheck::Running);
    assert!(app.out_of_service());
    {
        let mut ui = simulator(&app);
        assert!(ui.find("Out of service").is_ok(), "the first view");
        assert!(ui.find(tr_en("ui-db-checking")).is_ok());
    }
    // A scan while the check runs lends nothing.
    app.send(Message::Scanned(cards[0].clone()));
    assert!(app.session().is_none());
    app.run(check);
    assert_eq!(app.db_check(), &kiosk::ui::app::DbCheck::Passed);
    assert!(!app.out_of_service());
    match app.screen() {
        Screen::Attract(a) => assert!(!a.out_of_service && a.staff_note.is_none()),
        other => panic!("{other:?}"),
    }
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    assert_eq!(on_loan(&app), loans + 1);
}

/// A database damaged inside: the first view is drawn, then the check
/// finds the damage and the kiosk stays out of service with the reason
/// for staff; no scan, tag or staff toggle lends anything.
#[test]
fn a_damaged_database_is_found_after_the_first_view_and_lends_nothing() {
    let (mut app, cards, items, _dir) = kiosk_on_file(true);
    let loans = on_loan(&app);
    let entries: i64 = app
        .store()
        .conn()
        .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
        .unwrap();
    let check = app.check_store();
    assert!(simulator(&app).find("Out of service").is_ok(), "first view");
    app.run(check);
    let problem = match app.db_check() {
        kiosk::ui::app::DbCheck::Failed(p) => p.clone(),
        other => panic!("the damage was not found: {other:?}"),
    };
    assert!(!problem.is_empty());
    assert!(app.out_of_service());
    let note = match app.screen() {
        Screen::Attract(a) => {
            assert!(a.out_of_service);
            a.staff_note
                .as_ref()
                .expect("a line for staff")
                .render(Lang::En)
        }
        other => panic!("{other:?}"),
    };
    assert!(note.contains("failed its check"), "{note}");
    assert!(note.contains("Restore it from a backup"), "{note}");
    {
        let mut ui = simulator(&app);
        assert!(ui.find("Out of service").is_ok());
        assert!(ui.find(note.as_str()).is_ok(), "the staff line is drawn");
    }
    // Readers: nothing happens.
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    assert!(app.session().is_none());
    // Staff: the menu says why; putting the kiosk "back in service" does
    // not make the database good.
    let t = open_staff_menu(&mut app);
    app.run(t);
    match app.screen() {
        Screen::Staff(s) => assert_eq!(s.status.as_deref(), Some(note.as_str())),
        other => panic!("{other:?}"),
    }
    app.send(Message::Staff(staff::Message::ToggleService));
    app.send(Message::Staff(staff::Message::ToggleService));
    app.send(Message::Staff(staff::Message::Back));
    assert!(app.out_of_service());
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    assert!(app.session().is_none());
    assert_eq!(on_loan(&app), loans, "no loan went through");
    let after: i64 = app
        .store()
        .conn()
        .query_row("SELECT count(*) FROM journal", [], |r| r.get(0))
        .unwrap();
    assert_eq!(after, entries, "nothing journaled");
}

fn tr_en(id: &str) -> String {
    tra_en(id, &[])
}

fn tra_en(id: &str, args: &[(&str, String)]) -> String {
    kiosk::i18n::Texts::get().text(Lang::En, id, args)
}

/// The staff menu's export: only into [staff] export_dir, under a new
/// generated name, owner-only; never over a file or through a link at
/// that name; no path is typed; switched off when the key is unset.
#[test]
fn the_staff_export_goes_only_into_the_export_folder_under_a_new_name() {
    let (config, _dir, stick) = with_stick();
    let (mut app, cards, items) = kiosk_with(config);
    app.send(Message::Scanned(cards[0].clone()));
    app.send(Message::Scanned(items[0].clone()));
    app.send(Message::Borrow(borrow::Message::Finish));
    no_receipt_no_feedback(&mut app);
    let t = open_staff_menu(&mut app);
    app.run(t);
    // Where it goes is on the menu; no path can be typed.
    let place = format!("the USB stick at {}", stick.display());
    assert!(
        simulator(&app)
            .find(tra_en("ui-staff-export", &[("dir", stick.display().to_string())]).as_str())
            .is_ok(),
        "{place}"
    );
    app.send(Message::Staff(staff::Message::Export));
    let files = exports(&stick);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    let id = Config::default().kiosk.id;
    let prefix = format!("kiosk-{id}-transactions-");
    assert!(
        name.starts_with(&prefix) && name.ends_with(".csv"),
        "{name}"
    );
    let stamp = &name[prefix.len()..name.len() - 4];
    assert!(
        chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d-%H%M%S").is_ok(),
        "{name}"
    );
    let csv = std::fs::read_to_string(&files[0]).unwrap();
    assert!(csv.contains(&items[0]), "{csv}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "an export names readers: {mode:o}");
    }
    let said = |app: &App| match app.screen() {
        Screen::Staff(s) => s.status.clone().unwrap_or_default(),
        other => panic!("{other:?}"),
    };
    assert!(
        said(&app).contains(&files[0].display().to_string()),
        "{}",
        said(&app)
    );

    // Links planted at the names of the next seconds: refused, their
    // target untouched.
    #[cfg(unix)]
    {
        std::fs::remove_file(&files[0]).unwrap();
        let target = _dir.path().join("precious.txt");
        std::fs::write(&target, "precious").unwrap();
        let now = Local::now();
        for s in 0..4 {
            let at = now + chrono::Duration::seconds(s);
            let link = stick.join(kiosk::ui::app::export_name(&id, at));
            std::os::unix::fs::symlink(&target, &link).unwrap();
        }
        app.send(Message::Staff(staff::Message::Export));
        assert!(said(&app).contains("exists already"), "{}", said(&app));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
    }

    // Switched off: the menu says how to switch it on, and nothing else.
    let (mut app, _, _) = kiosk();
    let t = open_staff_menu(&mut app);
    app.run(t);
    let off = tr_en("ui-staff-export-off");
    assert!(simulator(&app).find(off.as_str()).is_ok());
    assert!(simulator(&app).find("Export").is_err(), "no export button");
    app.send(Message::Staff(staff::Message::Export));
    assert_eq!(said(&app), "");
}
