-- The moderation queue: every item a person must check (registrations, receipts,
-- task submissions, suspicious code registrations, payouts), who holds it under a
-- lease, and the decision. Keep in step with migrations/postgres/0004_moderation.sql.

CREATE TABLE moderation_items (
    id               INTEGER PRIMARY KEY,
    program_id       BIGINT  NOT NULL REFERENCES programs(id),
    kind             TEXT    NOT NULL CHECK (kind IN ('registration', 'receipt', 'task_submission', 'code_review', 'payout')),
    -- The checked object in its own table (a user, a receipt, a submission, …).
    subject_id       BIGINT  NOT NULL,
    participant_id   BIGINT  REFERENCES users(id),
    store_id         BIGINT  REFERENCES stores(id),
    region_id        BIGINT  REFERENCES regions(id),
    -- What the moderator needs to see, as JSON (photos, answers, amounts).
    summary          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'assigned', 'decided', 'withdrawn')),
    -- Queue order: creation time minus the kind's boost.
    priority_at      BIGINT  NOT NULL,
    assigned_to      BIGINT  REFERENCES users(id),
    assigned_at      BIGINT,
    lease_expires_at BIGINT,
    -- Times the item was handed to a moderator (re-queues count).
    assignments      BIGINT  NOT NULL DEFAULT 0,
    decision         TEXT    CHECK (decision IN ('approve', 'reject', 'rework')),
    reason           TEXT,
    comment          TEXT,
    decided_by       BIGINT  REFERENCES users(id),
    decided_at       BIGINT,
    -- Effects that happen outside the decision's transaction (points) are retried
    -- until applied, so a crash between the two loses nothing.
    effect_status    TEXT    NOT NULL DEFAULT 'none' CHECK (effect_status IN ('none', 'pending', 'applied', 'failed')),
    -- The effect still to apply, as JSON (e.g. which hold to settle).
    effect           TEXT,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX moderation_queue ON moderation_items (program_id, status, priority_at, id);
CREATE INDEX moderation_holder ON moderation_items (assigned_to, status);
CREATE INDEX moderation_decided ON moderation_items (program_id, decided_at);
-- One open item per checked object.
CREATE UNIQUE INDEX moderation_open_subject ON moderation_items (kind, subject_id) WHERE status IN ('queued', 'assigned');

-- Reasons a moderator may give for a rejection, per program.
CREATE TABLE rejection_reasons (
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    code        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    PRIMARY KEY (program_id, code)
);

INSERT INTO rejection_reasons (program_id, code, title) SELECT id, 'photo_unclear', 'The photo is unclear or cut off' FROM programs;
INSERT INTO rejection_reasons (program_id, code, title) SELECT id, 'wrong_product', 'Not a product of the program' FROM programs;
INSERT INTO rejection_reasons (program_id, code, title) SELECT id, 'duplicate', 'Already submitted' FROM programs;
INSERT INTO rejection_reasons (program_id, code, title) SELECT id, 'not_eligible', 'Does not meet the conditions' FROM programs;
INSERT INTO rejection_reasons (program_id, code, title) SELECT id, 'suspected_fraud', 'Suspected fraud' FROM programs;
INSERT INTO rejection_reasons (program_id, code, title) SELECT id, 'other', 'Other (see comment)' FROM programs;
