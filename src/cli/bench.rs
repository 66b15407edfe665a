//! `kiosk bench`: circulation speed on a demo library of a given size,
//! with durable commits (synchronous=FULL), reported as percentiles.
//!
//! Timing lives here and in benches/, never in tests.

use crate::cli::{CliError, Env};
use crate::store::{self, Store};
use chrono::Local;
use clap::Args;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Readers in the demo library (created if the database is empty)
    #[arg(long, default_value_t = 100_000)]
    pub patrons: u32,
    /// Items in the demo library
    #[arg(long, default_value_t = 1_000_000)]
    pub items: u32,
    /// Checkouts (and as many returns) to time
    #[arg(long, default_value_t = 2000)]
    pub n: usize,
    /// Database to use [default: a fresh file under the system temp dir]
    #[arg(long)]
    pub bench_db: Option<PathBuf>,
}

/// p-th percentile (0..=100) of sorted samples, nearest rank.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(mut ms: Vec<f64>) -> serde_json::Value {
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
    json!({
        "n": ms.len(),
        "p50_ms": percentile(&ms, 50.0),
        "p99_ms": percentile(&ms, 99.0),
        "max_ms": ms.last().copied().unwrap_or(0.0),
        "mean_ms": mean,
    })
}

pub fn run(env: &Env, args: BenchArgs) -> Result<i32, CliError> {
    let path = args.bench_db.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("kiosk-bench-{}-{}.db", args.patrons, args.items))
    });
    let mut store = Store::open(&path, &env.config.kiosk.id)?;
    let (rows, settings, holidays) = crate::config::circulation(&env.config);
    store.configure(rows, settings, &holidays)?;
    let demo = if store.counts()?.patrons == 0 {
        let r = store::demo::generate(&mut store, args.patrons, args.items, 42, env.now)?;
        serde_json::to_value(r).map_err(std::io::Error::other)?
    } else {
        json!("reused existing database")
    };
    let (patrons, items) = store::demo::loanable_pairs(&store, args.n)?;
    if patrons.is_empty() || items.is_empty() {
        return Err(CliError::Usage(
            "no loanable items in the bench database".into(),
        ));
    }
    let mut out_ms = Vec::with_capacity(items.len());
    let mut refused = 0;
    for (k, item) in items.iter().enumerate() {
        let patron = &patrons[k % patrons.len()];
        let now = Local::now().fixed_offset();
        let t = Instant::now();
        let o = store.checkout(patron, item, None, now)?;
        out_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        refused += o.result.is_err() as usize;
    }
    let mut in_ms = Vec::with_capacity(items.len());
    for item in &items {
        let now = Local::now().fixed_offset();
        let t = Instant::now();
        store.checkin(item, None, now)?;
        in_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let v = json!({
        "db": path.display().to_string(),
        "patrons": store.counts()?.patrons,
        "items": store.counts()?.items,
        "demo_data": demo,
        "checkout": summary(out_ms),
        "checkout_refused": refused,
        "checkin": summary(in_ms),
    });
    println!("{v}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[3.0], 99.0), 3.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
