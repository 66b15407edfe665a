//! The return screen: each item dropped off, where it goes (hold shelf
//! with its pickup code, a sort bin, or staff) and any fine. Shows no
//! reader's name: returns need no card. Never decides anything itself.

use super::{big, title, tr, tra};
use crate::domain::{format_money, Lang, Refusal};
use crate::ui::theme;
use iced::widget::{column, container, row, scrollable, space, text, Column};
use iced::{Center, Element, Fill};

#[derive(Debug, Clone, PartialEq)]
pub enum Where {
    HoldShelf { code: String },
    Bin(String),
    Staff,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Returned {
    pub fine_cents: i64,
    pub overdue_days: u32,
    pub route: Where,
    pub security_failed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub item: String,
    pub title: String,
    pub result: Result<Returned, Refusal>,
}

#[derive(Debug, Default)]
pub struct Return {
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Done,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Done,
}

impl Return {
    pub fn push(&mut self, line: Line) {
        self.lines.retain(|l| l.item != line.item);
        self.lines.push(line);
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Done => Some(Event::Done),
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let mut list = Column::new().spacing(12);
        for l in self.lines.iter().rev() {
            list = list.push(line_view(l, lang));
        }
        column![
            title(tr(lang, "ui-return-title")),
            text(tr(lang, "ui-return-hint")).size(theme::BODY),
            scrollable(list).height(Fill),
            row![space::horizontal(), big(tr(lang, "ui-done"), Message::Done)].align_y(Center),
        ]
        .spacing(16)
        .into()
    }
}

fn line_view(l: &Line, lang: Lang) -> Element<'_, Message> {
    let mut c = column![text(l.title.clone()).size(theme::BODY)].spacing(4);
    match &l.result {
        Ok(r) => {
            c = c.push(
                text(tr(lang, "ui-returned"))
                    .size(theme::BODY)
                    .style(theme::ok),
            );
            let route = match &r.route {
                Where::HoldShelf { code } => {
                    tra(lang, "route-hold-shelf", &[("code", code.clone())])
                }
                Where::Bin(bin) => tra(lang, "route-sort-bin", &[("bin", bin.clone())]),
                Where::Staff => tr(lang, "route-staff"),
            };
            c = c.push(text(route).size(theme::TITLE));
            if r.fine_cents > 0 {
                c = c.push(
                    text(tra(
                        lang,
                        "checkin-fine",
                        &[
                            ("days", r.overdue_days.to_string()),
                            ("fine", format_money(r.fine_cents)),
                        ],
                    ))
                    .size(theme::BODY)
                    .style(theme::warn),
                );
            }
            if r.security_failed {
                c = c.push(
                    text(tr(lang, "tag-security-failed"))
                        .size(theme::BODY)
                        .style(theme::bad),
                );
            }
        }
        Err(r) => {
            c = c.push(
                text(crate::i18n::Texts::get().refusal(lang, r))
                    .size(theme::BODY)
                    .style(theme::bad),
            );
        }
    }
    container(c)
        .padding(16)
        .width(Fill)
        .style(theme::card)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_accumulate_and_done_leaves() {
        let mut r = Return::default();
        let ok = Returned {
            fine_cents: 30,
            overdue_days: 3,
            route: Where::Bin("1".into()),
            security_failed: false,
        };
        r.push(Line {
            item: "1".into(),
            title: "T".into(),
            result: Ok(ok.clone()),
        });
        r.push(Line {
            item: "2".into(),
            title: "U".into(),
            result: Err(Refusal::UnknownItem),
        });
        r.push(Line {
            item: "1".into(),
            title: "T".into(),
            result: Ok(ok),
        });
        assert_eq!(r.lines.len(), 2);
        assert_eq!(r.update(Message::Done), Some(Event::Done));
    }
}
