-- Seeds points already due to expire, for the `expiry` scenario (bench.sh runs it
-- after the server has loaded the demo): PARTICIPANTS active participants of program
-- 1, each credited LOTS awards of 1.00 forty days ago, each award a lot that expired a
-- day ago. Written as the ledger's commit would have written it (a transaction and a
-- posting from the program's `issued` account per award, balances and progress to
-- match), so the ledger check stays sound. One dialect for SQLite and PostgreSQL;
-- bench.sh replaces PARTICIPANTS, LOTS and NOW_MS.
CREATE TEMP TABLE seed_n AS
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < PARTICIPANTS * LOTS)
SELECT x FROM n;
INSERT INTO accounts (program_id, kind, owner_id, balance, allow_negative, created_at)
SELECT 1, 'issued', 0, 0, 1, NOW_MS
WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE program_id = 1 AND kind = 'issued' AND owner_id = 0);
CREATE TEMP TABLE seed_base AS
SELECT (SELECT COALESCE(MAX(id), 0) FROM users) AS u0,
       (SELECT COALESCE(MAX(id), 0) FROM accounts) AS a0,
       (SELECT COALESCE(MAX(id), 0) FROM ledger_transactions) AS t0,
       (SELECT id FROM accounts WHERE program_id = 1 AND kind = 'issued' AND owner_id = 0) AS issued;

INSERT INTO users (id, program_id, kind, login, name, status, created_at, updated_at)
SELECT b.u0 + x, 1, 'participant', 'lt-expiry-' || x, 'Expiry seller ' || x, 'active', NOW_MS, NOW_MS
FROM seed_n, seed_base b WHERE x <= PARTICIPANTS;
INSERT INTO accounts (id, program_id, kind, owner_id, balance, allow_negative, created_at)
SELECT b.a0 + x, 1, 'participant', b.u0 + x, LOTS * 100, 0, NOW_MS
FROM seed_n, seed_base b WHERE x <= PARTICIPANTS;
INSERT INTO participant_progress (user_id, lifetime, completed_tasks, version)
SELECT b.u0 + x, LOTS * 100, 0, LOTS
FROM seed_n, seed_base b WHERE x <= PARTICIPANTS;

-- Award n belongs to participant (n - 1) / LOTS + 1.
INSERT INTO ledger_transactions (id, program_id, idempotency_key, reason, participant_id, status, earned, created_at)
SELECT b.t0 + x, 1, 'lt-expiry-seed:' || x, 'award', b.u0 + (x - 1) / LOTS + 1, 'posted', 100, NOW_MS - 3456000000 + x
FROM seed_n, seed_base b;
INSERT INTO postings (transaction_id, debit_account, credit_account, amount, purpose, created_at)
SELECT b.t0 + x, b.issued, b.a0 + (x - 1) / LOTS + 1, 100, 'earning', NOW_MS - 3456000000 + x
FROM seed_n, seed_base b;
INSERT INTO point_lots (program_id, participant_id, transaction_id, amount, remaining, expires_at, created_at)
SELECT 1, b.u0 + (x - 1) / LOTS + 1, b.t0 + x, 100, 100, NOW_MS - 86400000 - x, NOW_MS - 3456000000 + x
FROM seed_n, seed_base b;
UPDATE accounts SET balance = balance - PARTICIPANTS * LOTS * 100
WHERE id = (SELECT issued FROM seed_base);
