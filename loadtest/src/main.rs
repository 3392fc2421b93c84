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

/// The help every scenario ends with, with what a scenario adds to the server's start
/// (a literal, so the text is put together at compile time).
macro_rules! after_help {
    ($server_too:literal) => {
        concat!(
            "\
The server under test must accept many logins from one address: start it with
  STIMUL_AUTH__AUTH_ATTEMPTS_PER_IP_PER_MINUTE=1000000
(the default of 30 per minute stops setup after 30 sellers). ",
            $server_too,
            "Each seller also holds one
WebSocket: the server and this program each need a file-descriptor limit above the
seller count (`ulimit -n`).

Exit status: 0 when every invariant held, 1 when one failed (the report says which),
2 when the run could not be carried out (setup, connection or usage errors)."
        )
    };
}

const AFTER_HELP: &str = after_help!("");

const CODES_AFTER_HELP: &str = after_help!(
    "Code registration also
passes the anti-fraud gate, whose limits a load test would hit at once (30 attempts a
minute per seller, 120 per store, a burst of 40 an hour held for review): lift them too,
  STIMUL_FRAUD__PARTICIPANT_PER_MINUTE=1000000 STIMUL_FRAUD__STORE_PER_MINUTE=1000000
  STIMUL_FRAUD__BURST_MINIMUM=1000000
(loadtest/bench.sh does). The codes are paid from the campaign's fund: the demo's holds
1,000,000.00, and a siphon code costs 15.00 plus the owners' 5 %, so 20,000 codes take
315,000.00 and a fresh database fits three such runs. "
);

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
    /// An administrator orders a batch of codes through the code-pool API; sellers
    /// watching `me` register each code once: registrations per second, push latency,
    /// and checks that every code was credited exactly once, a second registration is
    /// refused, the ledger is sound and every seller's balance right.
    #[command(after_help = CODES_AFTER_HELP)]
    Codes(scenario::codes::CodesArgs),
    /// Sellers submit a moderated shelf-photo task while moderators work the queue over
    /// WebSocket: items routed and decided per second, time from submission to the
    /// seller's pushed result, and checks that every item was decided exactly once,
    /// the queue is empty, the ledger sound and every seller's balance right.
    #[command(after_help = AFTER_HELP)]
    Moderation(scenario::moderation::ModerationArgs),
    /// Refills a fresh code pool (codes per second), orders codes out of it and streams
    /// them as CSV while watching the server's memory; checks exact counts and no repeat.
    Refill(scenario::refill::RefillArgs),
    /// Sellers watching `me` check out certificates while a simulated provider answers
    /// with latency: orders per second, time from placeOrder to the pushed `fulfilled`,
    /// and checks that every order ended, the ledger is sound and the provider was
    /// asked for every order line once.
    Orders(scenario::orders::OrdersArgs),
    /// A run of the expiry job over lots seeded as due (`bench.sh expiry` seeds them)
    /// while an administrator credits participants beside it: the run's time, lots per
    /// second, and credits per second and latency before and during the run; checks
    /// that the run moved exactly what was due, once, and the ledger is sound.
    Expiry(scenario::expiry::ExpiryArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    // See the rustls line in Cargo.toml. Err means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Credits(args) => scenario::credits::run(args).await,
        Command::Codes(args) => scenario::codes::run(args).await,
        Command::Moderation(args) => scenario::moderation::run(args).await,
        Command::Refill(args) => scenario::refill::run(args).await,
        Command::Orders(args) => scenario::orders::run(args).await,
        Command::Expiry(args) => scenario::expiry::run(args).await,
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
