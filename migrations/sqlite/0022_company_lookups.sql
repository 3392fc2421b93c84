-- Answers of the company register by tax number, kept for companies.cache_days so
-- typing the same INN again does not ask (and pay) the service again; found = 0 keeps
-- "no such company" too.
-- Keep in meaning-for-meaning step with migrations/postgres/0022_company_lookups.sql.
CREATE TABLE company_lookups (
    inn             TEXT    PRIMARY KEY,
    found           BIGINT  NOT NULL,
    company         TEXT,
    fetched_at      BIGINT  NOT NULL
);
