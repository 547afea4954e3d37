//! Persistence of techcredit over SeaORM: one `Store` for SQLite (embedded default) and
//! PostgreSQL (production), entities, and the queries each capability needs.
//!
//! Money is stored as whole fen in BIGINT columns; decimals (rates, shares) as canonical
//! strings. Limits that span rows are checked in the transaction that writes the change,
//! after locking the row that holds the running total (`SELECT … FOR UPDATE` on
//! PostgreSQL; on SQLite every write transaction is `BEGIN IMMEDIATE`, which serialises
//! writers).

pub mod api_keys;
pub mod applications;
pub mod audit;
pub mod banks;
pub mod claims;
pub mod clock;
pub mod enrolment;
pub mod entities;
pub mod exclusions;
pub mod exposure;
pub mod history;
pub mod idempotency;
pub mod ledger;
pub mod loans;
pub mod pool;
pub mod reconciliation;
pub mod statements;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use migrations::MigratorTrait;
use sea_orm::sea_query::{SelectStatement, UnionType};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, ExecResult,
    QueryResult, SqlErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// A connection or an open transaction of the store: what every query takes. It is
/// SeaORM's `ConnectionTrait` under the store's own name, so that no service crate names a
/// SeaORM type (the store is the only crate that speaks SQL).
pub trait Db: ConnectionTrait {}

impl<T: ConnectionTrait> Db for T {}

/// `SELECT … UNION ALL SELECT …`: each part an exact probe of a unique index. Written so
/// rather than as one `WHERE (a AND b) OR …`, whose plan PostgreSQL may turn into a scan of
/// every row sharing the leading column when its statistics are stale (seen with the
/// idempotency records of one bank key: 3 ms per lookup after a few thousand enrolments).
pub(crate) fn union_all(mut parts: impl Iterator<Item = SelectStatement>) -> Option<SelectStatement> {
    let mut query = parts.next()?;
    for part in parts {
        query.union(UnionType::All, part);
    }
    Some(query)
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint was violated: the thing exists already.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// A stored value could not be read back into the domain (a defect or tampering).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The database cannot be reached or refuses the connection.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(DbErr),
}

impl From<DbErr> for StoreError {
    /// A database that cannot be reached (no connection to be had, or one that broke) is
    /// `Connect` — the caller is told to retry — not a failure of the call itself.
    fn from(error: DbErr) -> StoreError {
        let unreachable = match &error {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
            DbErr::Exec(_) | DbErr::Query(_) => {
                let text = error.to_string().to_lowercase();
                [
                    "error communicating with database",
                    "connection refused",
                    "broken pipe",
                    "connection reset",
                    "pool timed out",
                    "terminating connection",
                    "connection closed",
                ]
                .iter()
                .any(|sign| text.contains(sign))
            }
            _ => false,
        };
        if unreachable { StoreError::Connect(error.to_string()) } else { StoreError::Database(error) }
    }
}

impl StoreError {
    /// Turns a unique-constraint violation into `AlreadyExists(what)`, other errors unchanged.
    pub fn from_insert(error: DbErr, what: impl Into<String>) -> StoreError {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::AlreadyExists(what.into()),
            _ => StoreError::Database(error),
        }
    }

    /// True for a unique-constraint violation.
    pub fn is_unique_violation(error: &DbErr) -> bool {
        matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
    }
}

/// A write transaction (see [`Store::begin_write`]); use it wherever a connection is taken.
///
/// On SQLite it also holds this process's writer turn until it commits, rolls back or is
/// dropped: SQLite admits one writer at a time, and writers that find the file locked sleep
/// in its busy handler with growing back-off (up to 100 ms a try), which left calls waiting
/// long after the lock was free (paced `SubmitApplication` p99 120 ms, maxima of seconds).
/// Taking turns in the process first queues them in arrival order instead.
#[derive(Debug)]
pub struct WriteTxn {
    txn: DatabaseTransaction,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl WriteTxn {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(statement).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(statement).await
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(statement).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The database of one techcredit deployment.
#[derive(Debug, Clone)]
pub struct Store {
    connection: DatabaseConnection,
    /// SQLite: the turn of this process's writers (one write transaction at a time).
    sqlite_writers: Option<Arc<tokio::sync::Mutex<()>>>,
    engine: Engine,
    clock: clock::ClockMode,
}

/// Hides the password of a database URL, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// The SQLite URL of the embedded database in `data_dir`.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("techcredit.db").display())
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). Fails fast with the reason when the
    /// database cannot be reached.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let engine = if url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Engine::Postgres
        } else {
            return Err(StoreError::Database(DbErr::Custom(format!(
                "unsupported database URL {}: use sqlite://… or postgres://…",
                redact_url(url)
            ))));
        };
        if engine == Engine::Postgres {
            // One direct attempt first: the pool would retry a refused connection until its
            // acquire timeout, and start-up must fail fast with the real reason.
            use sea_orm::sqlx::Connection;
            let attempt =
                tokio::time::timeout(Duration::from_secs(10), sea_orm::sqlx::postgres::PgConnection::connect(url))
                    .await;
            match attempt {
                Err(_) => return Err(StoreError::Connect("timed out after 10 s".to_owned())),
                Ok(Err(error)) => return Err(StoreError::Connect(error.to_string())),
                Ok(Ok(connection)) => {
                    let _ = connection.close().await;
                }
            }
        }
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .max_connections(max_connections.max(1))
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(30))
            .sqlx_logging(false);
        if engine == Engine::Sqlite {
            options.map_sqlx_sqlite_opts(|sqlite| {
                sqlite
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
            });
        }
        let connection = Database::connect(options).await?;
        connection.ping().await?;
        let sqlite_writers = (engine == Engine::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        Ok(Store { connection, engine, sqlite_writers, clock: clock::ClockMode::System })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::Migrator::up(&self.connection, None).await?;
        Ok(())
    }

    /// Names of migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let pending = migrations::Migrator::get_pending_migrations(&self.connection).await?;
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// This store with the business clock `mode` (the system clock unless set).
    pub fn with_clock(mut self, mode: clock::ClockMode) -> Store {
        self.clock = mode;
        self
    }

    /// The business clock's mode.
    pub fn clock_mode(&self) -> clock::ClockMode {
        self.clock
    }

    /// Reads the business clock (one query on a simulated clock, none on the system's).
    pub async fn now(&self) -> Result<clock::Now, StoreError> {
        clock::read(&self.connection, self.clock).await
    }

    /// The engine behind this store.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The database pool's connections: (open, idle).
    pub fn pool_usage(&self) -> (u32, u32) {
        match self.engine {
            Engine::Postgres => {
                let pool = self.connection.get_postgres_connection_pool();
                (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX))
            }
            Engine::Sqlite => {
                let pool = self.connection.get_sqlite_connection_pool();
                (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(u32::MAX))
            }
        }
    }

    /// The connection pool, for reads.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    /// Runs SQL as written, outside any transaction: for the load generator's bulk seeding
    /// and for operators' scripts, never for the service's own changes.
    pub async fn execute_script(&self, sql: &str) -> Result<(), StoreError> {
        self.connection.execute_unprepared(sql).await?;
        Ok(())
    }

    /// Whether the database answers (for health reporting).
    pub async fn ping(&self) -> bool {
        self.connection.execute_unprepared("SELECT 1").await.is_ok()
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a read-then-write transaction cannot be overtaken, and the
    /// writers of this process take turns in arrival order before that (see [`WriteTxn`]);
    /// on PostgreSQL callers lock the rows holding running totals with `FOR UPDATE`.
    pub async fn begin_write(&self) -> Result<WriteTxn, StoreError> {
        let turn = match &self.sqlite_writers {
            Some(writers) => Some(writers.clone().lock_owned().await),
            None => None,
        };
        let options = TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: match self.engine {
                Engine::Sqlite => Some(SqliteTransactionMode::Immediate),
                Engine::Postgres => None,
            },
        };
        Ok(WriteTxn { txn: self.connection.begin_with_options(options).await?, _turn: turn })
    }

    /// True when the database answers.
    pub async fn is_healthy(&self) -> bool {
        self.connection.ping().await.is_ok()
    }

    /// The SQL dialect.
    pub fn backend(&self) -> DbBackend {
        self.connection.get_database_backend()
    }
}
