//! The change feed: every record a kiosk caches gets a new, higher number
//! when it changes (written once per record at commit); `changes` pages
//! through them from a kiosk's cursor.

use super::*;

/// Records that a record changed; the feed is written once per record at
/// the end of the transaction (`flush_changes`), or when many are waiting
/// (a large import).
pub(crate) async fn changed<S: Sql>(
    tx: &mut S,
    entity: &str,
    key: &str,
    op: &'static str,
) -> Result<()> {
    tx.pending().add(entity, key, op);
    if tx.pending().len() >= FLUSH_AT {
        flush_changes(tx).await?;
    }
    Ok(())
}

/// Pending changes past which they are written before the commit.
pub(crate) const FLUSH_AT: usize = 20_000;
/// Keys per statement when writing the feed.
pub(crate) const FLUSH_ROWS: usize = 250;

/// Writes the changes recorded in this transaction to the feed: each
/// record's old row goes, a new one (a new, higher number) comes. Both
/// backends call it before every commit.
pub(crate) async fn flush_changes<S: Sql>(tx: &mut S) -> Result<()> {
    let rows = tx.pending().take();
    if rows.is_empty() {
        return Ok(());
    }
    let mut by_entity: Vec<(&str, Vec<&str>)> = vec![];
    for (entity, key, _) in &rows {
        match by_entity.iter_mut().find(|(e, _)| e == entity) {
            Some((_, keys)) => keys.push(key),
            None => by_entity.push((entity, vec![key])),
        }
    }
    for (entity, keys) in by_entity {
        for chunk in keys.chunks(FLUSH_ROWS) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "DELETE FROM changes WHERE entity = $1 AND key IN ({})",
                marks.join(", ")
            );
            let mut params = vec![Val::from(entity)];
            params.extend(chunk.iter().map(|k| Val::from(*k)));
            tx.exec(&sql, &params).await?;
        }
    }
    for chunk in rows.chunks(FLUSH_ROWS) {
        let marks: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO changes (entity, key, op) VALUES {}",
            marks.join(", ")
        );
        let params: Vec<Val> = chunk
            .iter()
            .flat_map(|(e, k, op)| [Val::from(e), Val::from(k), Val::from(*op)])
            .collect();
        tx.exec(&sql, &params).await?;
    }
    Ok(())
}

pub(crate) async fn changes<S: Sql>(tx: &mut S, cursor: &str, limit: u32) -> Result<ChangesPage> {
    let after: i64 = match cursor.trim() {
        "" => 0,
        c => c
            .parse()
            .map_err(|_| CentralError::BadRequest(format!("cursor {c:?} is not a number")))?,
    };
    let limit = limit.clamp(1, 5000) as i64;
    // This transaction's own changes first (none when only reading).
    flush_changes(tx).await?;
    // Readers, items and loans (nearly all of a first pull) come with
    // their change in one query; the rarer kinds are read one by one.
    let rows = tx
        .query(
            &format!(
                "SELECT c.seq, c.entity, c.key, c.op, {}, {},
                   l.item AS l_item, l.patron AS l_patron, l.checked_out AS l_checked_out,
                   l.due AS l_due, l.renewals AS l_renewals,
                   (SELECT pl.language FROM patron_languages pl WHERE pl.barcode = p.barcode)
                     AS p_language
                 FROM changes c
                 LEFT JOIN patrons p ON c.entity = 'patron' AND c.op = 'upsert' AND p.barcode = c.key
                 LEFT JOIN items i ON c.entity = 'item' AND c.op = 'upsert' AND i.barcode = c.key
                 LEFT JOIN loans l ON c.entity = 'loan' AND c.op = 'upsert' AND l.item = c.key
                   AND l.returned IS NULL
                 WHERE c.seq > $1 ORDER BY c.seq LIMIT $2",
                prefixed("p", PATRON_COLS),
                prefixed("i", ITEM_COLS),
            ),
            p![after, limit],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut last = after;
    for r in rows {
        last = r.i("seq");
        let (entity, key, op) = (r.s("entity"), r.s("key"), r.s("op"));
        let record = match (op.as_str(), entity.as_str()) {
            ("upsert", "patron") => r.os("p_barcode").map(|_| {
                Record::Patron(PatronRecord {
                    language: r.os("p_language"),
                    ..patron_row(&r.prefixed("p_"))
                })
            }),
            ("upsert", "item") => r
                .os("i_barcode")
                .map(|_| Record::Item(item_row(&r.prefixed("i_")))),
            ("upsert", "loan") => r
                .os("l_item")
                .map(|_| Record::Loan(loan_row(&r.prefixed("l_")))),
            ("upsert", _) => record(tx, &entity, &key).await?,
            _ => None,
        };
        out.push(match record {
            Some(record) => Change::Upsert { record },
            None => Change::Delete { entity, key },
        });
    }
    // Counting what follows reads every row after the cursor, once per
    // page: a first pull of a million records spent most of its time
    // there. The numbers after the cursor up to the highest are an upper
    // bound (a renumbered record leaves a gap), exact for a fresh import,
    // and `more` stays exact.
    let remaining = match tx
        .query_opt(
            "SELECT seq FROM changes WHERE seq > $1 ORDER BY seq LIMIT 1",
            p![last],
        )
        .await?
    {
        None => 0,
        Some(_) => {
            let max = tx
                .query_one("SELECT max(seq) AS max_seq FROM changes", p![])
                .await?
                .i("max_seq");
            (max - last).max(1) as u64
        }
    };
    Ok(ChangesPage {
        changes: out,
        cursor: last.to_string(),
        more: remaining > 0,
        remaining: Some(remaining),
    })
}

/// `a, b` → `x.a AS x_a, x.b AS x_b`: one table's columns in a join,
/// read back with `Row::prefixed("x_")`.
pub(crate) fn prefixed(table: &str, cols: &str) -> String {
    cols.split(',')
        .map(|c| format!("{table}.{0} AS {table}_{0}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The current state of a record of the rarer kinds (readers, items and
/// loans come joined with the feed in `changes`).
pub(crate) async fn record<S: Sql>(tx: &mut S, entity: &str, key: &str) -> Result<Option<Record>> {
    Ok(match entity {
        "hold" => match key.parse::<i64>() {
            Ok(id) => hold(tx, id).await?.map(Record::Hold),
            Err(_) => None,
        },
        "policy" => {
            let (c, t) = key.split_once('|').unwrap_or((key, ""));
            tx.query_opt(
                "SELECT rule FROM policies WHERE category = $1 AND item_type = $2",
                p![c, t],
            )
            .await?
            .and_then(|r| serde_json::from_str(&r.s("rule")).ok())
            .map(Record::Policy)
        }
        "closed_day" => tx
            .query_opt("SELECT day FROM closed_days WHERE day = $1", p![key])
            .await?
            .map(|r| Record::ClosedDay { day: r.s("day") }),
        "resolution" => resolution(tx, key).await?.map(Record::Resolution),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joined_table_is_aliased_by_its_prefix() {
        assert_eq!(
            prefixed("p", "barcode, name"),
            "p.barcode AS p_barcode, p.name AS p_name"
        );
    }
}
