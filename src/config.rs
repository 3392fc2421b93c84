//! Layered configuration: defaults in code, then an optional TOML file, then
//! `STIMUL_*` environment variables (nested keys with `__`), then command-line flags.
//!
//! `DATABASE_URL` and `REDIS_URL` are also read without the prefix because that is the
//! name every hosting platform and tool already uses for them.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A value that must never reach a log line or a `Debug` dump (passwords, API keys,
/// connection URLs with credentials).
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The only way to read the value; grep for it to audit where secrets go.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Where the embedded database, photos and generated files live.
    pub data_dir: PathBuf,
    /// Interface to bind. Loopback by default so a developer's laptop does not expose
    /// an admin account to the café network; production sets `0.0.0.0`.
    pub host: String,
    /// Port 0 asks the OS for a free port (tests do this).
    pub port: u16,
    /// `sqlite://…` or `postgres://…`; empty means SQLite in `data_dir`.
    pub database_url: Option<Secret<String>>,
    /// Set to share events and rate limits between nodes; empty means in-process only.
    pub redis_url: Option<Secret<String>>,
    /// Prefix of every Redis key and channel, so several deployments can share one Redis.
    pub redis_prefix: String,
    /// Program slug used when a login or phone matches accounts in several programs
    /// and the client did not say which one.
    pub default_program: String,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Take the client address from `Forwarded` / `X-Forwarded-For` (only behind a
    /// proxy you run; otherwise clients could forge it to dodge rate limits).
    pub trust_proxy_headers: bool,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub sms: SmsSettings,
    /// The provider that delivers gift certificates, virtual cards and top-ups.
    pub rewards: RewardSettings,
    /// Payouts to bank cards: the provider and the limits.
    pub payouts: PayoutSettings,
    /// Card payments of an order's shortfall: the provider and how long it waits.
    pub payments: PaymentSettings,
    /// Phone top-ups: their provider.
    pub topups: TopupSettings,
    /// The effect queue's lease (`[effects]`).
    pub effects: EffectSettings,
    /// Points expiry's runs (`[expiry]`, `STIMUL_EXPIRY__…`).
    pub expiry: ExpirySettings,
    /// Messages to people (`[notifications]`, `STIMUL_NOTIFICATIONS__…`).
    pub notifications: NotificationSettings,
    /// Outbound webhooks (`[webhooks]`, `STIMUL_WEBHOOKS__…`).
    pub webhooks: WebhookSettings,
    /// Company lookup by tax number (`[companies]`, `STIMUL_COMPANIES__…`).
    pub companies: CompanySettings,
    /// E-mail messages (`[email]`, `STIMUL_EMAIL__…`).
    pub email: ChannelSettings,
    /// Mailings to segments (`[mailings]`, `STIMUL_MAILINGS__…`).
    pub mailings: MailingSettings,
    /// Mobile push messages (`[push]`, `STIMUL_PUSH__…`).
    pub push: ChannelSettings,
    pub limits: LimitSettings,
    pub codes: CodeSettings,
    /// Anti-fraud limits on code registration (`[fraud]`, `STIMUL_FRAUD__…`).
    pub fraud: stimul_actors::rules::campaigns::FraudLimits,
    /// `tracing` filter directive, e.g. `info,stimul=debug`.
    pub log: String,
    /// Where spans go over OTLP/HTTP (`http://collector:4318/v1/traces`), for a binary
    /// built with `--features otlp`; unset, nothing is exported.
    pub otlp_endpoint: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            host: "127.0.0.1".into(),
            port: 8080,
            database_url: None,
            redis_url: None,
            redis_prefix: "stimul".into(),
            default_program: "default".into(),
            workers: 0,
            trust_proxy_headers: false,
            database: DatabaseSettings::default(),
            auth: AuthSettings::default(),
            sms: SmsSettings::default(),
            rewards: RewardSettings::default(),
            payouts: PayoutSettings::default(),
            payments: PaymentSettings::default(),
            topups: TopupSettings::default(),
            effects: EffectSettings::default(),
            expiry: ExpirySettings::default(),
            notifications: NotificationSettings::default(),
            webhooks: WebhookSettings::default(),
            companies: CompanySettings::default(),
            email: ChannelSettings::default(),
            mailings: MailingSettings::default(),
            push: ChannelSettings::default(),
            limits: LimitSettings::default(),
            codes: CodeSettings::default(),
            fraud: Default::default(),
            log: "info".into(),
            otlp_endpoint: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct DatabaseSettings {
    /// Connections serving requests. SQLite serialises writers anyway; readers benefit
    /// from a few.
    pub max_connections: u32,
    /// Connections reserved for background writers (code pool workers, the effect
    /// queue, stored idempotent answers), on top of `max_connections`; the group
    /// committer has one more of its own. Request traffic can never take them, so it
    /// can never starve the writers it waits for.
    pub reserved_connections: u32,
    /// How long a request waits for a connection before it is shed with
    /// `service_unavailable` and `Retry-After`: a saturated database answers "later"
    /// within seconds instead of queueing requests for half a minute.
    pub acquire_timeout_ms: u64,
    /// How long a SQLite writer waits for the lock before failing, in milliseconds.
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            reserved_connections: 2,
            acquire_timeout_ms: 5_000,
            busy_timeout_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthSettings {
    /// One-time codes live this long: long enough to read an SMS, short enough that a
    /// leaked code is useless soon.
    pub otp_ttl_secs: i64,
    /// Wrong guesses allowed per code before it is burnt.
    pub otp_max_attempts: i64,
    /// Codes that may be requested for one phone per hour (each costs an SMS).
    pub otp_requests_per_phone_per_hour: u32,
    /// Authentication attempts (OTP requests, verifications, password logins) per
    /// client address per minute.
    pub auth_attempts_per_ip_per_minute: u32,
    /// Failed password logins per login per 15 minutes before it is throttled.
    pub password_failures_per_login: u32,
    /// Session lifetime; sellers stay logged in on their phone for a month.
    pub session_ttl_days: i64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            otp_ttl_secs: 300,
            otp_max_attempts: 5,
            otp_requests_per_phone_per_hour: 5,
            auth_attempts_per_ip_per_minute: 30,
            password_failures_per_login: 10,
            session_ttl_days: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Stays on this machine, printing what it would send: development and demos.
    Console,
    /// Talks to the provider's HTTP API.
    Http,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct SmsSettings {
    pub provider: ProviderKind,
    /// Gateway endpoint for the `http` provider.
    pub url: Option<String>,
    pub api_key: Option<Secret<String>>,
    /// Sender name shown on the phone.
    pub sender: String,
    pub timeout_ms: u64,
    /// Attempts per delivery before the outbox backs off for longer.
    pub max_attempts: u32,
}

impl Default for SmsSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Console,
            url: None,
            api_key: None,
            sender: "Stimul".into(),
            timeout_ms: 5_000,
            max_attempts: 5,
        }
    }
}

/// The rewards provider (`[rewards]`, `STIMUL_REWARDS__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RewardSettings {
    /// `console` fulfils every order after a short delay and prints it (no codes are
    /// printed); `http` talks to a provider's API at `url`.
    pub provider: ProviderKind,
    /// The provider's API root for `http`: `POST {url}/orders`, `GET {url}/orders/{id}`.
    pub url: Option<String>,
    pub api_key: Option<Secret<String>>,
    /// Signs the provider's callbacks (`X-Signature: sha256=<hex HMAC of the body>`);
    /// without it callbacks are refused.
    pub callback_secret: Option<Secret<String>>,
    pub timeout_ms: u64,
    /// Tries of one order before it is given up as failed and its points returned.
    pub max_attempts: u32,
}

impl Default for RewardSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Console,
            url: None,
            api_key: None,
            callback_secret: None,
            timeout_ms: 10_000,
            max_attempts: 12,
        }
    }
}

/// The phone top-up provider (`[topups]`, `STIMUL_TOPUPS__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct TopupSettings {
    /// `console` tops up at once and prints it; `http`: `POST {url}/topups`
    /// `{"id","phone","amount"}` with `Idempotency-Key: {id}`, `GET {url}/topups/{id}`.
    pub provider: ProviderKind,
    pub url: Option<String>,
    pub api_key: Option<Secret<String>>,
    /// Signs the provider's callbacks (`POST /api/v1/providers/topups/callback`).
    pub callback_secret: Option<Secret<String>>,
    pub timeout_ms: u64,
}

impl Default for TopupSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Console,
            url: None,
            api_key: None,
            callback_secret: None,
            timeout_ms: 10_000,
        }
    }
}

/// Payouts to a bank card (`[payouts]`, `STIMUL_PAYOUTS__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PayoutSettings {
    /// `console` tokenises and pays at once on this machine; `http`: `POST {url}/cards`
    /// `{"number"}` → `{"token"}`, `POST {url}/payouts` `{"id","token","amount"}` with
    /// `Idempotency-Key: {id}`, `GET {url}/payouts/{id}`.
    pub provider: ProviderKind,
    pub url: Option<String>,
    pub api_key: Option<Secret<String>>,
    pub timeout_ms: u64,
    /// Tries of one payout before it fails and its points are returned.
    pub max_attempts: u32,
    /// The smallest payout, decimal points.
    pub minimum: String,
    /// Paid out (or on its way) per participant in the last 24 hours, at most.
    pub per_day: String,
    /// Paid out (or on its way) per participant in the last 30 days, at most.
    pub per_month: String,
}

impl Default for PayoutSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Console,
            url: None,
            api_key: None,
            timeout_ms: 10_000,
            max_attempts: 12,
            minimum: "500.00".into(),
            per_day: "15000.00".into(),
            per_month: "50000.00".into(),
        }
    }
}

/// Card payments of the part of an order points do not cover (`[payments]`,
/// `STIMUL_PAYMENTS__…`); whether a program takes them is the program's setting
/// (`card_payments`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct PaymentSettings {
    /// `console` confirms every payment a few seconds after it was asked and prints
    /// it; `http`: `POST {url}/payments` `{"id","amount","description","return_url"}`
    /// with `Idempotency-Key: {id}`, `GET {url}/payments/{id}`,
    /// `POST {url}/payments/{id}/refund` `{"amount"}`.
    pub provider: ProviderKind,
    pub url: Option<String>,
    pub api_key: Option<Secret<String>>,
    /// Signs the provider's callbacks (`X-Signature: sha256=<hex HMAC of the body>`);
    /// without it callbacks are refused and payments are learnt by asking.
    pub callback_secret: Option<Secret<String>>,
    pub timeout_ms: u64,
    /// How long an order waits for its payment before it is cancelled and its points
    /// and stock return.
    pub expire_ms: i64,
    /// Where the provider's payment page sends the buyer back (the web's `/orders`).
    pub return_url: Option<String>,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Console,
            url: None,
            api_key: None,
            callback_secret: None,
            timeout_ms: 10_000,
            expire_ms: 15 * 60 * 1000,
            return_url: None,
        }
    }
}

/// The effect queue (`[effects]`, `STIMUL_EFFECTS__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct EffectSettings {
    /// How long a claimed effect belongs to the node running it before another node
    /// may take it over (a node that died mid-effect). Must exceed every provider's
    /// timeout, so a live runner is never overtaken.
    pub lease_ms: i64,
}

impl Default for EffectSettings {
    fn default() -> Self {
        Self { lease_ms: 60_000 }
    }
}

/// Mailings to segments (`[mailings]`, `STIMUL_MAILINGS__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct MailingSettings {
    /// People one page writes to (one transaction, one effect).
    pub page_size: i64,
    /// The most messages a mailing hands each provider per second: pages wait for the
    /// slowest channel the mailing uses.
    pub sms_per_second: u32,
    pub email_per_second: u32,
    pub push_per_second: u32,
}

impl Default for MailingSettings {
    fn default() -> Self {
        Self {
            page_size: 500,
            sms_per_second: 20,
            email_per_second: 100,
            push_per_second: 500,
        }
    }
}

/// A message channel's provider (`[email]`, `[push]`): `console` prints what it would
/// send; `http` posts it to the provider's API with a bearer key (e-mail:
/// `POST {url}/messages` `{"to","from","subject","text"}`; push:
/// `POST {url}/messages` `{"user_id","title","body","data"}`, the provider knowing the
/// person's devices by our user id).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ChannelSettings {
    pub provider: ProviderKind,
    pub url: Option<String>,
    pub api_key: Option<Secret<String>>,
    /// The sender (e-mail's From).
    pub sender: String,
    pub timeout_ms: u64,
    /// Tries of one message before it is parked as dead.
    pub max_attempts: u32,
}

impl Default for ChannelSettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Console,
            url: None,
            api_key: None,
            sender: "Stimul <noreply@stimul.local>".into(),
            timeout_ms: 5_000,
            max_attempts: 20,
        }
    }
}

/// Company lookup by tax number (`[companies]`, `STIMUL_COMPANIES__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CompanySettings {
    /// `console` finds nothing (and says so in the log); `http` asks a DaData-style
    /// service: `POST {url}/findById/party` `{"query": inn}` with
    /// `Authorization: Token {api_key}`.
    pub provider: ProviderKind,
    pub url: Option<String>,
    pub api_key: Option<Secret<String>>,
    pub timeout_ms: u64,
    /// Lookups one address may make per minute (the sign-up page asks without a login).
    pub lookups_per_ip_per_minute: u32,
    /// How long an answer is kept before the service is asked again.
    pub cache_days: i64,
}

impl Default for CompanySettings {
    fn default() -> Self {
        Self {
            provider: ProviderKind::Console,
            url: None,
            api_key: None,
            timeout_ms: 3_000,
            lookups_per_ip_per_minute: 30,
            cache_days: 30,
        }
    }
}

/// Outbound webhooks (`[webhooks]`, `STIMUL_WEBHOOKS__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// How long a receiver has to answer one delivery.
    pub timeout_ms: u64,
    /// Tries of one delivery before it is given up: with the effect queue's backoff
    /// (doubling from half a second, then every five minutes) 300 tries last a day.
    pub max_attempts: u32,
    /// Whether subscriptions may point at loopback and private addresses (tests and
    /// a receiver on the same host); off by default so a subscription cannot probe the
    /// server's own network.
    pub allow_private_urls: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            max_attempts: 300,
            allow_private_urls: false,
        }
    }
}

/// Messages to people (`[notifications]`, `STIMUL_NOTIFICATIONS__…`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct NotificationSettings {
    /// How often each node gathers the credits since the last digest into one "points
    /// credited" message per person, in milliseconds; 0 turns the digest off.
    pub digest_every_ms: u64,
    /// Credits younger than this wait for the next digest, so a burst still going on
    /// lands in one message (and a commit still in flight is not skipped).
    pub digest_quiet_ms: i64,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            digest_every_ms: 30_000,
            digest_quiet_ms: 5_000,
        }
    }
}

/// Points expiry (`[expiry]`, `STIMUL_EXPIRY__…`); the rule itself is a program
/// setting.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct ExpirySettings {
    /// How often each node looks whether a program's local date has begun and its
    /// nightly run is still to start, in milliseconds; 0 turns the nightly runs off
    /// (runs by hand still work).
    pub nightly_check_ms: u64,
    /// Participants one page of a run expires together: one effect, one burst of
    /// commits the group committer batches.
    pub page_size: i64,
}

impl Default for ExpirySettings {
    fn default() -> Self {
        Self {
            nightly_check_ms: 60_000,
            page_size: 200,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct LimitSettings {
    /// Largest JSON body accepted; API bodies are small, anything bigger is a mistake
    /// or an attack.
    pub json_body_bytes: usize,
    /// Largest CSV import accepted.
    pub csv_body_bytes: usize,
    /// API requests served at once by this node; one more is refused at once with
    /// `service_unavailable` and `Retry-After` rather than queued behind the
    /// database (WebSocket sessions, health checks and pages do not count).
    pub requests_in_flight: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            json_body_bytes: 64 * 1024,
            csv_body_bytes: 20 * 1024 * 1024,
            requests_in_flight: 512,
        }
    }
}

/// Code pools: the codegen workers of this node and when pools are refilled.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct CodeSettings {
    /// Codegen workers on this node (each a thread); a refill planned here is split
    /// into as many shards, which workers of any node may take.
    pub workers: usize,
    /// Codes per transaction when refilling and issuing: large enough that the
    /// per-transaction cost (a sync to disk) vanishes, small enough that a crash loses
    /// little and a shutdown waits briefly.
    pub chunk_size: usize,
    /// How often pools are checked against their watermark and the nightly window.
    pub check_interval_ms: u64,
    /// How long a node that stopped renewing a shard (crashed) keeps it.
    pub lease_ms: u64,
    /// The nightly window, local time of each program (`HH:MM`); pools are topped up to
    /// their target inside it. Equal bounds turn scheduled refills off.
    pub night_start: String,
    pub night_end: String,
    /// Codes per database page when streaming a batch as CSV.
    pub csv_page_size: i64,
}

impl Default for CodeSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            chunk_size: 10_000,
            check_interval_ms: 60_000,
            lease_ms: 30_000,
            night_start: "01:00".into(),
            night_end: "05:00".into(),
            csv_page_size: 10_000,
        }
    }
}

impl Settings {
    /// Loads defaults ← `config_file` (or `stimul.toml` in the working directory when
    /// present) ← environment.
    pub fn load(config_file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match config_file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("stimul.toml")),
        }
        figment = figment
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL", "REDIS_URL"])
                    .map(|key| key.as_str().to_ascii_lowercase().into()),
            )
            .merge(Env::prefixed("STIMUL_").split("__").ignore(&["CONFIG"]));
        figment.extract().map_err(Box::new)
    }

    /// The database URL in effect: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.expose().trim().is_empty() => url.expose().clone(),
            _ => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("stimul.db").display()
            ),
        }
    }

    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url
            .as_ref()
            .map(|url| url.expose().as_str())
            .filter(|url| !url.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_show_in_debug() {
        let settings = Settings {
            database_url: Some(Secret::new("postgres://user:hunter2@db/stimul".into())),
            ..Settings::default()
        };
        let dump = format!("{settings:?}");
        assert!(!dump.contains("hunter2"), "{dump}");
        assert!(dump.contains("[redacted]"));
    }

    // figment's own error type is large; these are tests.
    #[allow(clippy::result_large_err)]
    #[test]
    fn environment_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("STIMUL_PORT", "9123");
            jail.set_env("STIMUL_SMS__PROVIDER", "http");
            jail.set_env("DATABASE_URL", "postgres://localhost/x");
            let settings = Settings::load(None).map_err(|e| *e)?;
            assert_eq!(settings.port, 9123);
            assert_eq!(settings.sms.provider, ProviderKind::Http);
            assert_eq!(settings.database_url(), "postgres://localhost/x");
            Ok(())
        });
    }

    #[allow(clippy::result_large_err)]
    #[test]
    fn config_file_is_layered_under_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("stimul.toml", "port = 7000\nhost = \"0.0.0.0\"\n")?;
            jail.set_env("STIMUL_PORT", "7001");
            let settings = Settings::load(None).map_err(|e| *e)?;
            assert_eq!(settings.port, 7001);
            assert_eq!(settings.host, "0.0.0.0");
            Ok(())
        });
    }

    #[test]
    fn default_database_is_sqlite_in_data_dir() {
        let settings = Settings::default();
        assert_eq!(settings.database_url(), "sqlite://data/stimul.db?mode=rwc");
        assert!(settings.redis_url().is_none());
    }
}
