-- Tasks, quests and what participants submit for them. Keep in meaning-for-meaning
-- step with migrations/postgres/0006_tasks.sql.

-- A task a participant can do for points: what it asks (spec), who it is for
-- (audience), when (schedule), what it pays and how often.
CREATE TABLE tasks (
    id               INTEGER PRIMARY KEY,
    program_id       BIGINT  NOT NULL REFERENCES programs(id),
    -- A brand's own task (its users with tasks.edit may change it); NULL for the program's.
    brand_id         BIGINT  REFERENCES brands(id),
    kind             TEXT    NOT NULL CHECK (kind IN ('shelf_photo', 'stock_check', 'quiz', 'survey', 'sales_plan', 'self_audit', 'price_report', 'training')),
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    -- What the task asks, as JSON (questions and right answers, checklist, targets).
    spec             TEXT    NOT NULL,
    -- Who it is for, as JSON: {regions, stores, levels, roles}; empty lists filter nothing.
    audience         TEXT    NOT NULL,
    starts_at        BIGINT,
    ends_at          BIGINT,
    -- Periods in the program's time zone: none (the task's whole life), daily, weekly.
    recurrence       TEXT    NOT NULL CHECK (recurrence IN ('none', 'daily', 'weekly')),
    -- Base points (hundredths) before the level multiplier.
    points           BIGINT  NOT NULL CHECK (points > 0),
    -- Per participant per period.
    max_completions  BIGINT  NOT NULL CHECK (max_completions > 0),
    -- Attempts per participant per period; NULL is unlimited.
    max_attempts     BIGINT  CHECK (max_attempts > 0),
    -- 1 when submissions wait for a moderator (points held as pending meanwhile).
    moderated        BIGINT  NOT NULL CHECK (moderated IN (0, 1)),
    active           BIGINT  NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by       BIGINT  REFERENCES users(id),
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX tasks_program ON tasks (program_id, active, id);

-- A quest: a chain (ordered) or set of tasks, or a streak of any of them on
-- consecutive days or weeks, with a bonus credited once per period.
CREATE TABLE quests (
    id               INTEGER PRIMARY KEY,
    program_id       BIGINT  NOT NULL REFERENCES programs(id),
    kind             TEXT    NOT NULL CHECK (kind IN ('chain', 'set', 'streak')),
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    -- Base bonus points (hundredths), paid as income: the level multiplier applies.
    bonus            BIGINT  NOT NULL CHECK (bonus > 0),
    audience         TEXT    NOT NULL,
    starts_at        BIGINT,
    ends_at          BIGINT,
    recurrence       TEXT    NOT NULL CHECK (recurrence IN ('none', 'daily', 'weekly')),
    -- Streaks only: periods in a row, and whether they are days or weeks.
    streak_length    BIGINT  CHECK (streak_length > 0),
    streak_unit      TEXT    CHECK (streak_unit IN ('day', 'week')),
    active           BIGINT  NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_by       BIGINT  REFERENCES users(id),
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX quests_program ON quests (program_id, active, id);

-- The tasks of a quest, in order (the order matters for chains).
CREATE TABLE quest_tasks (
    quest_id         BIGINT  NOT NULL REFERENCES quests(id),
    task_id          BIGINT  NOT NULL REFERENCES tasks(id),
    position         BIGINT  NOT NULL,
    PRIMARY KEY (quest_id, task_id)
);
CREATE INDEX quest_tasks_task ON quest_tasks (task_id);

-- Bonuses paid: one per quest, participant and period (the ledger key
-- quest:{id}:{user}:{period} is the last word; this row is what listings read).
CREATE TABLE quest_completions (
    quest_id         BIGINT  NOT NULL REFERENCES quests(id),
    participant_id   BIGINT  NOT NULL REFERENCES users(id),
    period_key       TEXT    NOT NULL,
    transaction_id   BIGINT  NOT NULL REFERENCES ledger_transactions(id),
    created_at       BIGINT  NOT NULL,
    PRIMARY KEY (quest_id, participant_id, period_key)
);

-- Every submission, kept for history: attempts, answers, photos, decisions. A rework
-- is answered by a new row whose resubmission_of points at the reworked one.
CREATE TABLE task_submissions (
    id                  INTEGER PRIMARY KEY,
    program_id          BIGINT  NOT NULL REFERENCES programs(id),
    task_id             BIGINT  NOT NULL REFERENCES tasks(id),
    participant_id      BIGINT  NOT NULL REFERENCES users(id),
    -- The participant's store and region at the time (moderation routing, reports).
    store_id            BIGINT  REFERENCES stores(id),
    region_id           BIGINT  REFERENCES regions(id),
    -- The period the submission counts in (epoch ms of its start, and its key).
    period_start        BIGINT  NOT NULL,
    period_key          TEXT    NOT NULL,
    -- The attempt it belongs to within the period, from 1; resubmissions share it.
    attempt             BIGINT  NOT NULL,
    resubmission_of     BIGINT  REFERENCES task_submissions(id),
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'rework', 'resubmitted', 'failed')),
    -- The checked answer as JSON, and the photos' SHA-256 as a JSON list.
    answers             TEXT    NOT NULL,
    photos              TEXT    NOT NULL,
    -- A stock check's product code (audit, and refusing the same package twice).
    code                TEXT,
    score               BIGINT,
    max_score           BIGINT,
    -- Base points (hundredths) the task paid when submitted.
    points              BIGINT  NOT NULL,
    -- Points credited after the level multiplier, once known.
    credited            BIGINT,
    moderated           BIGINT  NOT NULL CHECK (moderated IN (0, 1)),
    -- Approved without a moderator: a trusted participant's low-risk task.
    auto_approved       BIGINT  NOT NULL DEFAULT 0 CHECK (auto_approved IN (0, 1)),
    -- The pending credit while a moderator decides, or the posted credit.
    hold_transaction_id BIGINT  REFERENCES ledger_transactions(id),
    transaction_id      BIGINT  REFERENCES ledger_transactions(id),
    moderation_item_id  BIGINT  REFERENCES moderation_items(id),
    decision_reason     TEXT,
    decision_comment    TEXT,
    decided_by          BIGINT  REFERENCES users(id),
    decided_at          BIGINT,
    -- When the task counted as done (auto-credit or approval); quests read it.
    completed_at        BIGINT,
    -- Work left after the submission's transaction (credit, hold and queue, quest
    -- bonuses, pushes): retried until done, so a crash in between loses nothing.
    followup            TEXT    NOT NULL CHECK (followup IN ('pending', 'done')),
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
CREATE INDEX task_submissions_participant ON task_submissions (participant_id, task_id, period_start);
CREATE INDEX task_submissions_completed ON task_submissions (participant_id, completed_at);
CREATE INDEX task_submissions_task ON task_submissions (task_id, id);
CREATE INDEX task_submissions_followup ON task_submissions (followup, updated_at);

-- A program's task settings; a program without a row uses the defaults (trust off).
CREATE TABLE task_settings (
    program_id          BIGINT  PRIMARY KEY REFERENCES programs(id),
    trust_enabled       BIGINT  NOT NULL DEFAULT 0 CHECK (trust_enabled IN (0, 1)),
    -- Percent.
    trust_threshold     BIGINT  NOT NULL,
    trust_min_decisions BIGINT  NOT NULL,
    -- Hundredths of a point: tasks paying at most this are low-risk.
    trust_max_points    BIGINT  NOT NULL,
    spot_check_percent  BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL
);
