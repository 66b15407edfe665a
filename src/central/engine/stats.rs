//! Circulation statistics over a date range, bucketed by day, hour,
//! kiosk, item type, reader category, branch and title.

use super::*;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Bucket {
    pub key: String,
    pub loans: u64,
    pub returns: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub loans: u64,
    pub returns: u64,
    pub renewals: u64,
    pub refused: u64,
    pub by_day: Vec<Bucket>,
    pub by_hour: Vec<Bucket>,
    pub by_kiosk: Vec<Bucket>,
    pub by_item_type: Vec<Bucket>,
    pub by_category: Vec<Bucket>,
    /// Most borrowed titles, `loans` only.
    pub top_titles: Vec<Bucket>,
    /// Distinct readers who borrowed or renewed.
    pub active_readers: u64,
    /// By the item's branch (its `location`).
    #[serde(default)]
    pub by_branch: Vec<Bucket>,
}

impl Stats {
    /// `dimension,key,loans,returns` rows, totals first.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(vec![]);
        let _ = w.write_record(["dimension", "key", "loans", "returns"]);
        let total = |w: &mut csv::Writer<Vec<u8>>, k: &str, l: u64, r: u64| {
            let _ = w.write_record(["total", k, &l.to_string(), &r.to_string()]);
        };
        total(&mut w, "all", self.loans, self.returns);
        total(&mut w, "renewals", self.renewals, 0);
        total(&mut w, "refused", self.refused, 0);
        total(&mut w, "active_readers", self.active_readers, 0);
        for (dim, buckets) in [
            ("day", &self.by_day),
            ("hour", &self.by_hour),
            ("kiosk", &self.by_kiosk),
            ("item_type", &self.by_item_type),
            ("category", &self.by_category),
            ("branch", &self.by_branch),
            ("title", &self.top_titles),
        ] {
            for b in buckets {
                let _ = w.write_record([dim, &b.key, &b.loans.to_string(), &b.returns.to_string()]);
            }
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

pub(crate) async fn stats<S: Sql>(tx: &mut S, from: NaiveDate, to: NaiveDate) -> Result<Stats> {
    let (f, t) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let rows = tx
        .query(
            "SELECT e.at, e.kind, e.kiosk_id, e.patron, e.decision, i.item_type, i.title,
                    COALESCE(p.category, rp.category) AS category, i.location
             FROM entries e LEFT JOIN items i ON i.barcode = e.item
             LEFT JOIN patrons p ON p.barcode = e.patron
             -- A return names no reader: its category is the borrower's.
             LEFT JOIN loans rl ON e.kind = 'checkin' AND rl.item = e.item AND rl.returned = e.at
             LEFT JOIN patrons rp ON rp.barcode = rl.patron
             WHERE e.status = 'applied' AND e.kind IN ('checkout','checkin','renew')
             AND substr(e.at, 1, 10) >= $1 AND substr(e.at, 1, 10) <= $2",
            p![&f, &t],
        )
        .await?;
    let mut s = Stats {
        from: f,
        to: t,
        ..Stats::default()
    };
    type Map = BTreeMap<String, (u64, u64)>;
    let (mut day, mut hour, mut kiosk, mut ty, mut cat, mut title): (Map, Map, Map, Map, Map, Map) =
        Default::default();
    let mut branch = Map::new();
    let mut readers = BTreeSet::new();
    for r in rows {
        let (at, kind, accepted) = (r.s("at"), r.s("kind"), r.s("decision") == "accepted");
        if !accepted {
            s.refused += 1;
            continue;
        }
        let (l, ret) = match EntryKind::parse(&kind) {
            EntryKind::Checkout => (1, 0),
            EntryKind::Checkin => (0, 1),
            _ => {
                s.renewals += 1;
                if let Some(p) = r.os("patron") {
                    readers.insert(p);
                }
                continue;
            }
        };
        s.loans += l;
        s.returns += ret;
        if l == 1 {
            if let Some(p) = r.os("patron") {
                readers.insert(p);
            }
        }
        let add = |m: &mut Map, k: String| {
            let e = m.entry(k).or_default();
            e.0 += l;
            e.1 += ret;
        };
        add(&mut day, at.get(0..10).unwrap_or("").to_string());
        add(&mut hour, at.get(11..13).unwrap_or("").to_string());
        add(&mut kiosk, r.s("kiosk_id"));
        add(
            &mut ty,
            r.os("item_type").unwrap_or_else(|| "unknown".into()),
        );
        add(
            &mut cat,
            r.os("category").unwrap_or_else(|| "unknown".into()),
        );
        add(
            &mut branch,
            r.os("location")
                .filter(|b| !b.is_empty())
                .unwrap_or_else(|| "unknown".into()),
        );
        if l == 1 {
            add(
                &mut title,
                r.os("title").unwrap_or_else(|| "unknown".into()),
            );
        }
    }
    let buckets = |m: Map| {
        m.into_iter()
            .map(|(key, (loans, returns))| Bucket {
                key,
                loans,
                returns,
            })
            .collect::<Vec<_>>()
    };
    s.by_day = buckets(day);
    s.by_hour = buckets(hour);
    s.by_kiosk = buckets(kiosk);
    s.by_item_type = buckets(ty);
    s.by_category = buckets(cat);
    s.by_branch = buckets(branch);
    let mut top = buckets(title);
    top.sort_by(|a, b| b.loans.cmp(&a.loans).then(a.key.cmp(&b.key)));
    top.truncate(20);
    s.top_titles = top;
    s.active_readers = readers.len() as u64;
    Ok(s)
}
