-- no-transaction
-- The program as tax agent: its rule (JSON of the actors' TaxRule; off by default),
-- the participants' tax numbers (INN), the program's `tax` account (tax withheld from
-- participants or paid by the organiser, owed to the tax office), each person's
-- running yearly totals (every event's tax is computed on them) and each taxable event.
-- SQLite cannot alter a CHECK constraint, so the accounts table is rebuilt the
-- documented way (foreign keys off, copy, swap) to admit the new kind; this file
-- manages its own transaction for that. Keep in meaning-for-meaning step with
-- migrations/postgres/0017_tax.sql.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

ALTER TABLE programs ADD COLUMN tax_rule TEXT NOT NULL DEFAULT '{"enabled":false,"moment":"redemption","bearer":"participant","exemption":"4000.00","scale":[{"above":"0.00","rate":"35"}]}';
ALTER TABLE users ADD COLUMN tax_id TEXT;

CREATE TABLE accounts_rebuilt (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    kind            TEXT    NOT NULL CHECK (kind IN ('participant', 'pending', 'campaign_fund', 'issued', 'adjustments', 'redeemed', 'expired', 'order_hold', 'tax')),
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

-- paid: tax posted to the `tax` account (withheld, or paid by the organiser); a
-- participant's tax that their points could not cover is tax - paid (not withheld,
-- which the tax agent reports as such).
CREATE TABLE tax_years (
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    year            BIGINT  NOT NULL,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    income          BIGINT  NOT NULL,
    tax             BIGINT  NOT NULL,
    paid            BIGINT  NOT NULL,
    PRIMARY KEY (participant_id, year)
);

-- month is 1 to 12 in the program's time zone; bearer: participant or organiser.
CREATE TABLE tax_events (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    transaction_id  BIGINT  NOT NULL REFERENCES ledger_transactions(id),
    year            BIGINT  NOT NULL,
    month           BIGINT  NOT NULL,
    income          BIGINT  NOT NULL,
    tax             BIGINT  NOT NULL,
    paid            BIGINT  NOT NULL,
    bearer          TEXT    NOT NULL CHECK (bearer IN ('participant', 'organiser')),
    created_at      BIGINT  NOT NULL
);
CREATE INDEX tax_events_year ON tax_events (program_id, year, participant_id);

COMMIT;
PRAGMA foreign_keys = ON;
