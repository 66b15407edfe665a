//! The reminders still to send (due soon, overdue, hold ready) and the
//! claims that make each go out once.

use super::*;

/// One reminder to send: due soon, overdue, or a hold ready for pickup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Reminder {
    /// due_soon | overdue | hold_ready
    pub kind: String,
    /// What makes it "the same reminder" (sent once per kind and key): the
    /// loan and its due date (a renewal re-arms it), or the hold and its
    /// pickup code.
    pub key: String,
    pub patron: String,
    pub name: String,
    pub email: Option<String>,
    pub item: String,
    pub title: String,
    pub due: Option<String>,
    pub pickup_code: Option<String>,
    pub pickup_by: Option<String>,
    /// The reader's language (zh-CN, en) when the server knows it.
    #[serde(default)]
    pub language: Option<String>,
}

/// Reminders not sent yet, as of `today`: loans due within `due_soon_days`
/// (today included), loans overdue, holds ready.
pub(crate) async fn pending_reminders<S: Sql>(
    tx: &mut S,
    today: NaiveDate,
    due_soon_days: u32,
) -> Result<Vec<Reminder>> {
    let t = today.format("%Y-%m-%d").to_string();
    let soon = (today + Duration::days(due_soon_days as i64))
        .format("%Y-%m-%d")
        .to_string();
    let mut out = vec![];
    for r in tx
        .query(
            "SELECT l.id, l.due, l.patron, p.name, p.email, l.item, i.title, pl.language FROM loans l
             JOIN patrons p ON p.barcode = l.patron JOIN items i ON i.barcode = l.item
             LEFT JOIN patron_languages pl ON pl.barcode = l.patron
             WHERE l.returned IS NULL ORDER BY l.due, l.id",
            p![],
        )
        .await?
    {
        let due = r.s("due");
        let day = due.get(0..10).unwrap_or("").to_string();
        let kind = if day < t {
            "overdue"
        } else if day <= soon {
            "due_soon"
        } else {
            continue;
        };
        out.push(Reminder {
            kind: kind.into(),
            key: format!("loan:{}:{due}", r.i("id")),
            patron: r.s("patron"),
            name: r.s("name"),
            email: r.os("email"),
            item: r.s("item"),
            title: r.s("title"),
            due: Some(due),
            pickup_code: None,
            pickup_by: None,
            language: r.os("language"),
        });
    }
    for r in tx
        .query(
            "SELECT h.id, h.pickup_code, h.pickup_by, h.patron, p.name, p.email, h.ready_item, i.title,
                    pl.language
             FROM holds h JOIN patrons p ON p.barcode = h.patron
             LEFT JOIN items i ON i.barcode = h.ready_item
             LEFT JOIN patron_languages pl ON pl.barcode = h.patron
             WHERE h.status = 'ready' ORDER BY h.id",
            p![],
        )
        .await?
    {
        out.push(Reminder {
            kind: "hold_ready".into(),
            key: format!("hold:{}:{}", r.i("id"), r.s("pickup_code")),
            patron: r.s("patron"),
            name: r.s("name"),
            email: r.os("email"),
            item: r.s("ready_item"),
            title: r.s("title"),
            due: None,
            pickup_code: r.os("pickup_code"),
            pickup_by: r.os("pickup_by"),
            language: r.os("language"),
        });
    }
    let mut pending = vec![];
    for rem in out {
        if tx
            .query_opt(
                "SELECT sent FROM reminders_sent WHERE kind = $1 AND key = $2",
                p![&rem.kind, &rem.key],
            )
            .await?
            .is_none()
        {
            pending.push(rem);
        }
    }
    Ok(pending)
}

/// Claims a reminder before sending it; false when another run (or
/// another server process) already has.
pub(crate) async fn claim_reminder<S: Sql>(
    tx: &mut S,
    kind: &str,
    key: &str,
    now: &str,
) -> Result<bool> {
    Ok(tx
        .exec(
            "INSERT INTO reminders_sent (kind, key, sent) VALUES ($1, $2, $3)
             ON CONFLICT (kind, key) DO NOTHING",
            p![kind, key, now],
        )
        .await?
        == 1)
}

/// Gives a claim back after sending failed, so the next run retries.
pub(crate) async fn release_reminder<S: Sql>(tx: &mut S, kind: &str, key: &str) -> Result<()> {
    tx.exec(
        "DELETE FROM reminders_sent WHERE kind = $1 AND key = $2",
        p![kind, key],
    )
    .await?;
    Ok(())
}
