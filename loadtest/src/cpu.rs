//! CPU time used during a phase, read from Linux `/proc`: by this program and by the
//! processes named with `--watch` (the server, PostgreSQL's backends), so a report can
//! say how the machine's cores were shared between the load and what it loads. Where
//! `/proc` is missing the figures are simply absent.

use std::collections::HashMap;
use std::fs;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Linux reports CPU time in clock ticks of `USER_HZ`, which is 100 on every
/// architecture Linux runs on today (reading it would need `sysconf`, i.e. libc).
const TICKS_PER_SECOND: u64 = 100;

/// What this program is called in the report.
const SELF: &str = "loadtest";
/// The whole machine (every CPU's busy time), to show load nobody asked to watch.
const MACHINE: &str = "machine (all processes)";

/// CPU time per process at one moment.
pub struct CpuSample {
    at: Instant,
    /// (name, pid) → ticks of user plus system time.
    ticks: HashMap<(String, u32), u64>,
    /// Busy ticks of all CPUs together.
    machine: Option<u64>,
}

/// CPU used by one kind of process over a phase.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessCpu {
    pub name: String,
    pub cpu_secs: f64,
    /// Average cores kept busy: CPU seconds per wall second.
    pub cores: f64,
}

impl CpuSample {
    /// Samples this process and every process whose command name is in `names`.
    pub fn take(names: &[String]) -> Self {
        let mut ticks = HashMap::new();
        if let Some(own) = fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| stat_ticks(&s))
        {
            ticks.insert((SELF.to_string(), std::process::id()), own);
        }
        if !names.is_empty()
            && let Ok(entries) = fs::read_dir("/proc")
        {
            for entry in entries.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                // A process may exit between listing and reading: skip it.
                let Ok(comm) = fs::read_to_string(entry.path().join("comm")) else {
                    continue;
                };
                let comm = comm.trim_end();
                if let Some(name) = names.iter().find(|n| comm == n.as_str())
                    && let Some(t) = fs::read_to_string(entry.path().join("stat"))
                        .ok()
                        .and_then(|s| stat_ticks(&s))
                {
                    ticks.insert((name.clone(), pid), t);
                }
            }
        }
        Self {
            at: Instant::now(),
            ticks,
            machine: fs::read_to_string("/proc/stat")
                .ok()
                .and_then(|s| machine_busy_ticks(&s)),
        }
    }

    /// CPU used since `earlier`, per name, this program first and the whole machine
    /// last. Processes that ended in between are not counted (their time is gone from
    /// `/proc`); new ones count whole.
    pub fn since(&self, earlier: &CpuSample) -> Vec<ProcessCpu> {
        let wall = self.at.duration_since(earlier.at);
        let mut by_name: Vec<(String, u64)> = Vec::new();
        for ((name, pid), now) in &self.ticks {
            let before = earlier
                .ticks
                .get(&(name.clone(), *pid))
                .copied()
                .unwrap_or(0);
            let used = now.saturating_sub(before);
            match by_name.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) => *total += used,
                None => by_name.push((name.clone(), used)),
            }
        }
        by_name.sort_by_key(|(name, _)| (name != SELF, name.clone()));
        if let (Some(now), Some(before)) = (self.machine, earlier.machine) {
            by_name.push((MACHINE.to_string(), now.saturating_sub(before)));
        }
        by_name
            .into_iter()
            .map(|(name, ticks)| {
                let cpu = Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND);
                ProcessCpu {
                    name,
                    cpu_secs: cpu.as_secs_f64(),
                    cores: if wall.is_zero() {
                        0.0
                    } else {
                        cpu.as_secs_f64() / wall.as_secs_f64()
                    },
                }
            })
            .collect()
    }
}

/// User plus system ticks from a `/proc/{pid}/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted after its last `)`.
fn stat_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace();
    // Fields 3.. of stat(5); utime and stime are fields 14 and 15.
    let utime: u64 = fields.nth(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Busy ticks of all CPUs from `/proc/stat`'s first line: everything but idle and
/// I/O wait (guest time is already inside user time).
fn machine_busy_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]
    let counted = fields.get(..8)?;
    Some(counted.iter().sum::<u64>() - counted[3] - counted[4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_read_after_the_command_name() {
        let line = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 4 0 100 0 0";
        assert_eq!(stat_ticks(line), Some(325));
        assert_eq!(stat_ticks("garbage"), None);
    }

    #[test]
    fn machine_time_is_everything_but_idle_and_io_wait() {
        let stat = "cpu  100 5 50 1000 20 3 2 1 7 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n";
        assert_eq!(machine_busy_ticks(stat), Some(161));
        assert_eq!(machine_busy_ticks("intr 1 2 3"), None);
    }

    #[test]
    fn this_process_is_always_sampled_on_linux() {
        let before = CpuSample::take(&[]);
        let after = CpuSample::take(&[]);
        let used = after.since(&before);
        if std::path::Path::new("/proc/self/stat").exists() {
            assert_eq!(used.first().map(|p| p.name.as_str()), Some(SELF));
        }
    }
}
