//! WebSocket sessions (`GET /api/v1/ws`). All actix-web-actors code lives in this
//! module, so moving to `actix-ws` later stays local.
//!
//! Protocol (JSON text frames, typed in `frames.rs`; schemas generated from those types
//! in `mobile-contracts/websocket.json` and `mobile-contracts/asyncapi.json`):
//! - client → `{"type":"subscribe","topic":"me"}`, `{"type":"unsubscribe","topic":…}`,
//!   `{"type":"ping"}`; moderators subscribe to `moderation` with an optional
//!   `capacity` and `kinds`, and decide with `{"type":"decide","item_id":…,"decision":…}`;
//! - server → `{"type":"snapshot","topic":…,"seq":N,"data":…}` on subscribe, then
//!   `{"type":"event","topic":…,"seq":N+1,"event":…,"data":…}` for every change, and
//!   `{"type":"error","code":…,"message":…}` (codes as in the HTTP API).
//!
//! Sequence numbers are consecutive per topic on one connection; a client that sees a
//! gap subscribes again and gets a fresh snapshot. A session that falls behind gets one
//! fresh snapshot instead of the events it missed, and is closed if it stays behind.

pub mod contract;
pub mod frames;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use stimul_actors::campaign::{Cohort, GetBoard};
use stimul_actors::hub::{Backlog, MAX_BACKLOG, Push, Subscriber};
use stimul_actors::moderation::{Join, Leave};
use stimul_actors::rules::routing::{ItemKind, Scope};
use stimul_actors::rules::windows::Window;

use self::frames::{ClientFrame, MeSnapshot, ModerationSnapshot, ServerFrame, Snapshot};
use crate::api::moderation::{kinds_of, moderation_of, moderation_regions};
use crate::moderation::DecisionRequest;

use crate::access::{Permission, Section};
use crate::auth::{Principal, authenticate, request_token};
use crate::error::{ApiError, ErrorCode};
use crate::org::stores;
use crate::state::AppState;

/// How often the server pings: often enough to notice a dead phone within a quarter
/// minute, rarely enough to cost nothing.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A client silent this long (no pong, no message) is gone.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(15);
/// A session whose backlog stays full this long is closed: it cannot keep up.
const LAG_LIMIT: Duration = Duration::from_secs(10);
/// Below this backlog a lagging session is resynchronised with fresh snapshots.
const RESUME_BELOW: usize = MAX_BACKLOG / 4;
/// Topics one session may watch.
const MAX_TOPICS: usize = 32;
/// Largest client frame accepted.
const MAX_FRAME_BYTES: usize = 4 * 1024;

/// `GET /api/v1/ws?token=…` (or `Authorization: Bearer …`).
pub async fn connect(
    state: web::Data<AppState>,
    request: HttpRequest,
    stream: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let token = request_token(&request).or_else(|| {
        web::Query::<HashMap<String, String>>::from_query(request.query_string())
            .ok()
            .and_then(|q| q.get("token").cloned())
    });
    let Some(token) = token else {
        return Err(ApiError::new(
            ErrorCode::Unauthorized,
            "pass the session token as ?token= or a bearer header",
        )
        .into());
    };
    let principal = authenticate(&state.db, &state.clock, &state.access_cache, &token).await?;
    if principal.account.status == crate::domain::PersonStatus::Pending {
        return Err(ApiError::new(
            ErrorCode::AccountPending,
            "your registration is waiting for approval",
        )
        .into());
    }
    let session = Session::new(state.get_ref().clone(), principal);
    ws::WsResponseBuilder::new(session, &request, stream)
        .frame_size(MAX_FRAME_BYTES)
        .start()
}

/// What a topic name from a client means.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Topic {
    /// The caller's own points (`me`).
    Me(i64),
    /// A store's live progress (`store:{id}`).
    Store(i64),
    /// A moderator's items (`moderation`): routed to them live.
    Moderation {
        moderator_id: i64,
        program_id: i64,
        capacity: u32,
        kinds: Scope<ItemKind>,
        regions: Scope<i64>,
    },
    /// The program's queue figures (`moderation_stats`).
    ModerationStats(i64),
    /// The program's support requests (`support`), for support staff.
    Support(i64),
    /// A campaign's leaderboard (`campaign:{id}:leaderboard:{window}`, optionally
    /// `:region:{id}` or `:store:{id}`).
    Leaderboard {
        campaign_id: i64,
        window: Window,
        cohort: Cohort,
        /// The watching participant, whose neighbourhood the snapshot includes.
        participant: Option<i64>,
    },
}

impl Topic {
    fn internal(&self) -> String {
        match self {
            Topic::Me(user) => stimul_actors::participant::topic(*user),
            Topic::Store(store) => stimul_actors::store::topic(*store),
            Topic::Moderation { moderator_id, .. } => {
                stimul_actors::moderation::topic(*moderator_id)
            }
            Topic::ModerationStats(program) => stimul_actors::moderation::stats_topic(*program),
            Topic::Support(program) => crate::support::topic(*program),
            Topic::Leaderboard {
                campaign_id,
                window,
                cohort,
                ..
            } => stimul_actors::campaign::topic(*campaign_id, *window, *cohort),
        }
    }
}

/// Items a moderator takes at once unless they say otherwise.
const DEFAULT_CAPACITY: u32 = 5;
const MAX_CAPACITY: u32 = 50;

pub struct Session {
    state: AppState,
    principal: Principal,
    subscriber_id: u64,
    backlog: Arc<Backlog>,
    /// Client topic name → its meaning.
    topics: HashMap<String, Topic>,
    last_heard: Instant,
    lagging_since: Option<Instant>,
}

impl Session {
    fn new(state: AppState, principal: Principal) -> Self {
        let subscriber_id = state.live.subscriber_id();
        Self {
            state,
            principal,
            subscriber_id,
            backlog: Arc::new(Backlog::default()),
            topics: HashMap::new(),
            last_heard: Instant::now(),
            lagging_since: None,
        }
    }

    /// Writes a frame the session itself answers with (events come from the hub).
    fn send(ctx: &mut ws::WebsocketContext<Self>, frame: &ServerFrame) {
        match serde_json::to_string(frame) {
            Ok(text) => ctx.text(text),
            Err(err) => tracing::error!(error = %err, "a frame could not be serialised"),
        }
    }

    fn error(
        &self,
        ctx: &mut ws::WebsocketContext<Self>,
        code: ErrorCode,
        message: &str,
        topic: Option<&str>,
    ) {
        Self::send(ctx, &ServerFrame::error(code, message, topic));
    }

    fn store_of_participant(&self) -> Option<i64> {
        (self.principal.account.kind.is_participant())
            .then_some(self.principal.account.store_id)
            .flatten()
    }

    fn presence(&self, online: bool) {
        if let Some(store_id) = self.store_of_participant() {
            if online {
                self.state
                    .live
                    .session_opened(store_id, self.principal.id());
            } else {
                self.state
                    .live
                    .session_closed(store_id, self.principal.id());
            }
        }
    }

    /// Checks that the caller may watch `name` and says what it is.
    async fn authorize(
        state: AppState,
        principal: Principal,
        name: String,
        capacity: Option<u32>,
        kinds: Option<Vec<String>>,
    ) -> Result<Topic, ApiError> {
        if name == "moderation" {
            let regions = moderation_regions(&principal)?;
            let kinds = kinds_of(kinds.as_deref())?;
            let capacity = capacity.unwrap_or(DEFAULT_CAPACITY);
            if !(1..=MAX_CAPACITY).contains(&capacity) {
                return Err(ApiError::field("capacity", format!("1 to {MAX_CAPACITY}")));
            }
            return Ok(Topic::Moderation {
                moderator_id: principal.id(),
                program_id: principal.program_id(),
                capacity,
                kinds,
                regions,
            });
        }
        if name == "support" {
            principal.require_program_wide(Permission::view(Section::Support))?;
            return Ok(Topic::Support(principal.program_id()));
        }
        if name == "moderation_stats" {
            principal.require_anywhere(Permission::view(Section::Moderation))?;
            return Ok(Topic::ModerationStats(principal.program_id()));
        }
        if name == "me" {
            if !principal.account.kind.is_participant() {
                return Err(ApiError::forbidden(
                    "`me` is the points of a participant; staff accounts have none",
                ));
            }
            return Ok(Topic::Me(principal.id()));
        }
        if let Some(id) = name.strip_prefix("store:") {
            let id: i64 = id.parse().map_err(|_| {
                ApiError::new(ErrorCode::InvalidParameter, "store topics are store:{id}")
            })?;
            let store = stores::get_in_program(&state.db.pool, principal.program_id(), id).await?;
            principal.require(Permission::view(Section::Stores), &store.target())?;
            return Ok(Topic::Store(id));
        }
        if let Some(rest) = name.strip_prefix("campaign:") {
            let (campaign_id, window, cohort) = parse_leaderboard_topic(rest)?;
            crate::campaigns::visible(&state.db, &state.live, &principal, campaign_id).await?;
            return Ok(Topic::Leaderboard {
                campaign_id,
                window,
                cohort,
                participant: (principal.account.kind.is_participant()).then_some(principal.id()),
            });
        }
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "unknown topic {name:?}; topics are `me`, `store:{{id}}`, `moderation`, `moderation_stats` and `campaign:{{id}}:leaderboard:{{window}}`"
            ),
        ))
    }

    /// The topic's current state, for a snapshot.
    async fn snapshot(state: AppState, topic: Topic, session: u64) -> Result<Snapshot, ApiError> {
        let unavailable = |e| ApiError::live_unavailable("the live state", e);
        match topic {
            Topic::Me(user) => Ok(Snapshot::Me(MeSnapshot {
                view: state
                    .live
                    .participant_view(user)
                    .await
                    .map_err(unavailable)?,
                expiring: crate::expiry::next_of(&state.db, &state.clock, user).await?,
            })),
            Topic::Store(store) => Ok(Snapshot::Store(
                state
                    .live
                    .store_progress(store)
                    .await
                    .map_err(unavailable)?,
            )),
            // Joining the queue answers with what the moderator already holds; routing
            // to them starts right after, as `item_assigned` events.
            Topic::Moderation {
                moderator_id,
                program_id,
                capacity,
                kinds,
                regions,
            } => {
                let join = Join {
                    moderator_id,
                    session,
                    program_id,
                    capacity,
                    kinds,
                    regions,
                };
                let held = state
                    .live
                    .join_moderation(join)
                    .await
                    .map_err(|e| ApiError::live_unavailable("the moderation queue", e))?;
                Ok(Snapshot::Moderation(ModerationSnapshot {
                    items: held,
                    capacity,
                }))
            }
            Topic::Leaderboard {
                campaign_id,
                window,
                cohort,
                participant,
            } => {
                let request = GetBoard {
                    window,
                    cohort,
                    limit: stimul_actors::campaign::PUSHED_TOP,
                    around: participant.map(|id| (id, 5)),
                };
                Ok(Snapshot::Leaderboard(
                    state
                        .live
                        .leaderboard(campaign_id, request)
                        .await
                        .map_err(unavailable)?,
                ))
            }
            Topic::ModerationStats(program_id) => {
                let stats = state
                    .live
                    .moderation_stats(program_id)
                    .await
                    .map_err(|e| ApiError::live_unavailable("the queue figures", e))?;
                Ok(Snapshot::ModerationStats(stats))
            }
            Topic::Support(program_id) => Ok(Snapshot::Support(
                crate::support::counts(&state.db, program_id).await?,
            )),
        }
    }

    /// Leaves the moderation queue if this session joined it.
    fn leave_moderation(&self, topic: &Topic) {
        if let Topic::Moderation { moderator_id, .. } = topic {
            self.state.live.leave_moderation(Leave {
                moderator_id: *moderator_id,
                session: self.subscriber_id,
            });
        }
    }

    fn decide(
        &mut self,
        item_id: i64,
        request: DecisionRequest,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        let (state, principal) = (self.state.clone(), self.principal.clone());
        ctx.spawn(
            async move {
                principal.require_anywhere(Permission::edit(Section::Moderation))?;
                crate::moderation::decide(moderation_of(&state), &principal, item_id, &request)
                    .await
            }
            .into_actor(self)
            .map(move |result, _session, ctx| match result {
                Ok(decided) => Self::send(ctx, &ServerFrame::Decided(decided)),
                Err(err) => Self::send(
                    ctx,
                    &ServerFrame::Error {
                        code: err.code,
                        message: err.detail,
                        topic: None,
                        item_id: Some(item_id),
                    },
                ),
            }),
        );
    }

    /// Subscribes (or re-subscribes after a gap): checks the caller may watch the
    /// topic, then registers and sends the snapshot.
    fn subscribe(
        &mut self,
        name: String,
        capacity: Option<u32>,
        kinds: Option<Vec<String>>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        if !self.topics.contains_key(&name) && self.topics.len() >= MAX_TOPICS {
            self.error(
                ctx,
                ErrorCode::RateLimited,
                &format!("at most {MAX_TOPICS} topics per connection"),
                Some(&name),
            );
            return;
        }
        let (state, principal) = (self.state.clone(), self.principal.clone());
        let authorized = Self::authorize(state, principal, name.clone(), capacity, kinds);
        ctx.wait(
            authorized
                .into_actor(self)
                .map(move |result, session, ctx| match result {
                    Ok(topic) => session.register(name, topic, ctx),
                    Err(err) => session.error(ctx, err.code, &err.detail, Some(&name)),
                }),
        );
    }

    /// Registers with the hub and sends a snapshot numbered with the topic's sequence.
    /// The mailbox waits meanwhile, so events published after the registration are
    /// written after the snapshot, in order; the state is read after registering, so
    /// nothing falls between the two (events carry absolute values).
    fn register(&mut self, name: String, topic: Topic, ctx: &mut ws::WebsocketContext<Self>) {
        let subscriber = Subscriber {
            id: self.subscriber_id,
            recipient: ctx.address().recipient(),
            backlog: self.backlog.clone(),
        };
        let seq = self
            .state
            .live
            .subscribe(&topic.internal(), &name, subscriber);
        self.topics.insert(name.clone(), topic.clone());
        let (state, session_id) = (self.state.clone(), self.subscriber_id);
        ctx.wait(
            async move { Self::snapshot(state, topic, session_id).await }
                .into_actor(self)
                .map(move |snapshot, session, ctx| match snapshot {
                    Ok(data) => Self::send(
                        ctx,
                        &ServerFrame::Snapshot {
                            topic: name,
                            seq,
                            data,
                        },
                    ),
                    Err(err) => session.error(ctx, err.code, &err.detail, Some(&name)),
                }),
        );
    }

    fn unsubscribe(&mut self, name: &str, ctx: &mut ws::WebsocketContext<Self>) {
        if let Some(topic) = self.topics.remove(name) {
            self.state
                .live
                .unsubscribe(&topic.internal(), self.subscriber_id);
            self.leave_moderation(&topic);
        }
        Self::send(
            ctx,
            &ServerFrame::Unsubscribed {
                topic: name.to_string(),
            },
        );
    }

    /// Replaces dropped events with fresh snapshots once the backlog has drained, and
    /// gives up on a client that cannot keep up.
    fn handle_lag(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if !self.backlog.is_lagging() {
            self.lagging_since = None;
            return;
        }
        let since = *self.lagging_since.get_or_insert_with(Instant::now);
        if since.elapsed() > LAG_LIMIT {
            ctx.close(Some(ws::CloseReason {
                code: ws::CloseCode::Policy,
                description: Some("too slow: events could not be delivered".into()),
            }));
            ctx.stop();
            return;
        }
        if self.backlog.queued() < RESUME_BELOW {
            let lagged = self.backlog.take_lagged();
            let stale: Vec<(String, Topic)> = self
                .topics
                .iter()
                .filter(|(_, topic)| lagged.iter().any(|l| **l == *topic.internal()))
                .map(|(name, topic)| (name.clone(), topic.clone()))
                .collect();
            for (name, topic) in stale {
                self.register(name, topic, ctx);
            }
            self.lagging_since = None;
        }
    }
}

impl Actor for Session {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.state.metrics.ws_sessions.inc();
        self.presence(true);
        ctx.run_interval(HEARTBEAT_INTERVAL, |session, ctx| {
            if session.last_heard.elapsed() > CLIENT_TIMEOUT {
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Away,
                    description: Some("no heartbeat".into()),
                }));
                ctx.stop();
                return;
            }
            ctx.ping(b"");
            session.handle_lag(ctx);
        });
        // On shutdown every session says goodbye at once, so the server need not wait
        // out its grace period for connections that never end by themselves.
        let mut closing = self.state.closing.clone();
        ctx.spawn(
            async move {
                let _ = closing.wait_for(|closing| *closing).await;
            }
            .into_actor(self)
            .map(|_, _session, ctx| {
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Restart,
                    description: Some("the server is restarting; reconnect".into()),
                }));
                ctx.stop();
            }),
        );
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        for topic in self.topics.values() {
            self.state
                .live
                .unsubscribe(&topic.internal(), self.subscriber_id);
            self.leave_moderation(topic);
        }
        self.presence(false);
        self.state.metrics.ws_sessions.dec();
    }
}

impl Handler<Push> for Session {
    type Result = ();

    fn handle(&mut self, push: Push, ctx: &mut Self::Context) {
        self.backlog.written();
        ctx.text(push.frame.to_string());
        if self.backlog.is_lagging() {
            self.handle_lag(ctx);
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Session {
    fn handle(&mut self, message: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        let message = match message {
            Ok(message) => message,
            Err(err) => {
                tracing::debug!(error = %err, "websocket protocol error");
                ctx.stop();
                return;
            }
        };
        self.last_heard = Instant::now();
        match message {
            ws::Message::Ping(bytes) => ctx.pong(&bytes),
            ws::Message::Pong(_) => {}
            ws::Message::Text(text) => match serde_json::from_str::<ClientFrame>(&text) {
                Ok(ClientFrame::Subscribe {
                    topic,
                    capacity,
                    kinds,
                }) => self.subscribe(topic, capacity, kinds, ctx),
                Ok(ClientFrame::Decide {
                    item_id,
                    decision,
                    reason,
                    comment,
                }) => self.decide(
                    item_id,
                    DecisionRequest {
                        decision,
                        reason,
                        comment,
                    },
                    ctx,
                ),
                Ok(ClientFrame::Unsubscribe { topic }) => self.unsubscribe(&topic, ctx),
                Ok(ClientFrame::Ping) => Self::send(ctx, &ServerFrame::Pong),
                Err(err) => self.error(
                    ctx,
                    ErrorCode::InvalidJson,
                    &format!("unreadable message: {err}"),
                    None,
                ),
            },
            ws::Message::Binary(_) => self.error(
                ctx,
                ErrorCode::UnsupportedMediaType,
                "send JSON text frames",
                None,
            ),
            ws::Message::Close(reason) => {
                ctx.close(reason);
                ctx.stop();
            }
            ws::Message::Continuation(_) | ws::Message::Nop => {}
        }
    }
}

/// Parses what follows `campaign:` in a leaderboard topic:
/// `{id}:leaderboard:{window}[:region:{id}|:store:{id}]`.
fn parse_leaderboard_topic(rest: &str) -> Result<(i64, Window, Cohort), ApiError> {
    let bad = || {
        ApiError::new(
            ErrorCode::InvalidParameter,
            "leaderboard topics are campaign:{id}:leaderboard:{window}, optionally with :region:{id} or :store:{id}",
        )
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (campaign, window, cohort) = match parts.as_slice() {
        [campaign, "leaderboard", window] => (campaign, window, Cohort::Everyone),
        [campaign, "leaderboard", window, kind, id] => {
            let id: i64 = id.parse().map_err(|_| bad())?;
            let cohort = match *kind {
                "region" => Cohort::Region(id),
                "store" => Cohort::Store(id),
                _ => return Err(bad()),
            };
            (campaign, window, cohort)
        }
        _ => return Err(bad()),
    };
    let campaign_id: i64 = campaign.parse().map_err(|_| bad())?;
    let window: Window = window.parse().map_err(|_| bad())?;
    Ok((campaign_id, window, cohort))
}
