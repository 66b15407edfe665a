//! Whether the kiosk's cache is recent enough to lend on alone (`[offline]
//! max_cache_age_hours`), and what keeps it so.
//!
//! Two things make a reader's record fresh: the last full pull of the
//! change feed (for every reader), and the upstream's own word on that
//! reader (for them only). SIP2 has no change feed, so on an ILS only the
//! second ever holds: an online account or status lookup (63/64, 23/24)
//! that found the card in good standing, or a loan or renewal the ILS
//! granted online. A lookup that finds the card blocked or unknown, or an
//! online refusal for a reason of the reader's (not of the book's),
//! withdraws it. Confirmations live in the cache's `sync_state`
//! (`store::cache::CONFIRMED_KEY`); ones older than the limit are
//! forgotten as new ones are written.

use crate::protocol::EntryKind;
use crate::store::{cache, Store, StoreError};
use chrono::{DateTime, Duration, FixedOffset};

/// Refusal codes about the book, not the reader: an online refusal with
/// one of these says nothing against the reader's record.
const ABOUT_THE_ITEM: &[&str] = &[
    "unknown_item",
    "item_not_for_loan",
    "item_needs_staff",
    "item_on_hold_for_another",
    "already_on_loan_to_you",
    "item_on_loan_to_another",
    "incomplete_set",
    "not_on_loan_to_you",
    "max_renewals_reached",
    "renewal_blocked_by_hold",
    "too_soon_to_renew",
];

fn limit(hours: u32) -> Duration {
    Duration::hours(hours as i64)
}

/// Whether the cache may be lent on for `patron` at `now`: the last
/// completed pull, or the upstream's last word on this reader, is at most
/// `max_age_hours` old (0: no limit).
pub(crate) fn is_fresh(
    store: &Store,
    patron: Option<&str>,
    max_age_hours: u32,
    now: DateTime<FixedOffset>,
) -> Result<bool, StoreError> {
    if max_age_hours == 0 {
        return Ok(true);
    }
    let recent =
        |t: Option<DateTime<FixedOffset>>| t.is_some_and(|t| now - t <= limit(max_age_hours));
    let pulled = store
        .sync_state(cache::PULLED_AT_KEY)?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
    if recent(pulled) {
        return Ok(true);
    }
    let confirmed = match patron {
        Some(p) => store.reader_confirmed_at(p)?,
        None => None,
    };
    if recent(confirmed) {
        return Ok(true);
    }
    tracing::info!(last_pull = ?pulled, reader_confirmed = ?confirmed, "reader cache too old for an offline loan");
    Ok(false)
}

/// The upstream vouched for `patron` now; older confirmations of anyone
/// are forgotten. Without a limit (`max_age_hours` 0) nothing is kept.
fn confirm(
    store: &Store,
    patron: &str,
    max_age_hours: u32,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    // No limit: nothing needs a confirmation, and none is kept (a card
    // number and a time would stay for ever).
    if max_age_hours == 0 {
        return Ok(());
    }
    store.confirm_reader(patron, now)?;
    store.forget_confirmations_before(now - limit(max_age_hours))?;
    Ok(())
}

/// What an online decision says of its reader: a loan or renewal granted
/// confirms them; one refused for a reason of the reader's withdraws the
/// confirmation. Other kinds say nothing.
pub(crate) fn after_decision(
    store: &Store,
    kind: &EntryKind,
    patron: Option<&str>,
    accepted: bool,
    reason: Option<&str>,
    max_age_hours: u32,
    now: DateTime<FixedOffset>,
) {
    noted(decision(
        store,
        kind,
        patron,
        accepted,
        reason,
        max_age_hours,
        now,
    ));
}

fn decision(
    store: &Store,
    kind: &EntryKind,
    patron: Option<&str>,
    accepted: bool,
    reason: Option<&str>,
    max_age_hours: u32,
    now: DateTime<FixedOffset>,
) -> Result<(), StoreError> {
    let Some(patron) = patron else {
        return Ok(());
    };
    if !matches!(kind, EntryKind::Checkout | EntryKind::Renew) {
        return Ok(());
    }
    if accepted {
        confirm(store, patron, max_age_hours, now)
    } else if reason.is_some_and(|r| ABOUT_THE_ITEM.contains(&r)) {
        Ok(())
    } else {
        store.forget_reader(patron)
    }
}

/// What an online lookup of `patron` said: `Some(true)` the card is known
/// and may borrow (confirmed), `Some(false)` unknown or blocked
/// (withdrawn), None the upstream did not say.
pub(crate) fn after_lookup(
    store: &Store,
    patron: &str,
    may_borrow: Option<bool>,
    max_age_hours: u32,
    now: DateTime<FixedOffset>,
) {
    noted(match may_borrow {
        Some(true) => confirm(store, patron, max_age_hours, now),
        Some(false) => store.forget_reader(patron),
        None => Ok(()),
    });
}

/// A confirmation that could not be written (a database that cannot be
/// written now) costs the reader an offline loan at worst: logged, never
/// a reason to fail the lookup or the decision that brought it.
fn noted(r: Result<(), StoreError>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "could not note the upstream's word on a reader");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn a_confirmed_reader_is_fresh_for_the_limit_only() {
        let store = Store::open_in_memory("k1").unwrap();
        let t0 = at("2026-11-20T10:00:00+08:00");
        assert!(!is_fresh(&store, Some("P1"), 24, t0).unwrap());
        assert!(is_fresh(&store, Some("P1"), 0, t0).unwrap(), "no limit");
        after_lookup(&store, "P1", Some(true), 24, t0);
        assert!(is_fresh(&store, Some("P1"), 24, at("2026-11-21T10:00:00+08:00")).unwrap());
        assert!(!is_fresh(&store, Some("P1"), 24, at("2026-11-21T10:00:01+08:00")).unwrap());
        assert!(!is_fresh(&store, Some("P2"), 24, t0).unwrap());
        // Another offset, the same instant.
        assert!(is_fresh(&store, Some("P1"), 24, at("2026-11-21T02:00:00+00:00")).unwrap());

        // Refused for the book: still confirmed; for the reader: withdrawn.
        let co = EntryKind::Checkout;
        after_decision(
            &store,
            &co,
            Some("P1"),
            false,
            Some("item_on_loan_to_another"),
            24,
            t0,
        );
        assert!(is_fresh(&store, Some("P1"), 24, t0).unwrap());
        after_decision(
            &store,
            &co,
            Some("P1"),
            false,
            Some("patron_blocked"),
            24,
            t0,
        );
        assert!(!is_fresh(&store, Some("P1"), 24, t0).unwrap());
        after_decision(&store, &co, Some("P1"), true, None, 24, t0);
        assert!(is_fresh(&store, Some("P1"), 24, t0).unwrap());
        after_lookup(&store, "P1", Some(false), 24, t0);
        assert!(!is_fresh(&store, Some("P1"), 24, t0).unwrap());

        // Old confirmations go as new ones come.
        after_lookup(&store, "P3", Some(true), 24, t0);
        after_lookup(
            &store,
            "P4",
            Some(true),
            24,
            at("2026-11-22T10:00:00+08:00"),
        );
        assert_eq!(store.reader_confirmed_at("P3").unwrap(), None);
        assert!(store.reader_confirmed_at("P4").unwrap().is_some());
    }
}
