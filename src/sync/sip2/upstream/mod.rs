//! `Sip2Upstream`: the `Upstream` trait over a SIP2 ILS.
//!
//! - `decide`: checkout → 11/12, checkin → 09/10, renew → 29/30, hold
//!   placed/cancelled → 15/16 (`+`/`-`). The ILS's answer is the decision;
//!   its screen messages (AF), print lines (AG), sort bin, alert, hold and
//!   location information go into `DecideResponse::detail` for the kiosk
//!   to show. A refusal carries a kiosk refusal code, worked out from an
//!   item information (17) lookup when the ILS says no without saying why.
//! - `push` replays journal entries one by one, in journal order, with
//!   `no block = Y`, the entry's own time as transaction date and the due
//!   date the kiosk gave as `nb due date` (the return date for checkins).
//!   Before a checkout or checkin is replayed, 17 (and 63 for checkouts)
//!   says whether it already took effect — a replay after a lost answer
//!   must not become a renewal or a second return. The ILS's answer is the
//!   truth: `applied`, or `conflict` with a code and the ILS's message.
//!   The cancel flag (BI) is never sent.
//! - Entries SIP2 cannot carry (feedback, security, fee payments, …) and
//!   entries the kiosk refused are acknowledged with a note, never left
//!   blocking the outbox, never dropped without a log line.
//! - `changes`: SIP2 has no change feed → `Unsupported`.
//! - `patron` → 63/64 (23/24 when the ILS does not support 63).
//! - `heartbeat` → 99/98 (clock offset from the 98's date).

use super::client::{AcsInfo, ClientError, ClientSettings, Sip2Client};
use super::date::SipDate;
use super::messages::*;
use crate::config::{Sip2HoldType, UpstreamSection};
use crate::protocol::{
    ChangesPage, DecideRequest, DecideResponse, Entry, EntryKind, EntryResult, EntryStatus,
    Heartbeat, HeartbeatAck, PatronRecord,
};
use crate::sync::upstream::{
    AccountAnswer, AccountHoldAnswer, AccountLoanAnswer, BoxFuture, PinAnswer, RenewAllAnswer,
    RenewedItem, UnrenewedItem, Upstream, UpstreamError, UpstreamResult,
};
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Conflict codes a replay can end with (`EntryResult::code`).
mod decide;
mod reader;
mod replay;

pub mod conflict {
    /// The ILS has the item on loan to another reader.
    pub const ON_LOAN_ELSEWHERE: &str = "on_loan_elsewhere";
    /// The item waits on the hold shelf, or readers queue for it.
    pub const ON_HOLD_FOR_ANOTHER: &str = "on_hold_for_another";
    /// The ILS has it as lost, missing or claimed returned.
    pub const ITEM_LOST: &str = "item_lost";
    /// The ILS does not know the item.
    pub const UNKNOWN_ITEM: &str = "unknown_item";
    /// A checkin of an item the ILS refused to take back.
    pub const NOT_ON_LOAN: &str = "not_on_loan";
    /// The ILS refused a renewal.
    pub const RENEWAL_REFUSED: &str = "renewal_refused";
    /// The ILS did not accept a payment (38: payment accepted = N).
    pub const PAYMENT_REFUSED: &str = "payment_refused";
    /// The ILS said no and nothing tells why (see the message).
    pub const ILS_REFUSED: &str = "ils_refused";
    /// The ILS's 98 says "offline ok = N": it takes no store-and-forward
    /// transactions; staff enter the entry at the desk.
    pub const OFFLINE_NOT_ACCEPTED: &str = "offline_not_accepted";
}

/// Refusal code for an online refusal the ILS gave no reason for: the
/// kiosk shows `Refusal::UpstreamRefused` with the ILS's own words
/// (`detail.message`, from AF).
pub const ILS_REFUSED: &str = "upstream_refused";

/// Item circulation status (18, 2 digits).
mod circ {
    pub const CHARGED: u32 = 4;
    pub const CHARGED_NO_RECALL: u32 = 5;
    pub const HOLD_SHELF: u32 = 8;
    pub const CLAIMED_RETURNED: u32 = 11;
    pub const LOST: u32 = 12;
    pub const MISSING: u32 = 13;
}

pub struct Sip2Upstream {
    client: Arc<Sip2Client>,
    institution: String,
    terminal_password: String,
    /// AP of checkins: where the kiosk stands.
    location: String,
    /// How a title-level hold goes to the ILS (`[upstream] hold_type`).
    hold_type: Sip2HoldType,
}

/// At most this many 17 lookups for one account (titles, due dates).
const ACCOUNT_LOOKUPS: usize = 30;

/// SIP2 hold types (BY of 15).
mod hold_type {
    /// Any copy of the title.
    pub const TITLE: &str = "2";
    /// This very copy.
    pub const COPY: &str = "3";
}

/// SIP2 fee types (37 fixed field): the names `kiosk circ pay
/// --fee-type` takes, in the spec's order from 01.
pub const FEE_TYPES: [&str; 9] = [
    "other",
    "administrative",
    "damage",
    "overdue",
    "processing",
    "rental",
    "replacement",
    "computer-access",
    "hold",
];

/// SIP2 payment types (37 fixed field), from 00.
pub const PAYMENT_TYPES: [&str; 3] = ["cash", "visa", "credit-card"];

/// The entry's own time, as the kiosk's wall clock showed it.
fn entry_time(at: &str) -> NaiveDateTime {
    DateTime::parse_from_rfc3339(at)
        .map(|t| t.naive_local())
        .unwrap_or_else(|_| Local::now().naive_local())
}

/// The kiosk's due date (`YYYY-MM-DD` = end of that day, or RFC 3339).
fn due_time(due: &str) -> Option<NaiveDateTime> {
    if let Ok(d) = NaiveDate::parse_from_str(due, "%Y-%m-%d") {
        return d.and_hms_opt(23, 59, 59);
    }
    DateTime::parse_from_rfc3339(due)
        .ok()
        .map(|t| t.naive_local())
}

/// An ILS due date (AH) as the kiosk writes due dates: `YYYY-MM-DD` for a
/// day loan, RFC 3339 for an hour loan; None when it is not a SIP2 date.
pub fn kiosk_due(ah: &str) -> Option<String> {
    let t = SipDate::parse(ah.trim_end()).ok()?.naive()?;
    let end_of_day = (t.hour() == 23 && t.minute() == 59) || (t.hour(), t.minute()) == (0, 0);
    if end_of_day {
        return Some(t.date().format("%Y-%m-%d").to_string());
    }
    Local
        .from_local_datetime(&t)
        .earliest()
        .map(|l| l.to_rfc3339())
}

fn date(t: NaiveDateTime) -> SipDate {
    SipDate::local(t)
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// AF/AG and the fields every answer shares, for the kiosk to show.
fn shown(screen: &[String], print: &[String], title: &Option<String>) -> Map<String, Value> {
    let mut d = Map::new();
    if !screen.is_empty() {
        d.insert("screen_messages".into(), json!(screen));
    }
    if !print.is_empty() {
        d.insert("print_lines".into(), json!(print));
    }
    if let Some(t) = title.as_deref().filter(|t| !t.is_empty()) {
        d.insert("title".into(), json!(t));
    }
    d
}

/// What the ILS said with an accepted replay (AF), kept as the entry's
/// note for staff.
fn screen_note(screen: &[String]) -> Option<String> {
    let m: Vec<&str> = screen
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    (!m.is_empty()).then(|| format!("the ILS said: {}", m.join(" ")))
}

fn first_message(screen: &[String]) -> String {
    let m = screen.join(" ");
    if m.is_empty() {
        "the ILS gave no message".into()
    } else {
        m
    }
}

fn applied(e: &Entry, note: Option<String>) -> EntryResult {
    EntryResult {
        id: e.id,
        status: EntryStatus::Applied,
        code: None,
        message: note,
    }
}

fn conflict(e: &Entry, code: &str, message: String) -> EntryResult {
    EntryResult {
        id: e.id,
        status: EntryStatus::Conflict,
        code: Some(code.to_string()),
        message: Some(message),
    }
}

/// What an item information answer says about why a loan may not go.
fn item_conflict(i: &ItemInformationResponse) -> Option<&'static str> {
    let status = i.circulation_status.unwrap_or(0);
    let queue: u32 = i
        .hold_queue_length
        .as_deref()
        .and_then(|q| q.trim().parse().ok())
        .unwrap_or(0);
    match status {
        circ::CHARGED | circ::CHARGED_NO_RECALL => Some(conflict::ON_LOAN_ELSEWHERE),
        circ::HOLD_SHELF => Some(conflict::ON_HOLD_FOR_ANOTHER),
        circ::LOST | circ::MISSING | circ::CLAIMED_RETURNED => Some(conflict::ITEM_LOST),
        _ if queue > 0 => Some(conflict::ON_HOLD_FOR_ANOTHER),
        _ if i.title_id.as_deref().unwrap_or("").is_empty() && status == 1 => {
            Some(conflict::UNKNOWN_ITEM)
        }
        _ => None,
    }
}

/// Readers wait for the item: on the hold shelf, or a hold queue (what
/// blocks a renewal; a charged item's status is 04 whatever its queue).
fn holds_waiting(i: &ItemInformationResponse) -> bool {
    let queue: u32 = i
        .hold_queue_length
        .as_deref()
        .and_then(|q| q.trim().parse().ok())
        .unwrap_or(0);
    queue > 0 || i.circulation_status == Some(circ::HOLD_SHELF)
}

/// The kiosk refusal code for the same situation (online decisions).
fn refusal_for(conflict_code: Option<&str>) -> &'static str {
    match conflict_code {
        Some(conflict::ON_LOAN_ELSEWHERE) => "item_on_loan_to_another",
        Some(conflict::ON_HOLD_FOR_ANOTHER) => "item_on_hold_for_another",
        Some(conflict::UNKNOWN_ITEM) => "unknown_item",
        _ => ILS_REFUSED,
    }
}

fn is_charged(i: &ItemInformationResponse) -> bool {
    matches!(
        i.circulation_status,
        Some(circ::CHARGED | circ::CHARGED_NO_RECALL)
    )
}

impl Sip2Upstream {
    pub fn new(
        settings: ClientSettings,
        institution: &str,
        terminal_password: &str,
    ) -> Sip2Upstream {
        let location = settings.location.clone();
        Sip2Upstream {
            client: Sip2Client::new(settings),
            institution: institution.to_string(),
            terminal_password: terminal_password.to_string(),
            location,
            hold_type: Sip2HoldType::Title,
        }
    }

    pub fn from_config(u: &UpstreamSection) -> Sip2Upstream {
        Sip2Upstream::new(
            ClientSettings::from(u),
            &u.institution,
            &u.terminal_password,
        )
        .with_hold_type(u.hold_type)
    }

    /// How title-level holds are sent (default: as title holds).
    pub fn with_hold_type(mut self, t: Sip2HoldType) -> Sip2Upstream {
        self.hold_type = t;
        self
    }

    pub fn client(&self) -> &Arc<Sip2Client> {
        &self.client
    }

    fn ao(&self) -> Option<String> {
        some(&self.institution)
    }

    fn ac(&self) -> Option<String> {
        some(&self.terminal_password)
    }

    fn acs(&self) -> Option<AcsInfo> {
        self.client.acs()
    }

    fn supports(&self, code: &str) -> bool {
        self.acs().is_none_or(|a| a.supports(code))
    }

    async fn item_info(&self, item: &str) -> Result<ItemInformationResponse, ClientError> {
        let req = ItemInformationRequest {
            transaction_date: date(Local::now().naive_local()),
            institution_id: self.ao(),
            item_id: some(item),
            terminal_password: self.ac(),
            ..Default::default()
        };
        self.client.exchange(&req).await
    }

    /// The items the ILS has charged to `patron` (63 summary, charged).
    async fn charged_to(&self, patron: &str) -> Result<Vec<String>, ClientError> {
        let req = PatronInformationRequest {
            language: Some(0),
            transaction_date: date(Local::now().naive_local()),
            summary: Summary::only(SummaryItem::ChargedItems),
            institution_id: self.ao(),
            patron_id: some(patron),
            terminal_password: self.ac(),
            start_item: some("1"),
            end_item: some("9999"),
            ..Default::default()
        };
        let r: PatronInformationResponse = self.client.exchange(&req).await?;
        Ok(r.charged_items)
    }

    async fn checkout(
        &self,
        e: &Entry,
        no_block: bool,
        nb_due: Option<NaiveDateTime>,
    ) -> Result<CheckoutResponse, ClientError> {
        let at = entry_time(&e.at);
        let req = CheckoutRequest {
            // Never let a (re)sent checkout turn into a renewal.
            sc_renewal_policy: Flag::N,
            no_block: Flag::yn(no_block),
            transaction_date: date(at),
            // A real date even online: some ILSs drop a blank one.
            nb_due_date: date(nb_due.unwrap_or(at)),
            institution_id: self.ao(),
            patron_id: e.patron.clone(),
            item_id: e.item.clone(),
            terminal_password: self.ac(),
            fee_acknowledged: some("N"),
            ..Default::default()
        };
        self.client.exchange(&req).await
    }

    async fn checkin(&self, e: &Entry, no_block: bool) -> Result<CheckinResponse, ClientError> {
        let at = entry_time(&e.at);
        let req = CheckinRequest {
            no_block: Flag::yn(no_block),
            transaction_date: date(at),
            return_date: date(at),
            current_location: some(&self.location),
            institution_id: self.ao(),
            item_id: e.item.clone(),
            terminal_password: self.ac(),
            ..Default::default()
        };
        self.client.exchange(&req).await
    }

    async fn renew(
        &self,
        e: &Entry,
        no_block: bool,
        nb_due: Option<NaiveDateTime>,
    ) -> Result<RenewResponse, ClientError> {
        let at = entry_time(&e.at);
        let req = RenewRequest {
            third_party_allowed: Flag::N,
            no_block: Flag::yn(no_block),
            transaction_date: date(at),
            nb_due_date: date(nb_due.unwrap_or(at)),
            institution_id: self.ao(),
            patron_id: e.patron.clone(),
            item_id: e.item.clone(),
            terminal_password: self.ac(),
            fee_acknowledged: some("N"),
            ..Default::default()
        };
        self.client.exchange(&req).await
    }

    /// 15: a hold on the title (BY 2, AJ the title when the kiosk knows
    /// it) or on the copy (BY 3), as the reader asked (`detail.level`) and
    /// `[upstream] hold_type` allows. AB always names the item: Koha and
    /// others find the title through it (Koha reads AJ as a barcode too).
    async fn hold(&self, e: &Entry, place: bool) -> Result<HoldResponse, ClientError> {
        let copy = self.hold_type == Sip2HoldType::Copy
            || e.detail.get("level").and_then(|l| l.as_str()) == Some("item");
        let title = e
            .detail
            .get("title")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty() && !copy)
            .map(str::to_string);
        let req = HoldRequest {
            hold_mode: Flag(if place { '+' } else { '-' }),
            transaction_date: date(entry_time(&e.at)),
            hold_type: some(if copy {
                hold_type::COPY
            } else {
                hold_type::TITLE
            }),
            institution_id: self.ao(),
            patron_id: e.patron.clone(),
            item_id: e.item.clone(),
            title_id: title,
            terminal_password: self.ac(),
            fee_acknowledged: some("N"),
            ..Default::default()
        };
        self.client.exchange(&req).await
    }

    /// 37 for a `fee_paid` entry, dated with the entry's own time. BK is
    /// the entry id, so an ILS that keeps payment device ids can tell a
    /// repeat.
    async fn fee_paid(&self, e: &Entry) -> Result<FeePaidResponse, ClientError> {
        let d = &e.detail;
        let cents = d.get("amount_cents").and_then(|a| a.as_i64()).unwrap_or(0);
        let pick = |key: &str, names: &[&str], first: u32| {
            let name = d.get(key).and_then(|v| v.as_str()).unwrap_or("");
            names
                .iter()
                .position(|n| *n == name)
                .map_or(first, |i| i as u32 + first)
        };
        let currency = d
            .get("currency")
            .and_then(|c| c.as_str())
            .filter(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
            .unwrap_or("USD")
            .to_ascii_uppercase();
        let req = FeePaidRequest {
            transaction_date: date(entry_time(&e.at)),
            fee_type: Some(pick("fee_type", &FEE_TYPES, 1)),
            payment_type: Some(pick("payment_type", &PAYMENT_TYPES, 0)),
            currency_type: currency,
            fee_amount: some(&amount(cents)),
            institution_id: self.ao(),
            patron_id: e.patron.clone(),
            terminal_password: self.ac(),
            fee_id: d
                .get("fee_id")
                .and_then(|f| f.as_str())
                .filter(|f| !f.is_empty())
                .map(str::to_string),
            transaction_id: some(&e.id.to_string()),
            ..Default::default()
        };
        self.client.exchange(&req).await
    }
}

impl Upstream for Sip2Upstream {
    fn describe(&self) -> String {
        format!("sip2 {}", self.client.address())
    }

    fn push<'a>(
        &'a self,
        _kiosk_id: &'a str,
        entries: &'a [Entry],
    ) -> BoxFuture<'a, UpstreamResult<Vec<EntryResult>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(entries.len());
            for e in entries {
                match self.replay(e).await {
                    Ok(r) => {
                        tracing::info!(entry_id = %e.id, kind = %e.kind, status = ?r.status, code = ?r.code, "replayed to the ILS");
                        out.push(r);
                    }
                    // What went through so far counts; the rest stays in
                    // the outbox for the next run.
                    Err(err) if !out.is_empty() && err.is_offline() => {
                        tracing::info!(entry_id = %e.id, error = %err, "replay interrupted; the rest stays in the outbox");
                        break;
                    }
                    Err(err) => return Err(err.into()),
                }
            }
            Ok(out)
        })
    }

    fn changes<'a>(
        &'a self,
        _cursor: &'a str,
        _limit: u32,
    ) -> BoxFuture<'a, UpstreamResult<ChangesPage>> {
        Box::pin(async { Err(UpstreamError::Unsupported("a change feed (SIP2 has none)")) })
    }

    fn decide<'a>(
        &'a self,
        req: &'a DecideRequest,
    ) -> BoxFuture<'a, UpstreamResult<DecideResponse>> {
        Box::pin(async move {
            let pays =
                req.entry.kind == EntryKind::FeePaid && self.client.acs_now().await?.supports("37");
            match &req.entry.kind {
                EntryKind::Checkout
                | EntryKind::Checkin
                | EntryKind::Renew
                | EntryKind::HoldPlaced
                | EntryKind::HoldCancelled => {}
                EntryKind::FeePaid if pays => {}
                EntryKind::FeePaid => {
                    return Err(UpstreamError::Unsupported(
                        "fee payments (the ILS's 98 does not list 37)",
                    ))
                }
                _ => return Err(UpstreamError::Unsupported("this request over SIP2")),
            }
            Ok(self.decide_inner(req).await?)
        })
    }

    fn heartbeat<'a>(&'a self, _hb: &'a Heartbeat) -> BoxFuture<'a, UpstreamResult<HeartbeatAck>> {
        Box::pin(async move {
            let info = self.client.status().await?;
            let server = Local::now() + chrono::Duration::milliseconds(info.clock_offset_ms);
            Ok(HeartbeatAck {
                server_time: server.to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
                clock_offset_ms: info.clock_offset_ms,
                // SIP2 has no journal sequence.
                max_seq: None,
            })
        })
    }

    fn patron<'a>(
        &'a self,
        barcode: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<Option<PatronRecord>>> {
        Box::pin(async move {
            let now = date(Local::now().naive_local());
            let (valid, name, email, status, fee) = if self.supports("63") {
                let req = PatronInformationRequest {
                    language: Some(0),
                    transaction_date: now,
                    summary: Summary::none(),
                    institution_id: self.ao(),
                    patron_id: some(barcode),
                    terminal_password: self.ac(),
                    ..Default::default()
                };
                let r: PatronInformationResponse = self.client.exchange(&req).await?;
                (
                    r.valid_patron,
                    r.personal_name,
                    r.email_address,
                    r.patron_status,
                    r.fee_amount,
                )
            } else {
                let req = PatronStatusRequest {
                    language: Some(0),
                    transaction_date: now,
                    institution_id: self.ao(),
                    patron_id: some(barcode),
                    terminal_password: self.ac(),
                    ..Default::default()
                };
                let r: PatronStatusResponse = self.client.exchange(&req).await?;
                (
                    r.valid_patron,
                    r.personal_name,
                    None,
                    r.patron_status,
                    r.fee_amount,
                )
            };
            if !valid
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("Y"))
            {
                return Ok(None);
            }
            let set = status.set();
            Ok(Some(PatronRecord {
                barcode: barcode.to_string(),
                name: name.unwrap_or_default(),
                category: String::new(),
                expires: None,
                pin_hash: None,
                email: email.filter(|e| !e.is_empty()),
                blocked: (!set.is_empty()).then(|| set.join(", ")),
                fines_owed_cents: fee.as_deref().map_or(0, cents),
                language: None,
            }))
        })
    }

    fn end_session<'a>(&'a self, patron: &'a str) -> BoxFuture<'a, UpstreamResult<()>> {
        Box::pin(async move {
            if !self.supports("35") {
                return Ok(());
            }
            let req = EndPatronSessionRequest {
                transaction_date: date(Local::now().naive_local()),
                institution_id: self.ao(),
                patron_id: some(patron),
                terminal_password: self.ac(),
                ..Default::default()
            };
            let _: EndSessionResponse = self.client.exchange(&req).await?;
            Ok(())
        })
    }

    fn renew_all<'a>(&'a self, patron: &'a str) -> BoxFuture<'a, UpstreamResult<RenewAllAnswer>> {
        Box::pin(async move {
            if !self.client.acs_now().await?.supports("65") {
                return Err(UpstreamError::Unsupported(
                    "renew all (the ILS's 98 does not list 65)",
                ));
            }
            Ok(self.renew_all_inner(patron).await?)
        })
    }

    fn check_pin<'a>(
        &'a self,
        patron: &'a str,
        pin: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<PinAnswer>> {
        Box::pin(async move {
            let acs = self.client.acs_now().await?;
            if !acs.supports("23") && !acs.supports("63") {
                return Err(UpstreamError::Unsupported(
                    "PIN checks (the ILS's 98 lists neither 23 nor 63)",
                ));
            }
            Ok(self.check_pin_inner(patron, pin).await?)
        })
    }

    fn checks_pins(&self) -> bool {
        true
    }

    fn account<'a>(
        &'a self,
        patron: &'a str,
    ) -> BoxFuture<'a, UpstreamResult<Option<AccountAnswer>>> {
        Box::pin(async move {
            if !self.client.acs_now().await?.supports("63") {
                return Err(UpstreamError::Unsupported(
                    "account lookups (the ILS's 98 does not list 63)",
                ));
            }
            Ok(self.account_inner(patron).await?)
        })
    }
}

/// Fuzzing hook (called by `sip2::fuzz_decode` on every typed message):
/// the readings this module makes of an ILS's answers, on any input.
pub fn fuzz_answer(m: &AnyMessage) {
    match m {
        AnyMessage::CheckoutResponse(r) => {
            let _ = r.due_date.as_deref().map(kiosk_due);
            let _ = r.fee_amount.as_deref().map(cents);
        }
        AnyMessage::RenewResponse(r) => {
            let _ = r.due_date.as_deref().map(kiosk_due);
        }
        AnyMessage::ItemInformationResponse(r) => {
            let _ = (item_conflict(r), is_charged(r), holds_waiting(r));
            let _ = r.due_date.as_deref().map(kiosk_due);
        }
        AnyMessage::PatronInformationResponse(r) => {
            let _ = (r.patron_status.set(), r.fee_amount.as_deref().map(cents));
        }
        AnyMessage::PatronStatusResponse(r) => {
            let _ = (r.patron_status.set(), r.fee_amount.as_deref().map(cents));
        }
        AnyMessage::RenewAllResponse(r) => {
            let _ = first_message(&r.screen_messages);
        }
        AnyMessage::AcsStatus(s) => {
            let info = super::client::AcsInfo::from_98(s, Local::now().naive_local());
            let _ = info.supports("17");
        }
        _ => {}
    }
}

/// 150 → `1.50` (a fee amount as SIP2 writes it).
fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// `1.50` → 150 (a fee amount as SIP2 writes it); 0 when unreadable.
fn cents(amount: &str) -> i64 {
    let a = amount.trim();
    let (whole, frac) = a.split_once('.').unwrap_or((a, ""));
    let whole: i64 = whole.parse().unwrap_or(0);
    let frac: String = frac.chars().chain("00".chars()).take(2).collect();
    let frac: i64 = frac.parse().unwrap_or(0);
    whole.saturating_mul(100).saturating_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ils_due_dates_become_kiosk_due_dates() {
        assert_eq!(
            kiosk_due("20260315    235900").as_deref(),
            Some("2026-03-15")
        );
        assert!(kiosk_due("20260315    143000")
            .unwrap()
            .starts_with("2026-03-15T14:30:00"));
        assert_eq!(kiosk_due("next week"), None);
        assert_eq!(kiosk_due(""), None);
    }

    #[test]
    fn kiosk_due_dates_become_nb_due_dates() {
        let t = due_time("2026-03-14").unwrap();
        assert_eq!(date(t).format().unwrap(), "20260314    235959");
        let t = due_time("2026-03-14T16:00:00+01:00").unwrap();
        assert_eq!(date(t).format().unwrap(), "20260314    160000");
        assert_eq!(
            date(entry_time("2026-02-28T16:15:00.250+01:00"))
                .format()
                .unwrap(),
            "20260228    161500"
        );
    }

    #[test]
    fn item_status_explains_a_refusal() {
        let mut i = ItemInformationResponse {
            circulation_status: Some(4),
            title_id: some("T"),
            ..Default::default()
        };
        assert_eq!(item_conflict(&i), Some(conflict::ON_LOAN_ELSEWHERE));
        i.circulation_status = Some(8);
        assert_eq!(item_conflict(&i), Some(conflict::ON_HOLD_FOR_ANOTHER));
        i.circulation_status = Some(3);
        assert_eq!(item_conflict(&i), None);
        i.hold_queue_length = some("2");
        assert_eq!(item_conflict(&i), Some(conflict::ON_HOLD_FOR_ANOTHER));
        assert!(holds_waiting(&i));
        i.circulation_status = Some(4);
        assert!(holds_waiting(&i), "charged, with readers queueing");
        i.hold_queue_length = some("0");
        assert!(!holds_waiting(&i));
        i.circulation_status = Some(12);
        assert_eq!(item_conflict(&i), Some(conflict::ITEM_LOST));
        assert_eq!(
            refusal_for(Some(conflict::ON_HOLD_FOR_ANOTHER)),
            "item_on_hold_for_another"
        );
        assert_eq!(refusal_for(None), ILS_REFUSED);
    }

    #[test]
    fn fee_amounts_both_ways() {
        assert_eq!(amount(250), "2.50");
        assert_eq!(amount(5), "0.05");
        assert_eq!(amount(-120), "-1.20");
        assert_eq!(cents(&amount(123_456)), 123_456);
    }

    #[test]
    fn replay_notes_keep_what_the_ils_said() {
        assert_eq!(screen_note(&[]), None);
        assert_eq!(screen_note(&[" ".into()]), None);
        assert_eq!(
            screen_note(&["Hold placed".into(), "Pick up at MAIN".into()]).as_deref(),
            Some("the ILS said: Hold placed Pick up at MAIN")
        );
    }

    #[test]
    fn fee_amounts_in_cents() {
        assert_eq!(cents("1.50"), 150);
        assert_eq!(cents("2"), 200);
        assert_eq!(cents("0.5"), 50);
        assert_eq!(cents("junk"), 0);
    }
}
