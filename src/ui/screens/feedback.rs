//! Optional feedback after a session: a rating 1–5 and a few categories.
//! Skippable; the app journals it (record_feedback) without the reader's
//! card, so nobody is tied to what they said.

use super::{big, small, title, tr};
use crate::domain::Lang;
use crate::ui::theme;
use iced::widget::{button, column, row, space, text};
use iced::{Center, Element, Fill};
use std::collections::BTreeSet;

/// Topics a reader can tick; the codes are what the journal stores.
pub const TOPICS: &[&str] = &["easy", "fast", "slow", "confusing", "books", "screen"];

#[derive(Debug, Default)]
pub struct Feedback {
    pub rating: Option<u8>,
    pub topics: BTreeSet<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Rate(u8),
    Toggle(&'static str),
    Send,
    Skip,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Send { rating: u8, topics: Vec<String> },
    Skip,
}

impl Feedback {
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Rate(r) if (1..=5).contains(&r) => {
                self.rating = Some(r);
                None
            }
            Message::Rate(_) => None,
            Message::Toggle(t) => {
                if TOPICS.contains(&t) && !self.topics.remove(t) {
                    self.topics.insert(t);
                }
                None
            }
            Message::Send => self.rating.map(|rating| Event::Send {
                rating,
                topics: self.topics.iter().map(|t| t.to_string()).collect(),
            }),
            Message::Skip => Some(Event::Skip),
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let stars = row((1..=5u8).map(|r| {
            let on = self.rating.is_some_and(|x| x >= r);
            button(text(if on { "★" } else { "☆" }).size(theme::HUGE).center())
                .width(110)
                .height(110)
                .style(if on { theme::chosen } else { theme::secondary })
                .on_press(Message::Rate(r))
                .into()
        }))
        .spacing(16);
        let topics = row(TOPICS.iter().map(|t| {
            let on = self.topics.contains(t);
            button(
                text(tr(lang, &format!("ui-topic-{t}")))
                    .size(theme::BODY)
                    .height(Fill)
                    .align_y(iced::alignment::Vertical::Center),
            )
            .height(theme::TOUCH)
            .padding([8, 20])
            .style(if on { theme::chosen } else { theme::secondary })
            .on_press(Message::Toggle(t))
            .into()
        }))
        .spacing(12)
        .wrap();
        let mut actions = row![
            small(tr(lang, "ui-skip"), Message::Skip),
            space::horizontal()
        ]
        .align_y(Center)
        .spacing(20);
        if self.rating.is_some() {
            actions = actions.push(big(tr(lang, "ui-send"), Message::Send));
        }
        column![
            title(tr(lang, "ui-feedback-title")),
            stars,
            text(tr(lang, "ui-feedback-topics")).size(theme::BODY),
            topics,
            space::vertical(),
            actions,
        ]
        .spacing(28)
        .align_x(Center)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rating_needed_to_send_topics_toggle_bad_input_ignored() {
        let mut f = Feedback::default();
        assert_eq!(f.update(Message::Send), None);
        f.update(Message::Rate(0));
        f.update(Message::Rate(9));
        assert_eq!(f.rating, None);
        f.update(Message::Rate(4));
        f.update(Message::Toggle("fast"));
        f.update(Message::Toggle("books"));
        f.update(Message::Toggle("books"));
        f.update(Message::Toggle("nonsense"));
        assert_eq!(
            f.update(Message::Send),
            Some(Event::Send {
                rating: 4,
                topics: vec!["fast".into()]
            })
        );
        assert_eq!(f.update(Message::Skip), Some(Event::Skip));
    }
}
