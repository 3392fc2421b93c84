-- The campaign a ledger transaction belongs to (its leaderboards count its earned
-- points). No foreign key: campaigns live in their own migration and a transaction's
-- campaign is history, kept even if the campaign is archived.
ALTER TABLE ledger_transactions ADD COLUMN campaign_id BIGINT;
CREATE INDEX ledger_transactions_campaign ON ledger_transactions (campaign_id, created_at);
