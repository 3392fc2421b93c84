-- Paying the shortfall of an order by card (a program setting): the order waits in
-- awaiting_payment until the payment provider confirms the card part. card_amount is
-- that part (hundredths of a rouble, 1 point = 1 rouble); the points reserved are
-- total - card_amount. Keep in meaning-for-meaning step with
-- migrations/sqlite/0015_card_payments.sql.
ALTER TABLE programs ADD COLUMN card_payments BIGINT NOT NULL DEFAULT 0;

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('awaiting_payment', 'placed', 'processing', 'shipped', 'delivered', 'fulfilled', 'failed', 'cancelled'));
ALTER TABLE orders ADD COLUMN card_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE orders ADD CONSTRAINT orders_card_part CHECK (card_amount >= 0 AND card_amount < total);

-- One card payment per order, named to the provider as payment-{order_id} (its
-- idempotency key). status: pending (asked, not confirmed), succeeded (the provider
-- confirmed the amount), cancelled (never paid: expired, declined, or the order ended
-- first), refund_pending / refunded (paid, but the order ended without delivery).
CREATE TABLE order_payments (
    order_id            BIGINT  PRIMARY KEY REFERENCES orders(id),
    program_id          BIGINT  NOT NULL REFERENCES programs(id),
    amount              BIGINT  NOT NULL CHECK (amount > 0),
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'cancelled', 'refund_pending', 'refunded')),
    provider_reference  TEXT,
    confirmation_url    TEXT,
    reason              TEXT,
    expires_at          BIGINT  NOT NULL,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE INDEX order_payments_by_status ON order_payments (program_id, status);
