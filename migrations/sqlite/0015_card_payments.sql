-- no-transaction
-- Paying the shortfall of an order by card (a program setting): the order waits in
-- awaiting_payment until the payment provider confirms the card part. card_amount is
-- that part (hundredths of a rouble, 1 point = 1 rouble); the points reserved are
-- total - card_amount. SQLite cannot alter a CHECK constraint, so the orders table is
-- rebuilt the documented way (foreign keys off, copy, swap, check); this file manages
-- its own transaction for that. Keep in meaning-for-meaning step with
-- migrations/postgres/0015_card_payments.sql.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

ALTER TABLE programs ADD COLUMN card_payments BIGINT NOT NULL DEFAULT 0;

CREATE TABLE orders_rebuilt (
    id                      INTEGER PRIMARY KEY,
    program_id              BIGINT  NOT NULL REFERENCES programs(id),
    participant_id          BIGINT  NOT NULL REFERENCES users(id),
    status                  TEXT    NOT NULL CHECK (status IN ('awaiting_payment', 'placed', 'processing', 'shipped', 'delivered', 'fulfilled', 'failed', 'cancelled')),
    total                   BIGINT  NOT NULL CHECK (total > 0),
    delivery                TEXT,
    hold_transaction_id     BIGINT  REFERENCES ledger_transactions(id),
    settled_transaction_id  BIGINT  REFERENCES ledger_transactions(id),
    failure_reason          TEXT,
    -- The Idempotency-Key of the checkout: a retry finds this order instead of placing
    -- another, even after a crash between the commit and the answer.
    request_key             TEXT,
    created_at              BIGINT  NOT NULL,
    updated_at              BIGINT  NOT NULL,
    card_amount             BIGINT  NOT NULL DEFAULT 0,
    CONSTRAINT orders_card_part CHECK (card_amount >= 0 AND card_amount < total)
);
INSERT INTO orders_rebuilt (id, program_id, participant_id, status, total, delivery, hold_transaction_id,
                            settled_transaction_id, failure_reason, request_key, created_at, updated_at)
SELECT id, program_id, participant_id, status, total, delivery, hold_transaction_id,
       settled_transaction_id, failure_reason, request_key, created_at, updated_at FROM orders;
DROP TABLE orders;
ALTER TABLE orders_rebuilt RENAME TO orders;
CREATE INDEX orders_of_participant ON orders (participant_id, id);
CREATE UNIQUE INDEX orders_request_key ON orders (participant_id, request_key);
CREATE INDEX orders_by_status ON orders (program_id, status, id);

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

COMMIT;
PRAGMA foreign_keys = ON;
