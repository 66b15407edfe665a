//! Checkout, renewal, return and hold decisions.
//!
//! Each decision takes a snapshot of what the store knows (the context) and
//! the time, and returns what to do or why not. The store writes the result
//! and its journal entry in one transaction; nothing here may touch a clock,
//! a database or a device.

use super::{Calendar, Cents, Due, Refusal, Rule, Settings};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

pub type PatronId = i64;
pub type ItemId = i64;
pub type HoldId = i64;

/// What the kiosk knows of a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patron {
    pub id: PatronId,
    pub category: String,
    pub expires: Option<NaiveDate>,
    pub blocked: Option<String>,
    pub fines_owed: Cents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Available,
    OnLoan,
    OnHoldShelf,
    NotForLoan,
    Lost,
    Missing,
    Withdrawn,
}

impl ItemStatus {
    pub const ALL: [ItemStatus; 7] = [
        ItemStatus::Available,
        ItemStatus::OnLoan,
        ItemStatus::OnHoldShelf,
        ItemStatus::NotForLoan,
        ItemStatus::Lost,
        ItemStatus::Missing,
        ItemStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Available => "available",
            ItemStatus::OnLoan => "on_loan",
            ItemStatus::OnHoldShelf => "on_hold_shelf",
            ItemStatus::NotForLoan => "not_for_loan",
            ItemStatus::Lost => "lost",
            ItemStatus::Missing => "missing",
            ItemStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<ItemStatus> {
        ItemStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// What the kiosk knows of a physical item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: ItemId,
    pub item_type: String,
    pub parts: u8,
    pub status: ItemStatus,
}

/// The item's current loan, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentLoan {
    pub patron: PatronId,
    pub due: Due,
    pub renewals: u32,
}

/// A reader's current loans, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoanCounts {
    pub total: u32,
    pub overdue: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldRef {
    pub id: HoldId,
    pub patron: PatronId,
    /// Placed on this very copy rather than on its title.
    pub item_level: bool,
}

/// Holds that concern an item: the one waiting for pickup on it, and the
/// queue (item-level and title-level, oldest first) it could fill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemHolds {
    pub ready: Option<HoldRef>,
    pub queue: Vec<HoldRef>,
}

impl ItemHolds {
    fn someone_else_waits(&self, me: PatronId) -> bool {
        self.queue.iter().any(|h| h.patron != me)
    }

    /// The hold a returned copy should fill: item-level holds on this copy
    /// first, then the oldest title-level hold.
    pub fn next_to_fill(&self) -> Option<HoldRef> {
        self.queue
            .iter()
            .find(|h| h.item_level)
            .or_else(|| self.queue.first())
            .copied()
    }
}

/// Checks every request of a reader shares: card valid, not blocked, fines
/// and overdue items under the limits.
pub fn patron_standing(
    patron: &Patron,
    rule: &Rule,
    loans: LoanCounts,
    now: NaiveDateTime,
) -> Result<(), Refusal> {
    if let Some(expires) = patron.expires {
        if now.date() > expires {
            return Err(Refusal::CardExpired {
                expired: expires.format("%Y-%m-%d").to_string(),
            });
        }
    }
    if let Some(reason) = &patron.blocked {
        return Err(Refusal::PatronBlocked {
            reason: reason.clone(),
        });
    }
    if rule.block_fines > 0 && patron.fines_owed >= rule.block_fines {
        return Err(Refusal::FinesOverLimit {
            owed: patron.fines_owed,
            limit: rule.block_fines,
        });
    }
    if rule.block_overdue > 0 && loans.overdue >= rule.block_overdue {
        return Err(Refusal::TooManyOverdue {
            overdue: loans.overdue,
            limit: rule.block_overdue,
        });
    }
    Ok(())
}

/// The due date of a loan starting now under `rule`, moved off closed days.
pub fn due_for(rule: &Rule, calendar: &Calendar, now: NaiveDateTime) -> Due {
    if rule.loan_days == 0 && rule.loan_hours > 0 {
        let at = now + Duration::hours(rule.loan_hours as i64);
        let day = calendar.next_open(at.date());
        return Due::At(day.and_time(at.time()));
    }
    Due::Day(calendar.next_open(now.date() + Duration::days(rule.loan_days as i64)))
}

fn item_loanable(item: &Item, rule: &Rule) -> Result<(), Refusal> {
    match item.status {
        ItemStatus::NotForLoan => Err(Refusal::ItemNotForLoan),
        ItemStatus::Lost | ItemStatus::Missing | ItemStatus::Withdrawn => {
            Err(Refusal::ItemNeedsStaff {
                status: item.status.as_str().to_string(),
            })
        }
        _ if !rule.loanable => Err(Refusal::ItemNotForLoan),
        _ => Ok(()),
    }
}

fn set_complete(item: &Item, parts_seen: Option<u8>) -> Result<(), Refusal> {
    match parts_seen {
        Some(seen) if seen < item.parts => Err(Refusal::IncompleteSet {
            seen,
            parts: item.parts,
        }),
        _ => Ok(()),
    }
}

pub struct CheckoutContext<'a> {
    pub patron: &'a Patron,
    pub item: &'a Item,
    /// The rule for (patron category, item type).
    pub rule: &'a Rule,
    pub settings: &'a Settings,
    pub loan: Option<&'a CurrentLoan>,
    pub patron_loans: LoanCounts,
    pub holds: &'a ItemHolds,
    /// Parts of a set seen together (RFID tags); None when unknown (barcode).
    pub parts_seen: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutDecision {
    pub due: Due,
    /// The reader is picking up a hold that was waiting for them.
    pub fills_hold: Option<HoldId>,
}

pub fn decide_checkout(
    ctx: &CheckoutContext,
    now: NaiveDateTime,
) -> Result<CheckoutDecision, Refusal> {
    let me = ctx.patron.id;
    patron_standing(ctx.patron, ctx.rule, ctx.patron_loans, now)?;
    if let Some(loan) = ctx.loan {
        return Err(if loan.patron == me {
            Refusal::AlreadyOnLoanToYou {
                due: loan.due.to_string(),
            }
        } else {
            Refusal::ItemOnLoanToAnother
        });
    }
    item_loanable(ctx.item, ctx.rule)?;
    let fills_hold = match ctx.holds.ready {
        Some(h) if h.patron == me => Some(h.id),
        Some(_) => return Err(Refusal::ItemOnHoldForAnother),
        None => {
            // A hold on this very copy by someone else keeps it for them;
            // a title-level queue does not stop a reader who has the copy in
            // hand (another copy can fill it), unless the reader is first.
            if ctx
                .holds
                .queue
                .iter()
                .any(|h| h.item_level && h.patron != me)
            {
                return Err(Refusal::ItemOnHoldForAnother);
            }
            ctx.holds
                .queue
                .iter()
                .find(|h| h.patron == me)
                .map(|h| h.id)
        }
    };
    set_complete(ctx.item, ctx.parts_seen)?;
    if ctx.patron_loans.total >= ctx.rule.max_loans {
        return Err(Refusal::MaxLoansReached {
            max: ctx.rule.max_loans,
        });
    }
    Ok(CheckoutDecision {
        due: due_for(ctx.rule, &ctx.settings.calendar, now),
        fills_hold,
    })
}

pub struct RenewContext<'a> {
    pub patron: &'a Patron,
    pub item: &'a Item,
    pub rule: &'a Rule,
    pub settings: &'a Settings,
    pub loan: Option<&'a CurrentLoan>,
    pub patron_loans: LoanCounts,
    pub holds: &'a ItemHolds,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewDecision {
    pub due: Due,
    pub renewals: u32,
    /// Overdue days up to now, charged at renewal as a return would.
    pub overdue_days: u32,
    pub fine: Cents,
}

pub fn decide_renew(ctx: &RenewContext, now: NaiveDateTime) -> Result<RenewDecision, Refusal> {
    let me = ctx.patron.id;
    let loan = match ctx.loan {
        Some(l) if l.patron == me => l,
        _ => return Err(Refusal::NotOnLoanToYou),
    };
    // An overdue item being renewed is the reason it is overdue: it must
    // not block its own renewal, so count the others only.
    let mut others = ctx.patron_loans;
    if loan.due.is_overdue(now) {
        others.overdue = others.overdue.saturating_sub(1);
    }
    patron_standing(ctx.patron, ctx.rule, others, now)?;
    if loan.renewals >= ctx.rule.max_renewals {
        return Err(Refusal::MaxRenewalsReached {
            max: ctx.rule.max_renewals,
        });
    }
    if ctx.holds.someone_else_waits(me) || ctx.holds.ready.is_some_and(|h| h.patron != me) {
        return Err(Refusal::RenewalBlockedByHold);
    }
    let cal = &ctx.settings.calendar;
    let due = if ctx.rule.loan_days == 0 && ctx.rule.loan_hours > 0 {
        due_for(ctx.rule, cal, now)
    } else {
        Due::Day(cal.next_open(now.date() + Duration::days(ctx.rule.renewal_days as i64)))
    };
    if due <= loan.due {
        return Err(Refusal::TooSoonToRenew {
            due: loan.due.to_string(),
        });
    }
    let overdue_days = loan
        .due
        .overdue_days(now, cal, ctx.settings.charge_closed_days);
    Ok(RenewDecision {
        due,
        renewals: loan.renewals + 1,
        overdue_days,
        fine: ctx.rule.fine_for(overdue_days),
    })
}

/// Where a returned item goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Route {
    /// Onto the hold shelf for the next reader in the queue.
    HoldShelf {
        #[serde(skip)]
        hold: HoldId,
        #[serde(skip)]
        patron: PatronId,
        pickup_by: NaiveDate,
    },
    SortBin {
        bin: String,
    },
    /// Withdrawn or otherwise odd: set aside for staff.
    Staff,
}

pub struct CheckinContext<'a> {
    pub item: &'a Item,
    pub loan: Option<&'a CurrentLoan>,
    /// The rule of the borrower's category for this item type (fines).
    pub rule: &'a Rule,
    pub settings: &'a Settings,
    pub holds: &'a ItemHolds,
    pub parts_seen: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinDecision {
    pub was_on_loan: bool,
    pub overdue_days: u32,
    pub fine: Cents,
    pub route: Route,
    /// The item was recorded lost or missing and is back.
    pub found: bool,
    pub new_status: ItemStatus,
}

pub fn decide_checkin(
    ctx: &CheckinContext,
    now: NaiveDateTime,
) -> Result<CheckinDecision, Refusal> {
    set_complete(ctx.item, ctx.parts_seen)?;
    let cal = &ctx.settings.calendar;
    let overdue_days = ctx
        .loan
        .map(|l| {
            l.due
                .overdue_days(now, cal, ctx.settings.charge_closed_days)
        })
        .unwrap_or(0);
    let fine = ctx.rule.fine_for(overdue_days);
    let found = matches!(ctx.item.status, ItemStatus::Lost | ItemStatus::Missing);
    let (route, new_status) = if ctx.item.status == ItemStatus::Withdrawn {
        (Route::Staff, ItemStatus::Withdrawn)
    } else if let Some(h) = ctx.holds.ready {
        // Already trapped for a reader (scanned twice, or put back): keep it.
        (
            Route::HoldShelf {
                hold: h.id,
                patron: h.patron,
                pickup_by: pickup_by(ctx.settings, now),
            },
            ItemStatus::OnHoldShelf,
        )
    } else if let (Some(h), false) = (
        ctx.holds.next_to_fill(),
        ctx.item.status == ItemStatus::NotForLoan,
    ) {
        (
            Route::HoldShelf {
                hold: h.id,
                patron: h.patron,
                pickup_by: pickup_by(ctx.settings, now),
            },
            ItemStatus::OnHoldShelf,
        )
    } else {
        let status = if ctx.item.status == ItemStatus::NotForLoan {
            ItemStatus::NotForLoan
        } else {
            ItemStatus::Available
        };
        (
            Route::SortBin {
                bin: ctx.settings.sort_bin(&ctx.item.item_type),
            },
            status,
        )
    };
    Ok(CheckinDecision {
        was_on_loan: ctx.loan.is_some(),
        overdue_days,
        fine,
        route,
        found,
        new_status,
    })
}

/// The last day a ready hold waits on the shelf.
pub fn pickup_by(settings: &Settings, now: NaiveDateTime) -> NaiveDate {
    settings
        .calendar
        .next_open(now.date() + Duration::days(settings.hold_pickup_days as i64))
}

pub struct HoldContext<'a> {
    pub patron: &'a Patron,
    pub item: &'a Item,
    pub rule: &'a Rule,
    pub patron_loans: LoanCounts,
    pub open_holds: u32,
    /// The reader already has an open hold on this title or copy.
    pub already_holds: bool,
    /// The reader already has this copy (or title) on loan.
    pub has_on_loan: bool,
    pub holds: &'a ItemHolds,
}

pub fn decide_hold(ctx: &HoldContext, now: NaiveDateTime) -> Result<(), Refusal> {
    patron_standing(ctx.patron, ctx.rule, ctx.patron_loans, now)?;
    match ctx.item.status {
        ItemStatus::NotForLoan | ItemStatus::Withdrawn => return Err(Refusal::ItemNotForLoan),
        _ if !ctx.rule.loanable => return Err(Refusal::ItemNotForLoan),
        _ => {}
    }
    if ctx.has_on_loan {
        return Err(Refusal::AlreadyOnLoanToYou { due: String::new() });
    }
    if ctx.already_holds {
        return Err(Refusal::HoldAlreadyPlaced);
    }
    if ctx.open_holds >= ctx.rule.max_holds {
        return Err(Refusal::MaxHoldsReached {
            max: ctx.rule.max_holds,
        });
    }
    if ctx.item.status == ItemStatus::Available
        && ctx.holds.queue.is_empty()
        && ctx.holds.ready.is_none()
    {
        return Err(Refusal::ItemAvailable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday;

    const ME: PatronId = 1;
    const OTHER: PatronId = 2;

    fn now() -> NaiveDateTime {
        // Sunday 2026-11-22 10:00
        NaiveDateTime::parse_from_str("2026-11-22 10:00", "%Y-%m-%d %H:%M").unwrap()
    }
    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn patron() -> Patron {
        Patron {
            id: ME,
            category: "adult".into(),
            expires: Some(day("2027-06-30")),
            blocked: None,
            fines_owed: 0,
        }
    }
    fn item() -> Item {
        Item {
            id: 10,
            item_type: "book".into(),
            parts: 1,
            status: ItemStatus::Available,
        }
    }
    fn rule() -> Rule {
        Rule {
            loan_days: 14,
            max_loans: 3,
            block_fines: 1000,
            block_overdue: 2,
            ..Rule::default()
        }
    }
    fn settings() -> Settings {
        Settings {
            calendar: Calendar::new([Weekday::Sun], [day("2026-12-07")]),
            ..Settings::default()
        }
    }
    fn hold(id: HoldId, patron: PatronId, item_level: bool) -> HoldRef {
        HoldRef {
            id,
            patron,
            item_level,
        }
    }

    struct Co {
        patron: Patron,
        item: Item,
        rule: Rule,
        loan: Option<CurrentLoan>,
        counts: LoanCounts,
        holds: ItemHolds,
        parts_seen: Option<u8>,
    }
    impl Co {
        fn new() -> Co {
            Co {
                patron: patron(),
                item: item(),
                rule: rule(),
                loan: None,
                counts: LoanCounts::default(),
                holds: ItemHolds::default(),
                parts_seen: None,
            }
        }
        fn run(&self) -> Result<CheckoutDecision, Refusal> {
            let s = settings();
            decide_checkout(
                &CheckoutContext {
                    patron: &self.patron,
                    item: &self.item,
                    rule: &self.rule,
                    settings: &s,
                    loan: self.loan.as_ref(),
                    patron_loans: self.counts,
                    holds: &self.holds,
                    parts_seen: self.parts_seen,
                },
                now(),
            )
        }
        fn code(&self) -> &'static str {
            self.run().err().map(|r| r.code()).unwrap_or("ok")
        }
    }

    #[test]
    fn checkout_due_date_skips_closed_days() {
        // now + 14 days = Sun 2026-12-06 (closed), Mon 7th holiday → Tue 8th.
        let d = Co::new().run().unwrap();
        assert_eq!(d.due, Due::Day(day("2026-12-08")));
        assert_eq!(d.fills_hold, None);
    }

    #[test]
    fn hour_loans_are_due_at_an_instant() {
        let mut c = Co::new();
        c.rule.loan_days = 0;
        c.rule.loan_hours = 3;
        // Sunday is closed, so a 3-hour loan from Sunday 10:00 is due Monday 13:00.
        assert_eq!(c.run().unwrap().due.to_string(), "2026-11-23T13:00");
    }

    #[test]
    fn checkout_refusals_table() {
        type Setup = fn(&mut Co);
        let cases: Vec<(&str, Setup, &str)> = vec![
            ("plain", |_| {}, "ok"),
            (
                "expired yesterday",
                |c| c.patron.expires = Some(day("2026-11-21")),
                "card_expired",
            ),
            (
                "expires today is fine",
                |c| c.patron.expires = Some(day("2026-11-22")),
                "ok",
            ),
            (
                "blocked",
                |c| c.patron.blocked = Some("lost card".into()),
                "patron_blocked",
            ),
            (
                "fines at limit",
                |c| c.patron.fines_owed = 1000,
                "fines_over_limit",
            ),
            ("fines under limit", |c| c.patron.fines_owed = 999, "ok"),
            (
                "fines never block when 0",
                |c| {
                    c.patron.fines_owed = 99999;
                    c.rule.block_fines = 0;
                },
                "ok",
            ),
            (
                "two overdue",
                |c| {
                    c.counts = LoanCounts {
                        total: 2,
                        overdue: 2,
                    }
                },
                "too_many_overdue",
            ),
            (
                "one overdue",
                |c| {
                    c.counts = LoanCounts {
                        total: 2,
                        overdue: 1,
                    }
                },
                "ok",
            ),
            ("max loans", |c| c.counts.total = 3, "max_loans_reached"),
            (
                "not for loan status",
                |c| c.item.status = ItemStatus::NotForLoan,
                "item_not_for_loan",
            ),
            (
                "rule not loanable",
                |c| c.rule.loanable = false,
                "item_not_for_loan",
            ),
            (
                "lost",
                |c| c.item.status = ItemStatus::Lost,
                "item_needs_staff",
            ),
            (
                "withdrawn",
                |c| c.item.status = ItemStatus::Withdrawn,
                "item_needs_staff",
            ),
            (
                "on loan to me",
                |c| {
                    c.loan = Some(CurrentLoan {
                        patron: ME,
                        due: Due::Day(day("2026-12-01")),
                        renewals: 0,
                    })
                },
                "already_on_loan_to_you",
            ),
            (
                "on loan to other",
                |c| {
                    c.loan = Some(CurrentLoan {
                        patron: OTHER,
                        due: Due::Day(day("2026-12-01")),
                        renewals: 0,
                    })
                },
                "item_on_loan_to_another",
            ),
            (
                "ready for other",
                |c| c.holds.ready = Some(hold(5, OTHER, false)),
                "item_on_hold_for_another",
            ),
            (
                "ready for me",
                |c| {
                    c.holds.ready = Some(hold(5, ME, false));
                    c.item.status = ItemStatus::OnHoldShelf;
                },
                "ok",
            ),
            (
                "item hold other",
                |c| c.holds.queue = vec![hold(5, OTHER, true)],
                "item_on_hold_for_another",
            ),
            (
                "title hold other",
                |c| c.holds.queue = vec![hold(5, OTHER, false)],
                "ok",
            ),
            (
                "incomplete set",
                |c| {
                    c.item.parts = 3;
                    c.parts_seen = Some(2);
                },
                "incomplete_set",
            ),
            (
                "complete set",
                |c| {
                    c.item.parts = 3;
                    c.parts_seen = Some(3);
                },
                "ok",
            ),
            ("set by barcode", |c| c.item.parts = 3, "ok"),
        ];
        for (name, setup, want) in cases {
            let mut c = Co::new();
            setup(&mut c);
            assert_eq!(c.code(), want, "case {name}");
        }
    }

    #[test]
    fn the_first_problem_of_the_reader_is_reported_before_the_items() {
        let mut c = Co::new();
        c.patron.blocked = Some("x".into());
        c.item.status = ItemStatus::NotForLoan;
        assert_eq!(c.code(), "patron_blocked");
    }

    #[test]
    fn picking_up_a_hold_fills_it() {
        let mut c = Co::new();
        c.holds.ready = Some(hold(7, ME, false));
        assert_eq!(c.run().unwrap().fills_hold, Some(7));
        let mut c = Co::new();
        c.holds.queue = vec![hold(8, OTHER, false), hold(9, ME, false)];
        assert_eq!(c.run().unwrap().fills_hold, Some(9));
    }

    struct Rn {
        co: Co,
    }
    impl Rn {
        fn new() -> Rn {
            let mut co = Co::new();
            co.loan = Some(CurrentLoan {
                patron: ME,
                due: Due::Day(day("2026-11-25")),
                renewals: 0,
            });
            co.counts = LoanCounts {
                total: 1,
                overdue: 0,
            };
            Rn { co }
        }
        fn run(&self) -> Result<RenewDecision, Refusal> {
            let s = settings();
            let c = &self.co;
            decide_renew(
                &RenewContext {
                    patron: &c.patron,
                    item: &c.item,
                    rule: &c.rule,
                    settings: &s,
                    loan: c.loan.as_ref(),
                    patron_loans: c.counts,
                    holds: &c.holds,
                },
                now(),
            )
        }
        fn code(&self) -> &'static str {
            self.run().err().map(|r| r.code()).unwrap_or("ok")
        }
    }

    #[test]
    fn renewal_extends_from_today() {
        let r = Rn::new().run().unwrap();
        assert_eq!(r.due, Due::Day(day("2026-12-08")));
        assert_eq!(r.renewals, 1);
        assert_eq!(r.fine, 0);
    }

    #[test]
    fn renew_refusals_table() {
        type Setup = fn(&mut Rn);
        let cases: Vec<(&str, Setup, &str)> = vec![
            ("plain", |_| {}, "ok"),
            ("not on loan", |r| r.co.loan = None, "not_on_loan_to_you"),
            (
                "someone else's",
                |r| r.co.loan.as_mut().unwrap().patron = OTHER,
                "not_on_loan_to_you",
            ),
            (
                "max renewals",
                |r| r.co.loan.as_mut().unwrap().renewals = 2,
                "max_renewals_reached",
            ),
            (
                "hold waiting",
                |r| r.co.holds.queue = vec![hold(1, OTHER, false)],
                "renewal_blocked_by_hold",
            ),
            (
                "own hold ok",
                |r| r.co.holds.queue = vec![hold(1, ME, false)],
                "ok",
            ),
            (
                "expired",
                |r| r.co.patron.expires = Some(day("2026-01-01")),
                "card_expired",
            ),
            (
                "fines",
                |r| r.co.patron.fines_owed = 5000,
                "fines_over_limit",
            ),
            (
                "too soon",
                |r| r.co.loan.as_mut().unwrap().due = Due::Day(day("2026-12-20")),
                "too_soon_to_renew",
            ),
            (
                "overdue itself does not block",
                |r| {
                    r.co.loan.as_mut().unwrap().due = Due::Day(day("2026-11-10"));
                    r.co.counts.overdue = 2;
                },
                "ok",
            ),
            (
                "three overdue blocks",
                |r| {
                    r.co.loan.as_mut().unwrap().due = Due::Day(day("2026-11-10"));
                    r.co.counts.overdue = 3;
                },
                "too_many_overdue",
            ),
        ];
        for (name, setup, want) in cases {
            let mut r = Rn::new();
            setup(&mut r);
            assert_eq!(r.code(), want, "case {name}");
        }
    }

    #[test]
    fn renewing_an_overdue_item_charges_the_fine_so_far() {
        let mut r = Rn::new();
        // Due Tue 2026-11-17; now Sun 22nd: 18,19,20,21 open + 22 closed (Sunday) = 4 days.
        r.co.loan.as_mut().unwrap().due = Due::Day(day("2026-11-17"));
        let d = r.run().unwrap();
        assert_eq!(d.overdue_days, 4);
        assert_eq!(d.fine, 4 * rule().fine_per_day);
    }

    fn checkin(
        item: &Item,
        loan: Option<&CurrentLoan>,
        holds: &ItemHolds,
        parts_seen: Option<u8>,
    ) -> Result<CheckinDecision, Refusal> {
        let s = settings();
        let r = rule();
        decide_checkin(
            &CheckinContext {
                item,
                loan,
                rule: &r,
                settings: &s,
                holds,
                parts_seen,
            },
            now(),
        )
    }

    #[test]
    fn return_on_time_goes_to_the_sort_bin() {
        let loan = CurrentLoan {
            patron: ME,
            due: Due::Day(day("2026-12-01")),
            renewals: 0,
        };
        let d = checkin(&item(), Some(&loan), &ItemHolds::default(), None).unwrap();
        assert!(d.was_on_loan);
        assert_eq!(d.fine, 0);
        assert_eq!(d.route, Route::SortBin { bin: "1".into() });
        assert_eq!(d.new_status, ItemStatus::Available);
    }

    #[test]
    fn late_return_is_fined_for_open_days_only() {
        let loan = CurrentLoan {
            patron: ME,
            due: Due::Day(day("2026-11-14")),
            renewals: 0,
        };
        // 15 Sun closed, 16-21 open (6), 22 Sun closed.
        let d = checkin(&item(), Some(&loan), &ItemHolds::default(), None).unwrap();
        assert_eq!(d.overdue_days, 6);
        assert_eq!(d.fine, 60);
    }

    #[test]
    fn return_fills_item_level_hold_before_older_title_hold() {
        let holds = ItemHolds {
            ready: None,
            queue: vec![hold(1, OTHER, false), hold(2, 3, true)],
        };
        let d = checkin(&item(), None, &holds, None).unwrap();
        assert!(!d.was_on_loan);
        match d.route {
            Route::HoldShelf {
                hold, pickup_by, ..
            } => {
                assert_eq!(hold, 2);
                // now + 7 = Sun 29th closed → Mon 30th.
                assert_eq!(pickup_by, day("2026-11-30"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(d.new_status, ItemStatus::OnHoldShelf);
    }

    #[test]
    fn return_special_cases() {
        let mut lost = item();
        lost.status = ItemStatus::Lost;
        let d = checkin(&lost, None, &ItemHolds::default(), None).unwrap();
        assert!(d.found);
        assert_eq!(d.new_status, ItemStatus::Available);

        let mut gone = item();
        gone.status = ItemStatus::Withdrawn;
        assert_eq!(
            checkin(&gone, None, &ItemHolds::default(), None)
                .unwrap()
                .route,
            Route::Staff
        );

        let mut reference = item();
        reference.status = ItemStatus::NotForLoan;
        let holds = ItemHolds {
            ready: None,
            queue: vec![hold(1, OTHER, false)],
        };
        let d = checkin(&reference, None, &holds, None).unwrap();
        assert_eq!(d.new_status, ItemStatus::NotForLoan);
        assert!(matches!(d.route, Route::SortBin { .. }));

        let mut set = item();
        set.parts = 2;
        assert_eq!(
            checkin(&set, None, &ItemHolds::default(), Some(1))
                .unwrap_err()
                .code(),
            "incomplete_set"
        );
    }

    #[test]
    fn hold_refusals_table() {
        struct H {
            item: Item,
            counts: LoanCounts,
            open: u32,
            already: bool,
            on_loan: bool,
            holds: ItemHolds,
            patron: Patron,
        }
        let base = || H {
            item: Item {
                status: ItemStatus::OnLoan,
                ..item()
            },
            counts: LoanCounts::default(),
            open: 0,
            already: false,
            on_loan: false,
            holds: ItemHolds::default(),
            patron: patron(),
        };
        type Setup = fn(&mut H);
        let cases: Vec<(&str, Setup, &str)> = vec![
            ("on loan elsewhere", |_| {}, "ok"),
            (
                "available, no queue",
                |h| h.item.status = ItemStatus::Available,
                "item_available",
            ),
            (
                "available with queue",
                |h| {
                    h.item.status = ItemStatus::Available;
                    h.holds.queue = vec![hold(1, OTHER, false)];
                },
                "ok",
            ),
            (
                "not for loan",
                |h| h.item.status = ItemStatus::NotForLoan,
                "item_not_for_loan",
            ),
            ("already", |h| h.already = true, "hold_already_placed"),
            ("has it", |h| h.on_loan = true, "already_on_loan_to_you"),
            ("max holds", |h| h.open = 5, "max_holds_reached"),
            (
                "blocked",
                |h| h.patron.blocked = Some("x".into()),
                "patron_blocked",
            ),
        ];
        for (name, setup, want) in cases {
            let mut h = base();
            setup(&mut h);
            let r = rule();
            let got = decide_hold(
                &HoldContext {
                    patron: &h.patron,
                    item: &h.item,
                    rule: &r,
                    patron_loans: h.counts,
                    open_holds: h.open,
                    already_holds: h.already,
                    has_on_loan: h.on_loan,
                    holds: &h.holds,
                },
                now(),
            );
            assert_eq!(
                got.err().map(|r| r.code()).unwrap_or("ok"),
                want,
                "case {name}"
            );
        }
    }

    #[test]
    fn item_status_round_trips() {
        for s in ItemStatus::ALL {
            assert_eq!(ItemStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ItemStatus::parse("borrowed"), None);
    }
}
