//! The payout provider: keeps bank cards (we keep only its token and the masked
//! number) and sends money to them. One trait; a console implementation for
//! development; an HTTP implementation with timeouts, tested against a local fake.
//!
//! Every payout carries our id (`payout-{id}`) as the provider's idempotency key, so
//! asking again after a timeout never pays twice. A card number is handed to the
//! provider once, when the card is added, and is never stored or logged here.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stimul_actors::rules::rewards::CardNumber;

use super::DeliveryError;
use super::http::ProviderClient;
use super::rewards::{ProviderAnswer, ProviderStatus};
use crate::config::{PayoutSettings, ProviderKind};

#[async_trait]
pub trait PayoutProvider: Send + Sync {
    /// Registers a card with the provider; answers its token.
    async fn tokenize(&self, card: &CardNumber) -> Result<String, DeliveryError>;
    /// Pays `amount` (decimal string) to the card of `token`; `id` is ours.
    async fn pay(
        &self,
        id: &str,
        token: &str,
        amount: &str,
    ) -> Result<ProviderStatus, DeliveryError>;
    /// Where a payout placed earlier stands.
    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError>;
}

/// The development provider: a token derived from the number, every payout paid.
pub struct ConsolePayouts;

#[async_trait]
impl PayoutProvider for ConsolePayouts {
    async fn tokenize(&self, card: &CardNumber) -> Result<String, DeliveryError> {
        let digest = hex::encode(Sha256::digest(card.digits().as_bytes()));
        Ok(format!("console-{}", &digest[..24]))
    }

    async fn pay(
        &self,
        id: &str,
        _token: &str,
        amount: &str,
    ) -> Result<ProviderStatus, DeliveryError> {
        println!("[payouts] {id}: {amount} paid to a card");
        Ok(ProviderStatus::Done {
            reference: Some(format!("console-{id}")),
            code: None,
            pin: None,
        })
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError> {
        Ok(ProviderStatus::Done {
            reference: Some(format!("console-{id}")),
            code: None,
            pin: None,
        })
    }
}

/// The provider's API (see `PayoutSettings`).
pub struct HttpPayouts {
    client: ProviderClient,
}

#[derive(Serialize)]
struct PayRequest<'a> {
    id: &'a str,
    token: &'a str,
    amount: &'a str,
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: String,
}

impl HttpPayouts {
    pub fn new(settings: &PayoutSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: ProviderClient::new(
                settings.url.as_deref(),
                settings.api_key.as_ref(),
                settings.timeout_ms,
                "payouts.url",
            )?,
        })
    }
}

#[async_trait]
impl PayoutProvider for HttpPayouts {
    async fn tokenize(&self, card: &CardNumber) -> Result<String, DeliveryError> {
        let request = self
            .client
            .post("/cards")
            .json(&serde_json::json!({ "number": card.digits() }));
        Ok(self.client.send::<TokenAnswer>(request).await?.token)
    }

    async fn pay(
        &self,
        id: &str,
        token: &str,
        amount: &str,
    ) -> Result<ProviderStatus, DeliveryError> {
        ProviderAnswer::placed(
            &self.client,
            "/payouts",
            id,
            &PayRequest { id, token, amount },
        )
        .await
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError> {
        ProviderAnswer::looked_up(&self.client, &format!("/payouts/{id}")).await
    }
}

pub fn payouts_from_settings(
    settings: &PayoutSettings,
) -> anyhow::Result<std::sync::Arc<dyn PayoutProvider>> {
    Ok(match settings.provider {
        ProviderKind::Console => std::sync::Arc::new(ConsolePayouts),
        ProviderKind::Http => std::sync::Arc::new(HttpPayouts::new(settings)?),
    })
}
