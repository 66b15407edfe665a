//! The staff menu (behind the staff PIN or a staff card): device status
//! with a test panel (what a scan or a tag on the pad reads as, nothing
//! lent or returned), a test print, the sync outbox, today's loans and
//! returns per hour and per item type as charts, CSV export, the
//! out-of-service switch, restarting and quitting the kiosk. The app
//! gathers the figures and does the exporting; this screen never touches
//! the store.

use super::{big, small, title, tr, tra};
use crate::domain::Lang;
pub use crate::store::TypeCount;
use crate::ui::theme;
use iced::mouse;
use iced::widget::canvas::{self, Canvas, Frame, Geometry, Text};
use iced::widget::{column, container, row, scrollable, space, text, text_input, Column};
use iced::{Center, Color, Element, Fill, Point, Rectangle, Renderer, Size, Theme};

/// How many open conflicts the sync panel lists.
pub const CONFLICTS_SHOWN: usize = 5;
/// How many test reads the device panel keeps, newest first.
pub const TESTS_SHOWN: usize = 6;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLine {
    pub id: String,
    pub ok: bool,
    pub status: String,
    /// When it last sent anything (local time), None if never.
    pub last_event: Option<String>,
    /// Times it went down or into error, plus what it sent that could
    /// not be decoded, since the kiosk started.
    pub errors: u32,
}

/// What the app tells the staff screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub devices: Vec<DeviceLine>,
    pub outbox: i64,
    pub journal: i64,
    pub current_loans: i64,
    /// When the last sync succeeded (RFC 3339), None if never.
    pub last_sync: Option<String>,
    /// (loans, returns) per hour of today, 0..24.
    pub hourly: Vec<(u32, u32)>,
    /// Today's loans and returns per item type, busiest first.
    pub by_type: Vec<TypeCount>,
    /// The sync engine's view, when an upstream is configured.
    pub sync: Option<SyncLine>,
    /// The last open conflicts, newest first.
    pub conflicts: Vec<ConflictLine>,
    /// The last WARN/ERROR log lines, oldest first.
    pub log: Vec<String>,
}

/// What a device read while the staff menu was open (nothing is lent or
/// returned then): how staff check a scanner or the pad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRead {
    /// Local time, to the second.
    pub at: String,
    pub device: String,
    pub what: TestKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestKind {
    /// A reader's card (masked: only its last four characters).
    Card { masked: String },
    /// One of `[staff] cards`.
    StaffCard,
    /// A known item, with its title.
    Item { code: String, title: String },
    /// A code this library does not know (wrong symbology, a check digit
    /// misread, another library's book).
    Unknown { code: String },
    /// An RFID tag: its UID, the data format, the item it carries (if it
    /// decoded to one), its title when the catalogue knows it, and the AFI
    /// (security) byte as read.
    Tag {
        uid: String,
        format: String,
        item: Option<String>,
        title: Option<String>,
        afi: Option<u8>,
    },
}

impl TestKind {
    /// Read as something this library knows: a card, a book, a tag
    /// carrying a book of its catalogue.
    pub fn good(&self) -> bool {
        match self {
            TestKind::Card { .. } | TestKind::StaffCard | TestKind::Item { .. } => true,
            TestKind::Unknown { .. } => false,
            TestKind::Tag { item, title, .. } => item.is_some() && title.is_some(),
        }
    }
}

/// One journal entry the upstream refused as a conflict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConflictLine {
    /// The journal kind (checkout, checkin, ...).
    pub kind: String,
    pub item: Option<String>,
    /// Masked as the CLI masks it (only the last four characters).
    pub reader: Option<String>,
    /// When the transaction happened, local time, to the minute.
    pub at: String,
    /// Why the upstream refused it, in its words.
    pub reason: String,
}

/// The sync engine's status as staff read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncLine {
    pub upstream: String,
    /// None = not asked yet.
    pub online: Option<bool>,
    pub last_error: Option<String>,
    pub conflicts: u64,
    /// Pull in progress: records so far, and how many remain if known.
    pub pulling: Option<(u64, Option<u64>)>,
}

#[derive(Debug, Default)]
pub struct Staff {
    pub figures: Figures,
    /// The folder exports go into (`[staff] export_dir`); None: export
    /// is switched off.
    pub export_dir: Option<String>,
    /// An export is being written.
    pub exporting: bool,
    pub out_of_service: bool,
    /// What readers see while out of service (empty: the default text).
    pub service_message: String,
    /// The last export's or sync's result, in staff's language (not
    /// translated later).
    pub status: Option<String>,
    /// A "sync now" is running.
    pub syncing: bool,
    /// What the devices read while this menu is open, newest first.
    pub tests: Vec<TestRead>,
    /// A receipt printer is configured (the test print button).
    pub printer: bool,
    /// A test print is running.
    pub printing: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    ServiceMessageChanged(String),
    Export,
    ToggleService,
    Refresh,
    SyncNow,
    TestPrint,
    Restart,
    Quit,
    Back,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Export into the configured folder, under a generated name.
    Export,
    SetOutOfService(bool),
    /// Staff's own words for the out-of-service screen (trimmed; empty
    /// for the default text).
    SetServiceMessage(String),
    Refresh,
    SyncNow,
    TestPrint,
    /// Start the kiosk program again (configuration re-read, devices
    /// reopened).
    Restart,
    Quit,
    Back,
}

impl Staff {
    pub fn new(figures: Figures, out_of_service: bool, export_dir: Option<String>) -> Staff {
        Staff {
            figures,
            export_dir,
            exporting: false,
            out_of_service,
            service_message: String::new(),
            status: None,
            syncing: false,
            tests: Vec::new(),
            printer: false,
            printing: false,
        }
    }

    /// A device read something: on top of the test panel.
    pub fn tested(&mut self, read: TestRead) {
        self.tests.insert(0, read);
        self.tests.truncate(TESTS_SHOWN);
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::ServiceMessageChanged(m) => {
                self.service_message = m;
                Some(Event::SetServiceMessage(
                    self.service_message.trim().to_string(),
                ))
            }
            // One at a time, and only into a configured folder.
            Message::Export if self.export_dir.is_none() || self.exporting => None,
            Message::Export => {
                self.exporting = true;
                Some(Event::Export)
            }
            Message::ToggleService => {
                self.out_of_service = !self.out_of_service;
                Some(Event::SetOutOfService(self.out_of_service))
            }
            Message::Refresh => Some(Event::Refresh),
            // One at a time, and only with an upstream to talk to.
            Message::SyncNow if self.syncing || self.figures.sync.is_none() => None,
            Message::SyncNow => {
                self.syncing = true;
                Some(Event::SyncNow)
            }
            Message::TestPrint if !self.printer || self.printing => None,
            Message::TestPrint => {
                self.printing = true;
                Some(Event::TestPrint)
            }
            Message::Restart => Some(Event::Restart),
            Message::Quit => Some(Event::Quit),
            Message::Back => Some(Event::Back),
        }
    }

    /// Where the export goes and its button; no path is typed here.
    fn export_row(&self, lang: Lang) -> Element<'_, Message> {
        match &self.export_dir {
            None => text(tr(lang, "ui-staff-export-off"))
                .size(theme::BODY)
                .into(),
            Some(dir) => {
                let label = if self.exporting {
                    tr(lang, "ui-staff-exporting")
                } else {
                    tr(lang, "ui-staff-export-button")
                };
                row![
                    text(tra(lang, "ui-staff-export", &[("dir", dir.clone())]))
                        .size(theme::BODY)
                        .width(Fill),
                    big(label, Message::Export),
                ]
                .spacing(16)
                .align_y(Center)
                .into()
            }
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let f = &self.figures;
        let mut devices = Column::new().spacing(6);
        for d in &f.devices {
            let ok = d.ok;
            let errors = d.errors;
            devices = devices.push(
                row![
                    text(format!(
                        "{} {} — {}",
                        if ok { "●" } else { "×" },
                        d.id,
                        d.status
                    ))
                    .size(theme::SMALL)
                    .style(move |t| if ok {
                        theme::ok(t)
                    } else {
                        theme::bad(t)
                    }),
                    text(tra(
                        lang,
                        "ui-staff-device-seen",
                        &[
                            (
                                "at",
                                d.last_event
                                    .clone()
                                    .unwrap_or_else(|| tr(lang, "ui-staff-device-never")),
                            ),
                            ("errors", errors.to_string()),
                        ],
                    ))
                    .size(theme::SMALL)
                    .style(move |t| if errors > 0 {
                        theme::bad(t)
                    } else {
                        text::Style::default()
                    }),
                ]
                .spacing(16),
            );
        }
        let (loans, returns) = f
            .hourly
            .iter()
            .fold((0, 0), |(a, b), (l, r)| (a + l, b + r));
        let left = column![
            text(tr(lang, "ui-staff-devices")).size(theme::BODY),
            devices,
            self.test_panel(lang),
            text(tr(lang, "ui-staff-sync")).size(theme::BODY),
            text(tra(
                lang,
                "ui-staff-outbox",
                &[
                    ("outbox", f.outbox.to_string()),
                    ("journal", f.journal.to_string())
                ]
            ))
            .size(theme::SMALL),
            text(match &f.last_sync {
                Some(at) => tra(lang, "ui-staff-last-sync", &[("at", at.clone())]),
                None => tr(lang, "ui-staff-never-synced"),
            })
            .size(theme::SMALL),
            sync_lines(f.sync.as_ref(), lang),
            conflict_lines(&f.conflicts, lang),
            text(tra(
                lang,
                "ui-staff-on-loan",
                &[("count", f.current_loans.to_string())]
            ))
            .size(theme::SMALL),
        ]
        .spacing(10)
        .width(Fill);
        let chart = Canvas::new(Chart {
            hourly: f.hourly.clone(),
        })
        .width(Fill)
        .height(280);
        let right = column![
            text(tra(
                lang,
                "ui-staff-today",
                &[
                    ("loans", loans.to_string()),
                    ("returns", returns.to_string())
                ]
            ))
            .size(theme::BODY),
            chart,
            row![
                text(format!("■ {}", tr(lang, "ui-staff-loans")))
                    .size(theme::SMALL)
                    .style(|t: &Theme| text::Style {
                        color: Some(t.palette().primary)
                    }),
                text(format!("■ {}", tr(lang, "ui-staff-returns")))
                    .size(theme::SMALL)
                    .style(theme::ok),
            ]
            .spacing(24),
            text(tr(lang, "ui-staff-by-type")).size(theme::BODY),
            type_chart(&f.by_type, lang),
        ]
        .spacing(10)
        .width(Fill);
        // Everything between the title and the buttons scrolls, so the
        // buttons stay on screen whatever the lists hold.
        let mut c = column![
            container(row![left, right].spacing(32))
                .padding(16)
                .style(theme::card),
            self.export_row(lang),
        ]
        .spacing(16)
        .padding(iced::Padding::ZERO.right(16));
        if let Some(s) = &self.status {
            c = c.push(text(s.clone()).size(theme::BODY));
        }
        c = c.push(
            row![
                text(tr(lang, "ui-staff-service-message")).size(theme::BODY),
                text_input(&tr(lang, "ui-out-of-service-hint"), &self.service_message)
                    .on_input(Message::ServiceMessageChanged)
                    .size(theme::BODY)
                    .padding(12)
                    .width(Fill),
            ]
            .spacing(16)
            .align_y(Center),
        );
        c = c.push(text(tr(lang, "ui-staff-log")).size(theme::BODY));
        let mut log = Column::new().spacing(2);
        if f.log.is_empty() {
            log = log.push(text(tr(lang, "ui-staff-log-empty")).size(16));
        }
        // Newest on top.
        for l in f.log.iter().rev() {
            log = log.push(text(l.clone()).size(16));
        }
        c = c.push(
            container(scrollable(log.width(Fill)).height(130))
                .padding(8)
                .style(theme::card),
        );
        let service = if self.out_of_service {
            tr(lang, "ui-staff-back-in-service")
        } else {
            tr(lang, "ui-staff-out-of-service")
        };
        let mut buttons = row![
            small(tr(lang, "ui-back"), Message::Back),
            small(tr(lang, "ui-staff-refresh"), Message::Refresh),
        ]
        .spacing(20)
        .align_y(Center);
        if f.sync.is_some() {
            buttons = buttons.push(if self.syncing {
                small(tr(lang, "ui-staff-syncing"), Message::Refresh)
            } else {
                small(tr(lang, "ui-staff-sync-now"), Message::SyncNow)
            });
        }
        column![
            title(tr(lang, "ui-staff-title")),
            scrollable(c).height(Fill)
        ]
        .spacing(16)
        .push(
            buttons
                .push(small(service, Message::ToggleService))
                .push(space::horizontal())
                .push(small(tr(lang, "ui-staff-restart"), Message::Restart))
                .push(small(tr(lang, "ui-staff-quit"), Message::Quit)),
        )
        .into()
    }

    /// What to do to test a device, the test print, and the last reads.
    fn test_panel(&self, lang: Lang) -> Element<'_, Message> {
        let mut head = row![text(tr(lang, "ui-staff-test-hint"))
            .size(theme::SMALL)
            .width(Fill)]
        .spacing(16)
        .align_y(Center);
        if self.printer {
            head = head.push(if self.printing {
                small(tr(lang, "ui-staff-test-printing"), Message::Refresh)
            } else {
                small(tr(lang, "ui-staff-test-print"), Message::TestPrint)
            });
        }
        let mut c = Column::new().spacing(4).push(head);
        for t in &self.tests {
            let (line, good) = test_line(t, lang);
            c = c.push(
                text(format!("{} {} — {line}", t.at, t.device))
                    .size(theme::SMALL)
                    .style(move |th| if good { theme::ok(th) } else { theme::bad(th) }),
            );
        }
        container(c).padding(8).style(theme::card).into()
    }
}

/// A test read in staff's words, and whether it read as something this
/// library knows.
pub fn test_line(t: &TestRead, lang: Lang) -> (String, bool) {
    (test_text(&t.what, lang), t.what.good())
}

fn test_text(what: &TestKind, lang: Lang) -> String {
    match what {
        TestKind::Card { masked } => tra(lang, "ui-staff-test-card", &[("card", masked.clone())]),
        TestKind::StaffCard => tr(lang, "ui-staff-test-staff-card"),
        TestKind::Item { code, title } => tra(
            lang,
            "ui-staff-test-item",
            &[("code", code.clone()), ("title", title.clone())],
        ),
        TestKind::Unknown { code } => tra(lang, "ui-staff-test-unknown", &[("code", code.clone())]),
        TestKind::Tag {
            uid,
            format,
            item,
            title,
            afi,
        } => {
            let afi = afi
                .map(|a| format!("{a:02X}"))
                .unwrap_or_else(|| "?".into());
            match item {
                Some(item) => tra(
                    lang,
                    "ui-staff-test-tag",
                    &[
                        ("uid", uid.clone()),
                        ("format", format.clone()),
                        ("item", item.clone()),
                        ("title", title.clone().unwrap_or_else(|| "?".into())),
                        ("afi", afi),
                    ],
                ),
                None => tra(
                    lang,
                    "ui-staff-test-tag-unreadable",
                    &[
                        ("uid", uid.clone()),
                        ("format", format.clone()),
                        ("afi", afi),
                    ],
                ),
            }
        }
    }
}

/// An item type in staff's language when the translations name it
/// (`item-type-<code>`), else the library's own code.
pub fn type_name(code: &str, lang: Lang) -> String {
    if code.is_empty() {
        return tr(lang, "ui-staff-type-gone");
    }
    let id = format!("item-type-{code}");
    if crate::i18n::Texts::get().has(lang, &id) {
        tr(lang, &id)
    } else {
        code.to_string()
    }
}

/// Today's loans and returns per item type as paired horizontal bars,
/// busiest first (the first eight types; the rest summed as "others").
fn type_chart<'a>(by_type: &[TypeCount], lang: Lang) -> Element<'a, Message> {
    if by_type.is_empty() {
        return text(tr(lang, "ui-staff-by-type-none"))
            .size(theme::SMALL)
            .into();
    }
    Canvas::new(TypeChart {
        rows: type_rows(by_type, lang),
    })
    .width(Fill)
    .height(ROW_H * by_type.len().min(TYPES_SHOWN + 1) as f32 + 8.0)
    .into()
}

/// Types charted one by one; the rest are summed as "others".
const TYPES_SHOWN: usize = 8;
const ROW_H: f32 = 34.0;

/// (name, loans, returns) per charted row.
fn type_rows(by_type: &[TypeCount], lang: Lang) -> Vec<(String, u32, u32)> {
    let mut rows: Vec<(String, u32, u32)> = by_type
        .iter()
        .take(TYPES_SHOWN)
        .map(|t| (type_name(&t.item_type, lang), t.loans, t.returns))
        .collect();
    if by_type.len() > TYPES_SHOWN {
        let (l, r) = by_type[TYPES_SHOWN..]
            .iter()
            .fold((0, 0), |(l, r), t| (l + t.loans, r + t.returns));
        rows.push((tr(lang, "ui-staff-type-others"), l, r));
    }
    rows
}

/// Per item type: its name, then a loans bar and a returns bar with their
/// counts.
#[derive(Debug)]
struct TypeChart {
    rows: Vec<(String, u32, u32)>,
}

impl<Message> canvas::Program<Message> for TypeChart {
    type State = ();

    fn draw(
        &self,
        _state: &(),
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let p = theme.palette();
        let label_w = (bounds.width * 0.3).min(220.0);
        let count_w = 48.0;
        let bar_w = (bounds.width - label_w - count_w).max(1.0);
        let max = self
            .rows
            .iter()
            .map(|(_, l, r)| (*l).max(*r))
            .max()
            .unwrap_or(0)
            .max(1) as f32;
        for (i, (name, l, r)) in self.rows.iter().enumerate() {
            let y = i as f32 * ROW_H;
            frame.fill_text(Text {
                content: name.clone(),
                position: Point::new(0.0, y + 6.0),
                color: p.text,
                size: 18.0.into(),
                ..Text::default()
            });
            for (k, (v, color)) in [(*l, p.primary), (*r, p.success)].into_iter().enumerate() {
                let top = y + 2.0 + k as f32 * 14.0;
                let w = if v > 0 {
                    (v as f32 / max * bar_w).max(2.0)
                } else {
                    0.0
                };
                frame.fill_rectangle(Point::new(label_w, top), Size::new(w, 12.0), color);
                frame.fill_text(Text {
                    content: v.to_string(),
                    position: Point::new(label_w + w + 6.0, top - 3.0),
                    color: p.text,
                    size: 14.0.into(),
                    ..Text::default()
                });
            }
        }
        vec![frame.into_geometry()]
    }
}

/// Online or not, the last error, conflicts and a pull in progress; with
/// no upstream, that this kiosk works alone.
fn sync_lines<'a>(s: Option<&SyncLine>, lang: Lang) -> Element<'a, Message> {
    let Some(s) = s else {
        return text(tr(lang, "ui-staff-standalone"))
            .size(theme::SMALL)
            .into();
    };
    let online = s.online;
    let mut c = Column::new().spacing(6).push(
        text(tra(
            lang,
            match online {
                Some(true) => "ui-staff-online",
                Some(false) => "ui-staff-offline",
                None => "ui-staff-online-unknown",
            },
            &[("upstream", s.upstream.clone())],
        ))
        .size(theme::SMALL)
        .style(move |t| match online {
            Some(false) => theme::bad(t),
            _ => theme::ok(t),
        }),
    );
    if let Some(e) = &s.last_error {
        c = c.push(
            text(tra(lang, "ui-staff-sync-error", &[("error", e.clone())]))
                .size(theme::SMALL)
                .style(theme::bad),
        );
    }
    let conflicts = s.conflicts;
    c = c.push(
        text(tra(
            lang,
            "ui-staff-conflicts",
            &[("count", conflicts.to_string())],
        ))
        .size(theme::SMALL)
        .style(move |t| {
            if conflicts > 0 {
                theme::bad(t)
            } else {
                theme::ok(t)
            }
        }),
    );
    if let Some((done, left)) = s.pulling {
        c = c.push(
            text(tra(
                lang,
                "ui-staff-pulling",
                &[
                    ("done", done.to_string()),
                    ("left", left.map(|l| l.to_string()).unwrap_or("?".into())),
                ],
            ))
            .size(theme::SMALL),
        );
    }
    c.into()
}

/// The open conflicts, one line each: when, what, which item, whose
/// (masked) and why; nothing when there are none.
fn conflict_lines<'a>(list: &[ConflictLine], lang: Lang) -> Element<'a, Message> {
    let mut c = Column::new().spacing(4);
    if list.is_empty() {
        return c.into();
    }
    c = c.push(text(tr(lang, "ui-staff-conflict-list")).size(theme::SMALL));
    for l in list {
        c = c.push(
            text(tra(
                lang,
                "ui-staff-conflict-line",
                &[
                    ("at", l.at.clone()),
                    ("kind", kind_name(&l.kind, lang)),
                    ("item", l.item.clone().unwrap_or_else(|| "-".into())),
                    ("reader", l.reader.clone().unwrap_or_else(|| "-".into())),
                    ("reason", l.reason.clone()),
                ],
            ))
            .size(theme::SMALL)
            .style(theme::bad),
        );
    }
    c.into()
}

/// A journal kind in staff's language; an unknown one as stored.
fn kind_name(kind: &str, lang: Lang) -> String {
    const KNOWN: [&str; 8] = [
        "checkout",
        "checkin",
        "renew",
        "hold_placed",
        "hold_cancelled",
        "feedback",
        "fee_paid",
        "security",
    ];
    if KNOWN.contains(&kind) {
        tr(lang, &format!("ui-staff-kind-{}", kind.replace('_', "-")))
    } else {
        kind.to_string()
    }
}

/// Loans and returns per hour as paired bars.
#[derive(Debug)]
struct Chart {
    hourly: Vec<(u32, u32)>,
}

impl<Message> canvas::Program<Message> for Chart {
    type State = ();

    fn draw(
        &self,
        _state: &(),
        renderer: &Renderer,
        theme: &Theme,
        bounds: Rectangle,
        _cursor: mouse::Cursor,
    ) -> Vec<Geometry> {
        let mut frame = Frame::new(renderer, bounds.size());
        let p = theme.palette();
        let label_h = 24.0;
        let h = (bounds.height - label_h).max(1.0);
        let slot = bounds.width / 24.0;
        let max = self
            .hourly
            .iter()
            .map(|(l, r)| (*l).max(*r))
            .max()
            .unwrap_or(0)
            .max(1) as f32;
        frame.fill_rectangle(
            Point::new(0.0, h),
            Size::new(bounds.width, 1.0),
            Color { a: 0.5, ..p.text },
        );
        for hour in 0..24usize {
            let (l, r) = self.hourly.get(hour).copied().unwrap_or((0, 0));
            let x = hour as f32 * slot;
            let bar = (slot * 0.4).max(1.0);
            for (i, (v, color)) in [(l, p.primary), (r, p.success)].into_iter().enumerate() {
                let bh = v as f32 / max * (h - 4.0);
                frame.fill_rectangle(
                    Point::new(x + slot * 0.1 + i as f32 * bar, h - bh),
                    Size::new(bar, bh),
                    color,
                );
            }
            if hour % 3 == 0 {
                frame.fill_text(Text {
                    content: format!("{hour:02}"),
                    position: Point::new(x, h + 4.0),
                    color: p.text,
                    size: 16.0.into(),
                    ..Text::default()
                });
            }
        }
        vec![frame.into_geometry()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_needs_a_folder_runs_once_and_toggle_flips() {
        let mut s = Staff::new(Figures::default(), false, None);
        assert_eq!(s.update(Message::Export), None, "switched off");
        let mut s = Staff::new(Figures::default(), false, Some("/media/usb".into()));
        assert_eq!(s.update(Message::Export), Some(Event::Export));
        assert_eq!(s.update(Message::Export), None, "one at a time");
        assert!(s.exporting);
        assert_eq!(
            s.update(Message::ToggleService),
            Some(Event::SetOutOfService(true))
        );
        assert_eq!(
            s.update(Message::ToggleService),
            Some(Event::SetOutOfService(false))
        );
        assert_eq!(s.update(Message::Quit), Some(Event::Quit));
        assert_eq!(s.update(Message::Back), Some(Event::Back));
    }

    #[test]
    fn the_service_message_is_passed_on_trimmed() {
        let mut s = Staff::new(Figures::default(), false, None);
        assert_eq!(
            s.update(Message::ServiceMessageChanged(
                "  Closed for the move ".into()
            )),
            Some(Event::SetServiceMessage("Closed for the move".into()))
        );
        // What staff typed stays in the field as typed.
        assert_eq!(s.service_message, "  Closed for the move ");
        assert_eq!(
            s.update(Message::ServiceMessageChanged("   ".into())),
            Some(Event::SetServiceMessage(String::new()))
        );
    }

    #[test]
    fn test_print_needs_a_printer_and_runs_once() {
        let mut s = Staff::new(Figures::default(), false, None);
        assert_eq!(s.update(Message::TestPrint), None, "no printer");
        s.printer = true;
        assert_eq!(s.update(Message::TestPrint), Some(Event::TestPrint));
        assert!(s.printing);
        assert_eq!(s.update(Message::TestPrint), None, "one at a time");
        assert_eq!(s.update(Message::Restart), Some(Event::Restart));
    }

    #[test]
    fn the_test_panel_keeps_the_newest_reads() {
        let mut s = Staff::new(Figures::default(), false, None);
        for n in 0..TESTS_SHOWN + 3 {
            s.tested(TestRead {
                at: format!("10:00:{n:02}"),
                device: "wedge".into(),
                what: TestKind::Unknown {
                    code: n.to_string(),
                },
            });
        }
        assert_eq!(s.tests.len(), TESTS_SHOWN);
        assert_eq!(s.tests[0].at, format!("10:00:{:02}", TESTS_SHOWN + 2));
        let line = |what: TestKind, lang| {
            test_line(
                &TestRead {
                    at: String::new(),
                    device: String::new(),
                    what,
                },
                lang,
            )
        };
        let (l, good) = line(
            TestKind::Tag {
                uid: "E004".into(),
                format: "3m".into(),
                item: Some("300".into()),
                title: None,
                afi: Some(0x07),
            },
            Lang::En,
        );
        // A tag whose book this catalogue does not know is not good.
        assert!(!good);
        assert!(l.contains("AFI 07") && l.contains("300"), "{l}");
        let (l, good) = line(TestKind::StaffCard, Lang::ZhCn);
        assert!(good);
        assert_eq!(l, "工作人员卡");
    }

    #[test]
    fn item_types_chart_by_name_with_the_rest_summed() {
        assert_eq!(type_name("book", Lang::ZhCn), "图书");
        assert_eq!(type_name("book", Lang::En), "Books");
        assert_eq!(type_name("local-zines", Lang::En), "local-zines");
        assert_eq!(type_name("", Lang::En), "(no longer in the catalogue)");
        let many: Vec<TypeCount> = (0..TYPES_SHOWN as u32 + 3)
            .map(|n| TypeCount {
                item_type: format!("t{n}"),
                loans: 100 - n,
                returns: 1,
            })
            .collect();
        let rows = type_rows(&many, Lang::En);
        assert_eq!(rows.len(), TYPES_SHOWN + 1);
        let others = rows.last().unwrap();
        assert_eq!(others.0, "Others");
        let n = TYPES_SHOWN as u32;
        assert_eq!(others.1, (100 - n) + (100 - n - 1) + (100 - n - 2));
        assert_eq!(others.2, 3);
        assert_eq!(type_rows(&many[..2], Lang::En).len(), 2);
    }

    #[test]
    fn refresh_asks_and_every_journal_kind_has_a_name() {
        let mut s = Staff::new(Figures::default(), false, None);
        assert_eq!(s.update(Message::Refresh), Some(Event::Refresh));
        // No upstream: "sync now" does nothing.
        assert_eq!(s.update(Message::SyncNow), None);
        let t = crate::i18n::Texts::get();
        for k in [
            "checkout",
            "checkin",
            "renew",
            "hold_placed",
            "hold_cancelled",
            "feedback",
            "fee_paid",
            "security",
        ] {
            for lang in [Lang::En, Lang::ZhCn] {
                assert!(
                    t.has(lang, &format!("ui-staff-kind-{}", k.replace('_', "-"))),
                    "{k} {lang:?}"
                );
            }
        }
        assert_eq!(kind_name("checkout", Lang::ZhCn), "借出");
        assert_eq!(kind_name("something_new", Lang::En), "something_new");
    }
}
