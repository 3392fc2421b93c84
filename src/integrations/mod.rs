//! Third-party services the server talks to. Each has one trait, a real reqwest
//! implementation with timeouts, a console implementation for development, and is
//! tested against a local fake server. Deliveries are effects on the one durable queue
//! (`crate::effects`, whose handlers live with the areas that send), never a retry loop
//! of their own; this module knows no area.

pub mod companies;
pub mod http;
pub mod messages;
pub mod payments;
pub mod payouts;
pub mod rewards;
pub mod signature;
pub mod sms;
pub mod topups;
pub mod webhooks;

/// Why a delivery failed, which decides whether the effect queue tries again.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: timeouts, connection errors, 5xx, 429, unreadable answers.
    #[error("temporary failure: {0}")]
    Retryable(String),
    /// Retrying cannot help: the provider refused the message itself (4xx).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// The TLS crypto provider for reqwest and sqlx: ring, installed once per process.
pub fn install_crypto_provider() {
    // Err means another provider is already installed, which is just as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
