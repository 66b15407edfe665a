//! Typed SIP2 2.00 messages: one struct per request the kiosk sends and
//! per response it reads, built on the untyped `codec::Message`.
//!
//! Fixed fields are typed (`Flag`, `SipDate`, numbers, fixed text); every
//! variable field is an `Option<String>` (present, maybe empty, or absent)
//! or a `Vec<String>` for the repeatable ones. Fields the spec does not
//! name for a message, and repeats of single fields, go to `extra`; the
//! wire order is kept in `wire` when it differs from the spec's, so a
//! decoded message re-encodes byte for byte. Decoding is lenient about
//! *which* fields a server sends (a missing "required" field is `None`) and
//! strict only where a value cannot be read at all (a count that is not
//! digits). Layouts follow the 3M SIP2 2.00 specification.

use std::collections::HashSet;

use super::codec::{arrange, DecodeError, EncodeError, Field, FieldId, Message};
use super::date::SipDate;

/// The fixed layout of one command, for the untyped layer and the tools.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub code: &'static str,
    pub name: &'static str,
    /// Fixed fields in wire order: name and width in characters.
    pub fixed: &'static [(&'static str, usize)],
    /// Variable fields the spec lists for this command, in its order.
    pub fields: &'static [FieldId],
}

impl Layout {
    pub fn fixed_width(&self) -> usize {
        self.fixed.iter().map(|(_, w)| w).sum()
    }

    /// Splits a fixed part into named pieces (`None` if the width is wrong).
    pub fn split_fixed<'a>(&self, fixed: &'a str) -> Option<Vec<(&'static str, &'a str)>> {
        let mut rest = fixed;
        let mut out = Vec::new();
        for &(name, w) in self.fixed {
            let cut = rest.char_indices().nth(w).map_or(rest.len(), |(i, _)| i);
            let (piece, tail) = rest.split_at(cut);
            if piece.chars().count() != w {
                return None;
            }
            out.push((name, piece));
            rest = tail;
        }
        rest.is_empty().then_some(out)
    }
}

/// The layout of a command code this codec knows.
pub fn layout(code: &str) -> Option<&'static Layout> {
    LAYOUTS.iter().find(|l| l.code == code)
}

/// A typed message: converts to and from the untyped one.
pub trait SipMessage: Sized {
    const CODE: &'static str;
    const NAME: &'static str;
    fn to_message(&self) -> Result<Message, EncodeError>;
    fn from_message(m: &Message) -> Result<Self, DecodeError>;
}

/// How a decoded message's variable fields lay on the wire, when that
/// differs from the spec order; empty for messages built in code.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Wire {
    /// Identifiers in wire order; empty means spec order.
    pub order: Vec<FieldId>,
    /// The last field had no closing `|`.
    pub last_unterminated: bool,
}

impl Wire {
    pub fn is_plain(&self) -> bool {
        self.order.is_empty() && !self.last_unterminated
    }
}

// ---------------------------------------------------------------------------
// Fixed-field types
// ---------------------------------------------------------------------------

/// A fixed field's text form.
pub trait FixedValue: Sized {
    fn read(text: &str) -> Result<Self, String>;
    fn write(&self, width: usize) -> Result<String, String>;
}

/// A one-character fixed field: `Y`/`N` (sometimes `U`), `0`/`1`, a hold
/// mode `+ - *`, a status code. Any character is kept as sent, so an odd
/// server value never makes a response unreadable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Flag(pub char);

impl Flag {
    pub const Y: Flag = Flag('Y');
    pub const N: Flag = Flag('N');
    pub const U: Flag = Flag('U');
    pub const ONE: Flag = Flag('1');
    pub const ZERO: Flag = Flag('0');

    /// `Y` or `N`.
    pub fn yn(yes: bool) -> Flag {
        if yes {
            Flag::Y
        } else {
            Flag::N
        }
    }

    /// `1` or `0`.
    pub fn bit(on: bool) -> Flag {
        if on {
            Flag::ONE
        } else {
            Flag::ZERO
        }
    }

    /// `Y` (either case).
    pub fn is_yes(self) -> bool {
        matches!(self.0, 'Y' | 'y')
    }

    /// `1`: the `ok` fields of responses.
    pub fn is_one(self) -> bool {
        self.0 == '1'
    }

    /// `U`: unknown (magnetic media, desensitize).
    pub fn is_unknown(self) -> bool {
        matches!(self.0, 'U' | 'u')
    }
}

impl Default for Flag {
    fn default() -> Self {
        Flag::N
    }
}

impl FixedValue for Flag {
    fn read(text: &str) -> Result<Flag, String> {
        let mut c = text.chars();
        match (c.next(), c.next()) {
            (Some(ch), None) => Ok(Flag(ch)),
            _ => Err("one character expected".into()),
        }
    }

    fn write(&self, width: usize) -> Result<String, String> {
        if width != 1 || matches!(self.0, '\r' | '\n') {
            return Err("not a one-character field".into());
        }
        Ok(self.0.to_string())
    }
}

impl FixedValue for SipDate {
    fn read(text: &str) -> Result<SipDate, String> {
        SipDate::parse(text).map_err(|e| e.to_string())
    }

    fn write(&self, width: usize) -> Result<String, String> {
        let s = self.format().map_err(|e| e.to_string())?;
        if s.chars().count() != width || s.contains(['\r', '\n']) {
            return Err("not a date of the field's width".into());
        }
        Ok(s)
    }
}

/// Numbers (counts, timeouts, languages, fee types): zero-padded digits,
/// or all blank (`None`) where a server does not support the count.
impl FixedValue for Option<u32> {
    fn read(text: &str) -> Result<Option<u32>, String> {
        if text.chars().all(|c| c == ' ') {
            return Ok(None);
        }
        if !text.chars().all(|c| c.is_ascii_digit()) || text.len() > 9 {
            return Err("digits expected".into());
        }
        text.parse().map(Some).map_err(|_| "digits expected".into())
    }

    fn write(&self, width: usize) -> Result<String, String> {
        let s = match self {
            None => " ".repeat(width),
            Some(n) => format!("{n:0width$}"),
        };
        if s.len() != width {
            return Err(format!("{self:?} does not fit {width} digits"));
        }
        Ok(s)
    }
}

/// Fixed text such as the protocol version `2.00` or a currency `EUR`.
impl FixedValue for String {
    fn read(text: &str) -> Result<String, String> {
        Ok(text.to_string())
    }

    fn write(&self, width: usize) -> Result<String, String> {
        if self.chars().count() != width || self.contains(['\r', '\n']) {
            return Err(format!("must be {width} characters"));
        }
        Ok(self.clone())
    }
}

/// The 14-character patron status of 24, 26 and 64: `Y` where a
/// condition holds, a space where it does not.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct PatronStatus(pub String);

impl PatronStatus {
    /// Position names, in wire order.
    pub const NAMES: [&'static str; 14] = [
        "charge privileges denied",
        "renewal privileges denied",
        "recall privileges denied",
        "hold privileges denied",
        "card reported lost",
        "too many items charged",
        "too many items overdue",
        "too many renewals",
        "too many claims of items returned",
        "too many items lost",
        "excessive outstanding fines",
        "excessive outstanding fees",
        "recall overdue",
        "too many items billed",
    ];

    pub fn from_flags(flags: [bool; 14]) -> PatronStatus {
        PatronStatus(flags.iter().map(|&f| if f { 'Y' } else { ' ' }).collect())
    }

    /// Whether position `i` (0–13) is set.
    pub fn is_set(&self, i: usize) -> bool {
        matches!(self.0.chars().nth(i), Some('Y' | 'y'))
    }

    /// Names of the conditions set.
    pub fn set(&self) -> Vec<&'static str> {
        (0..14)
            .filter(|&i| self.is_set(i))
            .map(|i| Self::NAMES[i])
            .collect()
    }

    pub fn charge_privileges_denied(&self) -> bool {
        self.is_set(0)
    }

    pub fn renewal_privileges_denied(&self) -> bool {
        self.is_set(1)
    }

    pub fn hold_privileges_denied(&self) -> bool {
        self.is_set(3)
    }

    pub fn card_reported_lost(&self) -> bool {
        self.is_set(4)
    }
}

impl Default for PatronStatus {
    fn default() -> Self {
        PatronStatus(" ".repeat(14))
    }
}

impl FixedValue for PatronStatus {
    fn read(text: &str) -> Result<PatronStatus, String> {
        Ok(PatronStatus(text.to_string()))
    }

    fn write(&self, width: usize) -> Result<String, String> {
        self.0.write(width)
    }
}

/// Which list a 63 patron information request asks for (at most one `Y`
/// among the 10 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Summary(pub String);

/// Lists a 64 response can carry, in summary order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryItem {
    HoldItems = 0,
    OverdueItems = 1,
    ChargedItems = 2,
    FineItems = 3,
    RecallItems = 4,
    UnavailableHolds = 5,
}

impl Summary {
    /// Ask for no list.
    pub fn none() -> Summary {
        Summary(" ".repeat(10))
    }

    /// Ask for one list.
    pub fn only(item: SummaryItem) -> Summary {
        Summary(
            (0..10)
                .map(|i| if i == item as usize { 'Y' } else { ' ' })
                .collect(),
        )
    }
}

impl Default for Summary {
    fn default() -> Self {
        Summary::none()
    }
}

impl FixedValue for Summary {
    fn read(text: &str) -> Result<Summary, String> {
        Ok(Summary(text.to_string()))
    }

    fn write(&self, width: usize) -> Result<String, String> {
        self.0.write(width)
    }
}

// ---------------------------------------------------------------------------
// Variable-field slots
// ---------------------------------------------------------------------------

/// Where a variable field's value goes in a typed message.
trait Slot {
    /// Takes a value; false if the slot is full (a repeated single field).
    fn put(&mut self, value: &str) -> bool;
    fn emit(&self, id: FieldId, out: &mut Vec<Field>);
}

impl Slot for Option<String> {
    fn put(&mut self, value: &str) -> bool {
        if self.is_some() {
            return false;
        }
        *self = Some(value.to_string());
        true
    }

    fn emit(&self, id: FieldId, out: &mut Vec<Field>) {
        if let Some(v) = self {
            out.push(Field::new(id, v.clone()));
        }
    }
}

impl Slot for Vec<String> {
    fn put(&mut self, value: &str) -> bool {
        self.push(value.to_string());
        true
    }

    fn emit(&self, id: FieldId, out: &mut Vec<Field>) {
        out.extend(self.iter().map(|v| Field::new(id, v.clone())));
    }
}

fn split_fixed(m: &Message, l: &Layout) -> Result<Vec<String>, DecodeError> {
    match l.split_fixed(&m.fixed) {
        Some(pieces) => Ok(pieces.into_iter().map(|(_, p)| p.to_string()).collect()),
        None => Err(DecodeError::ShortFixed {
            code: m.code.clone(),
            need: l.fixed_width(),
            have: m.fixed.chars().count(),
        }),
    }
}

macro_rules! messages {
    ($(
        $(#[$meta:meta])*
        $name:ident $code:literal $title:literal
        [ $($f:ident : $fty:ty = $w:literal),* $(,)? ]
        { $($v:ident : $vty:ty = $vid:ident),* $(,)? }
    )*) => {
        $(
            $(#[$meta])*
            #[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
            pub struct $name {
                $(pub $f: $fty,)*
                $(pub $v: $vty,)*
                /// Fields the spec does not list here, and repeats of single
                /// fields, in wire order.
                #[serde(skip_serializing_if = "Vec::is_empty")]
                pub extra: Vec<Field>,
                #[serde(skip_serializing_if = "Wire::is_plain")]
                pub wire: Wire,
            }

            impl $name {
                fn spec_fields(&self) -> Vec<Field> {
                    #[allow(unused_mut)]
                    let mut out = Vec::new();
                    $(Slot::emit(&self.$v, FieldId::$vid, &mut out);)*
                    out.extend(self.extra.iter().cloned());
                    out
                }
            }

            impl SipMessage for $name {
                const CODE: &'static str = $code;
                const NAME: &'static str = $title;

                fn to_message(&self) -> Result<Message, EncodeError> {
                    #[allow(unused_mut)]
                    let mut fixed = String::new();
                    $(
                        let piece = FixedValue::write(&self.$f, $w).map_err(|reason| {
                            EncodeError::BadFixed {
                                code: $code.into(),
                                field: stringify!($f),
                                text: format!("{:?}", self.$f),
                                reason,
                            }
                        })?;
                        fixed.push_str(&piece);
                    )*
                    Ok(Message {
                        code: $code.into(),
                        fixed,
                        fields: arrange(self.spec_fields(), &self.wire.order),
                        last_unterminated: self.wire.last_unterminated,
                        seq: None,
                        checksum_ok: None,
                    })
                }

                fn from_message(m: &Message) -> Result<Self, DecodeError> {
                    if m.code != $code {
                        return Err(DecodeError::WrongCode { expected: $code, got: m.code.clone() });
                    }
                    let l = layout($code).ok_or_else(|| DecodeError::WrongCode { expected: $code, got: m.code.clone() })?;
                    #[allow(unused_variables, unused_mut)]
                    let mut pieces = split_fixed(m, l)?.into_iter();
                    #[allow(unused_mut)]
                    let mut out = $name::default();
                    $(
                        let text = pieces.next().unwrap_or_default();
                        out.$f = <$fty as FixedValue>::read(&text).map_err(|reason| {
                            DecodeError::BadFixed {
                                code: $code.into(),
                                field: stringify!($f),
                                text: text.clone(),
                                reason,
                            }
                        })?;
                    )*
                    for field in &m.fields {
                        $(
                            if field.id == FieldId::$vid && Slot::put(&mut out.$v, &field.value) {
                                continue;
                            }
                        )*
                        out.extra.push(field.clone());
                    }
                    let wire: Vec<FieldId> = m.fields.iter().map(|f| f.id).collect();
                    let spec: Vec<FieldId> = out.spec_fields().iter().map(|f| f.id).collect();
                    if wire != spec {
                        out.wire.order = wire;
                    }
                    out.wire.last_unterminated = m.last_unterminated && !m.fields.is_empty();
                    Ok(out)
                }
            }
        )*

        /// Every command this codec knows, requests and responses.
        pub static LAYOUTS: &[Layout] = &[
            $(Layout {
                code: $code,
                name: $title,
                fixed: &[$((stringify!($f), $w)),*],
                fields: &[$(FieldId::$vid),*],
            },)*
        ];

        /// Any message, typed when its code is known.
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
        #[serde(tag = "message")]
        // Messages live for one exchange; boxing the large ones buys nothing.
        #[allow(clippy::large_enum_variant)]
        pub enum AnyMessage {
            $($name($name),)*
            /// A code this codec has no type for, kept untyped.
            Unknown(Message),
        }

        impl AnyMessage {
            /// Types an untyped message (unknown codes stay untyped).
            pub fn from_message(m: &Message) -> Result<AnyMessage, DecodeError> {
                match m.code.as_str() {
                    $($code => $name::from_message(m).map(AnyMessage::$name),)*
                    _ => Ok(AnyMessage::Unknown(m.clone())),
                }
            }

            pub fn to_message(&self) -> Result<Message, EncodeError> {
                match self {
                    $(AnyMessage::$name(x) => x.to_message(),)*
                    AnyMessage::Unknown(m) => Ok(m.clone()),
                }
            }

            pub fn code(&self) -> &str {
                match self {
                    $(AnyMessage::$name(_) => $code,)*
                    AnyMessage::Unknown(m) => &m.code,
                }
            }
        }

        $(
            impl From<$name> for AnyMessage {
                fn from(x: $name) -> AnyMessage {
                    AnyMessage::$name(x)
                }
            }
        )*
    };
}

type Text = Option<String>;
type List = Vec<String>;
type Num = Option<u32>;

messages! {
    // ---- Requests: SC (the kiosk) to ACS ------------------------------

    /// 93 Login: `93<uid algorithm><pwd algorithm>CN|CO|CP|`.
    LoginRequest "93" "Login"
    [uid_algorithm: Flag = 1, pwd_algorithm: Flag = 1]
    {login_user_id: Text = CN, login_password: Text = CO, location_code: Text = CP}

    /// 99 SC Status: `99<status code><max print width 3><protocol version 4>`.
    ScStatus "99" "SC Status"
    [status_code: Flag = 1, max_print_width: Num = 3, protocol_version: String = 4]
    {}

    /// 97 Request ACS Resend: just the code (and a checksum).
    RequestAcsResend "97" "Request ACS Resend"
    []
    {}

    /// 01 Block Patron: `01<card retained><date>AO|AL|AA|AC|`.
    BlockPatron "01" "Block Patron"
    [card_retained: Flag = 1, transaction_date: SipDate = 18]
    {institution_id: Text = AO, blocked_card_message: Text = AL, patron_id: Text = AA,
     terminal_password: Text = AC}

    /// 23 Patron Status Request: `23<language 3><date>AO|AA|AC|AD|`.
    PatronStatusRequest "23" "Patron Status Request"
    [language: Num = 3, transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, terminal_password: Text = AC,
     patron_password: Text = AD}

    /// 63 Patron Information: `63<language 3><date><summary 10>AO|AA|AC|AD|BP|BQ|`.
    PatronInformationRequest "63" "Patron Information"
    [language: Num = 3, transaction_date: SipDate = 18, summary: Summary = 10]
    {institution_id: Text = AO, patron_id: Text = AA, terminal_password: Text = AC,
     patron_password: Text = AD, start_item: Text = BP, end_item: Text = BQ}

    /// 11 Checkout: `11<SC renewal policy><no block><date><nb due date>AO|AA|AB|AC|CH|AD|BO|BI|`.
    CheckoutRequest "11" "Checkout"
    [sc_renewal_policy: Flag = 1, no_block: Flag = 1, transaction_date: SipDate = 18,
     nb_due_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, item_id: Text = AB,
     terminal_password: Text = AC, item_properties: Text = CH, patron_password: Text = AD,
     fee_acknowledged: Text = BO, cancel: Text = BI}

    /// 09 Checkin: `09<no block><date><return date>AP|AO|AB|AC|CH|BI|`.
    CheckinRequest "09" "Checkin"
    [no_block: Flag = 1, transaction_date: SipDate = 18, return_date: SipDate = 18]
    {current_location: Text = AP, institution_id: Text = AO, item_id: Text = AB,
     terminal_password: Text = AC, item_properties: Text = CH, cancel: Text = BI}

    /// 29 Renew: `29<third party allowed><no block><date><nb due date>AO|AA|AD|AB|AJ|AC|CH|BO|`.
    RenewRequest "29" "Renew"
    [third_party_allowed: Flag = 1, no_block: Flag = 1, transaction_date: SipDate = 18,
     nb_due_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, patron_password: Text = AD,
     item_id: Text = AB, title_id: Text = AJ, terminal_password: Text = AC,
     item_properties: Text = CH, fee_acknowledged: Text = BO}

    /// 65 Renew All: `65<date>AO|AA|AD|AC|BO|`.
    RenewAllRequest "65" "Renew All"
    [transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, patron_password: Text = AD,
     terminal_password: Text = AC, fee_acknowledged: Text = BO}

    /// 17 Item Information: `17<date>AO|AB|AC|`.
    ItemInformationRequest "17" "Item Information"
    [transaction_date: SipDate = 18]
    {institution_id: Text = AO, item_id: Text = AB, terminal_password: Text = AC}

    /// 15 Hold: `15<hold mode + - *><date>BW|BS|BY|AO|AA|AD|AB|AJ|AC|BO|`.
    HoldRequest "15" "Hold"
    [hold_mode: Flag = 1, transaction_date: SipDate = 18]
    {expiration_date: Text = BW, pickup_location: Text = BS, hold_type: Text = BY,
     institution_id: Text = AO, patron_id: Text = AA, patron_password: Text = AD,
     item_id: Text = AB, title_id: Text = AJ, terminal_password: Text = AC,
     fee_acknowledged: Text = BO}

    /// 35 End Patron Session: `35<date>AO|AA|AC|AD|`.
    EndPatronSessionRequest "35" "End Patron Session"
    [transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, terminal_password: Text = AC,
     patron_password: Text = AD}

    /// 37 Fee Paid: `37<date><fee type 2><payment type 2><currency 3>BV|AO|AA|AC|AD|CG|BK|`.
    FeePaidRequest "37" "Fee Paid"
    [transaction_date: SipDate = 18, fee_type: Num = 2, payment_type: Num = 2,
     currency_type: String = 3]
    {fee_amount: Text = BV, institution_id: Text = AO, patron_id: Text = AA,
     terminal_password: Text = AC, patron_password: Text = AD, fee_id: Text = CG,
     transaction_id: Text = BK}

    /// 19 Item Status Update: `19<date>AO|AB|AC|CH|`.
    ItemStatusUpdateRequest "19" "Item Status Update"
    [transaction_date: SipDate = 18]
    {institution_id: Text = AO, item_id: Text = AB, terminal_password: Text = AC,
     item_properties: Text = CH}

    /// 25 Patron Enable: `25<date>AO|AA|AC|AD|`.
    PatronEnableRequest "25" "Patron Enable"
    [transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, terminal_password: Text = AC,
     patron_password: Text = AD}

    // ---- Responses: ACS to SC -----------------------------------------

    /// 94 Login Response: `94<ok 0/1>`.
    LoginResponse "94" "Login Response"
    [ok: Flag = 1]
    {}

    /// 98 ACS Status: six Y/N flags, timeout(3), retries(3), date/time
    /// sync(18), protocol version(4), then `AO|AM|BX|AN|AF|AG|`.
    AcsStatus "98" "ACS Status"
    [online_status: Flag = 1, checkin_ok: Flag = 1, checkout_ok: Flag = 1,
     acs_renewal_policy: Flag = 1, status_update_ok: Flag = 1, offline_ok: Flag = 1,
     timeout_period: Num = 3, retries_allowed: Num = 3, date_time_sync: SipDate = 18,
     protocol_version: String = 4]
    {institution_id: Text = AO, library_name: Text = AM, supported_messages: Text = BX,
     terminal_location: Text = AN, screen_messages: List = AF, print_lines: List = AG}

    /// 96 Request SC Resend: just the code (and a checksum).
    RequestScResend "96" "Request SC Resend"
    []
    {}

    /// 24 Patron Status Response: `24<patron status 14><language 3><date>AO|AA|AE|BL|CQ|BH|BV|AF|AG|`.
    PatronStatusResponse "24" "Patron Status Response"
    [patron_status: PatronStatus = 14, language: Num = 3, transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, personal_name: Text = AE,
     valid_patron: Text = BL, valid_patron_password: Text = CQ, currency_type: Text = BH,
     fee_amount: Text = BV, screen_messages: List = AF, print_lines: List = AG}

    /// 64 Patron Information Response: patron status(14), language(3),
    /// date(18), six counts(4 each), then the fields below.
    PatronInformationResponse "64" "Patron Information Response"
    [patron_status: PatronStatus = 14, language: Num = 3, transaction_date: SipDate = 18,
     hold_items_count: Num = 4, overdue_items_count: Num = 4, charged_items_count: Num = 4,
     fine_items_count: Num = 4, recall_items_count: Num = 4, unavailable_holds_count: Num = 4]
    {institution_id: Text = AO, patron_id: Text = AA, personal_name: Text = AE,
     hold_items_limit: Text = BZ, overdue_items_limit: Text = CA, charged_items_limit: Text = CB,
     valid_patron: Text = BL, valid_patron_password: Text = CQ, currency_type: Text = BH,
     fee_amount: Text = BV, fee_limit: Text = CC, hold_items: List = AS,
     overdue_items: List = AT, charged_items: List = AU, fine_items: List = AV,
     recall_items: List = BU, unavailable_hold_items: List = CD, home_address: Text = BD,
     email_address: Text = BE, home_phone_number: Text = BF, screen_messages: List = AF,
     print_lines: List = AG}

    /// 12 Checkout Response: `12<ok><renewal ok><magnetic media><desensitize><date>`
    /// then `AO|AA|AB|AJ|AH|BT|CI|BH|BV|CK|CH|BK|AF|AG|`.
    CheckoutResponse "12" "Checkout Response"
    [ok: Flag = 1, renewal_ok: Flag = 1, magnetic_media: Flag = 1, desensitize: Flag = 1,
     transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, item_id: Text = AB,
     title_id: Text = AJ, due_date: Text = AH, fee_type: Text = BT,
     security_inhibit: Text = CI, currency_type: Text = BH, fee_amount: Text = BV,
     media_type: Text = CK, item_properties: Text = CH, transaction_id: Text = BK,
     screen_messages: List = AF, print_lines: List = AG}

    /// 10 Checkin Response: `10<ok><resensitize><magnetic media><alert><date>`
    /// then `AO|AB|AQ|AJ|CL|AA|CK|CH|AF|AG|`.
    CheckinResponse "10" "Checkin Response"
    [ok: Flag = 1, resensitize: Flag = 1, magnetic_media: Flag = 1, alert: Flag = 1,
     transaction_date: SipDate = 18]
    {institution_id: Text = AO, item_id: Text = AB, permanent_location: Text = AQ,
     title_id: Text = AJ, sort_bin: Text = CL, patron_id: Text = AA, media_type: Text = CK,
     item_properties: Text = CH, screen_messages: List = AF, print_lines: List = AG}

    /// 30 Renew Response: the checkout response's layout.
    RenewResponse "30" "Renew Response"
    [ok: Flag = 1, renewal_ok: Flag = 1, magnetic_media: Flag = 1, desensitize: Flag = 1,
     transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, item_id: Text = AB,
     title_id: Text = AJ, due_date: Text = AH, fee_type: Text = BT,
     security_inhibit: Text = CI, currency_type: Text = BH, fee_amount: Text = BV,
     media_type: Text = CK, item_properties: Text = CH, transaction_id: Text = BK,
     screen_messages: List = AF, print_lines: List = AG}

    /// 66 Renew All Response: `66<ok><renewed count 4><unrenewed count 4><date>AO|BM|BN|AF|AG|`.
    RenewAllResponse "66" "Renew All Response"
    [ok: Flag = 1, renewed_count: Num = 4, unrenewed_count: Num = 4,
     transaction_date: SipDate = 18]
    {institution_id: Text = AO, renewed_items: List = BM, unrenewed_items: List = BN,
     screen_messages: List = AF, print_lines: List = AG}

    /// 18 Item Information Response: `18<circulation status 2><security marker 2><fee type 2><date>`
    /// then `CF|AH|CJ|CM|AB|AJ|BG|BH|BV|CK|AQ|AP|CH|AF|AG|`.
    ItemInformationResponse "18" "Item Information Response"
    [circulation_status: Num = 2, security_marker: Num = 2, fee_type: Num = 2,
     transaction_date: SipDate = 18]
    {hold_queue_length: Text = CF, due_date: Text = AH, recall_date: Text = CJ,
     hold_pickup_date: Text = CM, item_id: Text = AB, title_id: Text = AJ, owner: Text = BG,
     currency_type: Text = BH, fee_amount: Text = BV, media_type: Text = CK,
     permanent_location: Text = AQ, current_location: Text = AP,
     item_properties: Text = CH, screen_messages: List = AF, print_lines: List = AG}

    /// 16 Hold Response: `16<ok><available><date>BW|BR|BS|AO|AA|AB|AJ|AF|AG|`.
    HoldResponse "16" "Hold Response"
    [ok: Flag = 1, available: Flag = 1, transaction_date: SipDate = 18]
    {expiration_date: Text = BW, queue_position: Text = BR, pickup_location: Text = BS,
     institution_id: Text = AO, patron_id: Text = AA, item_id: Text = AB,
     title_id: Text = AJ, screen_messages: List = AF, print_lines: List = AG}

    /// 36 End Session Response: `36<end session><date>AO|AA|AF|AG|`.
    EndSessionResponse "36" "End Session Response"
    [end_session: Flag = 1, transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, screen_messages: List = AF,
     print_lines: List = AG}

    /// 38 Fee Paid Response: `38<payment accepted><date>AO|AA|BK|AF|AG|`.
    FeePaidResponse "38" "Fee Paid Response"
    [payment_accepted: Flag = 1, transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, transaction_id: Text = BK,
     screen_messages: List = AF, print_lines: List = AG}

    /// 20 Item Status Update Response: `20<item properties ok><date>AB|AJ|CH|AF|AG|`.
    ItemStatusUpdateResponse "20" "Item Status Update Response"
    [item_properties_ok: Flag = 1, transaction_date: SipDate = 18]
    {item_id: Text = AB, title_id: Text = AJ, item_properties: Text = CH,
     screen_messages: List = AF, print_lines: List = AG}

    /// 26 Patron Enable Response: `26<patron status 14><language 3><date>AO|AA|AE|BL|CQ|AF|AG|`.
    PatronEnableResponse "26" "Patron Enable Response"
    [patron_status: PatronStatus = 14, language: Num = 3, transaction_date: SipDate = 18]
    {institution_id: Text = AO, patron_id: Text = AA, personal_name: Text = AE,
     valid_patron: Text = BL, valid_patron_password: Text = CQ, screen_messages: List = AF,
     print_lines: List = AG}
}

/// Whether a layout table is consistent: unique codes; used by tests.
pub fn layouts_are_unique() -> bool {
    let mut seen = HashSet::new();
    LAYOUTS.iter().all(|l| seen.insert(l.code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_match_the_spec() {
        let w = |c: &str| layout(c).unwrap().fixed_width();
        assert!(layouts_are_unique());
        for (code, width) in [
            ("93", 2),
            ("99", 8),
            ("97", 0),
            ("01", 19),
            ("23", 21),
            ("63", 31),
            ("11", 38),
            ("09", 37),
            ("29", 38),
            ("65", 18),
            ("17", 18),
            ("15", 19),
            ("35", 18),
            ("37", 25),
            ("94", 1),
            ("98", 34),
            ("96", 0),
            ("24", 35),
            ("64", 59),
            ("12", 22),
            ("10", 22),
            ("30", 22),
            ("66", 27),
            ("18", 24),
            ("16", 20),
            ("36", 19),
            ("38", 19),
        ] {
            assert_eq!(w(code), width, "message {code}");
        }
    }

    #[test]
    fn numbers_are_zero_padded_or_blank() {
        assert_eq!(Some(7).write(3).unwrap(), "007");
        assert_eq!(None.write(4).unwrap(), "    ");
        assert!(Some(1000).write(3).is_err());
        assert_eq!(<Option<u32>>::read("0042").unwrap(), Some(42));
        assert_eq!(<Option<u32>>::read("    ").unwrap(), None);
        assert!(<Option<u32>>::read(" 42 ").is_err());
    }

    #[test]
    fn patron_status_and_summary() {
        let mut flags = [false; 14];
        flags[0] = true;
        flags[4] = true;
        let s = PatronStatus::from_flags(flags);
        assert_eq!(s.0, "Y   Y         ");
        assert!(s.charge_privileges_denied() && s.card_reported_lost());
        assert_eq!(
            s.set(),
            vec!["charge privileges denied", "card reported lost"]
        );
        assert_eq!(Summary::only(SummaryItem::ChargedItems).0, "  Y       ");
    }
}
