//! The phone top-up provider: puts money on a mobile number. One trait; a console
//! implementation for development; an HTTP implementation with timeouts, tested
//! against a local fake. Top-ups usually go through an operator gateway of their own,
//! not the certificate aggregator, so they have a provider (and settings) of their own.
//!
//! Every top-up carries our order line id (`order-{order}-{line}`) as the provider's
//! idempotency key, so asking again after a timeout never pays twice. Answers read as
//! the rewards provider's (`done`, `processing`, `failed`).

use async_trait::async_trait;
use serde::Serialize;

use super::DeliveryError;
use super::http::ProviderClient;
use super::rewards::{ProviderAnswer, ProviderStatus};
use crate::config::{ProviderKind, TopupSettings};

/// One top-up.
#[derive(Debug, Clone, Serialize)]
pub struct Topup {
    /// Ours, unique per order line: the provider's idempotency key.
    pub id: String,
    /// The number, as the participant gave it.
    pub phone: String,
    /// Roubles, decimal string.
    pub amount: String,
}

#[async_trait]
pub trait TopupProvider: Send + Sync {
    /// Tops a number up (or, with the same id, finds the top-up made earlier).
    async fn top_up(&self, topup: &Topup) -> Result<ProviderStatus, DeliveryError>;
    /// Where a top-up asked earlier stands.
    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError>;
}

/// The development provider: every top-up done at once, printed with the number's
/// last digits only.
pub struct ConsoleTopups;

fn done(id: &str) -> ProviderStatus {
    ProviderStatus::Done {
        reference: Some(format!("console-{id}")),
        code: None,
        pin: None,
    }
}

#[async_trait]
impl TopupProvider for ConsoleTopups {
    async fn top_up(&self, topup: &Topup) -> Result<ProviderStatus, DeliveryError> {
        let digits: String = topup.phone.chars().filter(char::is_ascii_digit).collect();
        let tail = &digits[digits.len().saturating_sub(4)..];
        println!(
            "[topups] {}: {} to the phone ending {tail}",
            topup.id, topup.amount
        );
        Ok(done(&topup.id))
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError> {
        Ok(done(id))
    }
}

/// The provider's API: `POST {url}/topups` `{"id","phone","amount"}` with
/// `Idempotency-Key: {id}`, `GET {url}/topups/{id}`.
pub struct HttpTopups {
    client: ProviderClient,
}

impl HttpTopups {
    pub fn new(settings: &TopupSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: ProviderClient::new(
                settings.url.as_deref(),
                settings.api_key.as_ref(),
                settings.timeout_ms,
                "topups.url",
            )?,
        })
    }
}

#[async_trait]
impl TopupProvider for HttpTopups {
    async fn top_up(&self, topup: &Topup) -> Result<ProviderStatus, DeliveryError> {
        ProviderAnswer::placed(&self.client, "/topups", &topup.id, topup).await
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError> {
        ProviderAnswer::looked_up(&self.client, &format!("/topups/{id}")).await
    }
}

pub fn topups_from_settings(settings: &TopupSettings) -> anyhow::Result<Box<dyn TopupProvider>> {
    Ok(match settings.provider {
        ProviderKind::Console => Box::new(ConsoleTopups),
        ProviderKind::Http => Box::new(HttpTopups::new(settings)?),
    })
}
