-- Mailings to a segment: the texts per language, the channels besides the inbox, the
-- audience (JSON: regions, stores, levels, roles, active or inactive since a date),
-- when to send, and how far it got (people written to, by user id: pages go in id
-- order, each page's messages and progress in one transaction). A message may name
-- its own channels (a mailing's) instead of its trigger's template. An announcement
-- (a new task open to its audience) is a mailing of another trigger: trigger_kind
-- names it, vals holds its template's values, audience is the task's audience.
-- status: scheduled, sending, finished, cancelled.
-- Keep in meaning-for-meaning step with migrations/postgres/0025_mailings.sql.
CREATE TABLE mailings (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    texts           TEXT    NOT NULL,
    channels        TEXT    NOT NULL,
    audience        TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('scheduled', 'sending', 'finished', 'cancelled')),
    send_at         BIGINT  NOT NULL,
    recipients      BIGINT  NOT NULL,
    written         BIGINT  NOT NULL DEFAULT 0,
    after_user      BIGINT  NOT NULL DEFAULT 0,
    request_key     TEXT,
    trigger_kind    TEXT,
    vals            TEXT,
    created_by      BIGINT  REFERENCES users(id),
    created_at      BIGINT  NOT NULL,
    started_at      BIGINT,
    finished_at     BIGINT,
    UNIQUE (program_id, request_key)
);
CREATE INDEX mailings_program ON mailings (program_id, id);

ALTER TABLE notifications ADD COLUMN channels TEXT;
ALTER TABLE notifications ADD COLUMN mailing_id BIGINT;
CREATE INDEX notifications_mailing ON notifications (mailing_id) WHERE mailing_id IS NOT NULL;
