//! Stimul's real-time core.
//!
//! This crate will hold the actors that own live state (participants, stores, campaigns,
//! the moderation queue, code generation). What is here today is their foundation:
//! [`rules`], the pure domain rules those actors apply. The rules are plain types and
//! functions with no actix, database or HTTP in them, so every rule is unit-tested on its
//! own and the actors stay thin: receive a message, apply a rule, persist, push.

pub mod rules;
