//! Colours, sizes and widget styles of the touch screen, in one place so
//! the high-contrast option changes everything at once. Never reads
//! configuration itself: the app passes `high_contrast` in.

use iced::widget::{button, container, text};
use iced::{border, Background, Border, Color, Theme};

/// Smallest height of anything a reader touches (≥ 60 px for fingers).
pub const TOUCH: f32 = 72.0;
/// Body text size; readers stand half a metre from the screen.
pub const BODY: f32 = 26.0;
pub const SMALL: f32 = 20.0;
pub const TITLE: f32 = 44.0;
pub const HUGE: f32 = 64.0;

/// The theme for normal or high-contrast mode.
pub fn theme(high_contrast: bool) -> Theme {
    if high_contrast {
        Theme::custom(
            "Kiosk high contrast",
            iced::theme::Palette {
                background: Color::BLACK,
                text: Color::WHITE,
                primary: Color::from_rgb8(0xFF, 0xD7, 0x00),
                success: Color::from_rgb8(0x00, 0xFF, 0x66),
                warning: Color::from_rgb8(0xFF, 0xD7, 0x00),
                danger: Color::from_rgb8(0xFF, 0x55, 0x55),
            },
        )
    } else {
        Theme::custom(
            "Kiosk",
            iced::theme::Palette {
                background: Color::from_rgb8(0xF4, 0xF1, 0xEA),
                text: Color::from_rgb8(0x1E, 0x22, 0x2B),
                primary: Color::from_rgb8(0x1F, 0x5F, 0x8B),
                success: Color::from_rgb8(0x2E, 0x7D, 0x32),
                warning: Color::from_rgb8(0xB2, 0x6A, 0x00),
                danger: Color::from_rgb8(0xB3, 0x26, 0x1E),
            },
        )
    }
}

/// Big primary buttons (the main action of a screen).
pub fn primary(theme: &Theme, status: button::Status) -> button::Style {
    let mut s = button::primary(theme, status);
    s.border = border::rounded(12);
    s
}

/// Secondary actions: outlined, so they read as buttons without competing
/// with the main action (high contrast: white on black, thick yellow edge).
pub fn secondary(theme: &Theme, status: button::Status) -> button::Style {
    let p = theme.extended_palette();
    let dark = p.is_dark;
    let (bg, edge, width) = if dark {
        (Color::BLACK, theme.palette().primary, 3.0)
    } else {
        (Color::WHITE, theme.palette().primary, 2.0)
    };
    let bg = match status {
        button::Status::Pressed => p.background.strong.color,
        button::Status::Hovered => p.background.weak.color,
        _ => bg,
    };
    // A key that does nothing now (the locked PIN pad) looks it: faded.
    let (text_color, edge) = if status == button::Status::Disabled {
        (theme.palette().text.scale_alpha(0.3), edge.scale_alpha(0.3))
    } else {
        (theme.palette().text, edge)
    };
    button::Style {
        background: Some(Background::Color(bg)),
        text_color,
        border: Border {
            color: edge,
            width,
            radius: 12.0.into(),
        },
        ..button::Style::default()
    }
}

/// A chosen option (language, rating) stands out from the others.
pub fn chosen(theme: &Theme, status: button::Status) -> button::Style {
    let mut s = button::success(theme, status);
    s.border = border::rounded(12);
    // Bright green in high contrast needs black text, not the generated grey.
    s.text_color = if theme.extended_palette().is_dark {
        Color::BLACK
    } else {
        Color::WHITE
    };
    s
}

/// The invisible staff corner: no background, no text.
pub fn invisible(_theme: &Theme, _status: button::Status) -> button::Style {
    button::Style {
        background: None,
        text_color: Color::TRANSPARENT,
        border: Border::default(),
        ..button::Style::default()
    }
}

/// A card around a list line or a panel.
pub fn card(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    let edge = if p.is_dark {
        Color {
            a: 0.7,
            ..theme.palette().text
        }
    } else {
        p.background.strong.color
    };
    container::Style {
        background: Some(Background::Color(p.background.weak.color)),
        border: Border {
            color: edge,
            width: 1.0,
            radius: 10.0.into(),
        },
        ..container::Style::default()
    }
}

/// The top bar (library name, clock, languages).
pub fn bar(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.primary.strong.color)),
        text_color: Some(p.primary.strong.text),
        ..container::Style::default()
    }
}

/// The offline / out-of-service banner.
pub fn banner(theme: &Theme) -> container::Style {
    let p = theme.extended_palette();
    container::Style {
        background: Some(Background::Color(p.warning.base.color)),
        text_color: Some(p.warning.base.text),
        ..container::Style::default()
    }
}

/// Text colours for accepted / refused lines.
pub fn ok(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(theme.palette().success),
    }
}

pub fn bad(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(theme.palette().danger),
    }
}

pub fn warn(theme: &Theme) -> text::Style {
    text::Style {
        color: Some(theme.palette().warning),
    }
}
