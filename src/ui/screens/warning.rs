//! "Are you still there?": shown over a session when nobody has touched
//! the screen for a while, counting down once a second (the app's timer
//! sends `Tick`), then the session ends. No clock is read here, so tests
//! need no waiting.

use super::{big, tr, tra};
use crate::domain::Lang;
use crate::ui::theme;
use iced::widget::{column, container, text};
use iced::{Center, Element, Fill};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub left: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Tick,
    StillHere,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    StillHere,
    TimedOut,
}

impl Warning {
    pub fn new(seconds: u32) -> Warning {
        Warning { left: seconds }
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Tick => {
                self.left = self.left.saturating_sub(1);
                (self.left == 0).then_some(Event::TimedOut)
            }
            Message::StillHere => Some(Event::StillHere),
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        container(
            container(
                column![
                    text(tr(lang, "ui-still-there")).size(theme::TITLE),
                    text(tra(
                        lang,
                        "ui-ending-in",
                        &[("seconds", self.left.to_string())]
                    ))
                    .size(theme::BODY),
                    text(self.left.to_string()).size(theme::HUGE * 2.0),
                    big(tr(lang, "ui-still-here"), Message::StillHere),
                ]
                .spacing(24)
                .align_x(Center),
            )
            .padding(48)
            .style(theme::card),
        )
        .center_x(Fill)
        .center_y(Fill)
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_to_timeout() {
        let mut w = Warning::new(3);
        assert_eq!(w.update(Message::Tick), None);
        assert_eq!(w.update(Message::Tick), None);
        assert_eq!(w.update(Message::Tick), Some(Event::TimedOut));
        assert_eq!(w.update(Message::StillHere), Some(Event::StillHere));
    }
}
