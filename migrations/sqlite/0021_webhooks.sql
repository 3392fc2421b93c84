-- Outbound webhooks: the program's subscriptions (URL, the events it wants as a JSON
-- list, the signing secret), one delivery per event and subscription (message_id is
-- the webhook-id header, kept across retries and a manual resend so receivers can
-- drop duplicates), and every attempt with what the receiver answered.
-- Keep in meaning-for-meaning step with migrations/postgres/0021_webhooks.sql.
CREATE TABLE webhook_subscriptions (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    url             TEXT    NOT NULL,
    events          TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    active          BIGINT  NOT NULL DEFAULT 1,
    created_by      BIGINT  REFERENCES users(id),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX webhook_subscriptions_program ON webhook_subscriptions (program_id, active);

-- status: pending (being tried), delivered, failed (gave up after a day).
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    subscription_id BIGINT  NOT NULL REFERENCES webhook_subscriptions(id),
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    message_id      TEXT    NOT NULL UNIQUE,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, id);

CREATE TABLE webhook_attempts (
    id              INTEGER PRIMARY KEY,
    delivery_id     BIGINT  NOT NULL REFERENCES webhook_deliveries(id),
    status_code     BIGINT,
    error           TEXT,
    duration_ms     BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
