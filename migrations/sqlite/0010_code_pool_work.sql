-- Code pools at work: what the codegen supervisor and issuance need beyond 0009. Keep
-- in meaning-for-meaning step with migrations/postgres/0010_code_pool_work.sql.

-- Codes in the pool not yet promised to a batch. It moves in the same transaction as
-- the codes a refill inserts and the quantity a batch reserves, so the supervisor reads
-- a pool's level without counting millions of rows, and two batches never promise the
-- same codes.
ALTER TABLE code_pools ADD COLUMN available BIGINT NOT NULL DEFAULT 0 CHECK (available >= 0);

-- Which worker (node/worker) holds a shard and until when. A worker renews the lease
-- with every chunk; a crashed node's shards are taken over once it runs out.
ALTER TABLE code_refill_shards ADD COLUMN owner TEXT;
ALTER TABLE code_refill_shards ADD COLUMN lease_until BIGINT;

-- One running refill per pool, across every node: planning a second one fails here.
CREATE UNIQUE INDEX code_refills_one_running ON code_refills (pool_id) WHERE status = 'running';

-- Batches still moving codes out of the pool, for resuming them after a restart.
CREATE INDEX code_batches_issuing ON code_batches (status) WHERE status = 'issuing';
