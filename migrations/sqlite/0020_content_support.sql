-- What a program tells its people and how they ask it: news (with an audience and a
-- publish time; reads per person for the unread count), the program's rules (one text
-- per program), FAQ entries in order, and support requests with their messages (the
-- participant's and staff replies; a photo by its hash). Two permission sections come
-- with them: content (news, rules, FAQ) and support; admins get both, moderators
-- answer support.
-- Keep in meaning-for-meaning step with migrations/postgres/0020_content_support.sql.
CREATE TABLE news (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    title           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    -- JSON of the audience (regions, stores, partners, levels; empty lists: everyone).
    audience        TEXT    NOT NULL,
    publish_at      BIGINT  NOT NULL,
    archived        BIGINT  NOT NULL DEFAULT 0,
    created_by      BIGINT  REFERENCES users(id),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX news_program ON news (program_id, publish_at);

CREATE TABLE news_reads (
    news_id         BIGINT  NOT NULL REFERENCES news(id),
    user_id         BIGINT  NOT NULL REFERENCES users(id),
    read_at         BIGINT  NOT NULL,
    PRIMARY KEY (news_id, user_id)
);

ALTER TABLE programs ADD COLUMN rules_text TEXT NOT NULL DEFAULT '';
ALTER TABLE programs ADD COLUMN rules_updated_at BIGINT;

CREATE TABLE faq_entries (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    question        TEXT    NOT NULL,
    answer          TEXT    NOT NULL,
    position        BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX faq_entries_program ON faq_entries (program_id, position);

-- status: open (waiting for staff), answered (staff replied last), closed.
CREATE TABLE support_requests (
    id              INTEGER PRIMARY KEY,
    program_id      BIGINT  NOT NULL REFERENCES programs(id),
    participant_id  BIGINT  NOT NULL REFERENCES users(id),
    subject         TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('open', 'answered', 'closed')),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX support_requests_participant ON support_requests (participant_id, id);
CREATE INDEX support_requests_status ON support_requests (program_id, status, id);

CREATE TABLE support_messages (
    id              INTEGER PRIMARY KEY,
    request_id      BIGINT  NOT NULL REFERENCES support_requests(id),
    author_id       BIGINT  NOT NULL REFERENCES users(id),
    from_staff      BIGINT  NOT NULL,
    text            TEXT    NOT NULL,
    photo_sha256    TEXT,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX support_messages_request ON support_messages (request_id, id);

INSERT INTO role_permissions (role_id, permission)
SELECT id, 'content.edit' FROM roles WHERE builtin = 1 AND name = 'admin';
INSERT INTO role_permissions (role_id, permission)
SELECT id, 'support.edit' FROM roles WHERE builtin = 1 AND name IN ('admin', 'moderator');
