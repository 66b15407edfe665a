//! The idle screen: library name, what to do ("scan your card or place
//! your books"), and the out-of-service variant. It also hides the staff
//! gesture (several taps in the top-left corner). It must never show
//! anything about the previous reader.

use super::{notice_box, tr, Notice};
use crate::domain::offline::OfflinePolicy;
use crate::domain::Lang;
use crate::ui::theme;
use iced::widget::{button, column, container, text};
use iced::{Center, Element, Fill};

/// Taps in the corner, without anything else in between, that open the
/// staff PIN pad. Counting taps (not timing them) keeps tests untimed.
pub const STAFF_TAPS: u8 = 5;

#[derive(Debug, Default)]
pub struct Attract {
    pub out_of_service: bool,
    /// What staff typed for readers to see while out of service, instead
    /// of the default hint.
    pub message: Option<String>,
    /// Out of service because of the kiosk's database (its check at start
    /// running or failed): a small line for staff under the readers'
    /// text, in the screen's language.
    pub staff_note: Option<Notice>,
    /// Why the last scan did nothing (unknown card, card scanned first...).
    pub notice: Option<Notice>,
    /// The central system cannot be reached: what still works here, by
    /// `[offline] policy`.
    pub offline: Option<OfflinePolicy>,
    taps: u8,
}

/// The line telling readers what still works while offline.
pub fn offline_text(lang: Lang, policy: OfflinePolicy) -> String {
    tr(
        lang,
        match policy {
            OfflinePolicy::Off => "ui-offline-nothing",
            OfflinePolicy::ReturnsOnly => "ui-offline-returns-only",
            OfflinePolicy::ReturnsAndCheckouts => "ui-offline-returns-and-loans",
        },
    )
}

#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    CornerTapped,
    /// Anything else touched: the corner gesture starts over.
    Touched,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    StaffRequested,
}

impl Attract {
    pub fn new(out_of_service: bool) -> Attract {
        Attract {
            out_of_service,
            ..Attract::default()
        }
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::CornerTapped => {
                self.taps += 1;
                if self.taps >= STAFF_TAPS {
                    self.taps = 0;
                    return Some(Event::StaffRequested);
                }
                None
            }
            Message::Touched => {
                self.taps = 0;
                None
            }
        }
    }

    pub fn view(&self, lang: Lang, library: &str) -> Element<'_, Message> {
        let corner = button(text(""))
            .width(theme::TOUCH)
            .height(theme::TOUCH)
            .style(theme::invisible)
            .on_press(Message::CornerTapped);
        let body: Element<'_, Message> = if self.out_of_service {
            let mut c = column![
                text(library.to_string()).size(theme::TITLE),
                text(tr(lang, "ui-out-of-service")).size(theme::HUGE),
                text(
                    self.message
                        .clone()
                        .unwrap_or_else(|| tr(lang, "ui-out-of-service-hint"))
                )
                .size(theme::BODY),
            ]
            .spacing(32)
            .align_x(Center);
            if let Some(note) = &self.staff_note {
                c = c.push(
                    container(text(note.render(lang)).size(theme::SMALL))
                        .padding(12)
                        .max_width(1200),
                );
            }
            c.into()
        } else {
            let mut c = column![
                text(library.to_string()).size(theme::HUGE),
                text(tr(lang, "ui-attract-borrow")).size(theme::TITLE),
                text(tr(lang, "ui-attract-return")).size(theme::TITLE),
                text(tr(lang, "ui-attract-account")).size(theme::BODY),
            ]
            .spacing(36)
            .align_x(Center);
            if let Some(policy) = self.offline {
                c = c.push(
                    container(
                        column![
                            text(tr(lang, "ui-offline-title")).size(theme::BODY),
                            text(offline_text(lang, policy)).size(theme::BODY),
                        ]
                        .spacing(8),
                    )
                    .padding(16)
                    .max_width(1200)
                    .style(theme::banner),
                );
            }
            if let Some(n) = &self.notice {
                c = c.push(container(notice_box(n, lang)).max_width(1000));
            }
            c.into()
        };
        column![
            corner,
            container(body).center_x(Fill).center_y(Fill).padding(40)
        ]
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corner_taps_open_staff_only_when_uninterrupted() {
        let mut a = Attract::new(false);
        for _ in 0..STAFF_TAPS - 1 {
            assert_eq!(a.update(Message::CornerTapped), None);
        }
        a.update(Message::Touched);
        for _ in 0..STAFF_TAPS - 1 {
            assert_eq!(a.update(Message::CornerTapped), None);
        }
        assert_eq!(a.update(Message::CornerTapped), Some(Event::StaffRequested));
        // And it starts over after opening.
        assert_eq!(a.update(Message::CornerTapped), None);
    }
}
