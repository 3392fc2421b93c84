//! Submitting: the closed loop over the whole path, at most `--in-flight` submissions
//! waiting for their result at once, each answer classified.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::ModerationArgs;
use crate::api::{Api, CallError, Points, Reply, Session};
use crate::photo;
use crate::population::Seller;
use crate::progress::Progress;

#[derive(Deserialize)]
struct SubmissionAnswer {
    id: i64,
    status: String,
    credited: Option<Points>,
    requires_moderation: bool,
    auto_approved: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Outcome {
    /// 201: recorded.
    Accepted {
        id: i64,
        /// Queued for a moderator (not approved at once by the trust rule).
        moderated: bool,
        /// As of the answer, which the server reads after queueing the item: a quick
        /// moderator may have decided it already.
        status: String,
        credited: Option<Points>,
    },
    Refused {
        status: u16,
        code: Option<String>,
    },
    Failed(CallError),
}

impl Outcome {
    fn of(reply: Result<Reply<SubmissionAnswer>, CallError>) -> Self {
        match reply {
            Err(err) => Outcome::Failed(err),
            Ok(Reply {
                status,
                body: Some(body),
                ..
            }) if status.as_u16() == 201 => Outcome::Accepted {
                id: body.id,
                moderated: body.requires_moderation && !body.auto_approved,
                status: body.status,
                credited: body.credited,
            },
            Ok(reply) => Outcome::Refused {
                status: reply.status.as_u16(),
                code: reply.problem_code,
            },
        }
    }

    /// Whether the submission may have been recorded without us knowing.
    pub(super) fn uncertain(&self) -> bool {
        match self {
            Outcome::Accepted { .. } => false,
            Outcome::Refused { status, .. } => *status >= 500,
            Outcome::Failed(_) => true,
        }
    }

    pub(super) fn error_kind(&self) -> Option<String> {
        match self {
            Outcome::Accepted { .. } => None,
            Outcome::Refused { status, code } => Some(match code {
                Some(code) => format!("http {status} {code}"),
                None => format!("http {status}"),
            }),
            Outcome::Failed(err) => Some(err.as_str().to_string()),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Submission {
    /// Index into the population's sellers.
    pub(super) seller: usize,
    pub(super) sent: Instant,
    pub(super) answered: Instant,
    pub(super) outcome: Outcome,
}

impl Submission {
    pub(super) fn awaits_decision(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Accepted {
                moderated: true,
                ..
            }
        )
    }

    pub(super) fn id(&self) -> Option<i64> {
        match self.outcome {
            Outcome::Accepted { id, .. } => Some(id),
            _ => None,
        }
    }
}

pub(super) struct Submitted {
    pub(super) submissions: Vec<Submission>,
    /// Whether submitting stopped because no result freed a slot in time.
    pub(super) stalled: bool,
}

impl std::ops::Deref for Submitted {
    type Target = [Submission];

    fn deref(&self) -> &[Submission] {
        &self.submissions
    }
}

pub(super) async fn submit_all(
    api: &Api,
    sellers: &[Seller],
    args: &ModerationArgs,
    task_id: i64,
    run_id: &str,
    slots: &Arc<Semaphore>,
    stall_after: Duration,
) -> Submitted {
    let sessions: Arc<Vec<Session>> = Arc::new(sellers.iter().map(|s| s.session.clone()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let stalled = Arc::new(AtomicBool::new(false));
    let (progress, ticker) = Progress::start("submitting", args.submissions);
    let path = Arc::new(format!("/api/v1/tasks/{task_id}/submissions"));
    let workers: Vec<JoinHandle<Vec<Submission>>> = (0..args.in_flight)
        .map(|_| {
            let (api, sessions, next, stalled, slots, path, progress) = (
                api.clone(),
                sessions.clone(),
                next.clone(),
                stalled.clone(),
                slots.clone(),
                path.clone(),
                progress.clone(),
            );
            let (total, pad, run_id) =
                (args.submissions, args.photo_kib * 1024, run_id.to_string());
            tokio::spawn(async move {
                let mut sent_here = Vec::new();
                loop {
                    if next.load(Ordering::Relaxed) >= total {
                        return sent_here;
                    }
                    // A slot first: a result pushed to a seller frees one.
                    match tokio::time::timeout(stall_after, slots.acquire()).await {
                        Ok(Ok(permit)) => permit.forget(),
                        // Timed out, or the semaphore closed: nothing comes back. It is a
                        // stall only if there was more to send.
                        _ => {
                            if next.load(Ordering::Relaxed) < total {
                                stalled.store(true, Ordering::Relaxed);
                            }
                            return sent_here;
                        }
                    }
                    if stalled.load(Ordering::Relaxed) {
                        return sent_here;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        return sent_here;
                    }
                    let seller = k % sessions.len();
                    let key = format!("{run_id}-submit-{k}");
                    let form = photo::multipart("{}", &[photo::png(&key, pad)]);
                    let sent = Instant::now();
                    let reply = api
                        .call_raw(
                            &sessions[seller],
                            &path,
                            &photo::content_type(),
                            form,
                            Some(&key),
                        )
                        .await;
                    let answered = Instant::now();
                    let submission = Submission {
                        seller,
                        sent,
                        answered,
                        outcome: Outcome::of(reply),
                    };
                    // No result will come for this one: give its slot back.
                    if !submission.awaits_decision() {
                        slots.add_permits(1);
                    }
                    sent_here.push(submission);
                    progress.inc();
                }
            })
        })
        .collect();
    let mut submissions = Vec::with_capacity(args.submissions);
    for worker in workers {
        submissions.extend(worker.await.expect("a submitting worker panicked"));
    }
    ticker.finish().await;
    Submitted {
        submissions,
        stalled: stalled.load(Ordering::Relaxed),
    }
}
