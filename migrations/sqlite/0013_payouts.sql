-- Payouts to bank cards. A card is kept only as the provider's token and its masked
-- number (first six, last four); the full number is never stored. A payout reserves
-- its amount (participant → order hold) when requested, waits for a moderator, then
-- goes to the provider: paid captures it, rejected or failed returns it.
CREATE TABLE payout_cards (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    token           TEXT    NOT NULL,
    masked          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    UNIQUE (participant_id, token)
);

CREATE TABLE payouts (
    id                      INTEGER PRIMARY KEY,
    program_id              BIGINT  NOT NULL REFERENCES programs(id),
    participant_id          BIGINT  NOT NULL REFERENCES users(id),
    card_id                 BIGINT  NOT NULL REFERENCES payout_cards(id),
    amount                  BIGINT  NOT NULL CHECK (amount > 0),
    status                  TEXT    NOT NULL CHECK (status IN ('review', 'approved', 'paid', 'rejected', 'failed')),
    hold_transaction_id     BIGINT  REFERENCES ledger_transactions(id),
    settled_transaction_id  BIGINT  REFERENCES ledger_transactions(id),
    provider_reference      TEXT,
    failure_reason          TEXT,
    request_key             TEXT,
    created_at              BIGINT  NOT NULL,
    updated_at              BIGINT  NOT NULL
);
CREATE INDEX payouts_of_participant ON payouts (participant_id, created_at);
CREATE UNIQUE INDEX payouts_request_key ON payouts (participant_id, request_key);
