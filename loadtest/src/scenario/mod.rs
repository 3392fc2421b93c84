//! Scenarios, one subcommand each, and what they share: on the command line, which
//! server, as which administrator, and where the figures go; in a run, the sellers'
//! recorded sockets, the ledger check, and the parts of the report every scenario has.

pub mod codes;
pub mod credits;
pub mod expiry;
pub mod moderation;
pub mod orders;
pub mod refill;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::Args;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{Api, Session};
use crate::cpu::ProcessCpu;
use crate::population::{Seller, SetupReport};
use crate::progress::Progress;
use crate::report::Table;
use crate::socket::{Frame, LiveSocket, Recording, record};

/// How long a socket may take to open and to deliver its first snapshot.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// After the last expected push, how long to keep listening for duplicates.
pub const DUPLICATE_GRACE: Duration = Duration::from_millis(300);
/// Failures spelled out in a report; the rest are only counted.
pub const EXAMPLES: usize = 5;

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The server under test.
    #[arg(
        long,
        env = "STIMUL_LOADTEST_BASE_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub base_url: String,
    /// Allow a server that is not on this machine (loopback). A load test aimed at the
    /// wrong host is an attack; say so explicitly when you mean it.
    #[arg(long)]
    pub allow_remote: bool,
    /// An administrator of the program (`serve --demo` has admin/demo).
    #[arg(long, default_value = "admin")]
    pub admin_login: String,
    /// That administrator's password.
    #[arg(long, env = "STIMUL_LOADTEST_ADMIN_PASSWORD", default_value = "demo")]
    pub admin_password: String,
    /// Seconds an HTTP call may take before it counts as a timeout.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub request_timeout: u64,
    /// Also report the CPU time of processes with this command name during the
    /// measured phase, e.g. `--watch stimul --watch postgres` (Linux; repeatable).
    #[arg(long, value_name = "NAME")]
    pub watch: Vec<String>,
    /// Write the figures as JSON to this file too.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

impl TargetArgs {
    /// A client of the server, and the administrator's session on it.
    pub async fn connect(&self) -> anyhow::Result<(Api, Session)> {
        let api = Api::new(
            &self.base_url,
            Duration::from_secs(self.request_timeout.max(1)),
        )?;
        if !self.allow_remote && !is_loopback(api.base().host_str()) {
            bail!(
                "{} is not on this machine; pass --allow-remote if you really mean to load it",
                self.base_url
            );
        }
        let admin = api
            .login(&self.admin_login, &self.admin_password)
            .await
            .context("logging in as the administrator (--admin-login/--admin-password)")?;
        Ok((api, admin))
    }
}

/// A run id that makes idempotency keys (and names) unique across runs.
pub fn run_id() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("lt{millis:x}{:x}", std::process::id())
}

/// A seller's socket, subscribed to `me` and recorded in the background.
pub struct Watcher<T> {
    /// The `me` snapshot the recording starts from.
    pub snapshot: Frame,
    pub recording: JoinHandle<Recording<T>>,
}

/// Connects every seller, subscribes to `me`, and records each socket until `stop`,
/// keeping what `extract(i)` makes of seller i's frames. In the sellers' order.
pub async fn watch_sellers<T, F>(
    api: &Api,
    sellers: &[Seller],
    concurrency: usize,
    stop: watch::Receiver<bool>,
    extract: impl Fn(usize) -> F,
) -> anyhow::Result<Vec<Watcher<T>>>
where
    T: Send + 'static,
    F: FnMut(Instant, Frame) -> Option<T> + Send + 'static,
{
    let (progress, ticker) = Progress::start("connecting sellers", sellers.len());
    let mut watchers: Vec<(usize, Watcher<T>)> = stream::iter(sellers.iter().enumerate())
        .map(|(index, seller)| {
            let (progress, stop, extract) = (progress.clone(), stop.clone(), extract(index));
            async move {
                let url = api.ws_url(&seller.session)?;
                let mut socket = LiveSocket::connect(&url, CONNECT_TIMEOUT)
                    .await
                    .with_context(|| format!("connecting {}", seller.login))?;
                let snapshot = socket
                    .subscribe("me", CONNECT_TIMEOUT)
                    .await
                    .with_context(|| format!("subscribing {}", seller.login))?;
                let recording = record(socket, stop, extract);
                progress.inc();
                anyhow::Ok((
                    index,
                    Watcher {
                        snapshot,
                        recording,
                    },
                ))
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    ticker.finish().await;
    watchers.sort_by_key(|(index, _)| *index);
    Ok(watchers.into_iter().map(|(_, w)| w).collect())
}

/// Waits until `counter` reaches `expected` or `timeout` passed; says which.
pub async fn wait_for_count(counter: &AtomicUsize, expected: usize, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if counter.load(Ordering::Relaxed) >= expected {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The server's own proof of the ledger (`GET /api/v1/ledger/check`); flattened into
/// a report as `ledger_sound` and `ledger`.
#[derive(Debug, Serialize)]
pub struct LedgerCheck {
    #[serde(rename = "ledger_sound")]
    pub sound: bool,
    /// The answer as given.
    #[serde(rename = "ledger")]
    pub answer: Value,
}

impl LedgerCheck {
    pub async fn fetch(api: &Api, admin: &Session) -> anyhow::Result<Self> {
        let answer: Value = api
            .get(admin, "/api/v1/ledger/check")
            .await
            .context("checking the ledger")?;
        Ok(Self {
            sound: answer["sound"].as_bool() == Some(true),
            answer,
        })
    }

    /// One line for the invariants table.
    pub fn summary(&self) -> String {
        format!(
            "sound={} ({} postings, balance sum {})",
            self.sound,
            self.answer["postings"],
            self.answer["balance_sum"].as_str().unwrap_or("?")
        )
    }
}

/// `n`, and its share of `total` when there is one.
pub fn count_of(n: usize, total: usize) -> String {
    if total == 0 {
        n.to_string()
    } else {
        format!("{n} ({:.1} %)", n as f64 * 100.0 / total as f64)
    }
}

/// The setup table every scenario starts its report with; callers may add rows.
pub fn setup_table(setup: &SetupReport, connect_secs: f64) -> Table {
    let mut table = Table::new("Setup");
    table
        .row(
            "stores",
            format!(
                "{} created, {} reused",
                setup.stores_created, setup.stores_reused
            ),
        )
        .row(
            "sellers",
            format!(
                "{} created in {:.1} s, {} reused",
                setup.sellers_created, setup.create_secs, setup.sellers_reused
            ),
        )
        .row("logins", format!("{:.1} s", setup.login_secs))
        .row("sockets subscribed", format!("{connect_secs:.1} s"));
    table
}

/// CPU by process during the measured phase; nothing when nothing was measured.
pub fn cpu_table(title: &str, cpu: &[ProcessCpu]) -> String {
    if cpu.is_empty() {
        return String::new();
    }
    let mut table = Table::new(title);
    for process in cpu {
        table.row(
            &process.name,
            format!("{:.2} ({:.1} s)", process.cores, process.cpu_secs),
        );
    }
    table.render()
}

fn is_loopback(host: Option<&str>) -> bool {
    match host {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_this_machine_is_loopback() {
        for host in ["localhost", "127.0.0.1", "127.3.2.1", "[::1]"] {
            assert!(is_loopback(Some(host)), "{host}");
        }
        for host in ["10.0.0.1", "example.com", "192.168.1.1"] {
            assert!(!is_loopback(Some(host)), "{host}");
        }
        assert!(!is_loopback(None));
    }
}
