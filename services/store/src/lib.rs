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
                    // PgBouncer's answers when it cannot reach the database behind it.
                    "server login has been failing",
                    "pgbouncer cannot connect to server",
                    "server conn crashed",
                    "query_wait_timeout",
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

/// A read of the store (see [`Store::read`], [`Store::read_replica`]): what every query
/// takes. Straight on the connection pool, or — behind a transaction pooler — in a
/// transaction of its own, which [`Reader::finish`] ends.
#[derive(Debug)]
pub struct Reader<'a> {
    inner: ReaderInner<'a>,
}

#[derive(Debug)]
enum ReaderInner<'a> {
    Pool(&'a DatabaseConnection),
    Transaction(DatabaseTransaction),
}

impl<'a> Reader<'a> {
    async fn on(pool: &'a DatabaseConnection, in_transaction: bool) -> Result<Reader<'a>, StoreError> {
        let inner = if in_transaction {
            let options = TransactionOptions {
                isolation_level: None,
                access_mode: Some(sea_orm::AccessMode::ReadOnly),
                sqlite_transaction_mode: None,
            };
            ReaderInner::Transaction(pool.begin_with_options(options).await?)
        } else {
            ReaderInner::Pool(pool)
        };
        Ok(Reader { inner })
    }

    /// Runs `work` on this read, then finishes it.
    async fn run<T, E: From<StoreError>>(self, work: impl AsyncFnOnce(&Reader<'a>) -> Result<T, E>) -> Result<T, E> {
        let value = work(&self).await?;
        self.finish().await?;
        Ok(value)
    }

    /// Ends the read (commits its transaction, when it has one, handing the pooler's server
    /// connection back at once).
    pub async fn finish(self) -> Result<(), StoreError> {
        if let ReaderInner::Transaction(txn) = self.inner {
            txn.commit().await?;
        }
        Ok(())
    }
}

/// Sends one call to whichever connection a [`Reader`] has.
macro_rules! on_reader {
    ($reader:expr, |$connection:ident| $call:expr) => {
        match &$reader.inner {
            ReaderInner::Pool($connection) => $call,
            ReaderInner::Transaction($connection) => $call,
        }
    };
}

#[async_trait::async_trait]
impl ConnectionTrait for Reader<'_> {
    fn get_database_backend(&self) -> DbBackend {
        on_reader!(self, |c| c.get_database_backend())
    }

    async fn execute_raw(&self, statement: Statement) -> Result<ExecResult, DbErr> {
        on_reader!(self, |c| c.execute_raw(statement).await)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        on_reader!(self, |c| c.execute_unprepared(sql).await)
    }

    async fn query_one_raw(&self, statement: Statement) -> Result<Option<QueryResult>, DbErr> {
        on_reader!(self, |c| c.query_one_raw(statement).await)
    }

    async fn query_all_raw(&self, statement: Statement) -> Result<Vec<QueryResult>, DbErr> {
        on_reader!(self, |c| c.query_all_raw(statement).await)
    }

    fn support_returning(&self) -> bool {
        on_reader!(self, |c| c.support_returning())
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

/// One statement the database ran, as the store tells its observer.
#[derive(Debug, Clone, Copy)]
pub struct StatementTiming<'a> {
    /// How long it took, from sending to the last row.
    pub elapsed: Duration,
    /// Its first keyword, upper case: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `BEGIN`,
    /// `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, `WITH`, `CREATE`, `ALTER`, `DROP`,
    /// `PRAGMA`, or `OTHER`.
    pub operation: &'static str,
    /// The SQL with its placeholders (never the values bound to them).
    pub sql: &'a str,
    /// The database answered with an error.
    pub failed: bool,
    /// OpenTelemetry's `db.system.name`: `postgresql` or `sqlite`.
    pub system: &'static str,
}

/// Told of every statement, in the task that ran it (so inside the call's span).
pub type StatementObserver = Arc<dyn Fn(&StatementTiming<'_>) + Send + Sync>;

/// How the store connects, beyond the database's URL.
#[derive(Clone, Default)]
pub struct StoreOptions {
    /// Told of every statement (the server records its latency and a child span).
    pub observer: Option<StatementObserver>,
    /// Largest number of pooled connections (to the primary; the replica's pool is as large).
    pub max_connections: u32,
    /// A PostgreSQL hot standby serving the reads that may lag ([`Store::read_replica`]);
    /// when absent those reads go to the primary too.
    pub read_url: Option<String>,
    /// The URL leads to a transaction-pooling proxy (PgBouncer `pool_mode = transaction`):
    /// a server connection belongs to this process only for the length of one transaction,
    /// so no statement runs outside one ([`Store::read`] opens a transaction of its own) and
    /// no prepared statement is cached (the driver's statement cache is off). The proxy must
    /// reset a connection it takes back (`server_reset_query = DEALLOCATE ALL`,
    /// `server_reset_query_always = 1`): the driver still names the statements it prepares.
    pub transaction_pooling: bool,
}

impl std::fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreOptions")
            .field("max_connections", &self.max_connections)
            .field("read_url", &self.read_url.as_deref().map(redact_url))
            .field("transaction_pooling", &self.transaction_pooling)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// The database of one techcredit deployment.
#[derive(Debug, Clone)]
pub struct Store {
    connection: DatabaseConnection,
    /// The hot standby's pool, when one is configured.
    replica: Option<DatabaseConnection>,
    /// Reads run in transactions of their own (see [`StoreOptions::transaction_pooling`]).
    transaction_pooling: bool,
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
        Store::connect_with(url, &StoreOptions { max_connections, ..StoreOptions::default() }).await
    }

    /// Connects to `url` as `options` say, and to the read replica when one is named.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let (connection, engine) = open_pool(url, options).await?;
        let replica = match &options.read_url {
            None => None,
            Some(read_url) => {
                let (replica, replica_engine) = open_pool(read_url, options).await?;
                if replica_engine != Engine::Postgres || engine != Engine::Postgres {
                    return Err(StoreError::Connect(
                        "a read replica (database_read_url) needs PostgreSQL on both URLs".to_owned(),
                    ));
                }
                Some(replica)
            }
        };
        let sqlite_writers = (engine == Engine::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        Ok(Store {
            connection,
            replica,
            transaction_pooling: options.transaction_pooling && engine == Engine::Postgres,
            engine,
            sqlite_writers,
            clock: clock::ClockMode::System,
        })
    }

    /// Applies every pending migration (behind a transaction pooler, all in one transaction).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        if self.transaction_pooling {
            let txn = self.connection.begin().await?;
            migrations::Migrator::up(&txn, None).await?;
            txn.commit().await?;
        } else {
            migrations::Migrator::up(&self.connection, None).await?;
        }
        Ok(())
    }

    /// Names of migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        // Not read-only: SeaORM makes its table of applied migrations when it is missing.
        let pending = if self.transaction_pooling {
            let txn = self.connection.begin().await?;
            let pending = migrations::Migrator::get_pending_migrations(&txn).await?;
            txn.commit().await?;
            pending
        } else {
            migrations::Migrator::get_pending_migrations(&self.connection).await?
        };
        Ok(pending.iter().map(|m| m.name().to_owned()).collect())
    }

    /// A read on the primary: it sees every write committed before it starts. Use it for
    /// everything a caller may have just changed (its own application, its key, a request
    /// it is retrying) and for every read that decides a change. Finish it with
    /// [`Reader::finish`].
    pub async fn read(&self) -> Result<Reader<'_>, StoreError> {
        Reader::on(&self.connection, self.transaction_pooling).await
    }

    /// A read that may lag the primary: on the hot standby when `database_read_url` is set
    /// (streaming replication, typically milliseconds behind, more while the standby
    /// replays a large change), on the primary otherwise. For reports and lists: the pool's
    /// position, its history, the list RPCs, the dashboard. Never for a decision.
    pub async fn read_replica(&self) -> Result<Reader<'_>, StoreError> {
        Reader::on(self.replica.as_ref().unwrap_or(&self.connection), self.transaction_pooling).await
    }

    /// A read of one consistent snapshot of the primary (a read-only REPEATABLE READ
    /// transaction on PostgreSQL, a read transaction on SQLite), for checks that compare
    /// several tables — the ledger's verification — while writes go on.
    pub async fn read_snapshot(&self) -> Result<Reader<'_>, StoreError> {
        self.snapshot_on(&self.connection).await
    }

    /// [`read_replica`](Store::read_replica) as one consistent snapshot: for figures read
    /// from several tables that must agree with each other — the pool's position (its totals
    /// row beside the ledger's balances), its gauges, the stress test — while writes go on.
    pub async fn read_replica_snapshot(&self) -> Result<Reader<'_>, StoreError> {
        self.snapshot_on(self.replica.as_ref().unwrap_or(&self.connection)).await
    }

    async fn snapshot_on<'a>(&self, connection: &'a DatabaseConnection) -> Result<Reader<'a>, StoreError> {
        let options = match self.engine {
            Engine::Postgres => TransactionOptions {
                isolation_level: Some(sea_orm::IsolationLevel::RepeatableRead),
                access_mode: Some(sea_orm::AccessMode::ReadOnly),
                sqlite_transaction_mode: None,
            },
            Engine::Sqlite => {
                TransactionOptions { isolation_level: None, access_mode: None, sqlite_transaction_mode: None }
            }
        };
        Ok(Reader { inner: ReaderInner::Transaction(connection.begin_with_options(options).await?) })
    }

    /// Runs `work` in one [`read`](Store::read) on the primary and finishes it.
    pub async fn reading<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&Reader<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.read().await?.run(work).await
    }

    /// Runs `work` in one [`read_replica`](Store::read_replica) (it may lag) and finishes it.
    pub async fn reading_replica<T, E: From<StoreError>>(
        &self,
        work: impl AsyncFnOnce(&Reader<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.read_replica().await?.run(work).await
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
        if !self.clock.is_simulated() {
            return Ok(clock::Now::system());
        }
        self.reading(async |db| clock::read(db, self.clock).await).await
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

/// Opens a pool on `url`, failing fast with the reason when the database cannot be reached.
async fn open_pool(url: &str, options: &StoreOptions) -> Result<(DatabaseConnection, Engine), StoreError> {
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
            tokio::time::timeout(Duration::from_secs(10), sea_orm::sqlx::postgres::PgConnection::connect(url)).await;
        match attempt {
            Err(_) => return Err(StoreError::Connect("timed out after 10 s".to_owned())),
            Ok(Err(error)) => return Err(StoreError::Connect(error.to_string())),
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
            }
        }
    }
    let mut connect = ConnectOptions::new(url.to_owned());
    connect
        .max_connections(options.max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false);
    if engine == Engine::Postgres && options.transaction_pooling {
        // Behind a transaction pooler no prepared statement may outlive its transaction.
        connect.map_sqlx_postgres_opts(|postgres| postgres.statement_cache_capacity(0));
    }
    if engine == Engine::Sqlite {
        connect.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true)
        });
    }
    let mut connection = Database::connect(connect).await?;
    connection.ping().await?;
    if let Some(observer) = options.observer.clone() {
        let system = match engine {
            Engine::Postgres => "postgresql",
            Engine::Sqlite => "sqlite",
        };
        connection.set_metric_callback(move |info| {
            let sql = info.statement.sql.as_str();
            observer(&StatementTiming {
                elapsed: info.elapsed,
                operation: operation_of(sql),
                sql,
                failed: info.failed,
                system,
            });
        });
    }
    Ok((connection, engine))
}

/// A statement's first keyword, from a fixed set (no allocation per statement).
fn operation_of(sql: &str) -> &'static str {
    const KNOWN: [&str; 14] = [
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "WITH",
        "CREATE",
        "ALTER",
        "DROP",
        "PRAGMA",
    ];
    let first = sql.split_whitespace().next().unwrap_or_default();
    KNOWN.iter().copied().find(|known| first.eq_ignore_ascii_case(known)).unwrap_or("OTHER")
}
