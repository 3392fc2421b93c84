//! Scenarios, one subcommand each, and what they share on the command line: which
//! server, as which administrator, and where the figures go.

pub mod credits;
pub mod refill;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use crate::api::{Api, Session};

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
