//! The organisation of a program: the program itself, its regions, partners, brands,
//! stores and people, the way people join (sign-up in `sign_up`, invitations, imports) and
//! the roles they hold (`roles`).
//! Functions here take a transaction or the pool and validated domain values; the HTTP
//! layer in `api/` checks access and shapes requests and answers.

pub mod catalogs;
pub mod imports;
pub mod people;
pub mod programs;
pub mod roles;
pub mod sign_up;
pub mod stores;
