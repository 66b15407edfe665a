//! Kiosks as the server sees them: heartbeats, clock offsets, the list
//! staff read.

use super::*;

pub(crate) async fn heartbeat<S: Sql>(
    tx: &mut S,
    hb: &Heartbeat,
    now: DateTime<Utc>,
) -> Result<HeartbeatAck> {
    let offset_ms = DateTime::parse_from_rfc3339(&hb.sent_at)
        .map(|t| (now - t.with_timezone(&Utc)).num_milliseconds())
        .map_err(|_| {
            CentralError::BadRequest(format!("sent_at {:?} is not RFC 3339", hb.sent_at))
        })?;
    let now_s = stamp(now);
    let body = serde_json::to_string(hb).map_err(|e| CentralError::Corrupt(e.to_string()))?;
    let n = tx
        .exec(
            "UPDATE kiosks SET heartbeat = $2, last_heartbeat = $3, clock_offset_ms = $4 WHERE kiosk_id = $1",
            p![&hb.kiosk_id, &body, &now_s, offset_ms],
        )
        .await?;
    if n == 0 {
        tx.exec(
            "INSERT INTO kiosks (kiosk_id, created, heartbeat, last_heartbeat, clock_offset_ms) VALUES ($1, $2, $3, $2, $4)",
            p![&hb.kiosk_id, &now_s, &body, offset_ms],
        )
        .await?;
    }
    Ok(HeartbeatAck {
        server_time: now_s,
        clock_offset_ms: offset_ms,
        max_seq: Some(max_seq(tx, &hb.kiosk_id).await?.unwrap_or(0)),
    })
}

/// A kiosk as staff see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KioskStatus {
    pub kiosk_id: String,
    pub last_seq: i64,
    pub clock_offset_ms: Option<i64>,
    pub last_push: Option<String>,
    pub last_heartbeat: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub heartbeat: Option<serde_json::Value>,
}

pub(crate) async fn kiosks<S: Sql>(tx: &mut S) -> Result<Vec<KioskStatus>> {
    Ok(tx
        .query(
            "SELECT kiosk_id, last_seq, clock_offset_ms, last_push, last_heartbeat, heartbeat FROM kiosks ORDER BY kiosk_id",
            p![],
        )
        .await?
        .iter()
        .map(|r| KioskStatus {
            kiosk_id: r.s("kiosk_id"),
            last_seq: r.i("last_seq"),
            clock_offset_ms: r.oi("clock_offset_ms"),
            last_push: r.os("last_push"),
            last_heartbeat: r.os("last_heartbeat"),
            heartbeat: r.os("heartbeat").and_then(|h| serde_json::from_str(&h).ok()),
        })
        .collect())
}

/// An entry is (kiosk, id): an id another kiosk's entry holds is refused
/// (400) before anything of the batch is applied, so that entry is never
/// read or rewritten as this kiosk's (UUIDv7 ids of two kiosks never meet
/// by chance).
pub(crate) async fn refuse_foreign_ids<S: Sql>(
    tx: &mut S,
    kiosk: &str,
    entries: &[Entry],
) -> Result<()> {
    tx.lock_writes().await?;
    for chunk in entries.chunks(SEEN_CHUNK) {
        let marks: Vec<String> = (2..=chunk.len() + 1).map(|i| format!("${i}")).collect();
        let mut params = vec![Val::from(kiosk)];
        params.extend(chunk.iter().map(|e| Val::from(e.id.to_string())));
        let sql = format!(
            "SELECT id, kiosk_id FROM entries WHERE kiosk_id <> $1 AND id IN ({})",
            marks.join(", ")
        );
        if let Some(r) = tx.query(&sql, &params).await?.first() {
            return Err(CentralError::BadRequest(format!(
                "entry {}: this id is another kiosk's entry; each kiosk makes its own ids",
                r.s("id")
            )));
        }
    }
    Ok(())
}
