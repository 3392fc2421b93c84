-- Campaigns, the product catalog, code pools and their refills, issued batches, codes
-- and registration attempts, and sale receipts. Keep in meaning-for-meaning step with
-- migrations/postgres/0009_campaigns_codes.sql.

-- A brand's products: what codes are printed for and what campaigns pay for.
CREATE TABLE products (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    brand_id    BIGINT  REFERENCES brands(id),
    sku         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    -- The product type as the brand names it (filter, cartridge, …).
    kind        TEXT    NOT NULL DEFAULT '',
    -- Units in one package: a code on a pack of 6 counts as 6 units.
    pack_size   BIGINT  NOT NULL DEFAULT 1 CHECK (pack_size > 0),
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (program_id, sku)
);

-- A campaign: products that pay points per unit within a date range, for an audience,
-- out of a prize fund.
CREATE TABLE campaigns (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    brand_id        BIGINT  REFERENCES brands(id),
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    -- [starts_at, ends_at), epoch ms; entered as dates in the program's time zone.
    starts_at       BIGINT  NOT NULL,
    ends_at         BIGINT  NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'finished')),
    -- Who may earn, as JSON: {regions, stores, partners, levels}; empty lists filter nothing.
    audience        TEXT    NOT NULL,
    -- The prize fund in hundredths, and how much of it has been moved into the fund's
    -- account (budget increases are posted as they are made).
    budget          BIGINT  NOT NULL CHECK (budget >= 0),
    funded          BIGINT  NOT NULL DEFAULT 0,
    -- 1 lets credits continue after the fund is spent (the fund's balance goes negative).
    allow_overdraft BIGINT  NOT NULL DEFAULT 0 CHECK (allow_overdraft IN (0, 1)),
    ranking         TEXT    NOT NULL DEFAULT 'points' CHECK (ranking IN ('points', 'plan_percent')),
    created_by      BIGINT  REFERENCES users(id),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX campaigns_program ON campaigns (program_id, status, starts_at);

-- The products taking part and their base points (hundredths) per unit.
CREATE TABLE campaign_products (
    campaign_id     BIGINT  NOT NULL REFERENCES campaigns(id),
    product_id      BIGINT  NOT NULL REFERENCES products(id),
    points_per_unit BIGINT  NOT NULL CHECK (points_per_unit > 0),
    PRIMARY KEY (campaign_id, product_id)
);
CREATE INDEX campaign_products_product ON campaign_products (product_id);

-- Personal sales plans (hundredths of points to earn in the campaign), for campaigns
-- ranked by percent of plan.
CREATE TABLE campaign_plans (
    campaign_id     BIGINT  NOT NULL REFERENCES campaigns(id),
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    plan            BIGINT  NOT NULL CHECK (plan > 0),
    PRIMARY KEY (campaign_id, participant_id)
);

-- A pool of pre-generated codes, refilled to target_size overnight and whenever it
-- falls below low_watermark.
CREATE TABLE code_pools (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    name            TEXT    NOT NULL,
    target_size     BIGINT  NOT NULL CHECK (target_size > 0),
    low_watermark   BIGINT  NOT NULL CHECK (low_watermark >= 0),
    created_at      BIGINT  NOT NULL,
    UNIQUE (program_id, name)
);

-- One refill of a pool: `requested` codes split into shards with disjoint key spaces.
CREATE TABLE code_refills (
    id              INTEGER PRIMARY KEY,
    pool_id         BIGINT  NOT NULL REFERENCES code_pools(id),
    trigger_kind    TEXT    NOT NULL CHECK (trigger_kind IN ('schedule', 'watermark', 'manual')),
    requested       BIGINT  NOT NULL CHECK (requested > 0),
    shard_count     BIGINT  NOT NULL CHECK (shard_count > 0),
    status          TEXT    NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    error           TEXT,
    started_at      BIGINT  NOT NULL,
    finished_at     BIGINT
);
CREATE INDEX code_refills_pool ON code_refills (pool_id, status);

-- A shard's quota and progress; `done` moves in the same transaction as its codes, so a
-- refill resumed after a crash adds exactly what is missing.
CREATE TABLE code_refill_shards (
    refill_id       BIGINT  NOT NULL REFERENCES code_refills(id),
    shard           BIGINT  NOT NULL,
    quota           BIGINT  NOT NULL CHECK (quota >= 0),
    done            BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (refill_id, shard),
    CHECK (done <= quota)
);

-- A brand's order of codes for one product, streamed out as CSV for printing.
CREATE TABLE code_batches (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    pool_id         BIGINT  NOT NULL REFERENCES code_pools(id),
    product_id      BIGINT  NOT NULL REFERENCES products(id),
    quantity        BIGINT  NOT NULL CHECK (quantity > 0),
    -- Codes moved from the pool so far; the batch is complete at quantity.
    issued          BIGINT  NOT NULL DEFAULT 0,
    status          TEXT    NOT NULL CHECK (status IN ('issuing', 'issued')),
    created_by      BIGINT  REFERENCES users(id),
    created_at      BIGINT  NOT NULL,
    CHECK (issued <= quantity)
);

-- Every code, from the pool to its registration. A code is unique across all programs
-- so a package's code names one thing anywhere.
CREATE TABLE codes (
    id              INTEGER PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,
    pool_id         BIGINT  NOT NULL REFERENCES code_pools(id),
    -- pool: generated, not yet issued; issued: printed for a product; held: a
    -- suspicious registration awaits a moderator; registered: counted, for good.
    status          TEXT    NOT NULL CHECK (status IN ('pool', 'issued', 'held', 'registered')),
    refill_id       BIGINT,
    product_id      BIGINT  REFERENCES products(id),
    batch_id        BIGINT  REFERENCES code_batches(id),
    campaign_id     BIGINT  REFERENCES campaigns(id),
    registered_by   BIGINT  REFERENCES users(id),
    registered_at   BIGINT,
    transaction_id  BIGINT  REFERENCES ledger_transactions(id),
    created_at      BIGINT  NOT NULL
);
CREATE INDEX codes_pool_status ON codes (pool_id, status, id);
CREATE INDEX codes_batch ON codes (batch_id, id);
CREATE INDEX codes_registered_by ON codes (registered_by, registered_at);

-- Every registration attempt and the decision on it, with its reason: the anti-fraud
-- rules count from here, and support reads it.
CREATE TABLE code_attempts (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    store_id        BIGINT  REFERENCES stores(id),
    -- The code as understood (11 letters), or the raw input when it was mistyped.
    input           TEXT    NOT NULL,
    code_id         BIGINT  REFERENCES codes(id),
    outcome         TEXT    NOT NULL CHECK (outcome IN ('credited', 'held', 'refused', 'blocked')),
    reason          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX code_attempts_participant ON code_attempts (participant_id, created_at);
CREATE INDEX code_attempts_store ON code_attempts (store_id, created_at);
CREATE INDEX code_attempts_code ON code_attempts (code_id, participant_id);

-- A sale a participant registers with its receipt: checked by a moderator, then paid
-- like codes of the product (points per unit × quantity).
CREATE TABLE receipts (
    id                  INTEGER PRIMARY KEY,
    program_id          BIGINT  NOT NULL REFERENCES programs(id),
    participant_id      BIGINT  NOT NULL REFERENCES users(id),
    store_id            BIGINT  REFERENCES stores(id),
    region_id           BIGINT  REFERENCES regions(id),
    campaign_id         BIGINT  NOT NULL REFERENCES campaigns(id),
    product_id          BIGINT  NOT NULL REFERENCES products(id),
    quantity            BIGINT  NOT NULL CHECK (quantity > 0),
    -- As printed, upper-cased with spaces removed, so the same receipt typed twice matches.
    receipt_number      TEXT    NOT NULL,
    -- SHA-256 of the photo in the photo store.
    photo               TEXT    NOT NULL,
    points              BIGINT  NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'rework')),
    hold_transaction_id BIGINT  REFERENCES ledger_transactions(id),
    moderation_item_id  BIGINT  REFERENCES moderation_items(id),
    decision_reason     TEXT,
    decision_comment    TEXT,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
-- A receipt counts once per program, unless it was rejected or sent back for rework.
CREATE UNIQUE INDEX receipts_number ON receipts (program_id, receipt_number) WHERE status IN ('pending', 'approved');
CREATE INDEX receipts_participant ON receipts (participant_id, id);
