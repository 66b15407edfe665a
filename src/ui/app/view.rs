//! Drawing the touch screen and the subscriptions that keep it moving
//! (clock, keyboard, touches, the device feed, the sync status). Part of
//! `App` (src/ui/app).
//!
//! May import what `ui::app` may (`use super::*`).

use super::*;
use iced::widget::{button, column, container, row, space, stack, text};

impl App {
    pub fn subscription(&self) -> Subscription<Message> {
        // Every second while something counts down (a session, a notice,
        // the warning, the staff figures); on the idle screen only the
        // clock changes, once a minute, so an idle kiosk draws nothing.
        let seconds = !matches!(self.screen, Screen::Attract(_))
            || self.toast.is_some()
            || self.warning.is_some();
        let clock = if seconds {
            time::every(Duration::from_secs(1)).map(Message::Tick)
        } else {
            Subscription::run(minute_clock).map(Message::Tick)
        };
        let mut subs = vec![
            clock,
            keyboard::listen().map(Message::Key),
            event::listen_with(|e, _status, _window| match e {
                iced::Event::Mouse(mouse::Event::ButtonPressed(_))
                | iced::Event::Touch(touch::Event::FingerPressed { .. }) => Some(Message::Activity),
                _ => None,
            }),
        ];
        if self.wedge.is_holding() {
            subs.push(time::every(Duration::from_millis(10)).map(Message::WedgeTick));
        }
        if let Some(f) = &self.feed {
            subs.push(Subscription::run_with(f.clone(), feed::stream).map(Message::Device));
        }
        if let Some(f) = &self.status_feed {
            subs.push(
                Subscription::run_with(f.clone(), crate::ui::sync::status_stream)
                    .map(Message::Sync),
            );
        }
        Subscription::batch(subs)
    }

    pub fn view(&self) -> Element<'_, Message> {
        let lang = self.lang;
        let body: Element<'_, Message> = match &self.screen {
            Screen::Attract(a) => a
                .view(lang, &self.config.kiosk.library_name)
                .map(Message::Attract),
            Screen::Identify(i) => container(i.view(lang).map(Message::Identify))
                .center_x(Fill)
                .into(),
            Screen::Borrow => match &self.session {
                Some(s) => s.borrow.view(lang).map(Message::Borrow),
                None => text("").into(),
            },
            Screen::Return(r) => r.view(lang).map(Message::Return),
            Screen::Account(a) => a.view(lang).map(Message::Account),
            Screen::Holds(h) => h.view(lang).map(Message::Holds),
            Screen::Receipt(r) => r.view(lang).map(Message::Receipt),
            Screen::Feedback(f) => f.view(lang).map(Message::Feedback),
            Screen::Staff(s) => s.view(lang).map(Message::Staff),
        };
        let mut page = column![self.header()];
        // The idle screen says more (what still works offline).
        if self.offline && !matches!(self.screen, Screen::Attract(_)) {
            page = page.push(
                container(text(crate::ui::screens::tr(lang, "ui-offline")).size(theme::BODY))
                    .padding([10, 32])
                    .width(Fill)
                    .style(theme::banner),
            );
        }
        let toast_here = !matches!(
            self.screen,
            Screen::Attract(_) | Screen::Borrow | Screen::Identify(_) | Screen::Holds(_)
        );
        if let (true, Some((n, _))) = (toast_here, &self.toast) {
            page = page.push(container(crate::ui::screens::notice_box(n, lang)).padding([10, 32]));
        }
        let page = page.push(container(body).padding([24, 40]).width(Fill).height(Fill));
        match &self.warning {
            Some(w) => stack![
                page,
                container(w.view(lang).map(Message::Warning))
                    .width(Fill)
                    .height(Fill)
                    .style(|_| container::Style {
                        background: Some(iced::Color::from_rgba(0.0, 0.0, 0.0, 0.6).into()),
                        ..container::Style::default()
                    })
            ]
            .into(),
            None => page.into(),
        }
    }

    /// The top bar: the hidden staff corner (idle screen), library name,
    /// clock, language switch and contrast button, on every screen.
    pub(super) fn header(&self) -> Element<'_, Message> {
        let lang = self.lang;
        let mut bar = row![].spacing(16).align_y(Center).padding([6, 16]);
        if matches!(self.screen, Screen::Attract(_)) {
            bar = bar.push(
                button(text(""))
                    .width(theme::TOUCH)
                    .height(theme::TOUCH)
                    .style(theme::invisible)
                    .on_press(Message::Attract(attract::Message::CornerTapped)),
            );
        } else {
            bar = bar.push(space::horizontal().width(theme::TOUCH));
        }
        bar = bar
            .push(text(self.config.kiosk.library_name.clone()).size(theme::BODY))
            .push(space::horizontal())
            .push(text(self.clock.clone()).size(theme::BODY));
        if self.config.kiosk.languages.len() > 1 {
            for l in &self.config.kiosk.languages {
                let label = match l {
                    Lang::ZhCn => "中文",
                    Lang::En => "English",
                };
                bar = bar.push(
                    button(
                        text(label)
                            .size(theme::BODY)
                            .height(Fill)
                            .align_y(Vertical::Center),
                    )
                    .height(60)
                    .padding([4, 20])
                    .style(if *l == lang {
                        theme::chosen
                    } else {
                        theme::secondary
                    })
                    .on_press(Message::SetLang(*l)),
                );
            }
        }
        bar = bar.push(
            button(
                text(crate::ui::screens::tr(lang, "ui-contrast"))
                    .size(theme::BODY)
                    .height(Fill)
                    .align_y(Vertical::Center),
            )
            .height(60)
            .padding([4, 20])
            .style(theme::secondary)
            .on_press(Message::ToggleContrast),
        );
        container(bar).width(Fill).style(theme::bar).into()
    }
}

/// A tick at the start of every minute (the idle screen's clock).
fn minute_clock() -> impl iced::futures::Stream<Item = Instant> {
    iced::futures::stream::unfold((), |()| async {
        let now = Local::now();
        let into = u64::from(chrono::Timelike::second(&now)) * 1000
            + u64::from(chrono::Timelike::nanosecond(&now) / 1_000_000).min(999);
        tokio::time::sleep(Duration::from_millis(60_000 - into.min(59_999))).await;
        Some((Instant::now(), ()))
    })
}

/// Grows the window to the monitor it is on (kiosks run without a window
/// manager, so nothing else sizes it).
pub fn fit_to_monitor() -> Task<Message> {
    window::latest().and_then(|id| {
        window::monitor_size(id).and_then(move |size| {
            Task::batch([window::move_to(id, Point::ORIGIN), window::resize(id, size)])
        })
    })
}
