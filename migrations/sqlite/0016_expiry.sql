-- Points expire by lots (the program's rule, JSON; default never). Every credit to a
-- participant's available points, made while the rule is not `never`, is a lot with
-- the moment it expires (NULL: never); every debit takes from the lots that expire
-- first and records what it took in lot_spendings, so the expiry run moves exactly
-- what is left of due lots and the seller's history shows each expiry with its lots.
-- Keep in meaning-for-meaning step with migrations/postgres/0016_expiry.sql.
ALTER TABLE programs ADD COLUMN expiry_rule TEXT NOT NULL DEFAULT '{"kind":"never"}';
-- Days before an expiry the participant is warned (0: never warned).
ALTER TABLE programs ADD COLUMN expiry_warn_days BIGINT NOT NULL DEFAULT 7;
-- When the rule last changed: lots credited before keep the dates they were given.
ALTER TABLE programs ADD COLUMN expiry_rule_since BIGINT;

CREATE TABLE point_lots (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    -- The credit that formed the lot (one lot per credit and participant).
    transaction_id  BIGINT  NOT NULL REFERENCES ledger_transactions(id),
    amount          BIGINT  NOT NULL CHECK (amount > 0),
    remaining       BIGINT  NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
    expires_at      BIGINT,
    created_at      BIGINT  NOT NULL,
    UNIQUE (transaction_id, participant_id)
);
-- A participant's open lots (spending, "expiring soon") and a program's due lots
-- by participant (the expiry run's pages).
CREATE INDEX point_lots_open ON point_lots (participant_id, expires_at) WHERE remaining > 0;
CREATE INDEX point_lots_due ON point_lots (program_id, participant_id, expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;

-- What each debit (an order, a payout, a negative adjustment, an expiry) took from
-- each lot.
CREATE TABLE lot_spendings (
    transaction_id  BIGINT  NOT NULL REFERENCES ledger_transactions(id),
    lot_id          BIGINT  NOT NULL REFERENCES point_lots(id),
    amount          BIGINT  NOT NULL CHECK (amount > 0),
    PRIMARY KEY (transaction_id, lot_id)
);
CREATE INDEX lot_spendings_lot ON lot_spendings (lot_id);

-- A run of the expiry job: what was due at `cutoff` (participants and points counted
-- when it started), how far it got (`after`: the last participant done, pages are by
-- participant id) and what it moved. nightly_on is the program's local date of a
-- nightly run (unique, so two nodes start one), NULL for runs started by hand.
CREATE TABLE expiry_runs (
    id                  INTEGER PRIMARY KEY,
    program_id          BIGINT  NOT NULL REFERENCES programs(id),
    cutoff              BIGINT  NOT NULL,
    local_date          TEXT    NOT NULL,
    nightly_on          TEXT,
    started_by          BIGINT  REFERENCES users(id),
    status              TEXT    NOT NULL CHECK (status IN ('running', 'finished')),
    participants_due    BIGINT  NOT NULL,
    points_due          BIGINT  NOT NULL,
    participants_done   BIGINT  NOT NULL DEFAULT 0,
    points_expired      BIGINT  NOT NULL DEFAULT 0,
    warnings            BIGINT  NOT NULL DEFAULT 0,
    after_participant   BIGINT  NOT NULL DEFAULT 0,
    created_at          BIGINT  NOT NULL,
    finished_at         BIGINT,
    UNIQUE (program_id, nightly_on)
);
CREATE INDEX expiry_runs_program ON expiry_runs (program_id, id);

-- One warning per participant and expiry moment, however often the runs look; run_id
-- is the run that wrote it (its warning effect pushes them).
CREATE TABLE expiry_warnings (
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    run_id          BIGINT  NOT NULL REFERENCES expiry_runs(id),
    expires_at      BIGINT  NOT NULL,
    amount          BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (participant_id, expires_at)
);
CREATE INDEX expiry_warnings_run ON expiry_warnings (run_id);
