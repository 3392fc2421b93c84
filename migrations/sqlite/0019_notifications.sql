-- The in-app inbox: one row per message to a person, with what caused it (trigger) and
-- the values its template names (data, JSON); texts are rendered from the trigger's
-- template in the reader's language when read. dedupe_key is the message's cause,
-- unique, so a retried trigger never writes a message twice. And the credits digest's
-- watermark per program: the last ledger transaction whose credits were announced.
-- Keep in meaning-for-meaning step with migrations/postgres/0019_notifications.sql.
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    user_id         BIGINT  NOT NULL REFERENCES users(id),
    trigger_kind    TEXT    NOT NULL,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    data            TEXT    NOT NULL,
    read_at         BIGINT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

CREATE TABLE notification_digests (
    program_id          BIGINT  PRIMARY KEY REFERENCES programs(id),
    after_transaction   BIGINT  NOT NULL
);
