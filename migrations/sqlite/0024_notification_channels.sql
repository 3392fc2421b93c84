-- Messages beyond the inbox: a person's e-mail address, their choices (the language of
-- their messages, SMS / e-mail / push on or off, quiet hours in the program's time
-- zone as HH:MM), and the program's templates per trigger (the channels a trigger
-- uses, as a JSON list, and texts per language as JSON; NULL texts: the built-in ones).
-- Keep in meaning-for-meaning step with migrations/postgres/0024_notification_channels.sql.
ALTER TABLE users ADD COLUMN email TEXT;

CREATE TABLE notification_settings (
    user_id         BIGINT  PRIMARY KEY REFERENCES users(id),
    language        TEXT    NOT NULL DEFAULT 'ru',
    sms             BIGINT  NOT NULL DEFAULT 1,
    email           BIGINT  NOT NULL DEFAULT 1,
    push            BIGINT  NOT NULL DEFAULT 1,
    quiet_from      TEXT,
    quiet_to        TEXT,
    updated_at      BIGINT  NOT NULL
);

CREATE TABLE notification_templates (
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    trigger_kind    TEXT    NOT NULL,
    channels        TEXT    NOT NULL,
    texts           TEXT,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (program_id, trigger_kind)
);
