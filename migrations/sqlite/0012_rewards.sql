-- no-transaction
-- Spending points: the rewards showcase, orders and their history, and the order-hold
-- account (points of placed orders until fulfilled or returned). SQLite cannot alter a
-- CHECK constraint, so the accounts table is rebuilt the documented way (foreign keys
-- off, copy, swap, check) to admit the new kind; this file manages its own
-- transaction for that. Keep in meaning-for-meaning step with
-- migrations/postgres/0012_rewards.sql.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE accounts_rebuilt (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    kind            TEXT    NOT NULL CHECK (kind IN ('participant', 'pending', 'campaign_fund', 'issued', 'adjustments', 'redeemed', 'expired', 'order_hold')),
    owner_id        BIGINT  NOT NULL,
    balance         BIGINT  NOT NULL DEFAULT 0,
    allow_negative  BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    UNIQUE (program_id, kind, owner_id),
    CHECK (allow_negative = 1 OR balance >= 0)
);
INSERT INTO accounts_rebuilt (id, program_id, kind, owner_id, balance, allow_negative, created_at)
SELECT id, program_id, kind, owner_id, balance, allow_negative, created_at FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_rebuilt RENAME TO accounts;

-- kind: gift_certificate, goods, virtual_card, phone_topup, card_payout, merch.
-- price (hundredths) for a fixed price, or min_amount..max_amount for a chosen one.
-- stock NULL is unlimited; a brand's own reward carries brand_id. Audience lists are
-- JSON arrays (empty: everyone).
CREATE TABLE rewards (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    brand_id        BIGINT  REFERENCES brands(id),
    sku             TEXT    NOT NULL,
    kind            TEXT    NOT NULL CHECK (kind IN ('gift_certificate', 'goods', 'virtual_card', 'phone_topup', 'card_payout', 'merch')),
    title           TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    category        TEXT    NOT NULL DEFAULT '',
    network         TEXT,
    price           BIGINT  CHECK (price > 0),
    min_amount      BIGINT  CHECK (min_amount > 0),
    max_amount      BIGINT,
    stock           BIGINT  CHECK (stock >= 0),
    picture         TEXT,
    regions         TEXT    NOT NULL DEFAULT '[]',
    levels          TEXT    NOT NULL DEFAULT '[]',
    roles           TEXT    NOT NULL DEFAULT '[]',
    active_from     BIGINT,
    active_to       BIGINT,
    status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    UNIQUE (program_id, sku),
    CHECK ((price IS NOT NULL AND min_amount IS NULL AND max_amount IS NULL)
        OR (price IS NULL AND min_amount IS NOT NULL AND max_amount >= min_amount))
);
CREATE INDEX rewards_listing ON rewards (program_id, status, category);

-- status: placed, processing, fulfilled, failed, cancelled (goods also shipped,
-- delivered). hold_transaction_id is the checkout's reservation; settled_transaction_id
-- the capture or the return.
CREATE TABLE orders (
    id                      INTEGER PRIMARY KEY,
    program_id              BIGINT  NOT NULL REFERENCES programs(id),
    participant_id          BIGINT  NOT NULL REFERENCES users(id),
    status                  TEXT    NOT NULL CHECK (status IN ('placed', 'processing', 'shipped', 'delivered', 'fulfilled', 'failed', 'cancelled')),
    total                   BIGINT  NOT NULL CHECK (total > 0),
    delivery                TEXT,
    hold_transaction_id     BIGINT  REFERENCES ledger_transactions(id),
    settled_transaction_id  BIGINT  REFERENCES ledger_transactions(id),
    failure_reason          TEXT,
    -- The Idempotency-Key of the checkout: a retry finds this order instead of placing
    -- another, even after a crash between the commit and the answer.
    request_key             TEXT,
    created_at              BIGINT  NOT NULL,
    updated_at              BIGINT  NOT NULL
);
CREATE INDEX orders_of_participant ON orders (participant_id, id);
CREATE UNIQUE INDEX orders_request_key ON orders (participant_id, request_key);
CREATE INDEX orders_by_status ON orders (program_id, status, id);

-- One line of an order. certificate_code / certificate_pin are what the provider
-- delivered, shown to the order's owner only.
CREATE TABLE order_items (
    id                  INTEGER PRIMARY KEY,
    order_id            BIGINT  NOT NULL REFERENCES orders(id),
    reward_id           BIGINT  NOT NULL REFERENCES rewards(id),
    quantity            BIGINT  NOT NULL CHECK (quantity > 0),
    unit_price          BIGINT  NOT NULL CHECK (unit_price > 0),
    provider_reference  TEXT,
    certificate_code    TEXT,
    certificate_pin     TEXT,
    delivered_at        BIGINT
);
CREATE INDEX order_items_of_order ON order_items (order_id);

CREATE TABLE order_history (
    id          INTEGER PRIMARY KEY,
    order_id    BIGINT  NOT NULL REFERENCES orders(id),
    status      TEXT    NOT NULL,
    note        TEXT,
    actor_id    BIGINT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX order_history_of_order ON order_history (order_id, id);

-- Admins run the showcase; brands their own rewards.
INSERT INTO role_permissions (role_id, permission)
SELECT id, 'rewards.edit' FROM roles WHERE builtin = 1 AND name IN ('admin', 'manufacturer');

COMMIT;
PRAGMA foreign_keys = ON;
