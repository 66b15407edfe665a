//! The little SQL surface both storage backends offer the shared engine:
//! typed values in, rows of typed values out, one transaction at a time.
//! Queries are written once with `$1` placeholders in the subset of SQL
//! that SQLite and PostgreSQL share (TEXT and BIGINT columns only, no
//! `::` casts); SQLite gets them rewritten to `?1`. Rows are read by
//! column name ([`Get`]). Must never grow behaviour of its own: rules
//! live in `domain`, effects in `engine`. Imports nothing outside
//! `central`.

use super::CentralError;
use std::future::Future;

/// A parameter or a column value. NULLs carry their type so PostgreSQL
/// can check them.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    I(Option<i64>),
    T(Option<String>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Val {
        Val::I(v)
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Val {
        Val::T(Some(v.to_string()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Val {
        Val::T(Some(v))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Val {
        Val::T(Some(v.clone()))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Val {
        Val::T(v)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Val {
        Val::T(v.map(str::to_string))
    }
}
impl From<&Option<String>> for Val {
    fn from(v: &Option<String>) -> Val {
        Val::T(v.clone())
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Val {
        Val::I(Some(v as i64))
    }
}

/// The column names of a query's rows, shared by all of them.
pub type Columns = std::sync::Arc<[String]>;

/// One result row: its values and the names of its columns. Rows are read
/// by column name (`r.s("barcode")`), never by position, so a query can
/// gain or reorder columns without shifting what every reader sees.
#[derive(Debug, Clone)]
pub struct Row {
    columns: Columns,
    values: Vec<Val>,
}

impl Row {
    pub fn new(columns: Columns, values: Vec<Val>) -> Row {
        debug_assert_eq!(columns.len(), values.len());
        Row { columns, values }
    }

    /// The columns whose names start with `prefix`, under the rest of
    /// their names: `p_barcode AS …` read as `barcode` by a mapper
    /// written for the plain table.
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> Prefixed<'a> {
        Prefixed { row: self, prefix }
    }
}

/// Reading a row's values by column name. A name the query does not have
/// is a bug in the query's caller (debug builds panic); release builds
/// read it as NULL.
pub trait Get {
    fn val(&self, col: &str) -> Option<&Val>;

    fn oi(&self, col: &str) -> Option<i64> {
        match self.val(col) {
            Some(Val::I(v)) => *v,
            Some(Val::T(Some(s))) => s.parse().ok(),
            _ => None,
        }
    }
    fn i(&self, col: &str) -> i64 {
        self.oi(col).unwrap_or(0)
    }
    fn os(&self, col: &str) -> Option<String> {
        match self.val(col) {
            Some(Val::T(v)) => v.clone(),
            Some(Val::I(Some(n))) => Some(n.to_string()),
            _ => None,
        }
    }
    fn s(&self, col: &str) -> String {
        self.os(col).unwrap_or_default()
    }
}

fn find<'r>(columns: &[String], values: &'r [Val], col: &str) -> Option<&'r Val> {
    let i = columns.iter().position(|c| c == col);
    debug_assert!(i.is_some(), "no column {col:?} in {columns:?}");
    values.get(i?)
}

impl Get for Row {
    fn val(&self, col: &str) -> Option<&Val> {
        find(&self.columns, &self.values, col)
    }
}

/// A row seen through a column-name prefix (`Row::prefixed`).
pub struct Prefixed<'a> {
    row: &'a Row,
    prefix: &'a str,
}

impl Get for Prefixed<'_> {
    fn val(&self, col: &str) -> Option<&Val> {
        let i = self
            .row
            .columns
            .iter()
            .position(|c| c.strip_prefix(self.prefix).is_some_and(|rest| rest == col));
        debug_assert!(
            i.is_some(),
            "no column {}{col} in {:?}",
            self.prefix,
            self.row.columns
        );
        self.row.values.get(i?)
    }
}

/// Builds a parameter list: `p![a, b, c]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::central::sql::Val::from($v)),*][..] };
}
pub(crate) use params;

/// One open transaction of a backend.
pub trait Sql: Send {
    fn query(
        &mut self,
        sql: &str,
        params: &[Val],
    ) -> impl Future<Output = Result<Vec<Row>, CentralError>> + Send;

    fn exec(
        &mut self,
        sql: &str,
        params: &[Val],
    ) -> impl Future<Output = Result<u64, CentralError>> + Send;

    fn query_opt(
        &mut self,
        sql: &str,
        params: &[Val],
    ) -> impl Future<Output = Result<Option<Row>, CentralError>> + Send {
        async move { Ok(self.query(sql, params).await?.into_iter().next()) }
    }

    fn query_one(
        &mut self,
        sql: &str,
        params: &[Val],
    ) -> impl Future<Output = Result<Row, CentralError>> + Send {
        async move {
            self.query_opt(sql, params)
                .await?
                .ok_or_else(|| CentralError::Corrupt(format!("no row from {sql}")))
        }
    }

    /// Serialises writers across every server process sharing the
    /// database (PostgreSQL: a transaction-level advisory lock; SQLite's
    /// `BEGIN IMMEDIATE` already holds the only write lock).
    fn lock_writes(&mut self) -> impl Future<Output = Result<(), CentralError>> + Send;

    /// Changes to the feed recorded in this transaction, written by
    /// `engine::flush_changes` before it commits.
    fn pending(&mut self) -> &mut Pending;
}

/// Records changed in one transaction, each once, in the order of its last
/// change: a batch that lends and takes back the same item a hundred times
/// renumbers it in the feed once, at commit, not twice per entry.
#[derive(Debug, Default)]
pub struct Pending {
    order: Vec<(String, String, &'static str)>,
    at: std::collections::HashMap<(String, String), usize>,
}

impl Pending {
    pub fn add(&mut self, entity: &str, key: &str, op: &'static str) {
        let k = (entity.to_string(), key.to_string());
        if let Some(&i) = self.at.get(&k) {
            self.order[i].2 = op;
            // Only the order of last changes matters to a reader of the
            // feed, and all of them commit together: keep the first slot.
            return;
        }
        self.at.insert(k.clone(), self.order.len());
        self.order.push((k.0, k.1, op));
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn take(&mut self) -> Vec<(String, String, &'static str)> {
        self.at.clear();
        std::mem::take(&mut self.order)
    }
}

/// `$1` → `?1` for SQLite (whose `$name` parameters are numbered by first
/// appearance, not by their digits).
pub fn to_sqlite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cols: &[&str], vals: Vec<Val>) -> Row {
        Row::new(cols.iter().map(|c| c.to_string()).collect(), vals)
    }

    #[test]
    fn rows_are_read_by_column_name_whatever_the_order() {
        let r = row(
            &["renewals", "due", "patron"],
            vec![
                Val::I(Some(2)),
                Val::T(Some("2026-03-01".into())),
                Val::T(None),
            ],
        );
        assert_eq!(r.i("renewals"), 2);
        assert_eq!(r.s("due"), "2026-03-01");
        assert_eq!(r.os("patron"), None);
        assert_eq!(r.s("patron"), "", "NULL text reads as empty");
        // Numbers and text convert both ways, as both backends return them.
        assert_eq!(r.os("renewals").as_deref(), Some("2"));
        let t = row(&["n"], vec![Val::T(Some("41".into()))]);
        assert_eq!(t.oi("n"), Some(41));
        assert_eq!(row(&["n"], vec![Val::T(Some("x".into()))]).oi("n"), None);
    }

    #[test]
    fn a_prefix_reads_one_table_of_a_join() {
        let r = row(
            &["seq", "p_barcode", "i_barcode", "i_parts"],
            vec![
                Val::I(Some(7)),
                Val::T(Some("P1".into())),
                Val::T(Some("I1".into())),
                Val::I(Some(3)),
            ],
        );
        assert_eq!(r.prefixed("p_").s("barcode"), "P1");
        assert_eq!(r.prefixed("i_").s("barcode"), "I1");
        assert_eq!(r.prefixed("i_").i("parts"), 3);
        assert_eq!(r.i("seq"), 7);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "no column")]
    fn a_column_the_query_lacks_is_a_bug() {
        row(&["a"], vec![Val::I(Some(1))]).s("b");
    }

    #[test]
    fn pending_changes_keep_each_record_once_with_its_last_operation() {
        let mut p = Pending::default();
        p.add("loan", "I1", "upsert");
        p.add("item", "I1", "upsert");
        p.add("loan", "I1", "delete");
        p.add("loan", "I2", "upsert");
        assert!(!p.is_empty());
        assert_eq!(
            p.take(),
            vec![
                ("loan".to_string(), "I1".to_string(), "delete"),
                ("item".to_string(), "I1".to_string(), "upsert"),
                ("loan".to_string(), "I2".to_string(), "upsert"),
            ]
        );
        assert!(p.is_empty());
        p.add("loan", "I1", "upsert");
        assert_eq!(p.take().len(), 1, "taken changes are forgotten");
    }

    #[test]
    fn placeholders_are_rewritten_for_sqlite() {
        assert_eq!(
            to_sqlite("SELECT $2, $1 WHERE x = '$'"),
            "SELECT ?2, ?1 WHERE x = '$'"
        );
    }
}
