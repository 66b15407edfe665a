//! Recommendations from the loan history: titles co-borrowed with the
//! seed, the reader's own history, then the popular ones.

use super::*;

pub(crate) async fn recommendations<S: Sql>(
    tx: &mut S,
    patron: Option<&str>,
    item: Option<&str>,
    limit: usize,
) -> Result<Recommendations> {
    let limit = limit.clamp(1, 50);
    // (reader, title) pairs from the whole loan history (past loans
    // anonymised by retention name no reader).
    let pairs: Vec<(String, String)> = tx
        .query(
            "SELECT DISTINCT l.patron, i.title_key FROM loans l JOIN items i ON i.barcode = l.item
             WHERE l.patron <> ''",
            p![],
        )
        .await?
        .iter()
        .map(|r| (r.s("patron"), r.s("title_key")))
        .collect();
    let mut read: BTreeSet<String> = BTreeSet::new();
    if let Some(p) = patron {
        read.extend(pairs.iter().filter(|(r, _)| r == p).map(|(_, t)| t.clone()));
    }
    let mut seeds: Vec<(String, &'static str)> = vec![];
    if let Some(code) = item {
        if let Some((_, key)) = item_with_key(tx, code).await? {
            read.insert(key.clone());
            seeds.push((key, "also_borrowed"));
        }
    }
    let history: Vec<String> = read
        .iter()
        .filter(|t| !seeds.iter().any(|s| &s.0 == *t))
        .cloned()
        .collect();
    seeds.extend(history.into_iter().map(|t| (t, "your_history")));
    let mut by_reader: HashMap<&str, Vec<&str>> = HashMap::new();
    for (r, t) in &pairs {
        by_reader.entry(r).or_default().push(t);
    }
    // title → (score, why): co-borrowed with a seed by other readers.
    let mut score: HashMap<String, (u64, &'static str)> = HashMap::new();
    for (seed, why) in &seeds {
        for (reader, titles) in &by_reader {
            if Some(*reader) == patron || !titles.contains(&seed.as_str()) {
                continue;
            }
            for t in titles.iter().filter(|t| !read.contains(**t)) {
                let e = score.entry(t.to_string()).or_insert((0, why));
                e.0 += if *why == "also_borrowed" {
                    1_000_000
                } else {
                    1000
                };
            }
        }
    }
    let mut popular: HashMap<&str, u64> = HashMap::new();
    for (_, t) in &pairs {
        *popular.entry(t).or_default() += 1;
    }
    for (t, n) in popular {
        if !read.contains(t) && !score.contains_key(t) {
            score.insert(t.to_string(), (n.min(999), "popular"));
        }
    }
    let mut ranked: Vec<(String, u64, &'static str)> =
        score.into_iter().map(|(t, (s, w))| (t, s, w)).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut items = vec![];
    for (key, _, why) in ranked {
        if items.len() >= limit {
            break;
        }
        // One copy stands for the title, an available one if there is.
        if let Some(r) = tx
            .query_opt(
                "SELECT barcode, title, author FROM items WHERE title_key = $1
                 AND status NOT IN ('lost','missing','withdrawn')
                 ORDER BY CASE WHEN status = 'available' THEN 0 ELSE 1 END, barcode",
                p![&key],
            )
            .await?
        {
            items.push(Recommendation {
                item: r.s("barcode"),
                title: r.s("title"),
                author: r.s("author"),
                why: why.to_string(),
            });
        }
    }
    Ok(Recommendations { items })
}
