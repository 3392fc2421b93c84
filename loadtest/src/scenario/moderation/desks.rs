//! The moderators: one desk each, connected to the `moderation` queue with a declared
//! capacity, deciding what is routed to it (approve, or reject a fixed share).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{DecideVia, ModerationArgs, TASK_TITLE_PREFIX};
use crate::api::{Api, CallError, Reply, Session};
use crate::population::Moderator;
use crate::scenario::CONNECT_TIMEOUT;
use crate::socket::{Incoming, LiveSocket, SeqCheck};

/// What a moderator did and saw.
#[derive(Debug, Clone)]
pub(super) enum DeskEvent {
    /// An item routed to this moderator (`item_assigned`, or held when joining).
    Assigned {
        at: Instant,
        item_id: i64,
        subject_id: i64,
        whose: Whose,
    },
    DecideSent {
        at: Instant,
        item_id: i64,
        reject: bool,
    },
    /// The server confirmed the decision.
    Decided {
        at: Instant,
        item_id: i64,
        decision: String,
    },
    /// The server refused the decision (or gave no answer): the code.
    DecideFailed(String),
    /// An item taken back from the moderator: why.
    Revoked(String),
    /// An `error` frame not about a decision.
    Error(String),
}

/// Whose an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Whose {
    /// A submission of this run's task.
    Run,
    /// A submission of an earlier run's task, left over: decided to clear the queue.
    Leftover,
    /// Anything else: left alone.
    Foreign,
}

pub(super) struct DeskLog {
    pub(super) events: Vec<DeskEvent>,
    pub(super) seq: SeqCheck,
    pub(super) ended_early: Option<String>,
}

/// What a desk needs to decide.
#[derive(Clone)]
struct DeskRules {
    api: Api,
    session: Session,
    task_id: i64,
    run_id: String,
    reject_percent: u32,
    reject_reason: String,
    think: Duration,
    via: DecideVia,
}

impl DeskRules {
    fn whose(&self, item: &Value) -> Whose {
        let task = &item["summary"]["task"];
        if task["id"].as_i64() == Some(self.task_id) {
            Whose::Run
        } else if task["title"]
            .as_str()
            .is_some_and(|t| t.starts_with(TASK_TITLE_PREFIX))
        {
            Whose::Leftover
        } else {
            Whose::Foreign
        }
    }

    fn decision(&self, reject: bool) -> Value {
        if reject {
            json!({ "decision": "reject", "reason": self.reject_reason, "comment": "load test" })
        } else {
            json!({ "decision": "approve" })
        }
    }
}

/// Which items are rejected: spread evenly over item ids, the same on every run.
fn rejects(item_id: i64, percent: u32) -> bool {
    let spread = (item_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    spread % 100 < u64::from(percent)
}

/// Connects every moderator, joins the queue with the declared capacity (task
/// submissions only), and starts deciding.
pub(super) async fn open_desks(
    api: &Api,
    moderators: &[Moderator],
    args: &ModerationArgs,
    task_id: i64,
    run_id: &str,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<DeskLog>>> {
    let mut desks = Vec::with_capacity(moderators.len());
    for moderator in moderators {
        let url = api.ws_url(&moderator.session)?;
        let mut socket = LiveSocket::connect(&url, CONNECT_TIMEOUT)
            .await
            .with_context(|| format!("connecting moderator {}", moderator.login))?;
        let snapshot = socket
            .subscribe_with(
                "moderation",
                json!({ "capacity": args.capacity, "kinds": ["task_submission"] }),
                CONNECT_TIMEOUT,
            )
            .await
            .with_context(|| format!("{} joining the moderation queue", moderator.login))?;
        let held = snapshot.data["items"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let rules = DeskRules {
            api: api.clone(),
            session: moderator.session.clone(),
            task_id,
            run_id: run_id.to_string(),
            reject_percent: args.reject_percent,
            reject_reason: args.reject_reason.clone(),
            think: Duration::from_millis(args.think_ms),
            via: args.decide_via,
        };
        desks.push(tokio::spawn(work_desk(socket, rules, held, stop.clone())));
    }
    Ok(desks)
}

async fn work_desk(
    mut socket: LiveSocket,
    rules: DeskRules,
    held: Vec<Value>,
    mut stop: watch::Receiver<bool>,
) -> DeskLog {
    // Items whose look is over, and answers of decisions sent over HTTP.
    let (ready_tx, mut ready) = mpsc::unbounded_channel::<i64>();
    let (answer_tx, mut answers) = mpsc::unbounded_channel::<DeskEvent>();
    let mut events = Vec::new();
    // Items this desk holds, so a fresh snapshot does not assign them twice.
    let mut holding = HashSet::new();
    let mut ended_early = None;
    let mut to_decide = Vec::new();

    for item in &held {
        assigned(
            &rules,
            Instant::now(),
            item,
            &mut holding,
            &mut events,
            &mut to_decide,
        );
    }
    loop {
        for item_id in to_decide.drain(..) {
            if rules.think.is_zero() {
                if let Err(reason) =
                    decide(&rules, &mut socket, item_id, &mut events, &answer_tx).await
                {
                    ended_early = Some(reason);
                }
            } else {
                let (ready_tx, think) = (ready_tx.clone(), rules.think);
                tokio::spawn(async move {
                    tokio::time::sleep(think).await;
                    let _ = ready_tx.send(item_id);
                });
            }
        }
        if ended_early.is_some() {
            break;
        }
        tokio::select! {
            () = stopped(&mut stop) => break,
            Some(item_id) = ready.recv() => {
                if let Err(reason) = decide(&rules, &mut socket, item_id, &mut events, &answer_tx).await {
                    ended_early = Some(reason);
                    break;
                }
            }
            Some(event) = answers.recv() => events.push(event),
            incoming = socket.next() => match incoming {
                Incoming::Closed(reason) => {
                    ended_early = Some(reason);
                    break;
                }
                Incoming::Frame(at, frame) => match (frame.kind.as_str(), frame.event.as_deref()) {
                    ("event", Some("item_assigned")) => {
                        assigned(&rules, at, &frame.data, &mut holding, &mut events, &mut to_decide);
                    }
                    ("event", Some("item_revoked")) => {
                        if let Some(item_id) = frame.data["item_id"].as_i64() {
                            holding.remove(&item_id);
                        }
                        let reason = frame.data["reason"].as_str().unwrap_or_default();
                        events.push(DeskEvent::Revoked(reason.to_string()));
                    }
                    // After falling behind: what the desk holds now.
                    ("snapshot", _) => {
                        for item in frame.data["items"].as_array().into_iter().flatten() {
                            assigned(&rules, at, item, &mut holding, &mut events, &mut to_decide);
                        }
                    }
                    ("decided", _) => {
                        let item_id = frame.item_id.unwrap_or_default();
                        holding.remove(&item_id);
                        events.push(DeskEvent::Decided {
                            at,
                            item_id,
                            decision: frame.decision.unwrap_or_default(),
                        });
                    }
                    ("error", _) => {
                        let code = frame.code.unwrap_or_default();
                        events.push(match frame.item_id {
                            Some(_) => DeskEvent::DecideFailed(code),
                            None => DeskEvent::Error(code),
                        });
                    }
                    _ => {}
                },
            },
        }
    }
    // HTTP decisions answered after the stop still count.
    drop(answer_tx);
    while let Ok(event) = answers.try_recv() {
        events.push(event);
    }
    let seq = socket.take_seq();
    if ended_early.is_none() {
        socket.close().await;
    }
    DeskLog {
        events,
        seq,
        ended_early,
    }
}

/// Resolves once `stop` turns true (or its sender is dropped, which also means stop).
/// The guard `wait_for` returns is not `Send`, so it is dropped here, not held in a
/// `select!` across the desk's awaits.
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Records an item routed to the desk and, if it is the run's (or a leftover of an
/// earlier run), queues it for a decision.
fn assigned(
    rules: &DeskRules,
    at: Instant,
    item: &Value,
    holding: &mut HashSet<i64>,
    events: &mut Vec<DeskEvent>,
    to_decide: &mut Vec<i64>,
) {
    let (Some(item_id), Some(subject_id)) = (item["id"].as_i64(), item["subject_id"].as_i64())
    else {
        events.push(DeskEvent::Error("malformed item".into()));
        return;
    };
    if !holding.insert(item_id) {
        return;
    }
    let whose = rules.whose(item);
    events.push(DeskEvent::Assigned {
        at,
        item_id,
        subject_id,
        whose,
    });
    if whose != Whose::Foreign {
        to_decide.push(item_id);
    }
}

/// Sends a decision; an error only when the socket broke.
async fn decide(
    rules: &DeskRules,
    socket: &mut LiveSocket,
    item_id: i64,
    events: &mut Vec<DeskEvent>,
    answers: &mpsc::UnboundedSender<DeskEvent>,
) -> Result<(), String> {
    let reject = rejects(item_id, rules.reject_percent);
    let body = rules.decision(reject);
    events.push(DeskEvent::DecideSent {
        at: Instant::now(),
        item_id,
        reject,
    });
    match rules.via {
        DecideVia::Ws => {
            let mut message = json!({ "type": "decide", "item_id": item_id });
            if let (Some(message), Value::Object(body)) = (message.as_object_mut(), body) {
                message.extend(body);
            }
            socket
                .send(&message)
                .await
                .map_err(|err| format!("sending a decision: {err:#}"))
        }
        DecideVia::Http => {
            let (rules, answers) = (rules.clone(), answers.clone());
            tokio::spawn(async move {
                let path = format!("/api/v1/moderation/items/{item_id}/decision");
                let key = format!("{}-decide-{item_id}", rules.run_id);
                let reply: Result<Reply<Value>, CallError> = rules
                    .api
                    .call(&rules.session, Method::POST, &path, &body, Some(&key))
                    .await;
                let event = match reply {
                    Ok(Reply {
                        body: Some(body), ..
                    }) => DeskEvent::Decided {
                        at: Instant::now(),
                        item_id,
                        decision: body["decision"].as_str().unwrap_or_default().to_string(),
                    },
                    Ok(reply) => DeskEvent::DecideFailed(
                        reply
                            .problem_code
                            .unwrap_or_else(|| format!("http {}", reply.status.as_u16())),
                    ),
                    Err(err) => DeskEvent::DecideFailed(err.as_str().to_string()),
                };
                let _ = answers.send(event);
            });
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_are_the_share_asked_for() {
        let share = |percent| (1..=10_000).filter(|id| rejects(*id, percent)).count();
        assert_eq!(share(0), 0);
        assert_eq!(share(100), 10_000);
        let tenth = share(10);
        assert!((900..=1100).contains(&tenth), "{tenth}");
    }
}
