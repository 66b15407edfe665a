//! The screens of the touch-screen kiosk, one per file. Each owns its
//! state, a `Message`, an `Event` and `update(&mut self, Message) ->
//! Option<Event>` plus `view`; the app (src/ui/mod.rs) turns Events into
//! store and device calls. Screens must never touch the store or a device,
//! so every `update` is testable without a window.

pub mod account;
pub mod attract;
pub mod borrow;
pub mod feedback;
pub mod holds;
pub mod identify;
pub mod receipt;
pub mod returns;
pub mod staff;
pub mod warning;

use crate::domain::{Lang, Refusal};
use crate::i18n::Texts;
use crate::ui::theme;
use iced::alignment::Vertical;
use iced::widget::{button, container, text};
use iced::{Element, Fill};

/// A line of reader-facing text decided by the app, rendered in whatever
/// language is current when it is drawn (so switching language mid-screen
/// re-translates it).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Refused(Refusal),
    /// A message of ui.ftl / cli.ftl with its arguments.
    Said(&'static str, Vec<(&'static str, String)>),
}

impl Notice {
    pub fn said(id: &'static str) -> Notice {
        Notice::Said(id, Vec::new())
    }

    pub fn render(&self, lang: Lang) -> String {
        match self {
            // place_hold refuses a reader's own loan without its due date;
            // "due ." would read as a bug.
            Notice::Refused(Refusal::AlreadyOnLoanToYou { due }) if due.trim().is_empty() => {
                Texts::get().text(lang, "ui-already-yours", &[])
            }
            Notice::Refused(r) => Texts::get().refusal(lang, r),
            Notice::Said(id, args) => Texts::get().text(lang, id, args),
        }
    }

    pub fn is_refusal(&self) -> bool {
        matches!(self, Notice::Refused(_))
    }
}

/// Text of `id` in `lang`.
pub fn tr(lang: Lang, id: &str) -> String {
    Texts::get().text(lang, id, &[])
}

/// Text of `id` in `lang` with arguments.
pub fn tra(lang: Lang, id: &str, args: &[(&str, String)]) -> String {
    Texts::get().text(lang, id, args)
}

/// The main action of a screen: big, coloured, at least `TOUCH` high.
pub fn big<'a, M: Clone + 'a>(label: String, msg: M) -> Element<'a, M> {
    button(
        text(label)
            .size(theme::BODY)
            .height(Fill)
            .align_y(Vertical::Center),
    )
    .padding([8, 36])
    .height(theme::TOUCH)
    .style(theme::primary)
    .on_press(msg)
    .into()
}

/// A secondary action, same touch size.
pub fn small<'a, M: Clone + 'a>(label: String, msg: M) -> Element<'a, M> {
    button(
        text(label)
            .size(theme::BODY)
            .height(Fill)
            .align_y(Vertical::Center),
    )
    .padding([8, 28])
    .height(theme::TOUCH)
    .style(theme::secondary)
    .on_press(msg)
    .into()
}

/// A notice in a box, red for refusals.
pub fn notice_box<'a, M: 'a>(n: &Notice, lang: Lang) -> Element<'a, M> {
    let refused = n.is_refusal();
    container(text(n.render(lang)).size(theme::BODY).style(move |t| {
        if refused {
            theme::bad(t)
        } else {
            theme::warn(t)
        }
    }))
    .padding(16)
    .width(Fill)
    .style(theme::card)
    .into()
}

/// A screen title.
pub fn title<'a, M: 'a>(s: String) -> Element<'a, M> {
    text(s).size(theme::TITLE).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_loan_without_due_date_reads_as_a_sentence() {
        let n = Notice::Refused(Refusal::AlreadyOnLoanToYou { due: String::new() });
        assert_eq!(n.render(Lang::En), "You already have this item.");
        let n = Notice::Refused(Refusal::AlreadyOnLoanToYou {
            due: "2026-12-01".into(),
        });
        assert!(n.render(Lang::En).contains("2026-12-01"));
    }
}
