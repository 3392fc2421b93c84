//! Stimul: an actor-based, real-time motivation platform server. Brands pay the
//! sellers in stores they do not own with points; moderators check the work; everyone
//! watches it move live.
//!
//! `startup` builds the server; `api` is the HTTP edge; `org`, `auth` and `access` hold
//! the program's organisation, identity and permissions; `tasks` holds tasks, quests and
//! submissions; `codes` holds code pools, their refills and issued batches; `db` is storage on SQLite or PostgreSQL; `effects` (the one durable queue of work after a commit and of calls outside) and `integrations`
//! talk to the outside world.

pub mod access;
pub mod api;
pub mod audit;
pub mod auth;
pub mod bus;
pub mod campaigns;
pub mod cli;
pub mod codes;
pub mod companies;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod domain;
pub mod effects;
pub mod error;
pub mod expiry;
pub mod idempotency;
pub mod integrations;
pub mod ledger;
pub mod mailings;
pub mod metrics;
pub mod moderation;
pub mod notifications;
pub mod org;
pub mod paging;
pub mod photos;
pub mod ratelimit;
pub mod recalculation;
pub mod reports;
pub mod rewards;
pub mod startup;
pub mod state;
pub mod support;
pub mod tasks;
pub mod tax;
pub mod telemetry;
pub mod web;
pub mod webhooks;
pub mod ws;
