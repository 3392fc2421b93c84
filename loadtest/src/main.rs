//! `stimul-loadtest`: plays many participants against a running Stimul server through
//! its public HTTP API and WebSocket, and reports throughput, push latency and
//! invariant checks.
//!
//! Each scenario is a subcommand in `scenario/`; they share the setup of a population
//! (`population`), the clients (`api`, `socket`), and the figures (`stats`, `cpu`,
//! `report`, `progress`).

mod api;
mod cpu;
mod photo;
mod population;
mod progress;
mod report;
mod scenario;
mod socket;
mod stats;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::report::Verdict;

const AFTER_HELP: &str = "\
The server under test must accept many logins from one address: start it with
  STIMUL_AUTH__AUTH_ATTEMPTS_PER_IP_PER_MINUTE=1000000
(the default of 30 per minute stops setup after 30 sellers). Each seller also holds one
WebSocket: the server and this program each need a file-descriptor limit above the
seller count (`ulimit -n`).

Exit status: 0 when every invariant held, 1 when one failed (the report says which),
2 when the run could not be carried out (setup, connection or usage errors).";

#[derive(Parser)]
#[command(
    name = "stimul-loadtest",
    version,
    about = "Load generator for the Stimul server: simulated participants over HTTP and WebSocket",
    after_help = AFTER_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sellers watch their points live (`me` over WebSocket) while an administrator
    /// credits them through the API: credits per second, push latency, and checks that
    /// the ledger is sound and every credit reached its seller exactly once.
    #[command(after_help = AFTER_HELP)]
    Credits(scenario::credits::CreditsArgs),
    /// Sellers submit a moderated shelf-photo task while moderators work the queue over
    /// WebSocket: items routed and decided per second, time from submission to the
    /// seller's pushed result, and checks that every item was decided exactly once,
    /// the queue is empty, the ledger sound and every seller's balance right.
    #[command(after_help = AFTER_HELP)]
    Moderation(scenario::moderation::ModerationArgs),
    /// Refills a fresh code pool (codes per second), orders codes out of it and streams
    /// them as CSV while watching the server's memory; checks exact counts and no repeat.
    Refill(scenario::refill::RefillArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    // See the rustls line in Cargo.toml. Err means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Credits(args) => scenario::credits::run(args).await,
        Command::Moderation(args) => scenario::moderation::run(args).await,
        Command::Refill(args) => scenario::refill::run(args).await,
    };
    match outcome {
        Ok(Verdict::Passed) => ExitCode::SUCCESS,
        Ok(Verdict::Failed(_)) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
