-- no-transaction
-- Retroactive recalculation: every earning records the terms it was paid on (base
-- points, the level and its multiplier), so a changed rule for a past period can be
-- priced against what was paid; compensations are new transactions, never edits. A
-- loss beyond a participant's balance becomes a debt: the per-participant `debt`
-- account (its balance is minus what they owe) that their next income pays off first.
-- SQLite cannot alter a CHECK constraint, so the accounts table is rebuilt the
-- documented way (foreign keys off, copy, swap) to admit the new kind; this file
-- manages its own transaction for that. Keep in meaning-for-meaning step with
-- migrations/postgres/0018_recalculation.sql.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

ALTER TABLE ledger_transactions ADD COLUMN earn_base BIGINT;
ALTER TABLE ledger_transactions ADD COLUMN earn_level BIGINT;
ALTER TABLE ledger_transactions ADD COLUMN earn_multiplier TEXT;
-- A hold's settlement, found from the hold (what a held earning finally paid).
CREATE INDEX ledger_transactions_settles ON ledger_transactions (settles_id) WHERE settles_id IS NOT NULL;

CREATE TABLE accounts_rebuilt (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    kind            TEXT    NOT NULL CHECK (kind IN ('participant', 'pending', 'campaign_fund', 'issued', 'adjustments', 'redeemed', 'expired', 'order_hold', 'tax', 'debt')),
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

-- One recalculation: the rule it applies (JSON: kind, its target and new value), the
-- period of earnings it covers (local dates, inclusive, and their epoch-ms span), its
-- figures as confirmed (the preview it posts) and its posting progress.
-- status: posting (compensations going out) or finished.
CREATE TABLE recalculations (
    id                  INTEGER PRIMARY KEY,
    program_id          BIGINT  NOT NULL REFERENCES programs(id),
    idempotency_key     TEXT    NOT NULL,
    rule                TEXT    NOT NULL,
    period_from         TEXT    NOT NULL,
    period_to           TEXT    NOT NULL,
    starts_at           BIGINT  NOT NULL,
    ends_at             BIGINT  NOT NULL,
    comment             TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('posting', 'finished')),
    transactions        BIGINT  NOT NULL,
    participants        BIGINT  NOT NULL,
    gainers             BIGINT  NOT NULL,
    losers              BIGINT  NOT NULL,
    gains               BIGINT  NOT NULL,
    losses              BIGINT  NOT NULL,
    owner_gains         BIGINT  NOT NULL,
    owner_losses        BIGINT  NOT NULL,
    posted              BIGINT  NOT NULL DEFAULT 0,
    failed              BIGINT  NOT NULL DEFAULT 0,
    created_by          BIGINT  REFERENCES users(id),
    created_at          BIGINT  NOT NULL,
    finished_at         BIGINT,
    UNIQUE (program_id, idempotency_key)
);
-- One recalculation posts at a time per program: the next one reads what this one
-- made each earning pay.
CREATE UNIQUE INDEX recalculations_posting ON recalculations (program_id) WHERE status = 'posting';

-- What each earning paid before the recalculation and pays after it (the participant's
-- credit and the store owner's share), and the terms it is paid on after it (base
-- points, multiplier as decimal text): a later recalculation of the same earning
-- starts from the latest of these.
CREATE TABLE recalculation_items (
    recalculation_id    BIGINT  NOT NULL REFERENCES recalculations(id),
    transaction_id      BIGINT  NOT NULL REFERENCES ledger_transactions(id),
    participant_id      BIGINT  NOT NULL REFERENCES users(id),
    paid                BIGINT  NOT NULL,
    recalculated        BIGINT  NOT NULL,
    owner_paid          BIGINT  NOT NULL,
    owner_recalculated  BIGINT  NOT NULL,
    base                BIGINT  NOT NULL,
    multiplier          TEXT    NOT NULL,
    PRIMARY KEY (recalculation_id, transaction_id)
);
CREATE INDEX recalculation_items_transaction ON recalculation_items (transaction_id, recalculation_id);

-- One compensating transaction per participant: the movements it posts (JSON of the
-- ledger's movements, fixed at confirmation) and, once posted, its transaction; or why
-- the ledger refused it (a campaign fund that can no longer pay a gain).
CREATE TABLE recalculation_lines (
    recalculation_id    BIGINT  NOT NULL REFERENCES recalculations(id),
    participant_id      BIGINT  NOT NULL REFERENCES users(id),
    store_id            BIGINT,
    difference          BIGINT  NOT NULL,
    owner_difference    BIGINT  NOT NULL,
    campaign_id         BIGINT,
    movements           TEXT    NOT NULL,
    transaction_id      BIGINT  REFERENCES ledger_transactions(id),
    error               TEXT,
    PRIMARY KEY (recalculation_id, participant_id)
);

-- Points a refund gave back to the lots its reservation took them from, so cancelling
-- an order (or a failed payout) never renews points' expiry: the refund's transaction,
-- the lot and how much. A lot's points still reserved by a source are what its
-- transactions took from the lot less what its refunds gave back.
CREATE TABLE lot_restores (
    transaction_id  BIGINT  NOT NULL REFERENCES ledger_transactions(id),
    lot_id          BIGINT  NOT NULL REFERENCES point_lots(id),
    amount          BIGINT  NOT NULL CHECK (amount > 0),
    PRIMARY KEY (transaction_id, lot_id)
);
CREATE INDEX lot_restores_lot ON lot_restores (lot_id);

COMMIT;
PRAGMA foreign_keys = ON;
