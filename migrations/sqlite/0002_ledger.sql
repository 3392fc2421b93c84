-- The points ledger: double-entry accounts and postings, grouped into ledger
-- transactions that carry the idempotency key, the reason, the source and who caused
-- them. Balances are denormalised onto accounts (and checked against the postings by
-- the invariant check); amounts are integer hundredths of a point.
-- Keep in meaning-for-meaning step with migrations/postgres/0002_ledger.sql.

-- Program rules the ledger applies: the level scale (JSON list of levels) and the
-- owner's share of each seller's earned points (a decimal percent, as text).
ALTER TABLE programs ADD COLUMN levels TEXT NOT NULL DEFAULT '[{"name":"Bronze","multiplier":"1"},{"name":"Silver","min_completed_tasks":10,"min_lifetime_points":"1000.00","multiplier":"1.1"},{"name":"Gold","min_completed_tasks":30,"min_lifetime_points":"5000.00","multiplier":"1.25"}]';
ALTER TABLE programs ADD COLUMN owner_share_percent TEXT NOT NULL DEFAULT '5';

-- kind: participant (available points), pending (awaiting a decision), campaign_fund,
-- and program-level system accounts: issued (where points come from), adjustments,
-- redeemed, expired. owner_id is the user, campaign, or 0 for program accounts.
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    kind            TEXT    NOT NULL CHECK (kind IN ('participant', 'pending', 'campaign_fund', 'issued', 'adjustments', 'redeemed', 'expired')),
    owner_id        BIGINT  NOT NULL,
    balance         BIGINT  NOT NULL DEFAULT 0,
    allow_negative  BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    UNIQUE (program_id, kind, owner_id),
    CHECK (allow_negative = 1 OR balance >= 0)
);

CREATE TABLE ledger_transactions (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    idempotency_key TEXT    NOT NULL UNIQUE,
    reason          TEXT    NOT NULL,
    -- The participant the transaction is about, and their store at the time.
    participant_id  BIGINT  REFERENCES users(id),
    store_id        BIGINT  REFERENCES stores(id),
    source_type     TEXT,
    source_id       TEXT,
    actor_id        BIGINT  REFERENCES users(id),
    comment         TEXT,
    -- pending: points held until confirmed or cancelled (e.g. moderation); settled by
    -- a later transaction whose settles_id points here.
    status          TEXT    NOT NULL DEFAULT 'posted' CHECK (status IN ('posted', 'pending', 'confirmed', 'cancelled')),
    settles_id      BIGINT  REFERENCES ledger_transactions(id),
    created_at      BIGINT  NOT NULL
);
CREATE INDEX ledger_transactions_participant ON ledger_transactions (participant_id, id);
CREATE INDEX ledger_transactions_store ON ledger_transactions (store_id, created_at);

CREATE TABLE postings (
    id              INTEGER PRIMARY KEY,
    transaction_id  BIGINT  NOT NULL REFERENCES ledger_transactions(id),
    debit_account   BIGINT  NOT NULL REFERENCES accounts(id),
    credit_account  BIGINT  NOT NULL REFERENCES accounts(id),
    amount          BIGINT  NOT NULL CHECK (amount > 0),
    -- What this movement is within its transaction (earning, owner_share, hold, …).
    purpose         TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    CHECK (debit_account <> credit_account)
);
CREATE INDEX postings_transaction ON postings (transaction_id);
CREATE INDEX postings_debit ON postings (debit_account);
CREATE INDEX postings_credit ON postings (credit_account);

-- What levels are computed from, and a version bumped by every transaction touching
-- the participant: pushed events carry it so clients and other nodes order them.
CREATE TABLE participant_progress (
    user_id         BIGINT  PRIMARY KEY REFERENCES users(id),
    lifetime        BIGINT  NOT NULL DEFAULT 0,
    completed_tasks BIGINT  NOT NULL DEFAULT 0,
    version         BIGINT  NOT NULL DEFAULT 0
);

-- Points a transaction credited to its participant as income (earnings and released
-- holds), denormalised for store progress and reports.
ALTER TABLE ledger_transactions ADD COLUMN earned BIGINT NOT NULL DEFAULT 0;
-- Tasks the transaction completed for its participant (levels count them).
ALTER TABLE ledger_transactions ADD COLUMN completed_tasks BIGINT NOT NULL DEFAULT 0;
-- A store's monthly target in points, for plan attainment; NULL means no plan.
ALTER TABLE stores ADD COLUMN monthly_plan BIGINT;
