-- A fingerprint of the request that created a ledger transaction, so a client key
-- reused for a different request is refused instead of replaying the first one.
ALTER TABLE ledger_transactions ADD COLUMN fingerprint TEXT;
