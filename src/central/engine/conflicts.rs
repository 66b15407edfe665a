//! Conflicts staff read and close; a closed one goes to its kiosk by the
//! feed (`Record::Resolution`).

use super::*;

pub(crate) async fn conflicts<S: Sql>(
    tx: &mut S,
    kiosk: Option<&str>,
) -> Result<Vec<ConflictRecord>> {
    Ok(tx
        .query(
            "SELECT id, kiosk_id, seq, kind, patron, item, code, message, at, received FROM entries
             WHERE status IN ('conflict','waiting') AND (CAST($1 AS TEXT) IS NULL OR kiosk_id = $1)
             AND id NOT IN (SELECT entry_id FROM conflict_resolutions) ORDER BY received, kiosk_id, seq",
            p![kiosk],
        )
        .await?
        .iter()
        .map(conflict_row)
        .collect())
}

/// A conflict from a row of `entries` (`id, kiosk_id, seq, kind, patron,
/// item, code, message, at, received`).
pub(crate) fn conflict_row(r: &Row) -> ConflictRecord {
    ConflictRecord {
        id: r.s("id").parse().unwrap_or_default(),
        kiosk_id: r.s("kiosk_id"),
        seq: r.i("seq"),
        kind: EntryKind::parse(&r.s("kind")),
        patron: r.os("patron"),
        item: r.os("item"),
        code: r.s("code"),
        message: r.s("message"),
        at: r.s("at"),
        recorded_at: r.s("received"),
    }
}

/// A conflict staff closed, with how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ResolvedConflict {
    #[serde(flatten)]
    pub conflict: ConflictRecord,
    pub resolved: String,
    pub resolved_by: String,
    pub note: String,
}

/// What closing a conflict did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolve {
    /// Closed now.
    Resolved,
    /// Closed before (the first note stands).
    AlreadyResolved,
    /// No conflict with this id (unknown, applied, or still held for a
    /// missing seq, which closes itself).
    NotAConflict,
    /// The conflict is another kiosk's than the token's (answered 403,
    /// never sent).
    OtherKiosk,
}

/// Closes conflict `id` with a note; the entry itself is left as it was.
/// `only_kiosk`: the caller may close only that kiosk's conflicts.
pub(crate) async fn resolve_conflict<S: Sql>(
    tx: &mut S,
    id: &str,
    note: &str,
    by: &str,
    only_kiosk: Option<&str>,
    now: &str,
) -> Result<Resolve> {
    tx.lock_writes().await?;
    let row = tx
        .query_opt("SELECT status, kiosk_id FROM entries WHERE id = $1", p![id])
        .await?
        .map(|r| (r.s("status"), r.s("kiosk_id")));
    let Some((status, kiosk)) = row else {
        return Ok(Resolve::NotAConflict);
    };
    if status != "conflict" {
        return Ok(Resolve::NotAConflict);
    }
    if only_kiosk.is_some_and(|k| k != kiosk) {
        return Ok(Resolve::OtherKiosk);
    }
    // The note goes to the kiosk in the feed: readers' cards in it are
    // masked (staff have the entry's reader as a field).
    let note = &mask_cards(tx, note).await?;
    let n = tx
        .exec(
            "INSERT INTO conflict_resolutions (entry_id, resolved, resolved_by, note) VALUES ($1, $2, $3, $4)
             ON CONFLICT (entry_id) DO NOTHING",
            p![id, now, by, note],
        )
        .await?;
    if n == 1 {
        // The kiosk that journaled the entry learns it by the feed.
        changed(tx, "resolution", id, "upsert").await?;
    }
    Ok(if n == 1 {
        Resolve::Resolved
    } else {
        Resolve::AlreadyResolved
    })
}

/// A closed conflict as the changes feed sends it.
pub(crate) async fn resolution<S: Sql>(tx: &mut S, id: &str) -> Result<Option<ResolutionRecord>> {
    Ok(tx
        .query_opt(
            "SELECT r.entry_id, e.kiosk_id, r.resolved, r.resolved_by, r.note
             FROM conflict_resolutions r JOIN entries e ON e.id = r.entry_id WHERE r.entry_id = $1",
            p![id],
        )
        .await?
        .and_then(|r| {
            Some(ResolutionRecord {
                entry: r.s("entry_id").parse().ok()?,
                kiosk_id: r.s("kiosk_id"),
                resolved: r.s("resolved"),
                resolved_by: r.s("resolved_by"),
                note: r.s("note"),
            })
        }))
}

/// Closed conflicts, oldest first.
pub(crate) async fn resolved_conflicts<S: Sql>(
    tx: &mut S,
    kiosk: Option<&str>,
) -> Result<Vec<ResolvedConflict>> {
    Ok(tx
        .query(
            "SELECT e.id, e.kiosk_id, e.seq, e.kind, e.patron, e.item, e.code, e.message, e.at, e.received,
                    r.resolved, r.resolved_by, r.note
             FROM entries e JOIN conflict_resolutions r ON r.entry_id = e.id
             WHERE (CAST($1 AS TEXT) IS NULL OR e.kiosk_id = $1) ORDER BY e.received, e.kiosk_id, e.seq",
            p![kiosk],
        )
        .await?
        .iter()
        .map(|r| ResolvedConflict {
            conflict: conflict_row(r),
            resolved: r.s("resolved"),
            resolved_by: r.s("resolved_by"),
            note: r.s("note"),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_row_keeps_its_kind_even_one_this_build_does_not_know() {
        let cols = [
            "id", "kiosk_id", "seq", "kind", "patron", "item", "code", "message", "at", "received",
        ];
        let row = |kind: &str| {
            Row::new(
                cols.iter().map(|c| c.to_string()).collect(),
                vec![
                    Val::from(Uuid::nil().to_string()),
                    Val::from("K1"),
                    Val::from(7),
                    Val::from(kind),
                    Val::from("P1"),
                    Val::from("I1"),
                    Val::from("item_lost"),
                    Val::from("item I1 is recorded lost"),
                    Val::from("2026-03-01T10:00:00+08:00"),
                    Val::from("2026-03-01T02:00:01.000Z"),
                ],
            )
        };
        let c = conflict_row(&row("checkout"));
        assert_eq!((c.seq, c.kind.clone()), (7, EntryKind::Checkout));
        assert_eq!(
            (c.code.as_str(), c.recorded_at.as_str()),
            ("item_lost", "2026-03-01T02:00:01.000Z")
        );
        let odd = conflict_row(&row("teleport"));
        assert_eq!(odd.kind, EntryKind::Unknown("teleport".into()));
        assert_eq!(serde_json::to_value(&odd).unwrap()["kind"], "teleport");
    }
}
