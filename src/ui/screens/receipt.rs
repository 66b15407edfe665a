//! End of a borrowing session: what was borrowed, print or e-mail a
//! receipt or not, and "you might also like" (from the central system, or from this
//! kiosk's loan history when it cannot be asked; they arrive after the
//! screen is up and never hold it back). Printing and fetching are the
//! app's job; this screen only shows and asks.

use super::{big, notice_box, small, title, tr, tra, Notice};
use crate::domain::Lang;
use crate::ui::theme;
use iced::widget::{column, container, row, scrollable, text, Column, Row};
use iced::{Center, Element, Fill, Shrink};

#[derive(Debug, Default)]
pub struct Receipt {
    /// (title, due) of this session's loans.
    pub borrowed: Vec<(String, String)>,
    pub printer: bool,
    /// The receipt is being printed: the reader may go on meanwhile.
    pub printing: bool,
    /// E-mail is offered, to this (masked) address on the reader's record.
    pub email: Option<String>,
    /// The mail is on its way: the reader may go on meanwhile.
    pub emailing: bool,
    pub notice: Option<Notice>,
    /// Titles suggested for this reader; empty until they arrive.
    pub recommendations: Vec<Suggestion>,
}

/// A title suggested on the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub title: String,
    pub author: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Print,
    Email,
    NoReceipt,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Print,
    Email,
    Done,
}

impl Receipt {
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Print if self.printer && !self.borrowed.is_empty() => Some(Event::Print),
            Message::Email if self.email.is_some() && !self.emailing => {
                self.emailing = true;
                Some(Event::Email)
            }
            // Asked twice while it goes: nothing more.
            Message::Email if self.emailing => None,
            Message::Print | Message::Email | Message::NoReceipt => Some(Event::Done),
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let mut list = Column::new().spacing(8);
        for (t, due) in &self.borrowed {
            list = list.push(
                container(
                    row![
                        text(t.clone()).size(theme::BODY).width(Fill),
                        text(tra(lang, "ui-due", &[("due", due.clone())])).size(theme::BODY),
                    ]
                    .spacing(16),
                )
                .padding(12)
                .style(theme::card),
            );
        }
        let mut c = column![
            title(tra(
                lang,
                "ui-receipt-title",
                &[("count", self.borrowed.len().to_string())]
            )),
            scrollable(list).height(Fill),
        ]
        .spacing(16);
        if !self.recommendations.is_empty() {
            let mut cards = Row::new().spacing(16);
            for r in &self.recommendations {
                let mut card = column![text(r.title.clone()).size(theme::BODY)].spacing(4);
                if !r.author.is_empty() {
                    card = card.push(text(r.author.clone()).size(theme::SMALL));
                }
                cards = cards.push(
                    container(card)
                        .padding(16)
                        .width(Fill)
                        .height(Shrink)
                        .style(theme::card),
                );
            }
            c = c.push(text(tr(lang, "ui-recommendations")).size(theme::BODY));
            c = c.push(cards);
        }
        if let Some(n) = &self.notice {
            c = c.push(notice_box(n, lang));
        }
        let mut actions = row![].spacing(24).align_y(Center);
        if self.printer {
            actions = actions.push(big(tr(lang, "ui-print-receipt"), Message::Print));
        }
        if let (Some(to), false) = (&self.email, self.emailing) {
            actions = actions.push(big(
                tra(lang, "ui-email-receipt", &[("to", to.clone())]),
                Message::Email,
            ));
        }
        // While it prints or mails, "no receipt" would read as a cancel:
        // the same button just moves on.
        let next = if self.printing || self.emailing {
            "ui-done"
        } else {
            "ui-no-receipt"
        };
        actions = actions.push(small(tr(lang, next), Message::NoReceipt));
        c.push(actions).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_only_with_a_printer_and_loans() {
        let mut r = Receipt {
            borrowed: vec![("T".into(), "2026-12-01".into())],
            printer: true,
            ..Receipt::default()
        };
        assert_eq!(r.update(Message::Print), Some(Event::Print));
        assert_eq!(r.update(Message::NoReceipt), Some(Event::Done));
        r.printer = false;
        assert_eq!(r.update(Message::Print), Some(Event::Done));
    }

    #[test]
    fn email_only_when_offered_and_once() {
        let mut r = Receipt {
            borrowed: vec![("T".into(), "2026-12-01".into())],
            ..Receipt::default()
        };
        assert_eq!(r.update(Message::Email), Some(Event::Done), "not offered");
        r.email = Some("r…@example.com".into());
        assert_eq!(r.update(Message::Email), Some(Event::Email));
        assert!(r.emailing);
        assert_eq!(r.update(Message::Email), None);
        assert_eq!(r.update(Message::NoReceipt), Some(Event::Done));
    }
}
