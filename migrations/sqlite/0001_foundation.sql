-- Foundation: programs and their organisation, identity, access, and the plumbing
-- (idempotency, outbox, audit). Money is integer hundredths; time is UTC epoch ms.
-- Keep in meaning-for-meaning step with migrations/postgres/0001_foundation.sql.

CREATE TABLE programs (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    timezone    TEXT    NOT NULL DEFAULT 'Europe/Moscow',
    created_at  BIGINT  NOT NULL
);

CREATE TABLE regions (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (program_id, name)
);

CREATE TABLE partners (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    name        TEXT    NOT NULL,
    tax_id      TEXT,
    created_at  BIGINT  NOT NULL,
    UNIQUE (program_id, name)
);

CREATE TABLE brands (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (program_id, name)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    program_id    BIGINT  NOT NULL REFERENCES programs(id),
    kind          TEXT    NOT NULL CHECK (kind IN ('participant', 'staff')),
    login         TEXT,
    phone         TEXT,
    name          TEXT    NOT NULL,
    password_hash TEXT,
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'blocked')),
    store_id      BIGINT  REFERENCES stores(id),
    partner_id    BIGINT  REFERENCES partners(id),
    brand_id      BIGINT  REFERENCES brands(id),
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (program_id, login),
    UNIQUE (program_id, phone)
);
CREATE INDEX users_store ON users (store_id);
CREATE INDEX users_partner ON users (partner_id);
CREATE INDEX users_phone ON users (phone);
CREATE INDEX users_login ON users (login);

CREATE TABLE stores (
    id            INTEGER PRIMARY KEY,
    program_id    BIGINT  NOT NULL REFERENCES programs(id),
    external_ref  TEXT,
    name          TEXT    NOT NULL,
    address       TEXT    NOT NULL DEFAULT '',
    region_id     BIGINT  REFERENCES regions(id),
    partner_id    BIGINT  REFERENCES partners(id),
    owner_user_id BIGINT  REFERENCES users(id),
    status        TEXT    NOT NULL CHECK (status IN ('pending', 'connected', 'disconnected', 'blocked')),
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (program_id, external_ref)
);
CREATE INDEX stores_region ON stores (region_id);
CREATE INDEX stores_owner ON stores (owner_user_id);

CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    builtin     BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    UNIQUE (program_id, name)
);

CREATE TABLE role_permissions (
    role_id     BIGINT  NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    permission  TEXT    NOT NULL,
    PRIMARY KEY (role_id, permission)
);

-- scope_id is the program id for program-wide grants, so the unique key has no NULLs.
CREATE TABLE role_assignments (
    id          INTEGER PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users(id),
    role_id     BIGINT  NOT NULL REFERENCES roles(id),
    scope_kind  TEXT    NOT NULL CHECK (scope_kind IN ('program', 'region', 'partner', 'brand', 'store')),
    scope_id    BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (user_id, role_id, scope_kind, scope_id)
);
CREATE INDEX role_assignments_user ON role_assignments (user_id);

CREATE TABLE sessions (
    token_hash  TEXT    PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users(id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE otp_codes (
    id          INTEGER PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users(id),
    code_hash   TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    attempts    BIGINT  NOT NULL DEFAULT 0,
    consumed_at BIGINT
);
CREATE INDEX otp_codes_user ON otp_codes (user_id, created_at);

CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    code        TEXT    NOT NULL UNIQUE,
    store_id    BIGINT  NOT NULL REFERENCES stores(id),
    created_by  BIGINT  NOT NULL REFERENCES users(id),
    max_uses    BIGINT  NOT NULL,
    uses        BIGINT  NOT NULL DEFAULT 0,
    expires_at  BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    CHECK (uses <= max_uses)
);

-- A registration (one person, or a store with its people) waiting for a decision.
CREATE TABLE registrations (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL REFERENCES programs(id),
    kind        TEXT    NOT NULL CHECK (kind IN ('individual', 'group')),
    store_id    BIGINT  REFERENCES stores(id),
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason      TEXT,
    decided_by  BIGINT  REFERENCES users(id),
    decided_at  BIGINT,
    created_at  BIGINT  NOT NULL
);
ALTER TABLE users ADD COLUMN registration_id BIGINT REFERENCES registrations(id);

-- Responses of mutating calls, replayed when a phone retries with the same key.
-- owner is 'user:<id>' for authenticated calls and 'anon' for registration.
CREATE TABLE idempotency_keys (
    owner        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    request_hash TEXT    NOT NULL,
    status_code  BIGINT,
    response     TEXT,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (owner, key)
);

-- Messages to the outside world, written in the same transaction as the change that
-- causes them, so a crash loses none.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    delivered_at    BIGINT,
    failed_at       BIGINT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (delivered_at, failed_at, next_attempt_at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    program_id  BIGINT  NOT NULL,
    actor_id    BIGINT,
    action      TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    before      TEXT,
    after       TEXT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX audit_log_program ON audit_log (program_id, created_at);
