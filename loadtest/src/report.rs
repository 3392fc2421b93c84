//! How a run's figures leave the program: aligned tables on stdout for people, the
//! same figures as JSON for files and scripts, and the verdict that sets the exit
//! status.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::stats::LatencySummary;

/// Whether every invariant held; the failures in words otherwise.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "verdict", content = "failures", rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed(Vec<String>),
}

impl Verdict {
    pub fn from_failures(failures: Vec<String>) -> Self {
        if failures.is_empty() {
            Verdict::Passed
        } else {
            Verdict::Failed(failures)
        }
    }
}

/// A titled list of label/value rows.
pub struct Table {
    title: String,
    rows: Vec<(String, String)>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, label: impl Into<String>, value: impl ToString) -> &mut Self {
        self.rows.push((label.into(), value.to_string()));
        self
    }

    pub fn render(&self) -> String {
        let width = self.rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        let mut out = format!("\n{}\n", self.title);
        for (label, value) in &self.rows {
            let _ = writeln!(out, "  {label:<width$}  {value}");
        }
        out
    }
}

/// Latency percentiles, one row per measured path.
pub fn latency_table(title: &str, rows: &[(&str, Option<&LatencySummary>)]) -> String {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = format!(
        "\n{title}\n  {:<width$}  {:>8}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}\n",
        "", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms"
    );
    for (label, summary) in rows {
        match summary {
            Some(s) => {
                let _ = writeln!(
                    out,
                    "  {label:<width$}  {:>8}  {:>9.2}  {:>9.2}  {:>9.2}  {:>9.2}  {:>9.2}",
                    s.count, s.p50_ms, s.p95_ms, s.p99_ms, s.max_ms, s.mean_ms
                );
            }
            None => {
                let _ = writeln!(out, "  {label:<width$}  {:>8}", "no samples");
            }
        }
    }
    out
}

pub fn render_verdict(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Passed => "\nVERDICT: every invariant held\n".into(),
        Verdict::Failed(failures) => {
            let mut out = String::from("\nVERDICT: FAILED\n");
            for failure in failures {
                let _ = writeln!(out, "  - {failure}");
            }
            out
        }
    }
}

pub fn write_json(path: &Path, report: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(report).context("serialising the report")?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_their_values() {
        let mut table = Table::new("Stream");
        table.row("credits", 10).row("credits/s", "1.5");
        assert_eq!(
            table.render(),
            "\nStream\n  credits    10\n  credits/s  1.5\n"
        );
        let text = latency_table("Latency", &[("a", None)]);
        assert!(text.contains("no samples"), "{text}");
    }

    #[test]
    fn a_verdict_fails_on_any_failure() {
        assert!(matches!(Verdict::from_failures(vec![]), Verdict::Passed));
        let failed = Verdict::from_failures(vec!["ledger".into()]);
        assert_eq!(
            serde_json::to_value(&failed).expect("json"),
            serde_json::json!({ "verdict": "failed", "failures": ["ledger"] })
        );
    }
}
