//! The connection pool, migrations and write transactions for either backend.
//!
//! SQLite allows one writer at a time. Instead of letting concurrent write
//! transactions collide and retry on `SQLITE_BUSY`, a process-wide async mutex
//! serializes them before `BEGIN`, while reads proceed in parallel under WAL.
//! On PostgreSQL the mutex is not used: row locks do that job and several
//! processes can share one database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};

use crate::StoreError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which SQL engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a URL selects, from its scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl {
                url: url.to_owned(),
            })
        }
    }
}

/// A pool of connections to the store's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    sqlite_writer: Arc<Mutex<()>>,
    jobs_added: Arc<Notify>,
    live_progress: Arc<std::sync::Mutex<HashMap<String, Value>>>,
}

/// A write transaction; on SQLite it also holds the process's writer turn.
/// When it enqueued jobs, committing it wakes this process's workers.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    _writer_turn: Option<OwnedMutexGuard<()>>,
    jobs_added: Arc<Notify>,
    enqueued_jobs: bool,
}

impl Db {
    /// Opens a pool; for SQLite, creates the file and its directory as needed
    /// and switches the database to WAL. One connection is made up front so
    /// that an unreachable server fails at once with its own reason.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = prepare_url(url, backend)?;

        let options: AnyConnectOptions = url.parse()?;
        AnyConnection::connect_with(&options).await?.close().await?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |connection, _| {
                Box::pin(async move { configure_connection(connection, backend).await })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            tokio::spawn(checkpoint_wal(pool.clone()));
        }

        Ok(Self {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            jobs_added: Arc::new(Notify::new()),
            live_progress: Arc::default(),
        })
    }

    /// Applies every pending migration of this backend's schema.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction for writes, waiting for the writer turn on SQLite.
    pub async fn write(&self) -> Result<WriteTx, StoreError> {
        // On SQLite the write lock is taken at `BEGIN IMMEDIATE`, where the
        // busy timeout applies; a deferred `BEGIN` that read first could fail
        // at once with "database is locked" when another process wrote.
        let (writer_turn, tx) = match self.backend {
            Backend::Sqlite => {
                let turn = self.sqlite_writer.clone().lock_owned().await;
                (Some(turn), self.pool.begin_with("BEGIN IMMEDIATE").await?)
            }
            Backend::Postgres => (None, self.pool.begin().await?),
        };
        Ok(WriteTx {
            tx,
            backend: self.backend,
            _writer_turn: writer_turn,
            jobs_added: self.jobs_added.clone(),
            enqueued_jobs: false,
        })
    }

    /// Signalled whenever a transaction that enqueued jobs commits in this
    /// process; workers wait on it between polls.
    pub fn jobs_added(&self) -> &Notify {
        &self.jobs_added
    }

    /// Publishes the progress of work that runs inside one long
    /// transaction (an import), for readers in this process: on SQLite such
    /// a transaction holds the only writer turn, so progress cannot be
    /// written to the database while it runs.
    pub fn set_live_progress(&self, key: &str, progress: Value) {
        self.live_progress().insert(key.to_owned(), progress);
    }

    /// Withdraws progress published with [`Db::set_live_progress`].
    pub fn clear_live_progress(&self, key: &str) {
        self.live_progress().remove(key);
    }

    /// The progress last published for `key` in this process.
    pub fn live_progress_of(&self, key: &str) -> Option<Value> {
        self.live_progress().get(key).cloned()
    }

    fn live_progress(&self) -> std::sync::MutexGuard<'_, HashMap<String, Value>> {
        self.live_progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl WriteTx {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The transaction's connection, to run queries on.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        if self.enqueued_jobs {
            self.jobs_added.notify_waiters();
        }
        Ok(())
    }

    /// Records that this transaction enqueued jobs.
    pub(crate) fn mark_jobs_enqueued(&mut self) {
        self.enqueued_jobs = true;
    }
}

fn prepare_url(url: &str, backend: Backend) -> Result<String, StoreError> {
    if backend != Backend::Sqlite {
        return Ok(url.to_owned());
    }
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    if url.contains('?') {
        Ok(url.to_owned())
    } else {
        Ok(format!("{url}?mode=rwc"))
    }
}

/// How often the WAL is copied back into the SQLite database file.
const WAL_CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Copies SQLite's WAL back into the database file in the background, until
/// the pool closes. Connections do not do it themselves
/// (`wal_autocheckpoint = 0`): SQLite would otherwise checkpoint inside the
/// commit that crossed the threshold, and the commit of a large import would
/// pay for copying all it wrote (about 1.7 s for a 200 MB feed). A passive
/// checkpoint waits for no reader or writer.
async fn checkpoint_wal(pool: AnyPool) {
    let mut ticker = tokio::time::interval(WAL_CHECKPOINT_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if pool.is_closed() {
            return;
        }
        let checkpoint = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await;
        if let Err(error) = checkpoint {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(target: "mercato::store", %error, "could not checkpoint the WAL");
        }
    }
}

/// Each SQLite connection's page cache, in KiB (SQLite's default is 2 MiB).
/// A large import inserts into several indexes at once; with the default,
/// their pages are read back from the WAL again and again. The cache grows
/// only as pages are read, so idle connections stay small.
const SQLITE_CACHE_KIB: u32 = 64 * 1024;

async fn configure_connection(
    connection: &mut AnyConnection,
    backend: Backend,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Sqlite {
        let pragmas = format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
             PRAGMA temp_store = MEMORY; PRAGMA cache_size = -{SQLITE_CACHE_KIB}; \
             PRAGMA wal_autocheckpoint = 0;"
        );
        connection.execute(pragmas.as_str()).await?;
    }
    Ok(())
}
