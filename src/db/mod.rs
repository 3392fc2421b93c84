//! Storage: one sqlx `Any` pool over SQLite (the embedded default) or PostgreSQL,
//! chosen by the URL scheme. SQL is written once with `$1` placeholders, integer money
//! and epoch-ms timestamps, which both backends read the same way; where a backend has
//! a much faster path, it lives behind one function that matches on [`Backend`].

use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::config::DatabaseSettings;

pub mod clock;

pub use clock::Clock;

/// A transaction on the shared pool.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("unsupported database URL scheme (expected sqlite:// or postgres://)")
        }
    }
}

/// The database handle shared by the whole server. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

fn install_drivers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(sqlx::any::install_default_drivers);
}

/// How long a background writer waits for one of its reserved connections: they are
/// never taken by requests, so a long wait means the database itself is stuck.
const RESERVED_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

impl Db {
    /// Connects the pool that serves requests (creating the SQLite file and its
    /// directory when missing): `max_connections` connections, each waited for at most
    /// `acquire_timeout_ms`.
    pub async fn connect(url: &str, settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::connect_sized(
            url,
            settings,
            settings.max_connections,
            Duration::from_millis(settings.acquire_timeout_ms.max(1)),
        )
        .await
    }

    /// Connects a pool of `connections` reserved for background writers (the group
    /// committer, code pool workers, the effect queue): request traffic never draws on
    /// it, so a request waiting for a writer can never hold the connection the writer
    /// needs.
    pub async fn connect_reserved(
        url: &str,
        settings: &DatabaseSettings,
        connections: u32,
    ) -> anyhow::Result<Self> {
        Self::connect_sized(url, settings, connections, RESERVED_ACQUIRE_TIMEOUT).await
    }

    async fn connect_sized(
        url: &str,
        settings: &DatabaseSettings,
        connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Self> {
        install_drivers();
        let backend = Backend::from_url(url)?;
        if backend == Backend::Sqlite {
            create_sqlite_parent_dir(url)?;
        }
        let options = AnyConnectOptions::from_str(url).context("parsing the database URL")?;
        let busy_timeout_ms = settings.busy_timeout_ms;
        let pool = AnyPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL sync keeps the
                        // promise that an acknowledged posting survives power loss
                        // (group commit amortises the cost).
                        conn.execute(sqlx::AssertSqlSafe(format!(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_timeout_ms};"
                        )))
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .context("connecting to the database")?;
        Ok(Self { pool, backend })
    }

    /// Applies the migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator
            .run(&self.pool)
            .await
            .context("running database migrations")?;
        Ok(())
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up
    /// front (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of
    /// one failing when it upgrades from a read lock.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn create_sqlite_parent_dir(url: &str) -> anyhow::Result<()> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating data directory {}", parent.display()))?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub enum Bind {
    Int(i64),
    Text(String),
    OptInt(Option<i64>),
    OptText(Option<String>),
}

impl From<i64> for Bind {
    fn from(value: i64) -> Self {
        Bind::Int(value)
    }
}

impl From<String> for Bind {
    fn from(value: String) -> Self {
        Bind::Text(value)
    }
}

impl From<&str> for Bind {
    fn from(value: &str) -> Self {
        Bind::Text(value.to_string())
    }
}

impl From<Option<i64>> for Bind {
    fn from(value: Option<i64>) -> Self {
        Bind::OptInt(value)
    }
}

impl From<Option<String>> for Bind {
    fn from(value: Option<String>) -> Self {
        Bind::OptText(value)
    }
}

/// A statement built piece by piece with `$N` placeholders (sqlx's own builder writes
/// `?` under `Any`, which PostgreSQL refuses). Values are always bound, never spliced.
///
/// List queries whose filters depend on the caller gather them as conditions
/// ([`Self::and_where`], with placeholders from [`Self::placeholder`]) and write them
/// where the statement needs them ([`Self::push_where`]).
#[derive(Debug, Default)]
pub struct Sql {
    text: String,
    binds: Vec<Bind>,
    /// Conditions not yet written, joined by AND at [`Self::push_where`].
    conditions: Vec<String>,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            ..Self::default()
        }
    }

    /// Binds `value` and returns its placeholder (`$N`) without writing it, for a
    /// condition or a clause written later.
    pub fn placeholder(&mut self, value: impl Into<Bind>) -> String {
        self.binds.push(value.into());
        format!("${}", self.binds.len())
    }

    /// Adds a condition (SQL text with placeholders, never a value).
    pub fn and_where(&mut self, condition: impl Into<String>) -> &mut Self {
        self.conditions.push(condition.into());
        self
    }

    /// Writes ` WHERE c1 AND c2 …` for the conditions added so far (nothing if none).
    pub fn push_where(&mut self) -> &mut Self {
        if !self.conditions.is_empty() {
            self.text.push_str(" WHERE ");
            self.text.push_str(&self.conditions.join(" AND "));
            self.conditions.clear();
        }
        self
    }

    /// Appends SQL text (never a value).
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Bind>) -> &mut Self {
        let placeholder = self.placeholder(value);
        self.text.push_str(&placeholder);
        self
    }

    /// Appends `(v1, v2, …)` as a list of placeholders.
    pub fn bind_list(&mut self, values: impl IntoIterator<Item = impl Into<Bind>>) -> &mut Self {
        self.text.push('(');
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self.text.push(')');
        self
    }

    pub fn is_empty_binds(&self) -> bool {
        self.binds.is_empty()
    }

    pub fn query(&self) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
        bind_all(
            sqlx::query(sqlx::AssertSqlSafe(self.text.clone())),
            &self.binds,
        )
    }

    pub fn query_as<O>(
        &self,
    ) -> sqlx::query::QueryAs<'static, sqlx::Any, O, sqlx::any::AnyArguments>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        bind_all(
            sqlx::query_as(sqlx::AssertSqlSafe(self.text.clone())),
            &self.binds,
        )
    }
}

/// A statement values are bound to: sqlx's `Query` and `QueryAs` bind alike but share
/// no trait, and this lets one [`bind_all`] serve both.
trait Bindable: Sized {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: for<'e> sqlx::Encode<'e, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static;
}

impl Bindable for sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: for<'e> sqlx::Encode<'e, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        self.bind(value)
    }
}

impl<O> Bindable for sqlx::query::QueryAs<'static, sqlx::Any, O, sqlx::any::AnyArguments> {
    fn bind_value<T>(self, value: T) -> Self
    where
        T: for<'e> sqlx::Encode<'e, sqlx::Any> + sqlx::Type<sqlx::Any> + Send + 'static,
    {
        self.bind(value)
    }
}

fn bind_all<Q: Bindable>(query: Q, binds: &[Bind]) -> Q {
    binds.iter().fold(query, |query, bind| match bind {
        Bind::Int(v) => query.bind_value(*v),
        Bind::Text(v) => query.bind_value(v.clone()),
        Bind::OptInt(v) => query.bind_value(*v),
        Bind::OptText(v) => query.bind_value(v.clone()),
    })
}

/// Runs every storage call of actors (codegen, moderation) on the server's own runtime.
///
/// The actors live on threads of their own, stopped at shutdown. A database connection
/// still held by a chunk in flight would then be dropped with that thread's runtime,
/// and sqlx returns connections to their pool by spawning a task, which without a
/// runtime panics inside a destructor and aborts the process. On the server's runtime
/// the chunk finishes (or is dropped) where spawning works.
pub struct OnServerRuntime<S> {
    inner: Arc<S>,
    runtime: tokio::runtime::Handle,
}

impl<S> OnServerRuntime<S> {
    /// Binds `inner` to the runtime this is called on.
    pub fn new(inner: Arc<S>) -> Self {
        Self {
            inner,
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// The wrapped storage, for a call already on the server's runtime.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub async fn run<T, F>(
        &self,
        call: impl FnOnce(Arc<S>) -> F,
    ) -> Result<T, stimul_actors::error::StorageError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = T> + Send + 'static,
    {
        self.runtime
            .spawn(call(self.inner.clone()))
            .await
            .map_err(stimul_actors::error::StorageError::from_cause)
    }
}
