//! A reader's account: loans (overdue ones highlighted), holds with their
//! pickup codes, fines; renew one or all. The app loads the account and
//! commits renewals; this screen only shows and asks.

use super::{big, small, title, tr, tra, Notice};
use crate::domain::{format_money, Lang};
use crate::store::Account as Data;
use crate::ui::theme;
use iced::widget::{column, container, row, scrollable, space, text, Column};
use iced::{Center, Element, Fill};
use std::collections::BTreeMap;

#[derive(Debug)]
pub struct Account {
    pub data: Data,
    /// The result of the last renewal of each item, by item barcode.
    pub notices: BTreeMap<String, Notice>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Renew(usize),
    RenewAll,
    Back,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Renew(String),
    RenewAll,
    Back,
}

impl Account {
    pub fn new(data: Data) -> Account {
        Account {
            data,
            notices: BTreeMap::new(),
        }
    }

    /// New data after renewals, keeping what was said about each item.
    pub fn refresh(&mut self, data: Data) {
        self.data = data;
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Renew(i) => self.data.loans.get(i).map(|l| Event::Renew(l.item.clone())),
            Message::RenewAll if !self.data.loans.is_empty() => Some(Event::RenewAll),
            Message::RenewAll => None,
            Message::Back => Some(Event::Back),
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let d = &self.data;
        let mut list = Column::new().spacing(10);
        list = list.push(
            text(tra(
                lang,
                "ui-account-loans",
                &[("count", d.loans.len().to_string())],
            ))
            .size(theme::TITLE),
        );
        if d.loans.is_empty() {
            list = list.push(text(tr(lang, "ui-account-no-loans")).size(theme::BODY));
        }
        for (i, l) in d.loans.iter().enumerate() {
            let overdue = l.overdue;
            let due = if overdue {
                tra(lang, "ui-overdue-since", &[("due", l.due.to_string())])
            } else {
                tra(lang, "ui-due", &[("due", l.due.to_string())])
            };
            let mut info = column![
                text(l.title.clone()).size(theme::BODY),
                text(l.author.clone()).size(theme::SMALL),
                text(due).size(theme::BODY).style(move |t| if overdue {
                    theme::bad(t)
                } else {
                    theme::ok(t)
                }),
            ]
            .spacing(4)
            .width(Fill);
            if let Some(n) = self.notices.get(&l.item) {
                let refused = n.is_refusal();
                info = info.push(text(n.render(lang)).size(theme::BODY).style(move |t| {
                    if refused {
                        theme::bad(t)
                    } else {
                        theme::ok(t)
                    }
                }));
            }
            list = list.push(
                container(
                    row![info, small(tr(lang, "ui-renew"), Message::Renew(i))]
                        .spacing(16)
                        .align_y(Center),
                )
                .padding(14)
                .width(Fill)
                .style(theme::card),
            );
        }
        list = list.push(text(tr(lang, "ui-account-holds")).size(theme::TITLE));
        if d.holds.is_empty() {
            list = list.push(text(tr(lang, "ui-account-no-holds")).size(theme::BODY));
        }
        for h in &d.holds {
            list = list.push(
                container(super::holds::hold_line(h, lang))
                    .padding(14)
                    .width(Fill)
                    .style(theme::card),
            );
        }
        let fines = if d.fines_owed_cents > 0 {
            tra(
                lang,
                "ui-account-fines",
                &[("fine", format_money(d.fines_owed_cents))],
            )
        } else {
            tr(lang, "ui-account-no-fines")
        };
        let owes = d.fines_owed_cents > 0;
        let mut actions = row![
            small(tr(lang, "ui-back"), Message::Back),
            space::horizontal()
        ]
        .spacing(20)
        .align_y(Center);
        if !d.loans.is_empty() {
            actions = actions.push(big(tr(lang, "ui-renew-all"), Message::RenewAll));
        }
        column![
            title(tra(lang, "ui-account-title", &[("name", d.name.clone())])),
            text(fines).size(theme::BODY).style(move |t| if owes {
                theme::warn(t)
            } else {
                theme::ok(t)
            }),
            scrollable(list).height(Fill),
            actions,
        ]
        .spacing(16)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Due;
    use crate::store::AccountLoan;

    fn data(loans: usize) -> Data {
        Data {
            name: "Ann".into(),
            category: "adult".into(),
            expires: None,
            blocked: None,
            fines_owed_cents: 0,
            loans: (0..loans)
                .map(|i| AccountLoan {
                    item: format!("item{i}"),
                    title: "T".into(),
                    author: "A".into(),
                    due: Due::parse("2026-12-01").expect("date"),
                    overdue: false,
                    renewals: 0,
                })
                .collect(),
            holds: vec![],
        }
    }

    #[test]
    fn renew_one_all_and_back() {
        let mut a = Account::new(data(2));
        assert_eq!(
            a.update(Message::Renew(1)),
            Some(Event::Renew("item1".into()))
        );
        assert_eq!(a.update(Message::Renew(5)), None);
        assert_eq!(a.update(Message::RenewAll), Some(Event::RenewAll));
        assert_eq!(a.update(Message::Back), Some(Event::Back));
        let mut empty = Account::new(data(0));
        assert_eq!(empty.update(Message::RenewAll), None, "nothing to renew");
    }
}
