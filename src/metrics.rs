//! Prometheus metrics, served at `/metrics`. One registry per server instance (tests
//! run many servers in one process, so nothing is global).

use std::sync::Arc;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Requests by route pattern (not raw path, which would explode cardinality).
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub logins: IntCounter,
    pub otp_sent: IntCounter,
    pub auth_throttled: IntCounter,
    pub idempotent_replays: IntCounter,
    pub ws_sessions: IntGauge,
    pub ledger_commits: IntCounterVec,
    pub moderation_queued: IntCounterVec,
    pub moderation_decisions: IntCounterVec,
    pub moderation_time_to_decision: HistogramVec,
    /// Codes a refill really inserted (not counting draws rejected as existing).
    pub codes_generated: IntCounter,
    /// Drawn codes that already existed and were drawn again.
    pub codes_regenerated: IntCounter,
    /// Codes moved from a pool to an ordered batch.
    pub codes_issued: IntCounter,
    /// Codes of each pool not promised to a batch, as of the last check.
    pub code_pool_available: IntGaugeVec,
    /// Codes the running refill of each pool still has to insert.
    pub code_refill_remaining: IntGaugeVec,
    /// Codes of each pool by status, refreshed every few minutes.
    pub code_pool_codes: IntGaugeVec,
    /// Filled once the live core exists (it is built after the metrics).
    live_gauges: Arc<std::sync::Mutex<Option<LiveGauges>>>,
}

type LiveGauges = (
    std::sync::Arc<stimul_actors::live::RealtimeCore>,
    IntGauge,
    IntGauge,
    IntGauge,
);

impl Metrics {
    pub fn new() -> anyhow::Result<Self> {
        let registry = Registry::new_custom(Some("stimul".into()), None)?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency").buckets(
                vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                ],
            ),
            &["method", "route"],
        )?;
        let logins = IntCounter::new("logins_total", "Sessions issued")?;
        let otp_sent = IntCounter::new("otp_codes_sent_total", "One-time codes queued for SMS")?;
        let auth_throttled = IntCounter::new(
            "auth_throttled_total",
            "Authentication attempts refused by rate limits",
        )?;
        let idempotent_replays = IntCounter::new(
            "idempotent_replays_total",
            "Retried requests answered from the idempotency store",
        )?;
        let ws_sessions = IntGauge::new("ws_sessions", "Open WebSocket sessions")?;
        let ledger_commits = IntCounterVec::new(
            Opts::new(
                "ledger_changes_total",
                "Ledger changes requested through the API by outcome",
            ),
            &["reason", "outcome"],
        )?;
        registry.register(Box::new(ledger_commits.clone()))?;
        let moderation_queued = IntCounterVec::new(
            Opts::new(
                "moderation_items_queued_total",
                "Items queued for moderation by kind",
            ),
            &["kind"],
        )?;
        let moderation_decisions = IntCounterVec::new(
            Opts::new(
                "moderation_decisions_total",
                "Moderation decisions by kind and decision",
            ),
            &["kind", "decision"],
        )?;
        let moderation_time_to_decision = HistogramVec::new(
            HistogramOpts::new(
                "moderation_time_to_decision_seconds",
                "From queueing to decision",
            )
            .buckets(vec![
                1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 14400.0, 86400.0,
            ]),
            &["kind"],
        )?;
        let codes_generated = IntCounter::new(
            "codes_generated_total",
            "Codes inserted into pools by refills",
        )?;
        let codes_regenerated = IntCounter::new(
            "codes_regenerated_total",
            "Drawn codes that already existed and were drawn again",
        )?;
        let codes_issued = IntCounter::new(
            "codes_issued_total",
            "Codes moved from a pool to an ordered batch",
        )?;
        let code_pool_available = IntGaugeVec::new(
            Opts::new(
                "code_pool_available",
                "Codes of a pool not promised to a batch",
            ),
            &["pool"],
        )?;
        let code_refill_remaining = IntGaugeVec::new(
            Opts::new(
                "code_refill_remaining",
                "Codes the running refill of a pool still has to insert",
            ),
            &["pool"],
        )?;
        let code_pool_codes = IntGaugeVec::new(
            Opts::new("code_pool_codes", "Codes of a pool by status"),
            &["pool", "status"],
        )?;
        registry.register(Box::new(codes_generated.clone()))?;
        registry.register(Box::new(codes_regenerated.clone()))?;
        registry.register(Box::new(codes_issued.clone()))?;
        registry.register(Box::new(code_pool_available.clone()))?;
        registry.register(Box::new(code_refill_remaining.clone()))?;
        registry.register(Box::new(code_pool_codes.clone()))?;
        registry.register(Box::new(moderation_queued.clone()))?;
        registry.register(Box::new(moderation_decisions.clone()))?;
        registry.register(Box::new(moderation_time_to_decision.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(otp_sent.clone()))?;
        registry.register(Box::new(auth_throttled.clone()))?;
        registry.register(Box::new(idempotent_replays.clone()))?;
        registry.register(Box::new(ws_sessions.clone()))?;
        Ok(Self {
            registry: Arc::new(registry),
            http_requests,
            http_duration,
            logins,
            otp_sent,
            auth_throttled,
            idempotent_replays,
            ws_sessions,
            ledger_commits,
            moderation_queued,
            moderation_decisions,
            moderation_time_to_decision,
            codes_generated,
            codes_regenerated,
            codes_issued,
            code_pool_available,
            code_refill_remaining,
            code_pool_codes,
            live_gauges: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// Adds a collector owned by another module (actors, codegen, moderation).
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) -> anyhow::Result<()> {
        self.registry.register(collector)?;
        Ok(())
    }

    /// Gauges read from the live core when scraped.
    pub fn register_live(
        &self,
        live: std::sync::Arc<stimul_actors::live::RealtimeCore>,
    ) -> anyhow::Result<()> {
        let participants = IntGauge::new(
            "live_participant_actors",
            "Participant actors running on this node",
        )?;
        let stores = IntGauge::new("live_store_actors", "Store actors running on this node")?;
        let topics = IntGauge::new("live_topics", "Topics with subscribers on this node")?;
        self.register(Box::new(participants.clone()))?;
        self.register(Box::new(stores.clone()))?;
        self.register(Box::new(topics.clone()))?;
        *self
            .live_gauges
            .lock()
            .map_err(|_| anyhow::anyhow!("metrics lock"))? =
            Some((live, participants, stores, topics));
        Ok(())
    }

    /// The text exposition format.
    pub fn render(&self) -> anyhow::Result<String> {
        if let Ok(guard) = self.live_gauges.lock()
            && let Some((live, participants, stores, topics)) = guard.as_ref()
        {
            let (p, s) = live.live_counts();
            participants.set(p as i64);
            stores.set(s as i64);
            topics.set(live.topic_count() as i64);
        }
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8(buffer)?)
    }
}
