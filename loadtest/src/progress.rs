//! Progress of a long phase on stderr (setup hashes a password per seller on the
//! server, tens of milliseconds each): redrawn in place on a terminal, one line every
//! few seconds in a log, and a closing line with the count and the rate.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

struct Shared {
    label: String,
    total: usize,
    done: AtomicUsize,
    started: Instant,
}

impl Shared {
    fn line(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        let rate = crate::stats::per_second(done, elapsed);
        format!(
            "{}: {done}/{} ({:.1} s, {rate:.0}/s)",
            self.label,
            self.total,
            elapsed.as_secs_f64()
        )
    }
}

/// A counter shown while a phase runs. Clones count into the same phase.
#[derive(Clone)]
pub struct Progress {
    shared: Arc<Shared>,
}

/// Owns the printing; [`Ticker::finish`] prints the closing line.
pub struct Ticker {
    progress: Progress,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Progress {
    pub fn start(label: impl Into<String>, total: usize) -> (Progress, Ticker) {
        let progress = Progress {
            shared: Arc::new(Shared {
                label: label.into(),
                total,
                done: AtomicUsize::new(0),
                started: Instant::now(),
            }),
        };
        let (stop, mut stopped) = watch::channel(false);
        let shared = progress.shared.clone();
        let terminal = std::io::stderr().is_terminal();
        // A terminal can take a redraw often; a log file wants few lines.
        let every = if terminal {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(5)
        };
        let task = tokio::spawn(async move {
            if shared.total == 0 {
                return;
            }
            let mut interval = tokio::time::interval(every);
            interval.tick().await;
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => return,
                    _ = interval.tick() => {
                        let mut err = std::io::stderr().lock();
                        if terminal {
                            let _ = write!(err, "\r\x1b[2K{}", shared.line());
                        } else {
                            let _ = writeln!(err, "{}", shared.line());
                        }
                        let _ = err.flush();
                    }
                }
            }
        });
        let ticker = Ticker {
            progress: progress.clone(),
            stop,
            task,
        };
        (progress, ticker)
    }

    pub fn inc(&self) {
        self.shared.done.fetch_add(1, Ordering::Relaxed);
    }
}

impl Ticker {
    /// Stops redrawing, prints the final line (none for an empty phase), and says how
    /// long the phase took.
    pub async fn finish(self) -> Duration {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let shared = &self.progress.shared;
        if shared.total == 0 {
            return shared.started.elapsed();
        }
        let mut err = std::io::stderr().lock();
        let clear = if err.is_terminal() { "\r\x1b[2K" } else { "" };
        let _ = writeln!(err, "{clear}{}", shared.line());
        shared.started.elapsed()
    }
}
