//! Stimul's real-time core.
//!
//! Live state lives in actors; truth lives in the database. This crate holds the
//! actors that own live state and the pure rules they apply, and reaches storage only
//! through narrow traits ([`ledger::LedgerStore`], [`live::LiveStore`],
//! [`codegen::CodegenStore`]), so it is tested without a database.
//!
//! | module | owns |
//! | --- | --- |
//! | [`rules`] | pure domain rules: points and rounding, levels, codes, leaderboards, windows, routing |
//! | [`ledger`] | what a ledger transaction is, and the group committer that batches them |
//! | [`participant`] | `ParticipantActor`: a participant's balances, level and pushes |
//! | [`store`] | `StoreActor`: a store's live progress |
//! | [`campaign`] | `CampaignActor`: a campaign's live leaderboards |
//! | [`codegen`] | `CodegenSupervisor` and `CodegenWorker`s: code pool refills and issuance |
//! | [`hub`] | the per-node topic hub: subscriptions, sequence numbers, bounded fan-out |
//! | [`bus`] | events between nodes |
//! | [`moderation`] | `ModerationActor`: the live moderation queue, routing and leases |
//! | [`live`] | the core of one node: registries, dispatch, typed entry points |
//! | [`error`] | storage failures crossing into the actors, with their cause |

pub mod bus;
pub mod campaign;
pub mod codegen;

pub mod error;
pub mod hub;
pub mod ledger;
pub mod live;
pub mod moderation;
pub mod participant;
pub mod rules;
pub mod store;

/// Epoch ms now: the node's clock, which tests replace. A type of its own so the actors
/// that only read time need not name the live core that starts them.
pub type Clock = std::sync::Arc<dyn Fn() -> i64 + Send + Sync>;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;
