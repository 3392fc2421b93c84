//! WebSocket sessions (`GET /api/v1/ws`). All actix-web-actors code lives in this
//! module, so moving to `actix-ws` later stays local.
//!
//! Protocol (JSON text frames; schemas in `mobile-contracts/websocket.json`):
//! - client → `{"type":"subscribe","topic":"me"}`, `{"type":"unsubscribe","topic":…}`,
//!   `{"type":"ping"}`;
//! - server → `{"type":"snapshot","topic":…,"seq":N,"data":…}` on subscribe, then
//!   `{"type":"event","topic":…,"seq":N+1,"event":…,"data":…}` for every change, and
//!   `{"type":"error","code":…,"message":…}` (codes as in the HTTP API).
//!
//! Sequence numbers are consecutive per topic on one connection; a client that sees a
//! gap subscribes again and gets a fresh snapshot. A session that falls behind gets one
//! fresh snapshot instead of the events it missed, and is closed if it stays behind.

pub mod contract;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use serde::Deserialize;
use serde_json::json;
use stimul_actors::bus::BusEvent;
use stimul_actors::hub::{Backlog, MAX_BACKLOG, Push, Subscriber};

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
    let principal = authenticate(&state, &token).await?;
    if principal.account.status == "pending" {
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
}

impl Topic {
    fn internal(&self) -> String {
        match self {
            Topic::Me(user) => stimul_actors::participant::topic(*user),
            Topic::Store(store) => stimul_actors::store::topic(*store),
        }
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Subscribe { topic: String },
    Unsubscribe { topic: String },
    Ping,
}

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
        let subscriber_id = state.live.hub.subscriber_id();
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

    fn error(
        &self,
        ctx: &mut ws::WebsocketContext<Self>,
        code: ErrorCode,
        message: &str,
        topic: Option<&str>,
    ) {
        ctx.text(
            json!({ "type": "error", "code": code.as_str(), "message": message, "topic": topic })
                .to_string(),
        );
    }

    fn store_of_participant(&self) -> Option<i64> {
        (self.principal.account.kind == "participant")
            .then_some(self.principal.account.store_id)
            .flatten()
    }

    fn presence(&self, online: bool) {
        if let Some(store_id) = self.store_of_participant() {
            self.state.live.bus.publish(BusEvent::Presence {
                node: self.state.live.node.clone(),
                store_id,
                user_id: self.principal.id(),
                online,
            });
        }
    }

    /// Checks that the caller may watch `name` and says what it is.
    async fn authorize(
        state: AppState,
        principal: Principal,
        name: String,
    ) -> Result<Topic, ApiError> {
        if name == "me" {
            if principal.account.kind != "participant" {
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
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!("unknown topic {name:?}; topics are `me` and `store:{{id}}`"),
        ))
    }

    /// The topic's current state, for a snapshot.
    async fn snapshot(state: AppState, topic: Topic) -> Result<serde_json::Value, ApiError> {
        let unavailable = |e: stimul_actors::live::LiveError| {
            ApiError::new(
                ErrorCode::ServiceUnavailable,
                format!("the live state is unavailable: {e}"),
            )
        };
        match topic {
            Topic::Me(user) => serde_json::to_value(
                state
                    .live
                    .participant_view(user)
                    .await
                    .map_err(unavailable)?,
            ),
            Topic::Store(store) => serde_json::to_value(
                state
                    .live
                    .store_progress(store)
                    .await
                    .map_err(unavailable)?,
            ),
        }
        .map_err(ApiError::internal)
    }

    /// Subscribes (or re-subscribes after a gap) and sends the snapshot. The mailbox
    /// waits meanwhile, so events published after the registration are written after
    /// the snapshot, in order.
    fn subscribe(&mut self, name: String, ctx: &mut ws::WebsocketContext<Self>) {
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
        let authorized = Self::authorize(state, principal, name.clone());
        ctx.wait(
            authorized
                .into_actor(self)
                .then(move |result, session, ctx| {
                    let registered = match result {
                        Ok(topic) => {
                            let internal = topic.internal();
                            let subscriber = Subscriber {
                                id: session.subscriber_id,
                                recipient: ctx.address().recipient(),
                                backlog: session.backlog.clone(),
                            };
                            let seq = session
                                .state
                                .live
                                .hub
                                .subscribe(&internal, &name, subscriber);
                            session.topics.insert(name.clone(), topic.clone());
                            Some((topic, seq))
                        }
                        Err(err) => {
                            session.error(ctx, err.code, &err.detail, Some(&name));
                            None
                        }
                    };
                    let state = session.state.clone();
                    async move {
                        match registered {
                            // Read the state after registering: anything newer is already queued
                            // behind this snapshot, and events carry absolute values.
                            Some((topic, seq)) => Some((Self::snapshot(state, topic).await, seq)),
                            None => None,
                        }
                    }
                    .into_actor(session)
                    .map(move |snapshot, session, ctx| match snapshot {
                        Some((Ok(data), seq)) => ctx.text(
                            json!({ "type": "snapshot", "topic": name, "seq": seq, "data": data })
                                .to_string(),
                        ),
                        Some((Err(err), _)) => {
                            session.error(ctx, err.code, &err.detail, Some(&name))
                        }
                        None => {}
                    })
                }),
        );
    }

    fn unsubscribe(&mut self, name: &str, ctx: &mut ws::WebsocketContext<Self>) {
        if let Some(topic) = self.topics.remove(name) {
            self.state
                .live
                .hub
                .unsubscribe(&topic.internal(), self.subscriber_id);
        }
        ctx.text(json!({ "type": "unsubscribed", "topic": name }).to_string());
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
            let names: Vec<String> = self
                .topics
                .iter()
                .filter(|(_, topic)| lagged.iter().any(|l| **l == *topic.internal()))
                .map(|(name, _)| name.clone())
                .collect();
            for name in names {
                self.subscribe(name, ctx);
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
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        for topic in self.topics.values() {
            self.state
                .live
                .hub
                .unsubscribe(&topic.internal(), self.subscriber_id);
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
            ws::Message::Text(text) => match serde_json::from_str::<ClientMessage>(&text) {
                Ok(ClientMessage::Subscribe { topic }) => self.subscribe(topic, ctx),
                Ok(ClientMessage::Unsubscribe { topic }) => self.unsubscribe(&topic, ctx),
                Ok(ClientMessage::Ping) => ctx.text(r#"{"type":"pong"}"#),
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
