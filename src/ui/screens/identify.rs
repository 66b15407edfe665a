//! The PIN pad: after a card that needs a PIN, and for the staff menu.
//! Digits are shown masked and are never logged or kept after submit; the
//! app checks them (with lockout) and tells this screen the result.

use super::{big, notice_box, small, tr, tra, Notice};
use crate::domain::Lang;
use crate::ui::theme;
use iced::widget::{button, column, row, text, Column};
use iced::{Center, Element, Fill};

/// Longest PIN accepted; more digits are ignored.
pub const MAX_DIGITS: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// A reader's card: greets them by name.
    Reader {
        name: String,
    },
    Staff,
}

#[derive(Debug)]
pub struct Identify {
    pub purpose: Purpose,
    digits: String,
    pub error: Option<Notice>,
    /// Too many wrong PINs: only Cancel is left.
    pub locked: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Digit(u8),
    Backspace,
    Clear,
    Submit,
    Cancel,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Submit(String),
    Cancel,
}

impl Identify {
    pub fn new(purpose: Purpose) -> Identify {
        Identify {
            purpose,
            digits: String::new(),
            error: None,
            locked: false,
        }
    }

    /// How many digits are typed (the view shows only this).
    pub fn len(&self) -> usize {
        self.digits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digits.is_empty()
    }

    /// The app says the PIN was wrong (or the card is now locked).
    pub fn refused(&mut self, notice: Notice, locked: bool) {
        self.error = Some(notice);
        self.locked = locked;
        self.digits.clear();
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Digit(d) if d <= 9 && !self.locked => {
                if self.digits.len() < MAX_DIGITS {
                    self.digits.push(char::from(b'0' + d));
                }
                None
            }
            Message::Digit(_) => None,
            Message::Backspace => {
                self.digits.pop();
                None
            }
            Message::Clear => {
                self.digits.clear();
                None
            }
            Message::Submit if self.locked || self.digits.is_empty() => None,
            // The digits leave this screen at once: nothing keeps them.
            Message::Submit => Some(Event::Submit(std::mem::take(&mut self.digits))),
            Message::Cancel => {
                self.digits.clear();
                Some(Event::Cancel)
            }
        }
    }

    pub fn view(&self, lang: Lang) -> Element<'_, Message> {
        let heading = match &self.purpose {
            Purpose::Reader { name } => tra(lang, "ui-pin-hello", &[("name", name.clone())]),
            Purpose::Staff => tr(lang, "ui-staff-pin"),
        };
        let masked: String = if self.digits.is_empty() {
            "—".into()
        } else {
            "●".repeat(self.digits.len())
        };
        let key = |label: String, msg: Message| {
            button(
                text(label)
                    .size(theme::TITLE)
                    .center()
                    .width(Fill)
                    .height(Fill),
            )
            .width(120)
            .height(96)
            .style(theme::secondary)
            .on_press_maybe((!self.locked).then_some(msg))
        };
        let mut pad = Column::new().spacing(14).align_x(Center);
        for r in [[1u8, 2, 3], [4, 5, 6], [7, 8, 9]] {
            pad =
                pad.push(row(r.map(|d| key(d.to_string(), Message::Digit(d)).into())).spacing(14));
        }
        pad = pad.push(
            row![
                key("C".into(), Message::Clear),
                key("0".into(), Message::Digit(0)),
                key("←".into(), Message::Backspace),
            ]
            .spacing(14),
        );
        let mut c = column![
            text(heading).size(theme::TITLE),
            text(tr(lang, "ui-pin-enter")).size(theme::BODY),
            text(masked).size(theme::HUGE),
        ]
        .spacing(20)
        .align_x(Center);
        if let Some(e) = &self.error {
            c = c.push(notice_box(e, lang));
        }
        c = c.push(pad);
        let mut actions = row![small(tr(lang, "ui-cancel"), Message::Cancel)].spacing(24);
        if !self.locked {
            actions = actions.push(big(tr(lang, "ui-ok"), Message::Submit));
        }
        c.push(actions).max_width(900).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Refusal;

    #[test]
    fn digits_are_collected_masked_and_handed_over_once() {
        let mut s = Identify::new(Purpose::Staff);
        assert_eq!(s.update(Message::Submit), None, "nothing typed");
        for d in [1, 2, 3, 4] {
            s.update(Message::Digit(d));
        }
        s.update(Message::Backspace);
        s.update(Message::Digit(9));
        assert_eq!(s.len(), 4);
        assert_eq!(
            s.update(Message::Submit),
            Some(Event::Submit("1239".into()))
        );
        assert!(s.is_empty(), "the PIN is not kept after submit");
    }

    #[test]
    fn bad_digits_and_overlong_pins_are_ignored() {
        let mut s = Identify::new(Purpose::Staff);
        s.update(Message::Digit(42));
        assert!(s.is_empty());
        for _ in 0..30 {
            s.update(Message::Digit(1));
        }
        assert_eq!(s.len(), MAX_DIGITS);
        s.update(Message::Clear);
        assert!(s.is_empty());
    }

    #[test]
    fn locked_pad_only_cancels() {
        let mut s = Identify::new(Purpose::Reader { name: "A".into() });
        s.refused(
            Notice::Refused(Refusal::PinLocked {
                until: "12:00".into(),
            }),
            true,
        );
        s.update(Message::Digit(1));
        assert!(s.is_empty());
        assert_eq!(s.update(Message::Submit), None);
        assert_eq!(s.update(Message::Cancel), Some(Event::Cancel));
    }
}
