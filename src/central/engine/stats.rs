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
    Ok(tally(f, t, &rows))
}

/// The figures from the applied loans, returns and renewals of a range
/// (one row each: `at, kind, kiosk_id, patron, decision, item_type,
/// title, category, location`). Pure: the bucketing rules live here.
pub(crate) fn tally(from: String, to: String, rows: &[Row]) -> Stats {
    let mut s = Stats {
        from,
        to,
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
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: [&str; 9] = [
        "at",
        "kind",
        "kiosk_id",
        "patron",
        "decision",
        "item_type",
        "title",
        "category",
        "location",
    ];

    fn row(v: [Option<&str>; 9]) -> Row {
        Row::new(
            COLS.iter().map(|c| c.to_string()).collect(),
            v.iter().map(|x| Val::from(*x)).collect(),
        )
    }

    #[test]
    fn loans_returns_and_renewals_are_bucketed_by_every_dimension() {
        let at1 = Some("2026-03-01T09:15:00+08:00");
        let at2 = Some("2026-03-02T14:05:00+08:00");
        let rows = [
            row([
                at1,
                Some("checkout"),
                Some("K1"),
                Some("P1"),
                Some("accepted"),
                Some("book"),
                Some("Alpha"),
                Some("adult"),
                Some("East"),
            ]),
            row([
                at1,
                Some("checkout"),
                Some("K1"),
                Some("P2"),
                Some("accepted"),
                Some("dvd"),
                Some("Alpha"),
                Some("child"),
                Some(""),
            ]),
            row([
                at2,
                Some("checkin"),
                Some("K2"),
                None,
                Some("accepted"),
                Some("book"),
                Some("Alpha"),
                Some("adult"),
                Some("East"),
            ]),
            row([
                at2,
                Some("renew"),
                Some("K2"),
                Some("P3"),
                Some("accepted"),
                Some("book"),
                Some("Beta"),
                Some("adult"),
                None,
            ]),
            row([
                at2,
                Some("checkout"),
                Some("K2"),
                Some("P4"),
                Some("refused"),
                Some("book"),
                Some("Beta"),
                Some("adult"),
                None,
            ]),
            row([
                at2,
                Some("checkout"),
                Some("K2"),
                Some("P1"),
                Some("accepted"),
                None,
                None,
                None,
                None,
            ]),
        ];
        let s = tally("2026-03-01".into(), "2026-03-02".into(), &rows);
        assert_eq!((s.loans, s.returns, s.renewals, s.refused), (3, 1, 1, 1));
        // P1 twice, P2, and P3 by renewing; P4 was refused.
        assert_eq!(s.active_readers, 3);
        let b = |key: &str, loans, returns| Bucket {
            key: key.into(),
            loans,
            returns,
        };
        assert_eq!(s.by_day, [b("2026-03-01", 2, 0), b("2026-03-02", 1, 1)]);
        assert_eq!(s.by_hour, [b("09", 2, 0), b("14", 1, 1)]);
        assert_eq!(s.by_kiosk, [b("K1", 2, 0), b("K2", 1, 1)]);
        assert_eq!(
            s.by_item_type,
            [b("book", 1, 1), b("dvd", 1, 0), b("unknown", 1, 0)]
        );
        assert_eq!(
            s.by_category,
            [b("adult", 1, 1), b("child", 1, 0), b("unknown", 1, 0)]
        );
        // An empty branch is no branch.
        assert_eq!(s.by_branch, [b("East", 1, 1), b("unknown", 2, 0)]);
        // Titles count loans only, most borrowed first.
        assert_eq!(s.top_titles, [b("Alpha", 2, 0), b("unknown", 1, 0)]);
    }

    #[test]
    fn the_csv_has_totals_first_then_each_dimension() {
        let s = Stats {
            from: "2026-03-01".into(),
            to: "2026-03-01".into(),
            loans: 2,
            returns: 1,
            renewals: 1,
            active_readers: 2,
            by_kiosk: vec![Bucket {
                key: "K1".into(),
                loans: 2,
                returns: 1,
            }],
            ..Stats::default()
        };
        let csv = s.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines,
            [
                "dimension,key,loans,returns",
                "total,all,2,1",
                "total,renewals,1,0",
                "total,refused,0,0",
                "total,active_readers,2,0",
                "kiosk,K1,2,1",
            ]
        );
    }
}
