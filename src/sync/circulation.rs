//! `Circulation`: the one call the GUI and the text kiosk make for a loan,
//! a return or a renewal, online or not.
//!
//! With an upstream, the kiosk first asks it to `decide` (within `[upstream]
//! decide_timeout_ms`): its answer is authoritative and journaled here under
//! the same entry id, already acknowledged. When it cannot be reached in
//! time, the kiosk decides itself under `[offline]` (policy, per-reader
//! offline loan limit, a recent cache) and journals with `offline = 1`
//! under that same id, for the push to confirm or turn into a conflict.
//! Without an upstream (`kind = "none"`) the local decision is the only
//! one. Rules stay in `domain`; this module only routes the question.

use super::engine::{SyncError, SyncStatus};
use super::upstream::{AccountAnswer, Upstream, UpstreamError};
use super::{fresh, titles};
use crate::domain::offline::{self, OfflinePolicy, Request};
use crate::domain::Refusal;
use crate::domain::{Due, Route};
use crate::protocol::{DecideRequest, Entry, EntryKind};
use crate::store::{
    Account, CheckinOk, CheckoutOk, EntryRef, HoldLevel, HoldOk, Outcome, Payment, PaymentOk,
    PinKept, RenewOk, Store, SyncStatus as EntryState,
};
use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The upstream, within the deadline.
    Online,
    /// The kiosk, because the upstream could not be reached in time.
    Offline,
    /// The kiosk, which has no upstream.
    Standalone,
}

/// A committed decision, whoever took it.
#[derive(Debug, Clone)]
pub struct Decision<T> {
    pub entry: EntryRef,
    pub mode: Mode,
    pub accepted: bool,
    /// The refusal code (`Refusal::code` values) when refused.
    pub reason: Option<String>,
    pub due: Option<String>,
    /// Online: what the upstream sent to show (title, route, …).
    pub detail: serde_json::Value,
    /// Local decisions: the typed result, with the refusal's arguments for
    /// its text. None for online decisions (show `reason` and `detail`).
    pub local: Option<Result<T, Refusal>>,
}

/// `[offline]` as the façade needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfflineRules {
    pub policy: OfflinePolicy,
    pub max_loans_per_reader: u32,
    /// 0 = no limit.
    pub max_cache_age_hours: u32,
}

impl From<&crate::config::OfflineSection> for OfflineRules {
    fn from(o: &crate::config::OfflineSection) -> Self {
        OfflineRules {
            policy: o.policy,
            max_loans_per_reader: o.max_loans_per_reader,
            max_cache_age_hours: o.max_cache_age_hours,
        }
    }
}

pub struct Circulation {
    upstream: Option<Arc<dyn Upstream>>,
    decide_timeout: Duration,
    rules: OfflineRules,
    status: Option<watch::Sender<SyncStatus>>,
}

fn stamp(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

/// What is being asked, as the entry will say.
struct Ask<'a> {
    kind: EntryKind,
    request: Request,
    patron: Option<&'a str>,
    item: Option<&'a str>,
    parts_seen: Option<u8>,
    detail: serde_json::Value,
}

enum Asked {
    Answered(EntryRef, crate::protocol::DecideResponse),
    Offline,
    /// The upstream cannot decide this kind (an ILS without 37): the kiosk
    /// decides and journals it for the push, as without an upstream.
    Unsupported,
}

/// How long "renew all" waits for the upstream at least: one request that
/// renews every loan (SIP2 65, then a 17 per item) takes an ILS longer
/// than one decision (`decide_timeout_ms`).
pub const RENEW_ALL_DEADLINE: Duration = Duration::from_secs(10);

/// "Renew all" for one reader, whoever decided (`Circulation::renew_all`).
#[derive(Debug, Clone)]
pub struct RenewAll {
    /// Online when the upstream renewed them all in one request (SIP2 65);
    /// else the mode of the single renewals (offline if any went offline).
    pub mode: Mode,
    /// One decision per loan, each journaled like a single renewal.
    pub loans: Vec<Decision<RenewOk>>,
    /// The upstream's words on the whole request (SIP2 AF), to show.
    pub screen_messages: Vec<String>,
    /// The request as a whole was refused (unknown card, renewals not
    /// allowed, the ILS said no without naming loans).
    pub refused: Option<Refusal>,
}

/// A reader's account, as shown: from the upstream when it keeps one the
/// kiosk can ask for (SIP2 63), else from the kiosk's cache.
#[derive(Debug, Clone)]
pub enum AccountView {
    Upstream(AccountAnswer),
    Local(Account),
}

impl Circulation {
    pub fn new(
        upstream: Option<Arc<dyn Upstream>>,
        decide_timeout: Duration,
        rules: OfflineRules,
    ) -> Circulation {
        Circulation {
            upstream,
            decide_timeout,
            rules,
            status: None,
        }
    }

    /// Whether a central system decides (else every decision is local).
    pub fn has_upstream(&self) -> bool {
        self.upstream.is_some()
    }

    /// Reports online/offline into the engine's status (`Engine::status_sender`).
    pub fn with_status(mut self, status: watch::Sender<SyncStatus>) -> Circulation {
        self.status = Some(status);
        self
    }

    fn set_online(&self, online: bool, error: Option<String>) {
        if let Some(s) = &self.status {
            s.send_modify(|s| {
                s.online = Some(online);
                if online || error.is_some() {
                    s.last_error = error;
                }
            });
        }
    }

    /// Lends `item` to `patron` (check the PIN first with `Store::check_pin`).
    pub async fn checkout(
        &self,
        store: &mut Store,
        patron: &str,
        item: &str,
        parts_seen: Option<u8>,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<CheckoutOk>, SyncError> {
        self.decide(
            store,
            Ask {
                kind: EntryKind::Checkout,
                request: Request::Checkout,
                patron: Some(patron),
                item: Some(item),
                parts_seen,
                detail: serde_json::json!({}),
            },
            now,
            |s| s.checkout(patron, item, parts_seen, now),
        )
        .await
    }

    /// Takes `item` back.
    pub async fn checkin(
        &self,
        store: &mut Store,
        item: &str,
        parts_seen: Option<u8>,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<CheckinOk>, SyncError> {
        self.decide(
            store,
            Ask {
                kind: EntryKind::Checkin,
                request: Request::Checkin,
                patron: None,
                item: Some(item),
                parts_seen,
                detail: serde_json::json!({}),
            },
            now,
            |s| s.checkin(item, parts_seen, now),
        )
        .await
    }

    /// Renews one loan (offline: only under `returns-and-checkouts`).
    pub async fn renew(
        &self,
        store: &mut Store,
        patron: &str,
        item: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<RenewOk>, SyncError> {
        self.decide(
            store,
            Ask {
                kind: EntryKind::Renew,
                request: Request::Renew,
                patron: Some(patron),
                item: Some(item),
                parts_seen: None,
                detail: serde_json::json!({}),
            },
            now,
            |s| s.renew(patron, item, now),
        )
        .await
    }

    /// Places a hold on the title of `item` (or the copy); offline:
    /// refused, holds need the upstream's queue.
    pub async fn place_hold(
        &self,
        store: &mut Store,
        patron: &str,
        item: &str,
        level: HoldLevel,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<HoldOk>, SyncError> {
        self.decide(
            store,
            Ask {
                kind: EntryKind::HoldPlaced,
                request: Request::Other,
                patron: Some(patron),
                item: Some(item),
                parts_seen: None,
                // The title goes along for ILSs that take title holds (SIP2
                // AJ); kiosk-central reads only the level.
                detail: match store.item_title(item)? {
                    Some((title, _)) => serde_json::json!({ "level": level, "title": title }),
                    None => serde_json::json!({ "level": level }),
                },
            },
            now,
            |s| s.place_hold(patron, item, level, now),
        )
        .await
    }

    /// Cancels `patron`'s hold on the title of `item`; the local result is
    /// the title.
    pub async fn cancel_hold(
        &self,
        store: &mut Store,
        patron: &str,
        item: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<String>, SyncError> {
        self.decide(
            store,
            Ask {
                kind: EntryKind::HoldCancelled,
                request: Request::Other,
                patron: Some(patron),
                item: Some(item),
                parts_seen: None,
                detail: serde_json::json!({}),
            },
            now,
            |s| s.cancel_hold(patron, item, now),
        )
        .await
    }

    /// Records a payment `patron` made (cash acceptor, staff): decided by
    /// the upstream when it takes payments (kiosk-central; SIP2 37), else
    /// recorded here and pushed. Offline, a payment is always recorded
    /// (the money is in the box) unless `[offline] policy = "off"`.
    pub async fn pay(
        &self,
        store: &mut Store,
        patron: &str,
        payment: &Payment,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision<PaymentOk>, SyncError> {
        self.decide(
            store,
            Ask {
                kind: EntryKind::FeePaid,
                request: Request::Payment,
                patron: Some(patron),
                item: None,
                parts_seen: None,
                detail: payment.detail(),
            },
            now,
            |s| s.pay(patron, payment, now),
        )
        .await
    }

    /// Renews every loan of `patron`. With an upstream that renews all in
    /// one request (SIP2 65) that is one question, and each renewed or
    /// refused item is journaled as an online renewal (acknowledged; the
    /// cache's due dates follow). Otherwise one `renew` per loan the cache
    /// knows (online each, or offline under `[offline]`); without an
    /// upstream, the kiosk's own decisions. Check the PIN first
    /// (`check_pin`).
    ///
    /// The upstream gets `RENEW_ALL_DEADLINE` (or `decide_timeout_ms` if
    /// longer). Unreachable (nothing sent): each loan the cache knows is
    /// decided offline. Asked and unanswered: nothing is decided (the
    /// renewals may have happened), `refused = offline_unavailable`.
    pub async fn renew_all(
        &self,
        store: &mut Store,
        patron: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<RenewAll, SyncError> {
        let Some(upstream) = self.upstream.clone() else {
            if store.patron_name(patron)?.is_none() {
                return Ok(RenewAll::refused(Mode::Standalone, Refusal::UnknownPatron));
            }
            let loans = store
                .renew_all(patron, now)?
                .into_iter()
                .map(|o| from_outcome(o, Mode::Standalone))
                .collect();
            return Ok(RenewAll {
                mode: Mode::Standalone,
                loans,
                screen_messages: Vec::new(),
                refused: None,
            });
        };
        // Renewing every loan takes an ILS longer than one decision.
        let deadline = self.decide_timeout.max(RENEW_ALL_DEADLINE);
        match tokio::time::timeout(deadline, upstream.renew_all(patron)).await {
            Ok(Ok(answer)) => {
                self.set_online(true, None);
                self.journal_renew_all(store, patron, answer, now)
            }
            Ok(Err(UpstreamError::Unsupported(_))) => self.renew_each(store, patron, now).await,
            Ok(Err(e)) if !e.is_offline() => {
                self.set_online(true, Some(e.to_string()));
                Err(e.into())
            }
            // Asked, and no answer: the ILS may have renewed them all.
            // Renewals decided here would be sent again one by one, so
            // none is decided; the reader is told to try again.
            Ok(Err(e @ UpstreamError::Timeout { .. })) => {
                tracing::warn!(error = %e, "renew all: no answer, outcome unknown; nothing decided offline");
                self.set_online(false, Some(e.to_string()));
                Ok(RenewAll::refused(
                    Mode::Offline,
                    Refusal::OfflineUnavailable,
                ))
            }
            Err(_) => {
                tracing::warn!(
                    timeout_ms = deadline.as_millis() as u64,
                    "renew all: no answer in time, outcome unknown; nothing decided offline"
                );
                self.set_online(false, Some("renew all timed out".into()));
                Ok(RenewAll::refused(
                    Mode::Offline,
                    Refusal::OfflineUnavailable,
                ))
            }
            Ok(Err(e)) => {
                tracing::info!(error = %e, "upstream unreachable; renewing offline");
                self.set_online(false, Some(e.to_string()));
                self.renew_each_offline(store, patron, now)
            }
        }
    }

    /// One online renewal per loan the cache knows (kiosk-central).
    async fn renew_each(
        &self,
        store: &mut Store,
        patron: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<RenewAll, SyncError> {
        let Some(account) = store.account(patron, now)? else {
            return Ok(RenewAll::refused(Mode::Online, Refusal::UnknownPatron));
        };
        let mut loans = Vec::with_capacity(account.loans.len());
        for loan in &account.loans {
            loans.push(self.renew(store, patron, &loan.item, now).await?);
        }
        let mode = if loans.iter().any(|d| d.mode == Mode::Offline) {
            Mode::Offline
        } else {
            Mode::Online
        };
        Ok(RenewAll {
            mode,
            loans,
            screen_messages: Vec::new(),
            refused: None,
        })
    }

    /// Each loan the cache knows, decided here under `[offline]` (the
    /// upstream was just found unreachable: not asked again per loan).
    fn renew_each_offline(
        &self,
        store: &mut Store,
        patron: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<RenewAll, SyncError> {
        let Some(account) = store.account(patron, now)? else {
            return Ok(RenewAll::refused(Mode::Offline, Refusal::UnknownPatron));
        };
        let mut loans = Vec::with_capacity(account.loans.len());
        for loan in &account.loans {
            let entry = self.entry_for(
                store,
                EntryKind::Renew,
                Some(patron),
                Some(&loan.item),
                serde_json::json!({}),
                now,
            )?;
            let item = loan.item.clone();
            loans.push(self.decide_offline(
                store,
                Request::Renew,
                Some(patron),
                entry,
                now,
                |s| s.renew(patron, &item, now),
            )?);
        }
        Ok(RenewAll {
            mode: Mode::Offline,
            loans,
            screen_messages: Vec::new(),
            refused: None,
        })
    }

    /// Journals what the upstream did with "renew all": each item as an
    /// online renewal decision (acknowledged, cache mirrored).
    fn journal_renew_all(
        &self,
        store: &mut Store,
        patron: &str,
        answer: super::upstream::RenewAllAnswer,
        now: DateTime<FixedOffset>,
    ) -> Result<RenewAll, SyncError> {
        let shown = |title: &Option<String>| {
            let mut d = serde_json::Map::new();
            d.insert("renew_all".into(), true.into());
            if let Some(t) = title {
                d.insert("title".into(), t.clone().into());
            }
            if !answer.screen_messages.is_empty() {
                d.insert(
                    "screen_messages".into(),
                    serde_json::json!(answer.screen_messages),
                );
            }
            if !answer.print_lines.is_empty() {
                d.insert("print_lines".into(), serde_json::json!(answer.print_lines));
            }
            d
        };
        let mut loans = Vec::new();
        let decided = answer
            .renewed
            .iter()
            .map(|r| (&r.item, &r.title, None, r.due.clone(), String::new()))
            .chain(answer.unrenewed.iter().map(|u| {
                (
                    &u.item,
                    &u.title,
                    Some(u.reason.clone()),
                    None,
                    u.message.clone(),
                )
            }));
        if !answer.renewed.is_empty() {
            let hours = self.rules.max_cache_age_hours;
            fresh::after_lookup(store, patron, Some(true), hours, now);
        }
        for (item, title, reason, due, message) in decided {
            let title = &match title {
                Some(t) => Some(titles::shown(store, item, t)?),
                None => None,
            };
            let entry = self.entry_for(
                store,
                EntryKind::Renew,
                Some(patron),
                Some(item),
                serde_json::json!({ "renew_all": true }),
                now,
            )?;
            let mut detail = shown(title);
            if reason.is_some() && !message.is_empty() {
                detail.insert("message".into(), message.into());
            }
            let response = crate::protocol::DecideResponse {
                id: entry.id,
                decision: if reason.is_none() {
                    "accepted"
                } else {
                    "refused"
                }
                .into(),
                reason: reason.clone(),
                due: due.clone(),
                detail: serde_json::Value::Object(detail),
            };
            let r = store.journal_decided(&entry, &response, now)?;
            tracing::info!(entry_id = %r.id, renewed = reason.is_none(), "renewed online (renew all)");
            loans.push(Decision {
                entry: r,
                mode: Mode::Online,
                accepted: reason.is_none(),
                reason,
                due,
                detail: titles::enrich(store, item, response.detail)?,
                local: None,
            });
        }
        let refused = (!answer.ok && loans.is_empty()).then(|| Refusal::UpstreamRefused {
            message: {
                let m = answer.screen_messages.join(" ");
                if m.trim().is_empty() {
                    "renew all refused".into()
                } else {
                    m
                }
            },
        });
        Ok(RenewAll {
            mode: Mode::Online,
            loans,
            screen_messages: answer.screen_messages,
            refused,
        })
    }

    /// Checks `patron`'s PIN before a session: Ok(Ok) to go on, or the
    /// refusal to show (`pin_required`, `wrong_pin`, `pin_locked`,
    /// `pin_unavailable`).
    ///
    /// - The cache has a hash of the PIN (imported, or pulled from
    ///   kiosk-central with `--offline-pins`), or there is no upstream:
    ///   checked here (`Store::check_pin`).
    /// - Else an upstream that knows PINs checks it within
    ///   `decide_timeout_ms`: kiosk-central for a reader whose hash it
    ///   withholds (`POST /v1/pin-check`; it counts wrong PINs across
    ///   all kiosks and says when the card is locked), a SIP2 ILS for any
    ///   card the cache has no hash of (23 with AD → CQ). A wrong PIN
    ///   also counts towards the lock at this kiosk like a wrong local
    ///   one, and a card locked here is refused without asking.
    /// - That upstream unreachable, or its answer silent on the PIN (no
    ///   CQ): refused with `pin_unavailable`. A library that wants PINs
    ///   checked offline imports them (`kiosk import`, column `pin`) or
    ///   gives the kiosk `--offline-pins`.
    ///
    /// The PIN is never logged or journaled.
    pub async fn check_pin(
        &self,
        store: &mut Store,
        patron: &str,
        pin: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<Result<(), Refusal>, SyncError> {
        let kept = store.pin_kept(patron)?;
        let upstream = match &self.upstream {
            Some(u)
                if u.checks_pins()
                    && match kept {
                        PinKept::Hash => false,
                        PinKept::Withheld => true,
                        PinKept::NoCard | PinKept::NoPin => !u.feeds_pins(),
                    } =>
            {
                u.clone()
            }
            _ => return Ok(store.check_pin(patron, pin, now)?),
        };
        let Some(pin) = pin else {
            return Ok(if store.settings().require_pin {
                Err(Refusal::PinRequired)
            } else {
                Ok(())
            });
        };
        if let Some(locked) = store.pin_lock(patron, now)? {
            return Ok(Err(locked));
        }
        let hours = self.rules.max_cache_age_hours;
        match tokio::time::timeout(self.decide_timeout, upstream.check_pin(patron, pin)).await {
            Ok(Ok(answer)) => {
                self.set_online(true, None);
                if !answer.known {
                    // As with local checks: an unknown card passes here and
                    // the request itself is refused (unknown_patron).
                    fresh::after_lookup(store, patron, Some(false), hours, now);
                    return Ok(Ok(()));
                }
                if let Some(until) = &answer.locked_until {
                    // Locked by the upstream's own count (other kiosks'
                    // tries included): shown in this kiosk's time.
                    let until = DateTime::parse_from_rfc3339(until)
                        .map(|u| u.with_timezone(now.offset()).format("%H:%M").to_string())
                        .unwrap_or_else(|_| until.clone());
                    return Ok(Err(Refusal::PinLocked { until }));
                }
                match answer.valid {
                    Some(right) => {
                        if right {
                            fresh::after_lookup(store, patron, answer.may_borrow, hours, now);
                        }
                        let name = answer.name.as_deref().unwrap_or("");
                        Ok(match store.record_pin_verdict(patron, name, right, now)? {
                            // Fewer tries left upstream (other kiosks'
                            // count there too): its number is the truth.
                            Err(Refusal::WrongPin { attempts_left }) => Err(Refusal::WrongPin {
                                attempts_left: answer
                                    .attempts_left
                                    .map_or(attempts_left, |n| n.min(attempts_left)),
                            }),
                            other => other,
                        })
                    }
                    None => {
                        tracing::warn!(
                            "the upstream did not say whether the PIN is right (no CQ): refused"
                        );
                        Ok(Err(Refusal::PinUnavailable))
                    }
                }
            }
            Ok(Err(UpstreamError::Unsupported(_))) => {
                Ok(store.check_pin(patron, Some(pin), now)?)
            }
            Ok(Err(e)) if !e.is_offline() => {
                self.set_online(true, Some(e.to_string()));
                Err(e.into())
            }
            Ok(Err(e)) => {
                self.set_online(false, Some(e.to_string()));
                tracing::info!(error = %e, "PIN cannot be checked: upstream unreachable");
                Ok(Err(Refusal::PinUnavailable))
            }
            Err(_) => {
                self.set_online(false, Some("PIN check timed out".into()));
                tracing::info!("PIN cannot be checked: upstream too slow");
                Ok(Err(Refusal::PinUnavailable))
            }
        }
    }

    /// A reader's account: the upstream's (SIP2 63: loans with due dates,
    /// holds, fines) when it keeps one the kiosk can ask for and answers in
    /// time, else the cache's. None: nobody knows the card.
    pub async fn account(
        &self,
        store: &Store,
        patron: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Option<AccountView>, SyncError> {
        if let Some(upstream) = &self.upstream {
            match tokio::time::timeout(self.decide_timeout, upstream.account(patron)).await {
                Ok(Ok(Some(mut a))) => {
                    self.set_online(true, None);
                    let hours = self.rules.max_cache_age_hours;
                    fresh::after_lookup(store, patron, Some(a.blocked.is_none()), hours, now);
                    if let Some(name) = store.patron_name(patron)? {
                        if titles::is_lossy(&a.name, &name) {
                            a.name = name;
                        }
                    }
                    for l in &mut a.loans {
                        if let Some(t) = &l.title {
                            l.title = Some(titles::shown(store, &l.item, t)?);
                        }
                    }
                    return Ok(Some(AccountView::Upstream(a)));
                }
                Ok(Ok(None)) => {
                    self.set_online(true, None);
                    let hours = self.rules.max_cache_age_hours;
                    fresh::after_lookup(store, patron, Some(false), hours, now);
                    return Ok(None);
                }
                Ok(Err(UpstreamError::Unsupported(_))) => {}
                Ok(Err(e)) if !e.is_offline() => {
                    self.set_online(true, Some(e.to_string()));
                    return Err(e.into());
                }
                Ok(Err(e)) => self.set_online(false, Some(e.to_string())),
                Err(_) => self.set_online(false, Some("account lookup timed out".into())),
            }
        }
        Ok(store.account(patron, now)?.map(AccountView::Local))
    }

    /// The reader's session ended: tells the upstream (SIP2 35), which
    /// may free what it keeps for the session. Nothing is journaled; an
    /// upstream that cannot be reached is not told (logged). The mode says
    /// whether it was told.
    pub async fn end_session(&self, patron: &str) -> Mode {
        let Some(upstream) = &self.upstream else {
            return Mode::Standalone;
        };
        match tokio::time::timeout(self.decide_timeout, upstream.end_session(patron)).await {
            Ok(Ok(())) => Mode::Online,
            Ok(Err(e)) => {
                tracing::info!(error = %e, "end of session not delivered");
                Mode::Offline
            }
            Err(_) => {
                tracing::info!("end of session not delivered: upstream too slow");
                Mode::Offline
            }
        }
    }

    /// A new entry of this kiosk (next seq, `now`), accepted until decided.
    fn entry_for(
        &self,
        store: &Store,
        kind: EntryKind,
        patron: Option<&str>,
        item: Option<&str>,
        detail: serde_json::Value,
        now: DateTime<FixedOffset>,
    ) -> Result<Entry, SyncError> {
        Ok(Entry {
            id: Uuid::now_v7(),
            kiosk_id: store.kiosk_id().to_string(),
            seq: store.next_seq()?,
            at: stamp(now),
            kind,
            patron: patron.map(str::to_string),
            item: item.map(str::to_string),
            decision: "accepted".into(),
            reason: None,
            due: None,
            detail,
            offline: false,
        })
    }

    /// The kiosk decides `entry` alone under `[offline]` and journals it
    /// with `offline = 1` under the entry's id.
    fn decide_offline<T: Serialize>(
        &self,
        store: &mut Store,
        request: Request,
        patron: Option<&str>,
        entry: Entry,
        now: DateTime<FixedOffset>,
        local: impl FnOnce(&mut Store) -> crate::store::Result<Outcome<T>>,
    ) -> Result<Decision<T>, SyncError> {
        let kind = entry.kind.clone();
        if let Err(refusal) = self.offline_gate(store, request, patron, now)? {
            let refused = Entry {
                decision: "refused".into(),
                reason: Some(refusal.code().to_string()),
                offline: true,
                ..entry
            };
            let r = store.journal_entry(&refused, EntryState::Pending, now)?;
            tracing::info!(entry_id = %r.id, kind = %kind, reason = refusal.code(), "refused offline");
            return Ok(Decision {
                entry: r,
                mode: Mode::Offline,
                accepted: false,
                reason: Some(refusal.code().to_string()),
                due: None,
                detail: serde_json::json!({}),
                local: Some(Err(refusal)),
            });
        }
        let mut o = store.with_offline_journal(entry.id, local)?;
        o.entry.id = entry.id;
        tracing::info!(entry_id = %entry.id, kind = %kind, accepted = o.result.is_ok(), "decided offline");
        Ok(from_outcome(o, Mode::Offline))
    }

    async fn decide<T: Serialize>(
        &self,
        store: &mut Store,
        ask: Ask<'_>,
        now: DateTime<FixedOffset>,
        local: impl FnOnce(&mut Store) -> crate::store::Result<Outcome<T>>,
    ) -> Result<Decision<T>, SyncError> {
        let Some(upstream) = self.upstream.clone() else {
            let o = local(store)?;
            return Ok(from_outcome(o, Mode::Standalone));
        };
        let entry = Entry {
            id: Uuid::now_v7(),
            kiosk_id: store.kiosk_id().to_string(),
            seq: store.next_seq()?,
            at: stamp(now),
            kind: ask.kind.clone(),
            patron: ask.patron.map(str::to_string),
            item: ask.item.map(str::to_string),
            decision: "accepted".into(),
            reason: None,
            due: None,
            detail: ask.detail,
            offline: false,
        };
        let kind = ask.kind;
        match self
            .ask(upstream.as_ref(), store, &entry, ask.parts_seen, now)
            .await?
        {
            Asked::Unsupported => {
                let o = local(store)?;
                tracing::info!(entry_id = %o.entry.id, kind = %kind, "the upstream cannot decide this; decided here for the push");
                Ok(from_outcome(o, Mode::Standalone))
            }
            Asked::Answered(r, answer) => {
                // What was asked (hold level, payment), then what the
                // upstream said over it: as the journal keeps it.
                let said = match (entry.detail, answer.detail) {
                    (serde_json::Value::Object(mut asked), serde_json::Value::Object(said)) => {
                        asked.extend(said);
                        serde_json::Value::Object(asked)
                    }
                    (_, said) => said,
                };
                let detail = match ask.item {
                    Some(item) => titles::enrich(store, item, said)?,
                    None => said,
                };
                Ok(Decision {
                    entry: r,
                    mode: Mode::Online,
                    accepted: answer.decision == "accepted",
                    reason: answer.reason,
                    due: answer.due,
                    detail,
                    local: None,
                })
            }
            Asked::Offline => {
                self.decide_offline(store, ask.request, ask.patron, entry, now, local)
            }
        }
    }

    async fn ask(
        &self,
        upstream: &dyn Upstream,
        store: &mut Store,
        entry: &Entry,
        parts_seen: Option<u8>,
        now: DateTime<FixedOffset>,
    ) -> Result<Asked, SyncError> {
        let req = DecideRequest {
            entry: entry.clone(),
            parts_seen,
        };
        match tokio::time::timeout(self.decide_timeout, upstream.decide(&req)).await {
            Ok(Ok(mut answer)) => {
                titles::repair(store, entry.item.as_deref(), &mut answer.detail)?;
                let r = store.journal_decided(entry, &answer, now)?;
                fresh::after_decision(
                    store,
                    &entry.kind,
                    entry.patron.as_deref(),
                    answer.decision == "accepted",
                    answer.reason.as_deref(),
                    self.rules.max_cache_age_hours,
                    now,
                );
                self.set_online(true, None);
                tracing::info!(entry_id = %r.id, kind = %entry.kind, decision = %answer.decision, "decided online");
                Ok(Asked::Answered(r, answer))
            }
            Ok(Err(UpstreamError::Unsupported(what))) => {
                tracing::info!(entry_id = %entry.id, kind = %entry.kind, what, "the upstream does not decide this");
                Ok(Asked::Unsupported)
            }
            Ok(Err(e)) if !e.is_offline() => {
                // It answered, but refused the request itself: not a
                // reason to decide alone; staff must look.
                self.set_online(true, Some(e.to_string()));
                Err(e.into())
            }
            Ok(Err(e)) => {
                tracing::info!(entry_id = %entry.id, error = %e, "upstream unreachable; deciding offline");
                self.set_online(false, Some(e.to_string()));
                Ok(Asked::Offline)
            }
            Err(_) => {
                tracing::info!(entry_id = %entry.id, timeout_ms = self.decide_timeout.as_millis() as u64, "upstream too slow; deciding offline");
                self.set_online(false, Some("decision timed out".into()));
                Ok(Asked::Offline)
            }
        }
    }

    /// May the kiosk decide this alone now? Ok(Err) is the refusal to show.
    pub fn offline_gate(
        &self,
        store: &Store,
        request: Request,
        patron: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<Result<(), Refusal>, SyncError> {
        let taken = match (request, patron) {
            (Request::Checkout, Some(p)) => store.offline_loans(p)?,
            _ => 0,
        };
        if let Err(r) = offline::allowed(
            self.rules.policy,
            request,
            taken,
            self.rules.max_loans_per_reader,
        ) {
            return Ok(Err(r));
        }
        // Fresh: the last pull, or the upstream's word on this reader
        // (`fresh`: SIP2 has no change feed).
        if matches!(request, Request::Checkout | Request::Renew)
            && !fresh::is_fresh(store, patron, self.rules.max_cache_age_hours, now)?
        {
            return Ok(Err(Refusal::OfflineUnavailable));
        }
        Ok(Ok(()))
    }
}

/// A typed result built from an upstream's answer (`Decision::typed`).
pub trait FromOnline: Sized {
    /// None when the answer lacks what the type needs (e.g. no due date).
    fn from_online(due: Option<&str>, detail: &serde_json::Value) -> Option<Self>;
}

fn text(detail: &serde_json::Value, key: &str) -> String {
    detail
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn int(detail: &serde_json::Value, key: &str) -> i64 {
    detail.get(key).and_then(|v| v.as_i64()).unwrap_or(0)
}

impl FromOnline for CheckoutOk {
    fn from_online(due: Option<&str>, d: &serde_json::Value) -> Option<Self> {
        Some(CheckoutOk {
            item: text(d, "item"),
            title: text(d, "title"),
            author: text(d, "author"),
            due: Due::parse(due?)?,
            hold_picked_up: d
                .get("hold_picked_up")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            parts: u8::try_from(int(d, "parts").max(1)).unwrap_or(1),
        })
    }
}

impl FromOnline for CheckinOk {
    fn from_online(_due: Option<&str>, d: &serde_json::Value) -> Option<Self> {
        let route = d.get("route").unwrap_or(&serde_json::Value::Null);
        // `{"to": "sort_bin", "bin": …}` from kiosk-central; a bare
        // "staff" and a `sort_bin` field from a SIP2 ILS.
        let to = route.get("to").and_then(|t| t.as_str()).or(route.as_str());
        let route = match to {
            Some("hold_shelf") => Route::HoldShelf {
                hold: 0,
                patron: 0,
                pickup_by: route
                    .get("pickup_by")
                    .and_then(|p| p.as_str())
                    .and_then(|p| NaiveDate::parse_from_str(p, "%Y-%m-%d").ok())
                    .unwrap_or_default(),
            },
            Some("staff") => Route::Staff,
            _ => Route::SortBin {
                bin: route
                    .get("bin")
                    .and_then(|b| b.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| text(d, "sort_bin")),
            },
        };
        Some(CheckinOk {
            item: text(d, "item"),
            title: text(d, "title"),
            was_on_loan: d
                .get("was_on_loan")
                .and_then(|v| v.as_bool())
                .unwrap_or(true),
            overdue_days: u32::try_from(int(d, "overdue_days").max(0)).unwrap_or(0),
            fine_cents: int(d, "fine_cents").max(0),
            route,
            pickup_code: d
                .get("pickup_code")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            found: d.get("found").and_then(|v| v.as_bool()).unwrap_or(false),
        })
    }
}

impl FromOnline for RenewOk {
    fn from_online(due: Option<&str>, d: &serde_json::Value) -> Option<Self> {
        Some(RenewOk {
            item: text(d, "item"),
            title: text(d, "title"),
            due: Due::parse(due?)?,
            renewals: u32::try_from(int(d, "renewals").max(0)).unwrap_or(0),
            fine_cents: int(d, "fine_cents").max(0),
        })
    }
}

impl FromOnline for HoldOk {
    fn from_online(_due: Option<&str>, d: &serde_json::Value) -> Option<Self> {
        Some(HoldOk {
            item: text(d, "item"),
            title: text(d, "title"),
            level: match d.get("level").and_then(|l| l.as_str()) {
                Some("item") => HoldLevel::Item,
                _ => HoldLevel::Title,
            },
            queue_position: int(d, "queue_position").max(1),
        })
    }
}

/// A cancelled hold's result is its title.
impl FromOnline for String {
    fn from_online(_due: Option<&str>, d: &serde_json::Value) -> Option<Self> {
        Some(text(d, "title"))
    }
}

impl RenewAll {
    fn refused(mode: Mode, r: Refusal) -> RenewAll {
        RenewAll {
            mode,
            loans: Vec::new(),
            screen_messages: Vec::new(),
            refused: Some(r),
        }
    }
}

impl FromOnline for PaymentOk {
    fn from_online(_due: Option<&str>, d: &serde_json::Value) -> Option<Self> {
        Some(PaymentOk {
            payment: Payment {
                amount_cents: d.get("amount_cents")?.as_i64()?,
                currency: text(d, "currency"),
                payment_type: text(d, "payment_type"),
                fee_type: text(d, "fee_type"),
                fee_id: d.get("fee_id").and_then(|f| f.as_str()).map(str::to_string),
            },
            fines_owed_cents: d.get("fines_owed_cents").and_then(|f| f.as_i64()),
        })
    }
}

impl<T> Decision<T> {
    /// The same decision with its local result turned into another type.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Decision<U> {
        Decision {
            entry: self.entry,
            mode: self.mode,
            accepted: self.accepted,
            reason: self.reason,
            due: self.due,
            detail: self.detail,
            local: self.local.map(|r| r.map(f)),
        }
    }
}

impl<T: FromOnline + Clone> Decision<T> {
    /// The decision as the kiosk shows it, whoever took it: the typed
    /// result, or the refusal with its arguments (an upstream's unknown
    /// code becomes `Refusal::UpstreamRefused` in its own words). None
    /// only for an online acceptance that lacks what `T` needs; show
    /// `detail` then.
    pub fn typed(&self) -> Option<Result<T, Refusal>> {
        if let Some(local) = &self.local {
            return Some(local.clone());
        }
        if !self.accepted {
            let code = self.reason.as_deref().unwrap_or("upstream_refused");
            let mut args = match self.detail.get("args") {
                Some(a) if a.is_object() => a.clone(),
                _ => self.detail.clone(),
            };
            // An ILS's own words (SIP2 AF screen message) for a code the
            // kiosk has no text of.
            if !args.is_object() {
                args = serde_json::json!({});
            }
            if args.get("message").is_none() {
                if let Some(m) = self.detail.get("ils_message").filter(|m| m.is_string()) {
                    args["message"] = m.clone();
                }
            }
            return Some(Err(Refusal::from_wire(code, &args)));
        }
        T::from_online(self.due.as_deref(), &self.detail).map(Ok)
    }
}

fn from_outcome<T: Serialize>(o: Outcome<T>, mode: Mode) -> Decision<T> {
    let (accepted, reason, due, detail) = match &o.result {
        Ok(t) => {
            let detail = serde_json::to_value(t).unwrap_or(serde_json::Value::Null);
            let due = detail
                .get("due")
                .and_then(|d| d.as_str())
                .map(str::to_string);
            (true, None, due, detail)
        }
        Err(r) => (
            false,
            Some(r.code().to_string()),
            None,
            serde_json::json!({}),
        ),
    };
    Decision {
        entry: o.entry,
        mode,
        accepted,
        reason,
        due,
        detail,
        local: Some(o.result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offline::OfflinePolicy;
    use serde_json::json;

    fn online<T>(
        accepted: bool,
        reason: Option<&str>,
        due: Option<&str>,
        detail: serde_json::Value,
    ) -> Decision<T> {
        Decision {
            entry: EntryRef {
                id: Uuid::now_v7(),
                seq: 1,
            },
            mode: Mode::Online,
            accepted,
            reason: reason.map(str::to_string),
            due: due.map(str::to_string),
            detail,
            local: None,
        }
    }

    fn demo_store() -> (Store, String, String, DateTime<FixedOffset>) {
        let now = DateTime::parse_from_rfc3339("2026-11-20T10:00:00+08:00").unwrap();
        let mut store = Store::open_in_memory("k1").unwrap();
        crate::store::demo::generate(&mut store, 5, 20, 7, now).unwrap();
        let (p, i) = crate::store::demo::loanable_pairs(&store, 1).unwrap();
        (store, p[0].clone(), i[0].clone(), now)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn rules(policy: OfflinePolicy) -> OfflineRules {
        OfflineRules {
            policy,
            max_loans_per_reader: 3,
            max_cache_age_hours: 0,
        }
    }

    fn payment(cents: i64) -> Payment {
        Payment {
            amount_cents: cents,
            currency: "CNY".into(),
            payment_type: "cash".into(),
            fee_type: "overdue".into(),
            fee_id: Some("F1".into()),
        }
    }

    /// A payment is money already taken: recorded without an upstream,
    /// recorded offline under any policy but "off", and journaled with
    /// what the upstream needs (amount, currency, types, fee id).
    #[test]
    fn payments_are_recorded_whoever_decides() {
        let rt = rt();
        let (mut store, patron, _, now) = demo_store();
        let alone = Circulation::new(None, Duration::from_millis(200), rules(OfflinePolicy::Off));
        let d = rt
            .block_on(alone.pay(&mut store, &patron, &payment(250), now))
            .unwrap();
        assert_eq!((d.mode, d.accepted), (Mode::Standalone, true));
        let paid = d.typed().unwrap().unwrap();
        assert_eq!(paid.payment.amount_cents, 250);
        assert!(paid.fines_owed_cents.unwrap() >= 0);
        let e = store.journal(None).unwrap().pop().unwrap();
        assert_eq!((e.kind.as_str(), e.offline), ("fee_paid", false));
        assert_eq!(e.detail["amount_cents"], 250);
        assert_eq!(e.detail["fee_id"], "F1");
        let d = rt
            .block_on(alone.pay(&mut store, "NOBODY", &payment(100), now))
            .unwrap();
        assert_eq!(d.reason.as_deref(), Some("unknown_patron"));

        let up = Arc::new(crate::sync::memory::MemoryUpstream::new());
        for (policy, accepted) in [
            (OfflinePolicy::ReturnsOnly, true),
            (OfflinePolicy::Off, false),
        ] {
            up.inject("decide", crate::sync::memory::Fault::Unreachable);
            let circ =
                Circulation::new(Some(up.clone()), Duration::from_millis(200), rules(policy));
            let d = rt
                .block_on(circ.pay(&mut store, &patron, &payment(100), now))
                .unwrap();
            assert_eq!(
                (d.mode, d.accepted),
                (Mode::Offline, accepted),
                "{policy:?}"
            );
            let e = store.journal(None).unwrap().pop().unwrap();
            assert_eq!((e.offline, e.sync_status.as_str()), (true, "pending"));
        }
    }

    /// An upstream without a bulk renewal (kiosk-central) is asked once
    /// per loan; without an upstream the kiosk renews each itself.
    #[test]
    fn renew_all_asks_per_loan_when_the_upstream_has_no_bulk_renewal() {
        let rt = rt();
        let (mut store, patron, item, now) = demo_store();
        let up = Arc::new(crate::sync::memory::MemoryUpstream::new());
        let circ = Circulation::new(
            Some(up.clone()),
            Duration::from_millis(500),
            rules(OfflinePolicy::ReturnsAndCheckouts),
        );
        let d = rt
            .block_on(circ.checkout(&mut store, &patron, &item, None, now))
            .unwrap();
        assert_eq!((d.mode, d.accepted), (Mode::Online, true));
        let all = rt
            .block_on(circ.renew_all(&mut store, &patron, now))
            .unwrap();
        assert_eq!((all.mode, all.refused.clone()), (Mode::Online, None));
        assert_eq!(all.loans.len(), 1);
        assert!(
            up.decision(all.loans[0].entry.id).is_some(),
            "asked as a renew"
        );
        let unknown = rt
            .block_on(circ.renew_all(&mut store, "NOBODY", now))
            .unwrap();
        assert_eq!(unknown.refused, Some(Refusal::UnknownPatron));

        let alone = Circulation::new(None, Duration::from_millis(200), rules(OfflinePolicy::Off));
        let all = rt
            .block_on(alone.renew_all(&mut store, &patron, now))
            .unwrap();
        assert_eq!((all.mode, all.loans.len()), (Mode::Standalone, 1));
    }

    #[test]
    fn an_online_refusal_keeps_its_arguments() {
        let d: Decision<CheckoutOk> = online(
            false,
            Some("max_loans_reached"),
            None,
            json!({ "args": { "max": 10 }, "item": "I1" }),
        );
        assert_eq!(d.typed(), Some(Err(Refusal::MaxLoansReached { max: 10 })));
    }

    #[test]
    fn an_ils_refusal_is_shown_in_its_own_words() {
        let d: Decision<CheckoutOk> = online(
            false,
            Some("ils_refused"),
            None,
            json!({ "ils_message": "Patron has a block", "screen_messages": ["Patron has a block"] }),
        );
        assert_eq!(
            d.typed(),
            Some(Err(Refusal::UpstreamRefused {
                message: "Patron has a block".into()
            }))
        );
    }

    #[test]
    fn online_acceptances_become_typed_results() {
        let d: Decision<CheckoutOk> = online(
            true,
            None,
            Some("2026-12-07"),
            json!({ "item": "I1", "title": "Alpha", "author": "A", "hold_picked_up": true }),
        );
        let c = d.typed().unwrap().unwrap();
        assert_eq!(
            (
                c.item.as_str(),
                c.title.as_str(),
                c.due.to_string(),
                c.hold_picked_up,
                c.parts
            ),
            ("I1", "Alpha", "2026-12-07".to_string(), true, 1)
        );
        // No due date: the kiosk cannot claim one.
        let d: Decision<CheckoutOk> = online(true, None, None, json!({ "item": "I1" }));
        assert_eq!(d.typed(), None);

        let d: Decision<CheckinOk> = online(
            true,
            None,
            None,
            json!({ "item": "I2", "title": "Beta", "was_on_loan": true, "overdue_days": 3,
                    "fine_cents": 30, "route": { "to": "hold_shelf", "pickup_by": "2026-11-30" },
                    "pickup_code": "123456" }),
        );
        let c = d.typed().unwrap().unwrap();
        assert_eq!((c.overdue_days, c.fine_cents), (3, 30));
        assert!(matches!(c.route, Route::HoldShelf { pickup_by, .. }
            if pickup_by == NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()));
        assert_eq!(c.pickup_code.as_deref(), Some("123456"));
        // A SIP2 sort bin arrives as a bare field.
        let d: Decision<CheckinOk> = online(true, None, None, json!({ "sort_bin": "B7" }));
        assert!(matches!(d.typed().unwrap().unwrap().route, Route::SortBin { bin } if bin == "B7"));

        let d: Decision<CheckinOk> = online(true, None, None, json!({ "route": "staff" }));
        assert_eq!(d.typed().unwrap().unwrap().route, Route::Staff);

        let d: Decision<HoldOk> = online(
            true,
            None,
            None,
            json!({ "title": "Gamma", "level": "item", "queue_position": 2 }),
        );
        let h = d.typed().unwrap().unwrap();
        assert_eq!((h.level, h.queue_position), (HoldLevel::Item, 2));
    }
}
