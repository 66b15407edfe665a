//! Fee payments taken at the kiosk (a cash acceptor, staff at the desk):
//! one `fee_paid` journal entry and the reader's balance lowered, in one
//! transaction. The money was already taken when this runs, so a payment
//! is never refused for its amount; only an unknown card is refused.

use super::circ::{find_patron, Outcome};
use super::journal::{append, EntryKind, NewEntry};
use super::{Result, Store, StoreError};
use crate::domain::Refusal;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use rusqlite::{params, TransactionBehavior};
use serde::Serialize;

/// What was paid, as the journal entry's detail carries it (the same keys
/// go to the upstream: kiosk-central and SIP2 37 read them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub amount_cents: i64,
    /// ISO 4217, e.g. `CNY`.
    pub currency: String,
    /// `cash`, `visa` or `credit-card` (SIP2 payment types 00–02).
    pub payment_type: String,
    /// `other`, `overdue`, `damage`, … (SIP2 fee types 01–09).
    pub fee_type: String,
    /// The upstream's id of the fee paid, when the payment is for one.
    pub fee_id: Option<String>,
}

impl Payment {
    pub fn detail(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// An accepted payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentOk {
    #[serde(flatten)]
    pub payment: Payment,
    /// What the reader still owes, as far as the kiosk knows; None when
    /// an upstream took the payment and did not say.
    pub fines_owed_cents: Option<i64>,
}

impl Store {
    /// Records `payment` by `patron` and lowers their balance (never below
    /// zero here; the upstream keeps any credit).
    pub fn pay(
        &mut self,
        patron: &str,
        payment: &Payment,
        now: DateTime<FixedOffset>,
    ) -> Result<Outcome<PaymentOk>> {
        if payment.amount_cents <= 0 {
            return Err(StoreError::Input(format!(
                "a payment must be more than 0, not {} cents",
                payment.amount_cents
            )));
        }
        let kiosk = self.author();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let entry = NewEntry::new(EntryKind::FeePaid, Some(patron), None).detail(payment.detail());
        let result = match find_patron(&tx, patron)? {
            None => Err(Refusal::UnknownPatron),
            Some(p) => {
                let at = now.to_rfc3339_opts(SecondsFormat::Millis, false);
                tx.execute(
                    "INSERT INTO fees (patron_id, item_id, kind, amount_cents, created)
                     VALUES (?1, NULL, 'payment', ?2, ?3)",
                    params![p.patron.id, -payment.amount_cents, at],
                )?;
                tx.execute(
                    "UPDATE patrons SET fines_owed_cents = MAX(0, fines_owed_cents - ?2) WHERE id = ?1",
                    params![p.patron.id, payment.amount_cents],
                )?;
                let owed: i64 = tx.query_row(
                    "SELECT fines_owed_cents FROM patrons WHERE id = ?1",
                    [p.patron.id],
                    |r| r.get(0),
                )?;
                Ok(PaymentOk {
                    payment: payment.clone(),
                    fines_owed_cents: Some(owed),
                })
            }
        };
        let entry = match &result {
            Ok(_) => entry,
            Err(r) => entry.refused(r),
        };
        let entry = append(&tx, &kiosk, now, entry)?;
        tx.commit()?;
        Ok(Outcome { entry, result })
    }
}
