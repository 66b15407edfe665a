//! The borrow screen: a reader's session. Every item scanned or placed is
//! lent by the app (journal committed first) and shown here as a line with
//! its due date or, refused, the reason in plain words. An item already on
//! loan to this reader offers a renewal instead of a second loan. Never
//! decides anything itself.

use super::{big, notice_box, small, title, tr, tra, Notice};
use crate::domain::{Lang, Refusal};
use crate::ui::theme;
use iced::widget::{column, container, row, scrollable, space, text, Column};
use iced::{Center, Element, Fill};

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Borrowed {
        due: String,
    },
    /// Lent, but its security tag could not be set: the reader must see staff.
    BorrowedInsecure {
        due: String,
    },
    Renewed {
        due: String,
    },
    Refused(Refusal),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub item: String,
    pub title: String,
    pub author: String,
    pub status: Status,
}

#[derive(Debug, Default)]
pub struct Borrow {
    pub name: String,
    pub lines: Vec<Line>,
    pub notice: Option<Notice>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Renew(usize),
    Account,
    Holds,
    Finish,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Renew(String),
    ShowAccount,
    ShowHolds,
    Finish,
}

impl Borrow {
    pub fn new(name: String) -> Borrow {
        Borrow {
            name,
            ..Borrow::default()
        }
    }

    /// A new result, newest first on screen; a line for the same item
    /// (scanned again, or renewed) is replaced rather than repeated.
    pub fn push(&mut self, line: Line) {
        self.notice = None;
        // A book lent a moment ago and read again (the pad re-reads, people
        // scan twice) stays "borrowed" rather than turning into a refusal.
        let again = matches!(
            line.status,
            Status::Refused(Refusal::AlreadyOnLoanToYou { .. })
        ) && self.lines.iter().any(|l| {
            l.item == line.item
                && matches!(
                    l.status,
                    Status::Borrowed { .. }
                        | Status::BorrowedInsecure { .. }
                        | Status::Renewed { .. }
                )
        });
        if again {
            return;
        }
        self.lines.retain(|l| l.item != line.item);
        self.lines.push(line);
    }

    /// How many items were lent in this session (for the receipt).
    pub fn borrowed(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| {
                matches!(
                    l.status,
                    Status::Borrowed { .. } | Status::BorrowedInsecure { .. }
                )
            })
            .count()
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Renew(i) => match self.lines.get(i) {
                Some(Line {
                    item,
                    status: Status::Refused(Refusal::AlreadyOnLoanToYou { .. }),
                    ..
                }) => Some(Event::Renew(item.clone())),
                _ => None,
            },
            Message::Account => Some(Event::ShowAccount),
            Message::Holds => Some(Event::ShowHolds),
            Message::Finish => Some(Event::Finish),
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let mut list = Column::new().spacing(12);
        if self.lines.is_empty() {
            list = list.push(text(tr(lang, "ui-borrow-empty")).size(theme::BODY));
        }
        for (i, l) in self.lines.iter().enumerate().rev() {
            list = list.push(line_view(i, l, lang));
        }
        let mut c = column![
            title(tra(lang, "ui-borrow-title", &[("name", self.name.clone())])),
            text(tr(lang, "ui-borrow-hint")).size(theme::BODY),
        ]
        .spacing(16);
        if let Some(n) = &self.notice {
            c = c.push(notice_box(n, lang));
        }
        c.push(scrollable(list).height(Fill))
            .push(
                row![
                    small(tr(lang, "ui-my-account"), Message::Account),
                    small(tr(lang, "ui-holds"), Message::Holds),
                    space::horizontal(),
                    big(tr(lang, "ui-finish"), Message::Finish),
                ]
                .spacing(20)
                .align_y(Center),
            )
            .into()
    }
}

fn line_view(i: usize, l: &Line, lang: Lang) -> Element<'_, Message> {
    let (status, good): (String, bool) = match &l.status {
        Status::Borrowed { due } => (tra(lang, "ui-due", &[("due", due.clone())]), true),
        Status::BorrowedInsecure { due } => (
            format!(
                "{} {}",
                tra(lang, "ui-due", &[("due", due.clone())]),
                tr(lang, "tag-security-failed")
            ),
            false,
        ),
        Status::Renewed { due } => (tra(lang, "ui-renewed-until", &[("due", due.clone())]), true),
        Status::Refused(r) => (crate::i18n::Texts::get().refusal(lang, r), false),
    };
    let mut r = row![column![
        text(l.title.clone()).size(theme::BODY),
        text(l.author.clone()).size(theme::SMALL),
        text(status).size(theme::BODY).style(move |t| if good {
            theme::ok(t)
        } else {
            theme::bad(t)
        }),
    ]
    .spacing(4)
    .width(Fill)]
    .align_y(Center)
    .spacing(16);
    if matches!(
        l.status,
        Status::Refused(Refusal::AlreadyOnLoanToYou { .. })
    ) {
        r = r.push(big(tr(lang, "ui-renew"), Message::Renew(i)));
    }
    container(r)
        .padding(16)
        .width(Fill)
        .style(theme::card)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(item: &str, status: Status) -> Line {
        Line {
            item: item.into(),
            title: format!("Title {item}"),
            author: "A".into(),
            status,
        }
    }

    #[test]
    fn already_on_loan_offers_renewal_and_others_do_not() {
        let mut b = Borrow::new("Ann".into());
        b.push(line(
            "1",
            Status::Borrowed {
                due: "2026-12-01".into(),
            },
        ));
        b.push(line(
            "2",
            Status::Refused(Refusal::AlreadyOnLoanToYou {
                due: "2026-11-30".into(),
            }),
        ));
        assert_eq!(b.update(Message::Renew(0)), None);
        assert_eq!(b.update(Message::Renew(1)), Some(Event::Renew("2".into())));
        assert_eq!(b.update(Message::Renew(9)), None, "out of range is ignored");
        assert_eq!(b.borrowed(), 1);
    }

    #[test]
    fn same_item_replaces_its_line() {
        let mut b = Borrow::new("Ann".into());
        b.push(line(
            "2",
            Status::Refused(Refusal::AlreadyOnLoanToYou { due: "x".into() }),
        ));
        b.push(line("2", Status::Renewed { due: "y".into() }));
        assert_eq!(b.lines.len(), 1);
        assert_eq!(b.lines[0].status, Status::Renewed { due: "y".into() });
    }

    #[test]
    fn a_book_borrowed_now_and_read_again_stays_borrowed() {
        let mut b = Borrow::new("Ann".into());
        let ok = line("1", Status::Borrowed { due: "d".into() });
        b.push(ok.clone());
        b.push(line(
            "1",
            Status::Refused(Refusal::AlreadyOnLoanToYou { due: "d".into() }),
        ));
        assert_eq!(b.lines, vec![ok]);
    }

    #[test]
    fn navigation_events() {
        let mut b = Borrow::new("Ann".into());
        assert_eq!(b.update(Message::Finish), Some(Event::Finish));
        assert_eq!(b.update(Message::Account), Some(Event::ShowAccount));
        assert_eq!(b.update(Message::Holds), Some(Event::ShowHolds));
    }
}
