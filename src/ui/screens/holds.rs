//! Holds: a reader places a reservation by scanning an item (the app
//! commits it and reports here) and sees which holds are ready, with the
//! pickup code on the shelf slip. Picking up is borrowing the copy from the
//! hold shelf: the loan fills the hold. Never touches the store.

use super::{small, title, tr, tra, Notice};
use crate::domain::Lang;
use crate::store::AccountHold;
use crate::ui::theme;
use iced::widget::{column, container, row, scrollable, space, text, Column};
use iced::{Element, Fill};

#[derive(Debug, Default)]
pub struct Holds {
    pub holds: Vec<AccountHold>,
    /// What happened to the items scanned here, newest last.
    pub placed: Vec<Notice>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Cancel the hold at this index.
    Cancel(usize),
    Back,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Cancel the reader's hold on the title of this copy.
    Cancel(String),
    Back,
}

impl Holds {
    pub fn new(holds: Vec<AccountHold>) -> Holds {
        Holds {
            holds,
            placed: Vec::new(),
        }
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Cancel(i) => self
                .holds
                .get(i)
                .and_then(|h| h.item.clone())
                .map(Event::Cancel),
            Message::Back => Some(Event::Back),
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let mut list = Column::new().spacing(10);
        for n in self.placed.iter().rev() {
            list = list.push(super::notice_box(n, lang));
        }
        if self.holds.is_empty() {
            list = list.push(text(tr(lang, "ui-account-no-holds")).size(theme::BODY));
        }
        for (i, h) in self.holds.iter().enumerate() {
            let mut line = row![hold_line(h, lang), space::horizontal()].spacing(16);
            if h.item.is_some() {
                line = line.push(small(tr(lang, "ui-hold-cancel"), Message::Cancel(i)));
            }
            list = list.push(container(line).padding(14).width(Fill).style(theme::card));
        }
        column![
            title(tr(lang, "ui-holds-title")),
            text(tr(lang, "ui-holds-hint")).size(theme::BODY),
            scrollable(list).height(Fill),
            row![
                small(tr(lang, "ui-back"), Message::Back),
                space::horizontal()
            ],
        ]
        .spacing(16)
        .into()
    }
}

/// One hold: ready ones show the pickup code big, waiting ones their place
/// in the queue.
pub fn hold_line<'a, M: 'a>(h: &AccountHold, lang: Lang) -> Element<'a, M> {
    let status = if h.status == "ready" {
        tra(
            lang,
            "ui-hold-ready",
            &[
                ("code", h.pickup_code.clone().unwrap_or_default()),
                ("by", h.pickup_by.clone().unwrap_or_default()),
            ],
        )
    } else {
        tra(
            lang,
            "ui-hold-waiting",
            &[("position", h.queue_position.unwrap_or(1).to_string())],
        )
    };
    let ready = h.status == "ready";
    column![
        text(h.title.clone()).size(theme::BODY),
        text(status)
            .size(if ready { theme::TITLE } else { theme::BODY })
            .style(move |t| if ready { theme::ok(t) } else { theme::warn(t) }),
    ]
    .spacing(4)
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(item: Option<&str>) -> AccountHold {
        AccountHold {
            title: "Alpha".into(),
            item: item.map(str::to_string),
            status: "waiting".into(),
            queue_position: Some(1),
            pickup_code: None,
            pickup_by: None,
            placed: "2026-11-23T10:00:00+08:00".into(),
        }
    }

    #[test]
    fn cancel_names_the_copy_and_a_hold_without_one_cannot_be_cancelled_here() {
        let mut h = Holds::new(vec![hold(Some("I1")), hold(None)]);
        assert_eq!(
            h.update(Message::Cancel(0)),
            Some(Event::Cancel("I1".into()))
        );
        assert_eq!(h.update(Message::Cancel(1)), None);
        assert_eq!(h.update(Message::Cancel(7)), None);
    }

    #[test]
    fn back_leaves() {
        let mut h = Holds::new(vec![]);
        h.placed.push(Notice::said("hold-ok"));
        assert_eq!(h.update(Message::Back), Some(Event::Back));
        assert_eq!(h.placed.len(), 1);
    }
}
