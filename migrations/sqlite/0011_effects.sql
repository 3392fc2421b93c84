-- The one durable effect queue: the outbox table becomes every area's queue of work
-- after a commit and of calls to the outside world. `dedupe_key` lets a cause enqueue
-- its effect once however often it is retried; `program_id` scopes what admins see;
-- `claimed_by` names the node running an effect under its lease.
ALTER TABLE outbox ADD COLUMN dedupe_key TEXT;
ALTER TABLE outbox ADD COLUMN program_id BIGINT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
CREATE UNIQUE INDEX outbox_dedupe ON outbox (dedupe_key);
CREATE INDEX outbox_dead ON outbox (failed_at);

-- What the two retry loops this queue replaces still had to do moves onto it: decided
-- holds not yet settled, and task follow-ups not yet finished.
INSERT INTO outbox (kind, payload, created_at, next_attempt_at, dedupe_key, program_id)
SELECT 'moderation.settle_hold', '{"item_id":' || id || ',"effect":' || effect || '}',
       COALESCE(decided_at, created_at), COALESCE(decided_at, created_at), 'moderation:' || id, program_id
FROM moderation_items WHERE effect_status = 'pending' AND effect IS NOT NULL;
INSERT INTO outbox (kind, payload, created_at, next_attempt_at, dedupe_key, program_id)
SELECT 'tasks.follow_up', '{"submission_id":' || id || '}', updated_at, updated_at,
       'task-follow-up:' || id || ':' || status, program_id
FROM task_submissions WHERE followup = 'pending';
