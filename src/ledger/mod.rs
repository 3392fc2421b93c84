//! The points ledger in the database: the SQL side of the actors' [`LiveStore`]
//! (batched commits, participant and store loading) and the read side (histories,
//! the invariant check).
//!
//! [`LiveStore`]: stimul_actors::live::LiveStore

mod debts;
pub mod leaderboards;
mod levels;
mod lots;
pub mod queries;
pub mod repo;
mod tax;
mod terms;

pub use repo::SqlActorStorage;
