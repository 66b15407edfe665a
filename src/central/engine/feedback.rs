//! Reader feedback (anonymous: no card numbers), as JSON and as CSV.

use super::*;

/// One piece of reader feedback (anonymous: no card number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedbackRecord {
    pub id: String,
    pub kiosk_id: String,
    pub at: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

pub(crate) async fn feedback<S: Sql>(
    tx: &mut S,
    from: &str,
    to: &str,
) -> Result<Vec<FeedbackRecord>> {
    Ok(tx
        .query(
            "SELECT id, kiosk_id, at, detail FROM entries WHERE kind = 'feedback'
             AND substr(at, 1, 10) >= $1 AND substr(at, 1, 10) <= $2 ORDER BY at",
            p![from, to],
        )
        .await?
        .iter()
        .map(|r| FeedbackRecord {
            id: r.s("id"),
            kiosk_id: r.s("kiosk_id"),
            at: r.s("at"),
            detail: serde_json::from_str(&r.s("detail")).unwrap_or(json!({})),
        })
        .collect())
}

/// Feedback as CSV: `id,kiosk_id,at,rating,topics,comment` (topics joined
/// with `;`), for a spreadsheet. No card numbers, as in the JSON.
pub fn feedback_csv(rows: &[FeedbackRecord]) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    let _ = w.write_record(["id", "kiosk_id", "at", "rating", "topics", "comment"]);
    for f in rows {
        let d = &f.detail;
        let rating = d["rating"]
            .as_i64()
            .map(|r| r.to_string())
            .unwrap_or_default();
        let topics = d["topics"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default();
        let comment = d["comment"].as_str().unwrap_or_default();
        let _ = w.write_record([&f.id, &f.kiosk_id, &f.at, &rating, &topics, comment]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_csv_joins_topics_and_quotes_comments() {
        let rows = [
            FeedbackRecord {
                id: "e1".into(),
                kiosk_id: "K1".into(),
                at: "2026-03-01T10:00:00+08:00".into(),
                detail: json!({"rating": 4, "topics": ["speed", "screen"], "comment": "quick, clear"}),
            },
            FeedbackRecord {
                id: "e2".into(),
                kiosk_id: "K2".into(),
                at: "2026-03-02T10:00:00+08:00".into(),
                detail: json!({}),
            },
        ];
        assert_eq!(
            feedback_csv(&rows),
            "id,kiosk_id,at,rating,topics,comment\n\
             e1,K1,2026-03-01T10:00:00+08:00,4,speed;screen,\"quick, clear\"\n\
             e2,K2,2026-03-02T10:00:00+08:00,,,\n"
        );
    }
}
