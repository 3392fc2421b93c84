//! Integration tests: the real server over HTTP and WebSocket, on SQLite by default or
//! on PostgreSQL when `TEST_DATABASE_URL` is set (CI runs both).

mod access;
mod architecture;
mod auth;
mod bad_input;
mod campaigns;
mod card_payments;
mod codes;
mod companies;
mod content;
mod contract;
mod effects;
mod expiry;
mod fake_provider;
mod fake_sms;
mod health;
mod helpers;
mod imports;
mod live;
mod moderation;
mod nodes;
mod notifications;
mod points;
mod process;
mod recalculation;
mod registration;
mod reports;
mod rewards;
mod saturation;
mod shutdown;
mod spending_crash;
mod support;
mod tasks;
mod tax;
mod webhooks;
mod ws_client;
