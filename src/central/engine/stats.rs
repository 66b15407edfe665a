//! Circulation statistics over a date range, bucketed by day, hour,
//! kiosk, item type, reader category, branch and title.
//!
//! The figures are kept as entries are applied ([`count_entry`]): per day
//! and dimension (`stats_days`), readers per day (`stats_readers`), and
//! since schema 8 each title's loans over all time (`stats_titles`) and
//! every reader ever counted (`stats_patrons`). A report reads:
//! - every dimension but titles from its few rows per day (a partial
//!   index leaves the titles out): some 25 rows a day, 18 000 for two
//!   years;
//! - the top titles ([`top_titles`]): a short range sums its title rows;
//!   a longer one ranks by the threshold argument over the all-time
//!   counts, reading each candidate's exact count in the range, so a
//!   two-year range where every loan is a different title (1.37 M title
//!   rows) reads about twenty titles; it falls back to the sum when the
//!   bound cannot prove the answer within a fixed number of titles;
//! - active readers ([`active_readers`]): distinct readers of the range's
//!   rows, or one index lookup per reader ever counted, whichever is less.
//!
//! Monthly roll-ups were weighed and left out: where every loan is a
//! different title (or reader) a month has as many rows as its days, so
//! they only move the cost. Every path gives exactly what the
//! straightforward computation over the entries gives ([`stats_scan`],
//! the randomized tests in sqlite.rs and tests/central_stats.rs).

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
        // Keys are titles, kiosk ids, categories: formula-leading ones
        // are written as text.
        let mut w = crate::csvfmt::SafeWriter::from_writer(vec![]);
        let _ = w.write_record(["dimension", "key", "loans", "returns"]);
        let total = |w: &mut crate::csvfmt::SafeWriter<Vec<u8>>, k: &str, l: u64, r: u64| {
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

/// The applied loans, returns and renewals, one row each, with what the
/// report buckets them by (`at, kind, kiosk_id, patron, decision,
/// item_type, title, category, location`): the straightforward
/// computation, kept for one entry as it is applied and as the reference
/// the kept figures are tested against.
const FACTS: &str = "SELECT e.at, e.kind, e.kiosk_id, e.patron, e.decision, i.item_type, i.title,
        COALESCE(p.category, rp.category) AS category, i.location
     FROM entries e LEFT JOIN items i ON i.barcode = e.item
     LEFT JOIN patrons p ON p.barcode = e.patron
     -- A return names no reader: its category is the borrower's.
     LEFT JOIN loans rl ON e.kind = 'checkin' AND rl.item = e.item AND rl.returned = e.at
     LEFT JOIN patrons rp ON rp.barcode = rl.patron
     WHERE e.status = 'applied' AND e.kind IN ('checkout','checkin','renew')";

/// The report over a range, from the figures kept per day: every
/// dimension but titles from their few rows per day, then
/// [`top_titles`] and [`active_readers`].
pub(crate) async fn stats<S: Sql>(tx: &mut S, from: NaiveDate, to: NaiveDate) -> Result<Stats> {
    stats_by(tx, from, to, Plan::default()).await
}

/// Which way the report reads titles and readers: [`Plan::default`] picks
/// by the range's size; the tests force each way, since every way must
/// give the same report.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Title rows a range may have and be summed (above: the bound first).
    pub summed_rows: i64,
    /// Titles the bounded search may read before it falls back to the sum.
    pub bounded_reads: usize,
    /// Titles in its first read (four times more in each next one).
    pub first_batch: usize,
    /// `Some(true)`: readers by one lookup each; `Some(false)`: the
    /// range's rows counted distinct; `None`: whichever is less work.
    pub readers_by_lookup: Option<bool>,
}

impl Default for Plan {
    fn default() -> Plan {
        Plan {
            summed_rows: SUMMED_ROWS,
            bounded_reads: BOUNDED_READS,
            first_batch: 64,
            readers_by_lookup: None,
        }
    }
}

/// [`stats`] read the way `plan` says (the tests' entry).
#[doc(hidden)]
pub async fn stats_by<S: Sql>(
    tx: &mut S,
    from: NaiveDate,
    to: NaiveDate,
    plan: Plan,
) -> Result<Stats> {
    let (f, t) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let mut s = Stats {
        from: f.clone(),
        to: t.clone(),
        ..Stats::default()
    };
    // `dim <> 'title'`: the partial index of these rows (schema 8).
    let rows = tx
        .query(
            "SELECT CASE WHEN dim = 'all' THEN day ELSE '' END AS d, dim, key,
                    CAST(SUM(n_loans) AS BIGINT) AS l, CAST(SUM(n_returns) AS BIGINT) AS r
             FROM stats_days WHERE day >= $1 AND day <= $2 AND dim <> 'title'
             GROUP BY CASE WHEN dim = 'all' THEN day ELSE '' END, dim, key",
            p![&f, &t],
        )
        .await?;
    type Map = BTreeMap<String, (u64, u64)>;
    let mut dims: HashMap<String, Map> = HashMap::new();
    for r in &rows {
        let (l, ret) = (r.i("l").max(0) as u64, r.i("r").max(0) as u64);
        if l == 0 && ret == 0 {
            continue;
        }
        let dim = r.s("dim");
        match dim.as_str() {
            "all" => {
                s.loans += l;
                s.returns += ret;
                dims.entry("day".into())
                    .or_default()
                    .insert(r.s("d"), (l, ret));
            }
            "renewals" => s.renewals += l,
            "refused" => s.refused += l,
            _ => {
                let e = dims.entry(dim).or_default().entry(r.s("key")).or_default();
                e.0 += l;
                e.1 += ret;
            }
        }
    }
    let mut take = |dim: &str| {
        dims.remove(dim)
            .unwrap_or_default()
            .into_iter()
            .map(|(key, (loans, returns))| Bucket {
                key,
                loans,
                returns,
            })
            .collect::<Vec<_>>()
    };
    s.by_day = take("day");
    s.by_hour = take("hour");
    s.by_kiosk = take("kiosk");
    s.by_item_type = take("item_type");
    s.by_category = take("category");
    s.by_branch = take("branch");
    s.top_titles = top_titles(tx, &f, &t, plan).await?;
    s.active_readers = active_readers(tx, &f, &t, plan).await?;
    Ok(s)
}

/// How many titles the report ranks.
const TOP: usize = 20;

/// Title rows (one per title and day) a range may have for the report to
/// sum them all: a few milliseconds' work.
const SUMMED_ROWS: i64 = 20_000;

/// Titles [`titles_bounded`] may read before it gives up (a few tens of
/// milliseconds' work) and the range's title rows are summed after all.
const BOUNDED_READS: usize = 50_000;

/// The range's [`TOP`] most borrowed titles, most first, then by title
/// (byte order). A range with few title rows sums them
/// ([`titles_summed`]); a longer one first tries the bounded search
/// ([`titles_bounded`]), which proves its answer from a few hundred titles
/// on real histories (every loan a different title included), and falls
/// back to the sum when it cannot.
async fn top_titles<S: Sql>(tx: &mut S, f: &str, t: &str, plan: Plan) -> Result<Vec<Bucket>> {
    let rows = tx
        .query_one(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM stats_days
               WHERE day >= $1 AND day <= $2 AND dim = 'title' LIMIT $3) x",
            p![f, t, plan.summed_rows.max(0).saturating_add(1)],
        )
        .await?
        .i("n");
    if rows > plan.summed_rows {
        if let Some(top) = titles_bounded(tx, f, t, plan).await? {
            return Ok(top);
        }
    }
    titles_summed(tx, f, t).await
}

/// Every title row of the range summed, ranked in SQL (keys compare by
/// bytes on both backends, schema 8).
async fn titles_summed<S: Sql>(tx: &mut S, f: &str, t: &str) -> Result<Vec<Bucket>> {
    let rows = tx
        .query(
            "SELECT key, CAST(SUM(n_loans) AS BIGINT) AS l FROM stats_days
             WHERE day >= $1 AND day <= $2 AND dim = 'title'
             GROUP BY key HAVING SUM(n_loans) > 0
             ORDER BY l DESC, key LIMIT $3",
            p![f, t, TOP as i64],
        )
        .await?;
    Ok(ranked(
        rows.iter()
            .map(|r| (r.i("l").max(0) as u64, r.s("key")))
            .collect(),
    ))
}

/// The threshold argument over `stats_titles` (loans per title over all
/// time, an upper bound on the title's loans in any range): titles are
/// read most borrowed overall first, then by title, each with its exact
/// count in the range (one index lookup, `stats_days_titles`). Once
/// [`TOP`] titles are known, let (n, k) be the last one's count and title
/// and (a, m) the all-time count and title of the last title read. Every
/// title not yet read has an all-time count below a, or equal to a and a
/// title after m; its count in the range is at most its all-time count.
/// So when a < n, or a = n and m ≥ k, none of them can rank before the
/// last one (a tie on n goes to the smaller title, and theirs is after
/// m ≥ k): the answer is exact. `None` when [`BOUNDED_READS`] titles did
/// not prove it (a range whose titles are rare overall while others were
/// borrowed more outside it).
async fn titles_bounded<S: Sql>(
    tx: &mut S,
    f: &str,
    t: &str,
    plan: Plan,
) -> Result<Option<Vec<Bucket>>> {
    let mut best: Vec<(u64, String)> = vec![];
    let (mut read, mut batch) = (0usize, plan.first_batch.max(1));
    while read < plan.bounded_reads {
        let rows = tx
            .query(
                "SELECT s.title, s.n_loans AS a,
                        (SELECT CAST(SUM(d.n_loans) AS BIGINT) FROM stats_days d
                         WHERE d.dim = 'title' AND d.key = s.title
                           AND d.day >= $1 AND d.day <= $2) AS l
                 FROM stats_titles s ORDER BY s.n_loans DESC, s.title LIMIT $3 OFFSET $4",
                p![f, t, batch as i64, read as i64],
            )
            .await?;
        read += rows.len();
        for r in &rows {
            let l = r.i("l");
            if l > 0 {
                best.push((l as u64, r.s("title")));
            }
        }
        best.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        best.truncate(TOP);
        let Some(last) = rows.last() else {
            return Ok(Some(ranked(best)));
        };
        if rows.len() < batch {
            // Every title read.
            return Ok(Some(ranked(best)));
        }
        if let Some((n, k)) = best.get(TOP - 1) {
            let (a, m) = (last.i("a"), last.s("title"));
            if a < *n as i64 || (a == *n as i64 && m >= *k) {
                return Ok(Some(ranked(best)));
            }
        }
        batch = (batch * 4).min(4096);
    }
    Ok(None)
}

/// (loans, title) pairs as the report's buckets, ranked.
fn ranked(top: Vec<(u64, String)>) -> Vec<Bucket> {
    rank_titles(
        top.into_iter()
            .map(|(loans, key)| Bucket {
                key,
                loans,
                returns: 0,
            })
            .collect(),
    )
}

/// Distinct readers who borrowed or renewed in the range. Whichever is
/// less work: the range's (day, reader) rows counted distinct when they
/// are no more than the readers ever seen, else one index lookup per
/// reader ever seen (`stats_patrons`, `stats_readers_patron`): "did they
/// borrow between these days?". Both give the same number.
async fn active_readers<S: Sql>(tx: &mut S, f: &str, t: &str, plan: Plan) -> Result<u64> {
    let readers = tx
        .query_one("SELECT COUNT(*) AS n FROM stats_patrons", &[])
        .await?
        .i("n");
    let rows = tx
        .query_one(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM stats_readers
               WHERE day >= $1 AND day <= $2 LIMIT $3) x",
            p![f, t, readers + 1],
        )
        .await?
        .i("n");
    let sql = if !plan.readers_by_lookup.unwrap_or(rows > readers) {
        "SELECT COUNT(DISTINCT patron) AS n FROM stats_readers
         WHERE day >= $1 AND day <= $2 AND n > 0"
    } else {
        "SELECT COUNT(*) AS n FROM stats_patrons s WHERE EXISTS (
           SELECT 1 FROM stats_readers r
           WHERE r.patron = s.patron AND r.day >= $1 AND r.day <= $2 AND r.n > 0)"
    };
    Ok(tx.query_one(sql, p![f, t]).await?.i("n").max(0) as u64)
}

/// The 20 most borrowed titles, most first, then by name.
fn rank_titles(mut top: Vec<Bucket>) -> Vec<Bucket> {
    top.sort_by(|a, b| b.loans.cmp(&a.loans).then(a.key.cmp(&b.key)));
    top.truncate(TOP);
    top
}

/// The report computed from every entry of the range (what [`stats`]
/// must always equal; its rules are [`tally`]'s). For the tests.
#[doc(hidden)]
pub async fn stats_scan<S: Sql>(tx: &mut S, from: NaiveDate, to: NaiveDate) -> Result<Stats> {
    let (f, t) = (
        from.format("%Y-%m-%d").to_string(),
        to.format("%Y-%m-%d").to_string(),
    );
    let rows = tx
        .query(
            &format!("{FACTS} AND substr(e.at, 1, 10) >= $1 AND substr(e.at, 1, 10) <= $2"),
            p![&f, &t],
        )
        .await?;
    Ok(tally(f, t, &rows))
}

/// Adds (`sign` 1) or takes back (-1) entry `id`'s part of the kept
/// figures: called when an entry becomes `applied` (after its effects are
/// written, so a return finds its loan) and before an applied entry stops
/// being so. Nothing for entries the report does not count.
pub(crate) async fn count_entry<S: Sql>(tx: &mut S, id: &str, sign: i64) -> Result<()> {
    let rows = tx.query(&format!("{FACTS} AND e.id = $1"), p![id]).await?;
    for r in &rows {
        let at = r.s("at");
        let day = at.get(0..10).unwrap_or("").to_string();
        // One statement for all of the entry's rows (a checkout has
        // seven): the same key never twice in it.
        let parts = contributions(r);
        let mut values = Vec::with_capacity(parts.len());
        let mut params = Vec::with_capacity(parts.len() * 5);
        for (dim, key, l, ret) in &parts {
            let n = params.len();
            values.push(format!(
                "(${}, ${}, ${}, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            ));
            params.extend([
                Val::from(&day),
                Val::from(*dim),
                Val::from(key),
                Val::from(l * sign),
                Val::from(ret * sign),
            ]);
        }
        if !values.is_empty() {
            tx.exec(
                &format!(
                    "INSERT INTO stats_days (day, dim, key, n_loans, n_returns) VALUES {}
                     ON CONFLICT (day, dim, key) DO UPDATE SET
                       n_loans = stats_days.n_loans + excluded.n_loans,
                       n_returns = stats_days.n_returns + excluded.n_returns",
                    values.join(", ")
                ),
                &params,
            )
            .await?;
        }
        for (dim, key, l, _) in &parts {
            if *dim == "title" {
                // The title's bound over all time (schema 8).
                tx.exec(
                    "INSERT INTO stats_titles (title, n_loans) VALUES ($1, $2)
                     ON CONFLICT (title) DO UPDATE SET
                       n_loans = stats_titles.n_loans + excluded.n_loans",
                    p![key, l * sign],
                )
                .await?;
            }
        }
        if let Some(p) = reader(r) {
            tx.exec(
                "INSERT INTO stats_readers (day, patron, n) VALUES ($1, $2, $3)
                 ON CONFLICT (day, patron) DO UPDATE SET n = stats_readers.n + excluded.n",
                p![&day, &p, sign],
            )
            .await?;
            // Once listed, a reader stays: the lookup checks n > 0.
            tx.exec(
                "INSERT INTO stats_patrons (patron) VALUES ($1) ON CONFLICT (patron) DO NOTHING",
                p![&p],
            )
            .await?;
        }
    }
    Ok(())
}

/// The reader an entry makes active: who borrowed or renewed (accepted).
fn reader(r: &Row) -> Option<String> {
    let kind = EntryKind::parse(&r.s("kind"));
    (r.s("decision") == "accepted" && kind != EntryKind::Checkin)
        .then(|| r.os("patron"))
        .flatten()
}

/// What one fact row adds to each (dimension, key): loans and returns.
/// The bucketing rules, shared by [`tally`] and the kept figures.
fn contributions(r: &Row) -> Vec<(&'static str, String, i64, i64)> {
    if r.s("decision") != "accepted" {
        return vec![("refused", String::new(), 1, 0)];
    }
    let (l, ret) = match EntryKind::parse(&r.s("kind")) {
        EntryKind::Checkout => (1, 0),
        EntryKind::Checkin => (0, 1),
        _ => return vec![("renewals", String::new(), 1, 0)],
    };
    let at = r.s("at");
    let or_unknown = |v: Option<String>| v.unwrap_or_else(|| "unknown".into());
    let mut out = vec![
        ("all", String::new(), l, ret),
        ("hour", at.get(11..13).unwrap_or("").to_string(), l, ret),
        ("kiosk", r.s("kiosk_id"), l, ret),
        ("item_type", or_unknown(r.os("item_type")), l, ret),
        ("category", or_unknown(r.os("category")), l, ret),
        (
            "branch",
            or_unknown(r.os("location").filter(|b| !b.is_empty())),
            l,
            ret,
        ),
    ];
    if l == 1 {
        out.push(("title", or_unknown(r.os("title")), l, ret));
    }
    out
}

/// The figures from the applied loans, returns and renewals of a range
/// (one row each: `at, kind, kiosk_id, patron, decision, item_type,
/// title, category, location`). Pure: the bucketing rules live here.
fn tally(from: String, to: String, rows: &[Row]) -> Stats {
    let mut s = Stats {
        from,
        to,
        ..Stats::default()
    };
    type Map = BTreeMap<String, (u64, u64)>;
    let mut dims: HashMap<&'static str, Map> = HashMap::new();
    let mut readers = BTreeSet::new();
    for r in rows {
        if let Some(p) = reader(r) {
            readers.insert(p);
        }
        for (dim, key, l, ret) in contributions(r) {
            let (l, ret) = (l as u64, ret as u64);
            match dim {
                "refused" => s.refused += l,
                "renewals" => s.renewals += l,
                _ => {
                    let (dim, key) = match dim {
                        "all" => {
                            s.loans += l;
                            s.returns += ret;
                            ("day", r.s("at").get(0..10).unwrap_or("").to_string())
                        }
                        d => (d, key),
                    };
                    let e = dims.entry(dim).or_default().entry(key).or_default();
                    e.0 += l;
                    e.1 += ret;
                }
            }
        }
    }
    let mut take = |dim: &str| {
        dims.remove(dim)
            .unwrap_or_default()
            .into_iter()
            .map(|(key, (loans, returns))| Bucket {
                key,
                loans,
                returns,
            })
            .collect::<Vec<_>>()
    };
    s.by_day = take("day");
    s.by_hour = take("hour");
    s.by_kiosk = take("kiosk");
    s.by_item_type = take("item_type");
    s.by_category = take("category");
    s.by_branch = take("branch");
    s.top_titles = rank_titles(take("title"));
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
