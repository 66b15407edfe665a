//! What a scanned code means at the kiosk, whoever is in front of it: the
//! rules the touch screen and the text kiosk both follow, so the two can
//! never treat a scan differently. Pure: the caller says where the kiosk
//! stands and what the catalogue takes the code for, and gets back what
//! to do.

use super::Refusal;
use serde::Serialize;

/// What the catalogue takes a code for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scanned {
    Patron,
    Item,
    Unknown,
}

/// Where the kiosk stands when a code comes in.
#[derive(Debug, Clone, Copy, Default)]
pub struct At<'a> {
    /// The card of the reader whose session is open.
    pub session: Option<&'a str>,
    /// Nothing else is going on (the idle screen): the only place a staff
    /// card opens the staff menu.
    pub idle: bool,
    /// The reader is on the reservations screen: an item is for a hold.
    pub holds: bool,
    /// `[kiosk] return_without_card`.
    pub return_without_card: bool,
    /// Staff took the kiosk out of service, or a required device is down.
    pub out_of_service: bool,
}

/// What the kiosk does with the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A staff card on the idle screen: open the staff menu (even out of
    /// service: that is how staff get in to put it back).
    StaffMenu,
    /// Nothing (out of service; a staff card over a reader's session).
    Ignore,
    /// The session's own card again: the session ends.
    EndSession,
    /// Another reader's card in the middle of a session: the reader at
    /// the kiosk must finish first (their list is on the screen).
    FinishFirst,
    /// A card with no session open: check it (a PIN?) and open one.
    Identify,
    /// Lend the item to the session's reader.
    Borrow,
    /// Reserve it for the session's reader.
    Hold,
    /// Take it back (no card needed).
    Return,
    /// An item without a card where returns need one.
    CardFirst,
    /// Not a card or an item of this library: why, in the reader's words.
    Refuse(Refusal),
}

/// What to do with a code the catalogue takes for `scanned` (and that is
/// one of `[staff] cards` if `staff_card`), at `at`.
pub fn on_scan(at: &At, staff_card: bool, scanned: Scanned, code: &str) -> Action {
    if staff_card {
        return if at.idle && at.session.is_none() {
            Action::StaffMenu
        } else {
            Action::Ignore
        };
    }
    if at.out_of_service {
        return Action::Ignore;
    }
    match (scanned, at.session) {
        (Scanned::Patron, Some(card)) if card == code => Action::EndSession,
        (Scanned::Patron, Some(_)) => Action::FinishFirst,
        (Scanned::Patron, None) => Action::Identify,
        (Scanned::Item, Some(_)) if at.holds => Action::Hold,
        (Scanned::Item, Some(_)) => Action::Borrow,
        (Scanned::Item, None) if at.return_without_card => Action::Return,
        (Scanned::Item, None) => Action::CardFirst,
        (Scanned::Unknown, Some(_)) => Action::Refuse(Refusal::UnknownItem),
        (Scanned::Unknown, None) => Action::Refuse(Refusal::UnknownPatron),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "21234567890124";
    const OTHER: &str = "21234567890132";
    const BOOK: &str = "31234567890123";

    fn idle() -> At<'static> {
        At {
            idle: true,
            return_without_card: true,
            ..At::default()
        }
    }

    fn in_session() -> At<'static> {
        At {
            session: Some(CARD),
            return_without_card: true,
            ..At::default()
        }
    }

    #[test]
    fn every_scan_everywhere() {
        use Action::*;
        let holds = At {
            holds: true,
            ..in_session()
        };
        let no_returns = At {
            return_without_card: false,
            ..idle()
        };
        let closed = At {
            out_of_service: true,
            ..idle()
        };
        // (where, staff card, what, code) → action
        let table: Vec<(At, bool, Scanned, &str, Action)> = vec![
            (idle(), false, Scanned::Patron, CARD, Identify),
            (idle(), false, Scanned::Item, BOOK, Return),
            (
                idle(),
                false,
                Scanned::Unknown,
                "x",
                Refuse(Refusal::UnknownPatron),
            ),
            (idle(), true, Scanned::Unknown, "S-1", StaffMenu),
            (in_session(), false, Scanned::Patron, CARD, EndSession),
            (in_session(), false, Scanned::Patron, OTHER, FinishFirst),
            (in_session(), false, Scanned::Item, BOOK, Borrow),
            (
                in_session(),
                false,
                Scanned::Unknown,
                "x",
                Refuse(Refusal::UnknownItem),
            ),
            (in_session(), true, Scanned::Unknown, "S-1", Ignore),
            (holds, false, Scanned::Item, BOOK, Hold),
            (holds, false, Scanned::Patron, CARD, EndSession),
            (no_returns, false, Scanned::Item, BOOK, CardFirst),
            (closed, false, Scanned::Patron, CARD, Ignore),
            (closed, false, Scanned::Item, BOOK, Ignore),
            (closed, true, Scanned::Unknown, "S-1", StaffMenu),
            // A receipt or the feedback on screen: not idle, no session.
            (
                At {
                    idle: false,
                    ..idle()
                },
                true,
                Scanned::Unknown,
                "S-1",
                Ignore,
            ),
            (
                At {
                    idle: false,
                    ..idle()
                },
                false,
                Scanned::Item,
                BOOK,
                Return,
            ),
        ];
        for (i, (at, staff, scanned, code, want)) in table.into_iter().enumerate() {
            assert_eq!(on_scan(&at, staff, scanned, code), want, "row {i}");
        }
    }
}
