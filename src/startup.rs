//! Building and running the server. [`Application::build`] does everything up to a
//! bound listener (port 0 picks a free one, which tests use), so tests and `main` run
//! exactly the same server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpMessage, HttpServer, ResponseError, web};
use anyhow::Context;
use futures_util::future::LocalBoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing_actix_web::{RequestId, TracingLogger};

use stimul_actors::bus::{EventBus, LocalBus};
use stimul_actors::live::{RealtimeCore, Stores};

use crate::api;
use crate::auth::otp::{SMS_EFFECT, SmsEffect};
use crate::bus::RedisBus;
use crate::config::Settings;
use crate::db::{Clock, Db, OnServerRuntime};
use crate::domain::Slug;
use crate::effects::Effects;
use crate::integrations::sms::{SmsSender, sender_from_settings};
use crate::ledger::SqlActorStorage;
use crate::metrics::Metrics;
use crate::org::programs;
use crate::ratelimit::{InMemoryRateLimiter, RedisRateLimiter, SharedRateLimiter};
use crate::state::AppState;

/// Parts a caller may supply instead of the defaults (tests swap the clock).
#[derive(Default)]
pub struct Overrides {
    pub clock: Option<Clock>,
    pub sms: Option<Box<dyn SmsSender>>,
}

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    shutdown: watch::Sender<bool>,
    /// Tells WebSocket sessions to close (see [`AppState::closing`]).
    closing: watch::Sender<bool>,
    background: Vec<JoinHandle<()>>,
    /// The pools reserved for the committer and background writers, closed last.
    reserved: Vec<Db>,
}

/// How long in-flight requests get to finish on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, Overrides::default()).await
    }

    pub async fn build_with(settings: Settings, overrides: Overrides) -> anyhow::Result<Self> {
        crate::integrations::install_crypto_provider();
        let clock = overrides.clock.unwrap_or_default();
        let url = settings.database_url();
        let db = Db::connect(&url, &settings.database).await?;
        db.migrate().await?;
        // Writers that requests wait for get connections requests cannot take.
        let committer_db = Db::connect_reserved(&url, &settings.database, 1).await?;
        let background_db = Db::connect_reserved(
            &url,
            &settings.database,
            settings.database.reserved_connections,
        )
        .await?;
        let default_slug = Slug::parse(&settings.default_program)
            .map_err(|e| anyhow::anyhow!("default_program: {e}"))?;
        programs::ensure(&db, &default_slug, clock.now_ms()).await?;

        let redis = match settings.redis_url() {
            Some(url) => Some(redis::Client::open(url).context("parsing REDIS_URL")?),
            None => None,
        };
        let limiter: SharedRateLimiter = match &redis {
            Some(client) => {
                let connection = redis::aio::ConnectionManager::new(client.clone())
                    .await
                    .context("connecting to Redis")?;
                Arc::new(RedisRateLimiter::new(connection, &settings.redis_prefix))
            }
            None => Arc::new(InMemoryRateLimiter::new(clock.clone())),
        };
        let ledger = SqlActorStorage::new(db.clone(), committer_db.clone(), clock.clone());
        let live = start_live(&db, ledger.clone(), &clock, redis, &settings.redis_prefix);
        let sms = match overrides.sms {
            Some(sms) => sms,
            None => sender_from_settings(&settings.sms)?,
        };
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (closing, closing_rx) = watch::channel(false);
        let (answers, answers_task) =
            crate::idempotency::AnswerWriter::start(background_db.clone(), shutdown_rx.clone());
        let metrics = Metrics::new()?;
        let codegen = crate::codes::start(
            &background_db,
            &settings,
            &clock,
            &metrics,
            live.node().to_string(),
        )?;
        // What the effect handlers and decision handlers own: the request pool (the one
        // the requests that queue their effects use), the clock, the live core, the ledger.
        let handles = crate::rewards::EffectHandles {
            db: db.clone(),
            clock: clock.clone(),
            live: live.clone(),
            ledger: ledger.clone(),
        };
        let (effects, payouts) = effect_handlers(
            live.node().to_string(),
            background_db.clone(),
            sms,
            &settings,
            &handles,
        )?;
        let state = AppState {
            idempotency: crate::idempotency::Idempotency::new(
                db.clone(),
                answers,
                clock.clone(),
                metrics.idempotent_replays.clone(),
            ),
            db: db.clone(),
            settings: Arc::new(settings.clone()),
            clock: clock.clone(),
            limiter,
            effects: Arc::new(effects),
            decisions: Arc::new(decision_handlers(&handles)),
            metrics,
            live,
            ledger,
            payouts,
            companies: crate::integrations::companies::companies_from_settings(
                &settings.companies,
            )?,
            access_cache: Arc::new(crate::auth::cache::AccessCache::default()),
            codegen,
            closing: closing_rx,
        };
        let cache = state.access_cache.clone();
        state
            .live
            .on_event(Arc::new(move |event| cache.forget(event)));
        state.metrics.register_live(state.live.clone())?;
        if let Err(err) =
            crate::campaigns::funding::fund_pending(&state.db, &state.live, None).await
        {
            // Not fatal: a credit that finds its fund short funds it then.
            tracing::warn!(error = %err, "funding started campaigns failed");
        }
        if let Err(err) =
            crate::campaigns::receipts::resume(&state.db, &state.clock, &state.live).await
        {
            tracing::warn!(error = %err, "finishing reported receipts failed");
        }

        let mut background = vec![
            tokio::spawn(presence_beat(state.live.clone(), shutdown_rx.clone())),
            tokio::spawn(crate::effects::run_worker(
                state.effects.clone(),
                shutdown_rx.clone(),
            )),
            answers_task,
        ];
        if settings.notifications.digest_every_ms > 0 {
            background.push(tokio::spawn(crate::notifications::run_digest(
                crate::notifications::DigestJob {
                    db: state.db.clone(),
                    clock: state.clock.clone(),
                    effects: state.effects.clone(),
                    quiet_ms: settings.notifications.digest_quiet_ms,
                },
                Duration::from_millis(settings.notifications.digest_every_ms),
                shutdown_rx.clone(),
            )));
        }
        if settings.expiry.nightly_check_ms > 0 {
            background.push(tokio::spawn(crate::expiry::run_nightly(
                expiry_job(&handles, &settings),
                state.effects.clone(),
                Duration::from_millis(settings.expiry.nightly_check_ms),
                shutdown_rx,
            )));
        }

        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        let port = listener.local_addr()?.port();
        let server = build_server(listener, state.clone(), settings.workers)?;
        Ok(Self {
            port,
            server,
            state,
            shutdown,
            closing,
            background,
            reserved: vec![committer_db, background_db],
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops the server from elsewhere (tests, embedding).
    pub fn server_handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or the server handle stops it), then stops in the
    /// order that loses nothing: WebSocket sessions are told to reconnect elsewhere and
    /// in-flight requests finish; the effect worker, the answer writer and the presence
    /// beat stop; code generation hands its shards back; the actor threads stop; the
    /// group committer's last batch is awaited; the databases close.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = self.server;
        tokio::select! {
            served = &mut server => served?,
            () = stop_signal() => {
                tracing::info!("stopping: closing WebSocket sessions and finishing requests");
                let _ = self.closing.send(true);
                // The stop is sent now; the server future must be polled to carry it out.
                let stopped = handle.stop(true);
                server.await?;
                stopped.await;
            }
        }
        let _ = self.closing.send(true);
        let _ = self.shutdown.send(true);
        for task in self.background {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, task).await;
        }
        // Workers finish the chunk in hand and give their shards back for the next start.
        self.state.codegen.stop(SHUTDOWN_GRACE).await;
        self.state.live.shutdown();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.state.live.drain_commits())
            .await
            .is_err()
        {
            tracing::warn!("the ledger's last batch did not commit in time");
        }
        self.state.db.close().await;
        for db in &self.reserved {
            db.close().await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// SIGINT or SIGTERM. The server's own signal handling is off, so that sessions can
/// be closed before the server waits for its connections to end.
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// What the expiry runs own.
fn expiry_job(
    handles: &crate::rewards::EffectHandles,
    settings: &Settings,
) -> crate::expiry::ExpiryJob {
    crate::expiry::ExpiryJob {
        db: handles.db.clone(),
        clock: handles.clock.clone(),
        live: handles.live.clone(),
        page_size: settings.expiry.page_size.max(1),
    }
}

/// The effect queue with every kind's handler: each area that queues effects names
/// its handler here, with the handles it owns, so the queue itself knows no area.
/// Also answers the payout provider, which requests share with its handler.
fn effect_handlers(
    node: String,
    db: Db,
    sms: Box<dyn SmsSender>,
    settings: &Settings,
    handles: &crate::rewards::EffectHandles,
) -> anyhow::Result<(
    Effects,
    Arc<dyn crate::integrations::payouts::PayoutProvider>,
)> {
    let mut effects = Effects::new(node, db, settings.effects.lease_ms, handles.clock.clone());
    effects.register(
        SMS_EFFECT,
        Arc::new(SmsEffect {
            sender: sms,
            max_attempts: settings.sms.max_attempts,
        }),
    );
    effects.register(
        crate::rewards::orders::FULFIL_EFFECT,
        Arc::new(crate::rewards::orders::FulfilEffect {
            handles: handles.clone(),
            provider: crate::integrations::rewards::provider_from_settings(&settings.rewards)?,
            topups: crate::integrations::topups::topups_from_settings(&settings.topups)?,
            max_attempts: settings.rewards.max_attempts,
        }),
    );
    let payments = crate::integrations::payments::payments_from_settings(&settings.payments)?;
    effects.register(
        crate::rewards::payments::PAYMENT_EFFECT,
        Arc::new(crate::rewards::payments::PaymentEffect {
            handles: handles.clone(),
            provider: payments.clone(),
            return_url: settings.payments.return_url.clone(),
            max_attempts: crate::rewards::payments::PaymentEffect::attempts_for(
                settings.payments.expire_ms,
            ),
        }),
    );
    effects.register(
        crate::rewards::payments::REFUND_EFFECT,
        Arc::new(crate::rewards::payments::RefundEffect {
            handles: handles.clone(),
            provider: payments,
        }),
    );
    let payouts = crate::integrations::payouts::payouts_from_settings(&settings.payouts)?;
    effects.register(
        crate::rewards::payouts::PAYOUT_EFFECT,
        Arc::new(crate::rewards::payouts::PayoutEffect {
            handles: handles.clone(),
            provider: payouts.clone(),
            max_attempts: settings.payouts.max_attempts,
        }),
    );
    effects.register(
        crate::expiry::PAGE_EFFECT,
        Arc::new(crate::expiry::PageEffect(expiry_job(handles, settings))),
    );
    effects.register(
        crate::expiry::WARN_EFFECT,
        Arc::new(crate::expiry::WarnEffect(expiry_job(handles, settings))),
    );
    effects.register(
        crate::mailings::PAGE_EFFECT,
        Arc::new(crate::mailings::PageEffect {
            db: handles.db.clone(),
            clock: handles.clock.clone(),
            settings: settings.mailings.clone(),
        }),
    );
    effects.register(
        crate::webhooks::DELIVER_EFFECT,
        Arc::new(crate::webhooks::DeliverEffect {
            db: handles.db.clone(),
            clock: handles.clock.clone(),
            sender: Arc::new(crate::integrations::webhooks::WebhookSender::new(
                settings.webhooks.timeout_ms,
            )?),
            max_attempts: settings.webhooks.max_attempts,
        }),
    );
    effects.register(
        crate::notifications::DELIVER_EFFECT,
        Arc::new(crate::notifications::DeliverEffect {
            db: handles.db.clone(),
            clock: handles.clock.clone(),
            live: handles.live.clone(),
        }),
    );
    effects.register(
        crate::notifications::channels::EMAIL_EFFECT,
        Arc::new(crate::notifications::channels::ChannelEffect {
            sender: crate::integrations::messages::email_from_settings(&settings.email)?,
            max_attempts: settings.email.max_attempts,
        }),
    );
    effects.register(
        crate::notifications::channels::PUSH_EFFECT,
        Arc::new(crate::notifications::channels::ChannelEffect {
            sender: crate::integrations::messages::push_from_settings(&settings.push)?,
            max_attempts: settings.push.max_attempts,
        }),
    );
    effects.register(
        crate::recalculation::POST_EFFECT,
        Arc::new(crate::recalculation::PostEffect(
            crate::recalculation::RecalculationJob {
                db: handles.db.clone(),
                clock: handles.clock.clone(),
                live: handles.live.clone(),
            },
        )),
    );
    effects.register(
        crate::moderation::SETTLE_HOLD_EFFECT,
        Arc::new(crate::moderation::SettleHoldEffect {
            db: handles.db.clone(),
            live: handles.live.clone(),
        }),
    );
    effects.register(
        crate::tasks::submissions::FOLLOW_UP_EFFECT,
        Arc::new(crate::tasks::submissions::FollowUpEffect {
            db: handles.db.clone(),
            clock: handles.clock.clone(),
            live: handles.live.clone(),
        }),
    );
    Ok((effects, payouts))
}

/// What deciding each kind of moderation item does: the areas whose objects are
/// checked name their handlers here, so moderation knows none of them.
fn decision_handlers(
    handles: &crate::rewards::EffectHandles,
) -> crate::moderation::DecisionHandlers {
    use stimul_actors::rules::routing::ItemKind;
    let mut handlers = crate::moderation::DecisionHandlers::default();
    handlers.register(
        ItemKind::Registration,
        Arc::new(crate::org::sign_up::RegistrationDecisions {
            db: handles.db.clone(),
            live: handles.live.clone(),
        }),
    );
    handlers.register(
        ItemKind::TaskSubmission,
        Arc::new(crate::tasks::submissions::SubmissionDecisions),
    );
    handlers.register(
        ItemKind::Receipt,
        Arc::new(crate::campaigns::receipts::ReceiptDecisions),
    );
    handlers.register(
        ItemKind::CodeReview,
        Arc::new(crate::campaigns::code_claims::CodeReviewDecisions),
    );
    handlers.register(
        ItemKind::Payout,
        Arc::new(crate::rewards::payouts::PayoutDecisions),
    );
    handlers
}

/// Actor threads: one per core, as the HTTP workers; actors are spread over them by id.
fn actor_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// Starts the real-time core with the SQL ledger and the bus: Redis when configured,
/// in-process otherwise.
fn start_live(
    db: &Db,
    ledger: Arc<SqlActorStorage>,
    clock: &Clock,
    redis: Option<redis::Client>,
    redis_prefix: &str,
) -> Arc<RealtimeCore> {
    // The actors call their storage from their own threads; each call runs on this
    // (the server's) runtime instead, see `OnServerRuntime`.
    let stores = Stores {
        live: Arc::new(OnServerRuntime::new(ledger)),
        moderation: Arc::new(OnServerRuntime::new(Arc::new(
            crate::moderation::SqlModeration { db: db.clone() },
        ))),
        leaderboards: Arc::new(OnServerRuntime::new(Arc::new(
            crate::ledger::leaderboards::SqlLeaderboards { db: db.clone() },
        ))),
    };
    let node = uuid::Uuid::new_v4().simple().to_string();
    let now = clock.clone();
    let live_clock: stimul_actors::live::Clock = Arc::new(move || now.now_ms());
    let bus_node = node.clone();
    let prefix = redis_prefix.to_string();
    let (live, _committer) = RealtimeCore::start(
        stores,
        node,
        live_clock,
        actor_threads(),
        move |dispatch| -> Arc<dyn EventBus> {
            match redis {
                Some(client) => RedisBus::start(client, &prefix, bus_node, dispatch),
                None => Arc::new(LocalBus::new(dispatch)),
            }
        },
    );
    live
}

fn build_server(listener: TcpListener, state: AppState, workers: usize) -> anyhow::Result<Server> {
    let json_limit = state.settings.limits.json_body_bytes;
    let admission = Admission::new(state.settings.limits.requests_in_flight);
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        let admission = admission.clone();
        App::new()
            // Inside admission: a shed request costs no authentication.
            .wrap(actix_web::middleware::from_fn(authenticate_first))
            .wrap_fn(
                move |request, service| match admission.admit(request.path()) {
                    Ok(permit) => {
                        let future = service.call(request);
                        Box::pin(async move {
                            let response = future.await;
                            drop(permit);
                            response
                        }) as LocalBoxFuture<'static, _>
                    }
                    Err(refused) => {
                        let response = request.into_response(refused.error_response());
                        Box::pin(std::future::ready(Ok(response)))
                    }
                },
            )
            .wrap_fn(|request, service| {
                let metrics = request
                    .app_data::<web::Data<AppState>>()
                    .map(|s| s.metrics.clone());
                let method = request.method().to_string();
                let route = request
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".into());
                let started = Instant::now();
                let future = service.call(request);
                async move {
                    let response: ServiceResponse = future.await?;
                    if let Some(metrics) = metrics {
                        let status = response.status().as_u16().to_string();
                        metrics
                            .http_requests
                            .with_label_values(&[method.as_str(), route.as_str(), status.as_str()])
                            .inc();
                        metrics
                            .http_duration
                            .with_label_values(&[method.as_str(), route.as_str()])
                            .observe(started.elapsed().as_secs_f64());
                    }
                    Ok(response)
                }
            })
            .wrap_fn(|request, service| {
                let future = service.call(request);
                async move {
                    let mut response: ServiceResponse = future.await?;
                    let request_id = response
                        .request()
                        .extensions()
                        .get::<RequestId>()
                        .map(ToString::to_string);
                    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
                        response
                            .headers_mut()
                            .insert(HeaderName::from_static("x-request-id"), value);
                    }
                    Ok(response)
                }
            })
            .wrap(TracingLogger::<crate::telemetry::RequestSpans>::new())
            .app_data(data.clone())
            .app_data(api::json_config(json_limit))
            .app_data(api::path_config())
            .app_data(api::query_config())
            .configure(api::configure)
            .route("/metrics", web::get().to(api::health::metrics))
            .route("/api/v1/ws", web::get().to(crate::ws::connect))
            .route("/api/v1/openapi.json", web::get().to(api::openapi_document))
            .route("/problems/{code}", web::get().to(api::problem_page))
            .default_service(web::to(api::not_found))
    })
    .listen(listener)?
    .disable_signals()
    .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Settles who the caller is before the handler's arguments are read (see
/// [`crate::api::extract::authenticate_early`]).
async fn authenticate_first(
    request: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<actix_web::body::BoxBody>,
) -> Result<ServiceResponse, actix_web::Error> {
    if request.path().starts_with("/api/") {
        crate::api::extract::authenticate_early(request.request()).await;
    }
    next.call(request).await
}

/// Bounds the API requests this node serves at once. Past the bound a request is
/// refused at once with `service_unavailable` and `Retry-After`: when the database is
/// the bottleneck, queueing more requests behind it only makes every answer late.
/// WebSocket sessions (long-lived by design), health checks, metrics and pages are not
/// counted.
#[derive(Clone)]
struct Admission {
    permits: Arc<tokio::sync::Semaphore>,
}

impl Admission {
    fn new(in_flight: usize) -> Self {
        Self {
            permits: Arc::new(tokio::sync::Semaphore::new(in_flight.max(1))),
        }
    }

    fn admit(
        &self,
        path: &str,
    ) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, crate::error::ApiError> {
        if !path.starts_with("/api/v1/") || path == "/api/v1/ws" {
            return Ok(None);
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => Err(crate::error::ApiError::new(
                crate::error::ErrorCode::ServiceUnavailable,
                "the server is at its limit of requests in flight; retry shortly",
            )),
        }
    }
}

/// Restates this node's online participants every beat, so other nodes' store actors
/// keep them online and forget the participants of a node that died.
async fn presence_beat(
    live: Arc<stimul_actors::live::RealtimeCore>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut beat = tokio::time::interval(stimul_actors::store::PRESENCE_BEAT);
    loop {
        tokio::select! {
            _ = beat.tick() => live.presence_beat(),
            _ = shutdown.changed() => return,
        }
    }
}
