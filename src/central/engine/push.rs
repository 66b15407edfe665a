//! Applying pushed journal entries: at most once each (by id), in seq
//! order per kiosk, held for a gap and applied when it fills, conflicts
//! recorded for staff.

use super::*;

/// The entry's time on the server's clock, in the kiosk's local time.
pub(crate) fn entry_time(
    e: &Entry,
    offset_ms: i64,
) -> Result<(DateTime<FixedOffset>, NaiveDateTime)> {
    let at = DateTime::parse_from_rfc3339(&e.at).map_err(|_| {
        CentralError::BadRequest(format!("entry {}: at {:?} is not RFC 3339", e.id, e.at))
    })?;
    let corrected = at + Duration::milliseconds(offset_ms);
    Ok((at, corrected.naive_local()))
}

pub(crate) async fn push<S: Sql>(
    tx: &mut S,
    base: &Settings,
    req: &PushRequest,
    now: DateTime<Utc>,
) -> Result<PushResponse> {
    tx.lock_writes().await?;
    let sent = DateTime::parse_from_rfc3339(&req.sent_at).map_err(|_| {
        CentralError::BadRequest(format!("sent_at {:?} is not RFC 3339", req.sent_at))
    })?;
    for e in &req.entries {
        if e.kiosk_id != req.kiosk_id {
            return Err(CentralError::BadRequest(format!(
                "entry {} belongs to kiosk {:?}, the batch to {:?}",
                e.id, e.kiosk_id, req.kiosk_id
            )));
        }
        DateTime::parse_from_rfc3339(&e.at).map_err(|_| {
            CentralError::BadRequest(format!("entry {}: at {:?} is not RFC 3339", e.id, e.at))
        })?;
    }
    let offset_ms = (now - sent.with_timezone(&Utc)).num_milliseconds();
    let now_s = stamp(now);
    let kiosk = &req.kiosk_id;
    let mut last_seq = match tx
        .query_opt("SELECT last_seq FROM kiosks WHERE kiosk_id = $1", p![kiosk])
        .await?
    {
        Some(r) => r.i("last_seq"),
        None => {
            tx.exec(
                "INSERT INTO kiosks (kiosk_id, created) VALUES ($1, $2)",
                p![kiosk, &now_s],
            )
            .await?;
            0
        }
    };
    tx.exec(
        "UPDATE kiosks SET clock_offset_ms = $2, last_push = $3 WHERE kiosk_id = $1",
        p![kiosk, offset_ms, &now_s],
    )
    .await?;
    let (table, settings) = rules(tx, base).await?;
    let mut order: Vec<usize> = (0..req.entries.len()).collect();
    order.sort_by_key(|&i| req.entries[i].seq);
    let mut results: Vec<Option<EntryResult>> = vec![None; req.entries.len()];
    let ctx = Replay {
        table: &table,
        settings: &settings,
        offset_ms,
        now: &now_s,
    };
    // What the database already holds for this batch, read once: entries
    // seen before (by id), the seqs taken, and the first entry recorded
    // ahead of the kiosk's last applied seq (decided online, or held for a
    // gap), which `catch_up` steps over when the seqs before it arrive.
    let mut seen = seen_entries(tx, &req.entries).await?;
    let (lo, hi) = (
        req.entries.iter().map(|e| e.seq).min().unwrap_or(0),
        req.entries.iter().map(|e| e.seq).max().unwrap_or(0),
    );
    let mut taken: HashSet<i64> = tx
        .query(
            "SELECT seq FROM entries WHERE kiosk_id = $1 AND seq >= $2 AND seq <= $3",
            p![kiosk, lo, hi],
        )
        .await?
        .iter()
        .map(|r| r.i("seq"))
        .collect();
    let mut ahead = recorded_after(tx, kiosk, last_seq).await?;
    for idx in order {
        let e = &req.entries[idx];
        let answer = |status, c: Option<(String, String)>| EntryResult {
            id: e.id,
            status,
            code: c.as_ref().map(|c| c.0.clone()),
            message: c.map(|c| c.1),
        };
        if let Some(r) = seen.get(&e.id).cloned() {
            let Seen {
                mut status,
                mut code,
                mut message,
                decision,
                reason,
                via,
            } = r;
            // The kiosk asked online, the answer came too late, and it
            // decided offline under the same id: if the reader was told
            // otherwise than the server decided, staff must know.
            if status == "applied" && via == "decide" && e.decision != decision {
                (status, code) = ("conflict".into(), "decision_mismatch".into());
                message = format!(
                    "the server decided {decision}{} online; the kiosk told the reader {}{} offline",
                    reason.map(|x| format!(" ({x})")).unwrap_or_default(),
                    e.decision,
                    e.reason
                        .as_ref()
                        .map(|x| format!(" ({x})"))
                        .unwrap_or_default(),
                );
                // No longer counted in the stats report's figures.
                count_entry(tx, &e.id.to_string(), -1).await?;
                tx.exec(
                    "UPDATE entries SET status = $2, code = $3, message = $4 WHERE id = $1",
                    p![e.id.to_string(), &status, &code, &message],
                )
                .await?;
                tracing::info!(entry_id = %e.id, kiosk = %kiosk, seq = e.seq, code = %code, "push conflict");
            }
            results[idx] = Some(match status.as_str() {
                "applied" => answer(EntryStatus::Duplicate, None),
                _ => answer(EntryStatus::Conflict, Some((code.clone(), message.clone()))),
            });
            seen.insert(
                e.id,
                Seen {
                    status,
                    code,
                    message,
                    decision: e.decision.clone(),
                    reason: e.reason.clone(),
                    via: via.clone(),
                },
            );
            // Decided online before the kiosk's earlier entries arrived.
            if via == "decide" && e.seq == last_seq + 1 {
                last_seq = catch_up(tx, &ctx, kiosk, e.seq).await?;
                ahead = recorded_after(tx, kiosk, last_seq).await?;
                reread_held(tx, &req.entries, &mut seen).await?;
            }
            continue;
        }
        let (status, c) = if e.seq <= last_seq || taken.contains(&e.seq) {
            let c = (
                "sequence_reused".to_string(),
                format!(
                    "seq {} was already used by another entry of kiosk {kiosk}",
                    e.seq
                ),
            );
            record_entry(tx, e, "conflict", Some(c.clone()), "push", &now_s).await?;
            ("conflict", Some(c))
        } else if e.seq > last_seq + 1 {
            // Held, never dropped: applied as soon as the gap fills.
            let c = (
                "sequence_gap".to_string(),
                format!(
                    "seq {} is held until seq {} arrives, then applied",
                    e.seq,
                    last_seq + 1
                ),
            );
            record_entry(tx, e, "waiting", Some(c.clone()), "push", &now_s).await?;
            ahead = Some(ahead.map_or(e.seq, |a| a.min(e.seq)));
            taken.insert(e.seq);
            ("waiting", Some(c))
        } else {
            let c = apply_entry(tx, &ctx, e).await?;
            record_entry(tx, e, status_of(&c), c.clone(), "push", &now_s).await?;
            taken.insert(e.seq);
            last_seq = e.seq;
            if ahead == Some(last_seq + 1) {
                last_seq = catch_up(tx, &ctx, kiosk, e.seq).await?;
                ahead = recorded_after(tx, kiosk, last_seq).await?;
                reread_held(tx, &req.entries, &mut seen).await?;
            }
            (status_of(&c), c)
        };
        if let Some(c) = &c {
            tracing::info!(entry_id = %e.id, kiosk = %kiosk, seq = e.seq, code = %c.0, "push conflict");
        }
        // The same id twice in one batch is answered as a duplicate.
        seen.insert(
            e.id,
            Seen {
                status: status.to_string(),
                code: c.as_ref().map(|c| c.0.clone()).unwrap_or_default(),
                message: c.as_ref().map(|c| c.1.clone()).unwrap_or_default(),
                decision: e.decision.clone(),
                reason: e.reason.clone(),
                via: "push".into(),
            },
        );
        results[idx] = Some(match c {
            None => answer(EntryStatus::Applied, None),
            Some(c) => answer(EntryStatus::Conflict, Some(c)),
        });
    }
    tx.exec(
        "UPDATE kiosks SET last_seq = $2 WHERE kiosk_id = $1",
        p![kiosk, last_seq],
    )
    .await?;
    Ok(PushResponse {
        results: results
            .into_iter()
            .map(|r| r.expect("every entry answered"))
            .collect(),
        server_time: now_s,
        clock_offset_ms: offset_ms,
    })
}

/// An entry the server recorded before.
#[derive(Clone)]
pub(crate) struct Seen {
    pub(crate) status: String,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) decision: String,
    pub(crate) reason: Option<String>,
    pub(crate) via: String,
}

/// Ids per query when looking up a batch's entries.
pub(crate) const SEEN_CHUNK: usize = 500;

/// The entries of a batch the server has recorded already, by id.
pub(crate) async fn seen_entries<S: Sql>(
    tx: &mut S,
    entries: &[Entry],
) -> Result<HashMap<Uuid, Seen>> {
    let mut out = HashMap::new();
    for chunk in entries.chunks(SEEN_CHUNK) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let params: Vec<Val> = chunk.iter().map(|e| Val::from(e.id.to_string())).collect();
        for r in tx
            .query(
                &format!(
                    "SELECT id, status, code, message, decision, reason, via FROM entries
                     WHERE id IN ({})",
                    marks.join(", ")
                ),
                &params,
            )
            .await?
        {
            let Ok(id) = r.s("id").parse::<Uuid>() else {
                continue;
            };
            out.insert(
                id,
                Seen {
                    status: r.s("status"),
                    code: r.s("code"),
                    message: r.s("message"),
                    decision: r.s("decision"),
                    reason: r.os("reason"),
                    via: r.s("via"),
                },
            );
        }
    }
    Ok(out)
}

/// After `catch_up` applied held entries: what the batch's held entries
/// are now (a held entry sent again in the same batch is a duplicate).
pub(crate) async fn reread_held<S: Sql>(
    tx: &mut S,
    entries: &[Entry],
    seen: &mut HashMap<Uuid, Seen>,
) -> Result<()> {
    let held: Vec<Entry> = entries
        .iter()
        .filter(|e| seen.get(&e.id).is_some_and(|s| s.status == "waiting"))
        .cloned()
        .collect();
    if !held.is_empty() {
        seen.extend(seen_entries(tx, &held).await?);
    }
    Ok(())
}

/// The lowest seq of this kiosk recorded after `last` (and not a reused
/// one), if any.
pub(crate) async fn recorded_after<S: Sql>(
    tx: &mut S,
    kiosk: &str,
    last: i64,
) -> Result<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT min(seq) AS first FROM entries WHERE kiosk_id = $1 AND seq > $2
               AND (code IS NULL OR code <> 'sequence_reused')",
            p![kiosk, last],
        )
        .await?
        .and_then(|r| r.oi("first")))
}

/// The highest seq the server holds for `kiosk` (applied, decided online
/// or held for a gap; not entries refused as `sequence_reused`), if any:
/// a kiosk with a new database carries on after it.
pub(crate) async fn max_seq<S: Sql>(tx: &mut S, kiosk: &str) -> Result<Option<i64>> {
    let held = tx
        .query_opt(
            "SELECT max(seq) AS top FROM entries WHERE kiosk_id = $1
               AND (code IS NULL OR code <> 'sequence_reused')",
            p![kiosk],
        )
        .await?
        .and_then(|r| r.oi("top"));
    let applied = tx
        .query_opt("SELECT last_seq FROM kiosks WHERE kiosk_id = $1", p![kiosk])
        .await?
        .map(|r| r.i("last_seq"));
    Ok(match (held, applied) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).max(b.unwrap_or(0))),
    })
}

/// What replaying an entry needs besides the entry.
pub(crate) struct Replay<'a> {
    pub(crate) table: &'a PolicyTable,
    pub(crate) settings: &'a Settings,
    pub(crate) offset_ms: i64,
    pub(crate) now: &'a str,
}

pub(crate) fn status_of(c: &Option<(String, String)>) -> &'static str {
    if c.is_some() {
        "conflict"
    } else {
        "applied"
    }
}

/// Applies one in-order entry; `Some((code, message))` for a conflict.
pub(crate) async fn apply_entry<S: Sql>(
    tx: &mut S,
    ctx: &Replay<'_>,
    e: &Entry,
) -> Result<Option<(String, String)>> {
    if e.decision != "accepted" {
        return Ok(None);
    }
    let (_, local) = entry_time(e, ctx.offset_ms)?;
    let c = replay(tx, ctx.table, ctx.settings, e, local)
        .await?
        .err()
        .map(|c| (c.code.to_string(), c.message));
    if c.is_some() {
        refeed(tx, e).await?;
    }
    Ok(c)
}

/// After a conflict the kiosk's cache still shows the kiosk's own
/// decision (a loan the server did not make, a return it did not record,
/// a due date it did not extend), and nothing in the feed would correct
/// it when the server's records did not change. The item, its loan and
/// the reader get new change numbers, so the pull that follows the
/// kiosk's push brings the server's view of each.
pub(crate) async fn refeed<S: Sql>(tx: &mut S, e: &Entry) -> Result<()> {
    if !e.kind.is_circulation() {
        return Ok(());
    }
    if let Some(code) = e.item.as_deref() {
        if let Some((item, _)) = item_with_key(tx, code).await? {
            changed(tx, "item", &item.barcode, "upsert").await?;
            let op = match current_loan(tx, &item.barcode).await? {
                Some(_) => "upsert",
                None => "delete",
            };
            changed(tx, "loan", &item.barcode, op).await?;
        }
    }
    if let Some(code) = e.patron.as_deref() {
        if let Some(reader) = patron(tx, code).await? {
            changed(tx, "patron", &reader.barcode, "upsert").await?;
        }
    }
    Ok(())
}

/// From `last` (just applied), moves over the seqs that follow: entries
/// decided online (already applied) and entries held for a gap (applied
/// now). Returns the new highest contiguous seq.
pub(crate) async fn catch_up<S: Sql>(
    tx: &mut S,
    ctx: &Replay<'_>,
    kiosk: &str,
    mut last: i64,
) -> Result<i64> {
    loop {
        let Some(r) = tx
            .query_opt(
                "SELECT id, kiosk_id, seq, at, kind, patron, item, decision, reason, due, detail,
                   offline, status FROM entries WHERE kiosk_id = $1 AND seq = $2
                   AND (code IS NULL OR code <> 'sequence_reused')",
                p![kiosk, last + 1],
            )
            .await?
        else {
            return Ok(last);
        };
        // Applied (decided online) or a conflict already recorded: step
        // over it. Held for a gap: apply it now.
        if r.s("status") == "waiting" {
            let e = Entry {
                id: r.s("id").parse().unwrap_or_default(),
                kiosk_id: r.s("kiosk_id"),
                seq: r.i("seq"),
                at: r.s("at"),
                kind: EntryKind::parse(&r.s("kind")),
                patron: r.os("patron"),
                item: r.os("item"),
                decision: r.s("decision"),
                reason: r.os("reason"),
                due: r.os("due"),
                detail: serde_json::from_str(&r.s("detail")).unwrap_or(json!({})),
                offline: r.i("offline") != 0,
            };
            let c = apply_entry(tx, ctx, &e).await?;
            let (code, message) = c.clone().unzip();
            tx.exec(
                    "UPDATE entries SET status = $2, code = $3, message = $4, received = $5 WHERE id = $1",
                    p![r.s("id"), status_of(&c), code, message, ctx.now],
                )
                .await?;
            count_entry(tx, &r.s("id"), 1).await?;
            tracing::info!(entry_id = %e.id, kiosk = %kiosk, seq = e.seq, "held entry applied");
        }
        last += 1;
    }
}

pub(crate) async fn record_entry<S: Sql>(
    tx: &mut S,
    e: &Entry,
    status: &str,
    c: Option<(String, String)>,
    via: &str,
    now: &str,
) -> Result<()> {
    let (code, message) = c.unzip();
    tx.exec(
        "INSERT INTO entries (id, kiosk_id, seq, at, kind, patron, item, decision, reason, due,
           detail, offline, status, code, message, via, received)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17)",
        p![
            e.id.to_string(),
            &e.kiosk_id,
            e.seq,
            &e.at,
            e.kind.as_str(),
            &e.patron,
            &e.item,
            &e.decision,
            &e.reason,
            &e.due,
            e.detail.to_string(),
            e.offline,
            status,
            code,
            message,
            via,
            now
        ],
    )
    .await?;
    // The stats report's figures (after the entry's effects: a return
    // finds the loan it closed).
    if status == "applied" {
        count_entry(tx, &e.id.to_string(), 1).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: &str) -> Entry {
        Entry {
            id: Uuid::nil(),
            kiosk_id: "K1".into(),
            seq: 1,
            at: at.into(),
            kind: EntryKind::Checkout,
            patron: None,
            item: None,
            decision: "accepted".into(),
            reason: None,
            due: None,
            detail: json!({}),
            offline: true,
        }
    }

    #[test]
    fn an_entry_time_is_moved_by_the_kiosk_clock_offset_in_its_own_zone() {
        let (at, local) = entry_time(&entry("2026-03-01T23:59:30+08:00"), 45_000).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-03-01T23:59:30+08:00");
        // 45 s late on the kiosk's clock: the server's view is the next
        // day, still in the kiosk's local time (not UTC).
        assert_eq!(local.to_string(), "2026-03-02 00:00:15");
        let (_, local) = entry_time(&entry("2026-03-01T10:00:00-05:00"), -1_500).unwrap();
        assert_eq!(local.to_string(), "2026-03-01 09:59:58.500");
    }

    #[test]
    fn an_entry_time_that_is_not_rfc3339_is_a_bad_request() {
        for at in ["2026-03-01 10:00", "yesterday", ""] {
            match entry_time(&entry(at), 0) {
                Err(CentralError::BadRequest(m)) => assert!(m.contains("not RFC 3339"), "{m}"),
                other => panic!("{at:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn standing_refusals_are_the_readers_own() {
        assert!(is_standing(&Refusal::PatronBlocked { reason: "x".into() }));
        assert!(is_standing(&Refusal::TooManyOverdue {
            overdue: 1,
            limit: 0
        }));
        assert!(!is_standing(&Refusal::ItemOnLoanToAnother));
        assert!(!is_standing(&Refusal::MaxLoansReached { max: 3 }));
        assert_eq!(status_of(&None), "applied");
        assert_eq!(status_of(&Some(("c".into(), "m".into()))), "conflict");
    }
}
