//! Scenario `refill`: how fast the server fills a code pool, issues an order out of it
//! and streams that order as CSV, and how much memory streaming takes.
//!
//! It creates a pool of `--codes` codes, starts its refill by hand and reads the refill's
//! own start and finish times from the pool status (server clock, so polling adds no
//! error); then orders `--issue` codes of one product, waits until they are issued, and
//! downloads the CSV, counting lines and bytes as they arrive while it samples the
//! server's resident memory (`/proc/PID/status`). Invariants: the refill inserts exactly
//! what was missing, the order issues exactly its quantity, and the CSV has the header
//! and exactly that many distinct, well-formed lines.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::{Api, Session};
use crate::report::{Table, Verdict};
use crate::scenario::TargetArgs;

#[derive(Args, Debug, Clone)]
pub struct RefillArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The pool's target size: codes the measured refill inserts.
    #[arg(long, default_value_t = 1_000_000)]
    pub codes: i64,
    /// Codes to order and stream as CSV afterwards (at most `--codes`; 0 skips it).
    #[arg(long, default_value_t = 1_000_000)]
    pub issue: i64,
    /// The product to order codes for; the first product of the program when absent.
    #[arg(long)]
    pub product_id: Option<i64>,
    /// The server's process id, for its memory; found by the name `stimul` when absent.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Seconds to wait for the refill and for the issuing, each.
    #[arg(long, value_name = "SECS", default_value_t = 3_600)]
    pub timeout: u64,
}

#[derive(Deserialize)]
struct CreatedPool {
    id: i64,
}

#[derive(Deserialize)]
struct PoolStatus {
    available: i64,
    refill: Option<RefillView>,
}

#[derive(Deserialize)]
struct RefillView {
    id: i64,
    status: String,
    requested: i64,
    done: i64,
    started_at: i64,
    finished_at: Option<i64>,
}

#[derive(Deserialize)]
struct RefillStarted {
    refill_id: i64,
}

#[derive(Deserialize)]
struct Batch {
    id: i64,
    issued: i64,
    quantity: i64,
    status: String,
}

#[derive(Deserialize)]
struct Product {
    id: i64,
}

/// The figures of a run, for `--json`.
#[derive(Serialize, Default)]
struct Figures {
    codes: i64,
    refill_seconds: f64,
    refill_codes_per_second: f64,
    issue: i64,
    issue_seconds: f64,
    issue_codes_per_second: f64,
    csv_seconds: f64,
    csv_bytes: u64,
    csv_lines: u64,
    server_rss_before_csv_kib: Option<u64>,
    server_rss_peak_during_csv_kib: Option<u64>,
    verdict: Option<Verdict>,
}

pub async fn run(args: RefillArgs) -> anyhow::Result<Verdict> {
    if args.codes < 1 || !(0..=args.codes).contains(&args.issue) {
        bail!("--codes must be positive and --issue between 0 and --codes");
    }
    let (api, admin) = args.target.connect().await?;
    let pid = args.server_pid.or_else(find_server).context(
        "the server's process id: pass --server-pid (no single process named stimul found)",
    )?;
    let mut figures = Figures {
        codes: args.codes,
        issue: args.issue,
        ..Figures::default()
    };
    let mut failures = Vec::new();
    let run_id = unique_suffix();

    let pool: CreatedPool = api
        .post(
            &admin,
            "/api/v1/code-pools",
            &json!({ "name": format!("bench-{run_id}"), "target_size": args.codes, "low_watermark": 0 }),
            &format!("bench-pool-{run_id}"),
        )
        .await?;
    let started: RefillStarted = api
        .post(
            &admin,
            &format!("/api/v1/code-pools/{}/refills", pool.id),
            &json!({}),
            &format!("bench-refill-{run_id}"),
        )
        .await?;
    println!(
        "refilling pool {} with {} codes (refill {})…",
        pool.id, args.codes, started.refill_id
    );
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let refill = loop {
        let status: PoolStatus = api
            .get(&admin, &format!("/api/v1/code-pools/{}", pool.id))
            .await?;
        if let Some(refill) = status.refill.filter(|r| r.id == started.refill_id)
            && refill.status != "running"
        {
            break refill;
        }
        if Instant::now() > deadline {
            bail!("the refill did not finish within --timeout");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Read again: the status reads the pool before the refill, so the answer that saw
    // the refill done may predate its last chunk.
    let status: PoolStatus = api
        .get(&admin, &format!("/api/v1/code-pools/{}", pool.id))
        .await?;
    if status.available != args.codes {
        failures.push(format!(
            "the pool holds {} codes after its refill, not {}",
            status.available, args.codes
        ));
    }
    if (refill.requested, refill.done) != (args.codes, args.codes) {
        failures.push(format!(
            "the refill asked for {} and inserted {}, not {}",
            refill.requested, refill.done, args.codes
        ));
    }
    let millis = refill.finished_at.unwrap_or(refill.started_at) - refill.started_at;
    figures.refill_seconds = millis as f64 / 1_000.0;
    figures.refill_codes_per_second = per_second(args.codes, figures.refill_seconds);

    if args.issue > 0 {
        issue_and_stream(
            &api,
            &admin,
            &args,
            pool.id,
            pid,
            &run_id,
            &mut figures,
            &mut failures,
        )
        .await?;
    }

    let mut table = Table::new("Code pool refill");
    table
        .row("codes refilled", args.codes)
        .row("refill time", format!("{:.1} s", figures.refill_seconds))
        .row(
            "refill throughput",
            format!("{:.0} codes/s", figures.refill_codes_per_second),
        );
    if args.issue > 0 {
        table
            .row("codes issued", args.issue)
            .row("issue time", format!("{:.1} s", figures.issue_seconds))
            .row(
                "issue throughput",
                format!("{:.0} codes/s", figures.issue_codes_per_second),
            )
            .row("CSV download", format!("{:.1} s", figures.csv_seconds))
            .row(
                "CSV size",
                format!(
                    "{:.1} MiB, {} lines",
                    figures.csv_bytes as f64 / 1_048_576.0,
                    figures.csv_lines
                ),
            )
            .row(
                "server RSS before CSV",
                kib(figures.server_rss_before_csv_kib),
            )
            .row(
                "server RSS peak during CSV",
                kib(figures.server_rss_peak_during_csv_kib),
            );
    }
    print!("{}", table.render());
    let verdict = Verdict::from_failures(failures);
    if let Verdict::Failed(failures) = &verdict {
        for failure in failures {
            println!("FAILED: {failure}");
        }
    }
    figures.verdict = Some(verdict.clone());
    if let Some(path) = &args.target.json {
        std::fs::write(path, serde_json::to_vec_pretty(&figures)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(verdict)
}

#[allow(clippy::too_many_arguments)]
async fn issue_and_stream(
    api: &Api,
    admin: &Session,
    args: &RefillArgs,
    pool_id: i64,
    pid: u32,
    run_id: &str,
    figures: &mut Figures,
    failures: &mut Vec<String>,
) -> anyhow::Result<()> {
    let product = match args.product_id {
        Some(id) => id,
        None => {
            let products: Vec<Product> = api.list_all(admin, "/api/v1/products").await?;
            products
                .first()
                .map(|p| p.id)
                .context("the program has no product; pass --product-id or load the demo")?
        }
    };
    println!("ordering {} codes of product {product}…", args.issue);
    let ordered_at = Instant::now();
    let batch: Batch = api
        .post(
            admin,
            "/api/v1/code-batches",
            &json!({ "pool_id": pool_id, "product_id": product, "quantity": args.issue }),
            &format!("bench-batch-{run_id}"),
        )
        .await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let batch = loop {
        let current: Batch = api
            .get(admin, &format!("/api/v1/code-batches/{}", batch.id))
            .await?;
        if current.status == "issued" {
            break current;
        }
        if Instant::now() > deadline {
            bail!("the order was not issued within --timeout");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    figures.issue_seconds = ordered_at.elapsed().as_secs_f64();
    figures.issue_codes_per_second = per_second(args.issue, figures.issue_seconds);
    if (batch.issued, batch.quantity) != (args.issue, args.issue) {
        failures.push(format!(
            "the order issued {} of {}, not {}",
            batch.issued, batch.quantity, args.issue
        ));
    }

    println!("streaming the order as CSV…");
    figures.server_rss_before_csv_kib = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(
        figures.server_rss_before_csv_kib.unwrap_or(0),
    ));
    let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Some(rss) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let url = api
        .base()
        .join(&format!("api/v1/code-batches/{}/codes.csv", batch.id))?;
    let started = Instant::now();
    let mut response = reqwest::Client::new()
        .get(url)
        .bearer_auth(&admin.token)
        .send()
        .await
        .context("GET codes.csv")?;
    if !response.status().is_success() {
        bail!("GET codes.csv answered {}", response.status());
    }
    let mut seen = HashSet::with_capacity(args.issue as usize);
    let mut partial = Vec::new();
    let mut header = None;
    while let Some(chunk) = response.chunk().await.context("reading codes.csv")? {
        figures.csv_bytes += chunk.len() as u64;
        partial.extend_from_slice(&chunk);
        let complete = partial
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        for line in partial[..complete]
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
        {
            figures.csv_lines += 1;
            if header.is_none() {
                header = Some(String::from_utf8_lossy(line).into_owned());
                continue;
            }
            // `CODE,STIMUL:C:CODE`: 11 letters, a comma, the 9-byte prefix and the code.
            let well_formed = line.len() == 32 && line[11] == b',' && line[..11] == line[21..];
            if !well_formed || !seen.insert(u64_of(&line[..11])) {
                failures.push(format!(
                    "bad or repeated CSV line: {}",
                    String::from_utf8_lossy(line)
                ));
            }
        }
        partial.drain(..complete);
    }
    figures.csv_seconds = started.elapsed().as_secs_f64();
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    figures.server_rss_peak_during_csv_kib = Some(peak.load(Ordering::Relaxed)).filter(|k| *k > 0);
    if header.as_deref() != Some("code,qr_payload") {
        failures.push(format!("the CSV starts with {header:?}, not the header"));
    }
    if seen.len() as i64 != args.issue {
        failures.push(format!(
            "the CSV has {} distinct codes, not {}",
            seen.len(),
            args.issue
        ));
    }
    Ok(())
}

/// The 11 letters packed into a number (5 bits each), so a set of millions stays small.
fn u64_of(code: &[u8]) -> u64 {
    code.iter()
        .fold(0, |acc, b| (acc << 5) | u64::from(b - b'A'))
}

fn per_second(count: i64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

fn kib(value: Option<u64>) -> String {
    value.map_or_else(
        || "unknown".into(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    )
}

/// Resident memory of a process (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The one process named `stimul`, if there is exactly one.
fn find_server() -> Option<u32> {
    let mut found = std::fs::read_dir("/proc").ok()?.filter_map(|entry| {
        let entry = entry.ok()?;
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
        (comm.trim() == "stimul").then_some(pid)
    });
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}")
}
