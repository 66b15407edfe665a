//! The PostgreSQL backend (tokio-postgres), for many kiosks and for more
//! than one server process on the same database. Each process keeps a
//! small pool of connections (a broken one is replaced). Every write
//! transaction first takes one transaction-level advisory lock, so batches from
//! different processes apply one after the other, change numbers follow
//! commit order (a kiosk's cursor can never skip a change committed
//! late), and the primary key on `entries.id` is the last word on
//! applying an entry at most once. Its schema keeps its own migration
//! path (a `schema_version` table). Imports `engine`, `sql`, `domain`.

use super::engine;
use super::sql::{Columns, Pending, Row, Sql, Val};
use super::{Backend, CentralError, Fut};
use crate::domain::Settings;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

const SCHEMA_VERSION: i64 = 8;
/// The advisory lock key every writer takes ("kiosk" in ASCII).
const WRITE_LOCK: i64 = 0x6b696f736b;

/// The whole schema, for a new database.
pub fn schema() -> String {
    include_str!("schema.sql").replace("@ID@", "BIGSERIAL PRIMARY KEY")
        + MIGRATION_2
        + MIGRATION_3
        + MIGRATION_4
        + MIGRATION_5
        + MIGRATION_6
        + MIGRATION_7
        + &migration_8()
}

/// From version 1 to 2.
const MIGRATION_2: &str = include_str!("schema_2.sql");

/// From version 2 to 3.
const MIGRATION_3: &str = include_str!("schema_3.sql");

/// From version 3 to 4 (one entry per kiosk and seq).
const MIGRATION_4: &str = include_str!("schema_4.sql");

/// From version 4 to 5 (the stats report's kept figures).
const MIGRATION_5: &str = include_str!("schema_5.sql");

/// From version 5 to 6 (token roles, readers' keep_history).
const MIGRATION_6: &str = include_str!("schema_6.sql");

/// From version 6 to 7 (retention of readers' history).
const MIGRATION_7: &str = include_str!("schema_7.sql");

/// From version 7 to 8 (the stats report's indexes and bounds), with
/// stats keys and titles compared byte by byte as the report ranks them.
fn migration_8() -> String {
    include_str!("schema_8.sql")
        .replace("@C@", " COLLATE \"C\"")
        .replace(
            "@KEYS@",
            "ALTER TABLE stats_days ALTER COLUMN key TYPE TEXT COLLATE \"C\";",
        )
}

/// Connections one server process opens at most.
const MAX_CONNECTIONS: usize = 8;

/// What went wrong, in words staff can act on. tokio-postgres displays
/// only the kind ("db error"); the server's own report is behind
/// `as_db_error`: its message, SQLSTATE code, and the constraint, table
/// and column it names. The DETAIL and WHERE lines are left out: they
/// quote the values of the row (a card number, a token's hash). Other
/// failures (a closed connection, a refused connect) add their cause.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!(
            "{} {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
        for (what, v) in [
            ("constraint", db.constraint()),
            ("table", db.table()),
            ("column", db.column()),
        ] {
            if let Some(v) = v {
                s += &format!(", {what} {v}");
            }
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        s += &format!(": {c}");
        cause = c.source();
    }
    s
}

#[derive(Clone)]
pub struct PgStorage {
    url: String,
    /// Idle connections with their prepared statements; a broken one is
    /// dropped, and the next transaction opens a fresh one.
    pool: Arc<Mutex<Vec<(Client, Statements)>>>,
    permits: Arc<Semaphore>,
    pub settings: Settings,
}

/// A connection's prepared statements by SQL text: the engine runs the
/// same few dozen queries for every entry, and preparing each anew cost a
/// second round trip per query.
type Statements = HashMap<String, Statement>;

/// Cancels the connection's running statement when dropped armed.
struct CancelOnDrop(Option<tokio_postgres::CancelToken>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(token) = self.0.take() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = token.cancel_query(NoTls).await;
                });
            }
        }
    }
}

/// One open transaction on a connection of the pool.
pub struct PgTx {
    client: Client,
    statements: Statements,
    pending: Pending,
}

async fn open(url: &str) -> Result<Client, CentralError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::error!(error = %describe(&e), "PostgreSQL connection lost");
        }
    });
    Ok(client)
}

impl PgStorage {
    /// Connects (e.g. `postgres://user@host/db` or `host=/tmp port=5432
    /// user=kiosk dbname=central`) and brings the schema up to date.
    pub async fn connect(url: &str, settings: Settings) -> Result<PgStorage, CentralError> {
        let client = open(url).await?;
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK});
                 CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);"
            ))
            .await?;
        let version: i64 = client
            .query_opt("SELECT max(version) FROM schema_version", &[])
            .await?
            .and_then(|r| r.get::<_, Option<i64>>(0))
            .unwrap_or(0);
        if version > SCHEMA_VERSION {
            client.batch_execute("ROLLBACK").await?;
            return Err(CentralError::Corrupt(format!(
                "the PostgreSQL database has schema version {version}, newer than this kiosk-central ({SCHEMA_VERSION}); upgrade the server"
            )));
        }
        if version < SCHEMA_VERSION {
            if version == 0 {
                client.batch_execute(&schema()).await?;
            } else {
                if version == 1 {
                    client.batch_execute(MIGRATION_2).await?;
                }
                if version <= 2 {
                    client.batch_execute(MIGRATION_3).await?;
                }
                if version <= 3 {
                    client.batch_execute(MIGRATION_4).await?;
                }
                if version <= 4 {
                    client.batch_execute(MIGRATION_5).await?;
                }
                if version <= 5 {
                    client.batch_execute(MIGRATION_6).await?;
                }
                if version <= 6 {
                    client.batch_execute(MIGRATION_7).await?;
                }
                if version <= 7 {
                    client.batch_execute(&migration_8()).await?;
                }
            }
            client
                .execute(
                    "INSERT INTO schema_version (version) VALUES ($1)",
                    &[&SCHEMA_VERSION],
                )
                .await?;
        }
        client.batch_execute("COMMIT").await?;
        Ok(PgStorage {
            url: url.to_string(),
            pool: Arc::new(Mutex::new(vec![(client, Statements::new())])),
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            settings,
        })
    }
}

fn bind(params: &[Val]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync + Send> {
            match v {
                Val::I(n) => Box::new(*n),
                Val::T(s) => Box::new(s.clone()),
            }
        })
        .collect()
}

fn read_row(columns: &Columns, r: &tokio_postgres::Row) -> Result<Row, CentralError> {
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let t = col.type_();
        out.push(if *t == Type::INT8 {
            Val::I(r.try_get::<_, Option<i64>>(i)?)
        } else if *t == Type::INT4 {
            Val::I(r.try_get::<_, Option<i32>>(i)?.map(i64::from))
        } else if *t == Type::INT2 {
            Val::I(r.try_get::<_, Option<i16>>(i)?.map(i64::from))
        } else if *t == Type::BOOL {
            Val::I(r.try_get::<_, Option<bool>>(i)?.map(i64::from))
        } else {
            Val::T(r.try_get::<_, Option<String>>(i)?)
        });
    }
    Ok(Row::new(columns.clone(), out))
}

impl PgTx {
    async fn statement(&mut self, sql: &str) -> Result<Statement, CentralError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql).await?;
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

impl Sql for PgTx {
    async fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>, CentralError> {
        let st = self.statement(sql).await?;
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref() as _).collect();
        let rows = self.client.query(&st, &refs).await?;
        let columns: Columns = st.columns().iter().map(|c| c.name().to_string()).collect();
        rows.iter().map(|r| read_row(&columns, r)).collect()
    }

    async fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64, CentralError> {
        let st = self.statement(sql).await?;
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref() as _).collect();
        Ok(self.client.execute(&st, &refs).await?)
    }

    async fn lock_writes(&mut self) -> Result<(), CentralError> {
        self.client
            .batch_execute(&format!("SELECT pg_advisory_xact_lock({WRITE_LOCK})"))
            .await?;
        Ok(())
    }

    fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }
}

impl PgStorage {
    /// Runs `f` in one transaction opened by `begin`: committed when it
    /// returns Ok (the feed's pending changes written first when
    /// `flush`), rolled back otherwise.
    fn run<T, F>(&self, begin: &'static str, flush: bool, f: F) -> Fut<'_, T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgTx) -> Fut<'c, T> + Send + 'static,
    {
        let (pool, permits, url) = (self.pool.clone(), self.permits.clone(), self.url.clone());
        Box::pin(async move {
            let _permit = permits
                .acquire()
                .await
                .map_err(|e| CentralError::Task(e.to_string()))?;
            let idle = pool
                .lock()
                .map_err(|_| CentralError::Task("pool poisoned".into()))?
                .pop();
            let (client, statements) = match idle {
                Some((c, s)) if !c.is_closed() => (c, s),
                _ => (open(&url).await?, Statements::new()),
            };
            // Dropped before the end (a report past its time limit, its
            // client gone): the statement running on the server is
            // cancelled, not left to finish for nobody.
            let mut cancel = CancelOnDrop(Some(client.cancel_token()));
            let mut tx = PgTx {
                client,
                statements,
                pending: Pending::default(),
            };
            tx.client.batch_execute(begin).await?;
            let out = match f(&mut tx).await {
                Ok(v) if flush => engine::flush_changes(&mut tx).await.map(|_| v),
                other => other,
            };
            let end = match &out {
                Ok(_) => tx.client.batch_execute("COMMIT").await,
                Err(_) => tx.client.batch_execute("ROLLBACK").await,
            };
            cancel.0 = None;
            if end.is_ok() && !tx.client.is_closed() {
                if let Ok(mut p) = pool.lock() {
                    p.push((tx.client, tx.statements));
                }
            }
            let v = out?;
            end?;
            Ok(v)
        })
    }
}

impl Backend for PgStorage {
    type Tx = PgTx;

    /// Runs `f` in one transaction: committed when it returns Ok, rolled
    /// back otherwise.
    fn tx<T, F>(&self, f: F) -> Fut<'_, T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Tx) -> Fut<'c, T> + Send + 'static,
    {
        self.run("BEGIN", true, f)
    }

    /// Runs `f`, which only reads, on one snapshot (repeatable read): a
    /// read of several statements, such as the stats report, never mixes
    /// figures from before and after a push committed between them. Each
    /// statement is planned for its values (the report's `LIMIT $n` reads
    /// an index in order only when the planner sees how few rows it
    /// wants; a generic plan may sort the whole table).
    fn read<T, F>(&self, f: F) -> Fut<'_, T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Tx) -> Fut<'c, T> + Send + 'static,
    {
        self.run(
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
             SET LOCAL plan_cache_mode = force_custom_plan",
            false,
            f,
        )
    }

    fn settings(&self) -> &Settings {
        &self.settings
    }
}
