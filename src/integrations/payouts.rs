//! The payout provider: keeps bank cards (we keep only its token and the masked
//! number) and sends money to them. One trait; a console implementation for
//! development; an HTTP implementation with timeouts, tested against a local fake.
//!
//! Every payout carries our id (`payout-{id}`) as the provider's idempotency key, so
//! asking again after a timeout never pays twice. A card number is handed to the
//! provider once, when the card is added, and is never stored or logged here.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stimul_actors::rules::rewards::CardNumber;

use super::DeliveryError;
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
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
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
        let url = settings
            .url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("payouts.url is required for the http provider"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.min(3_000)))
            .build()?;
        Ok(Self {
            client,
            url: url.trim_end_matches('/').to_string(),
            api_key: settings.api_key.as_ref().map(|k| k.expose().clone()),
        })
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, DeliveryError> {
        let request = match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        };
        // The error's text names the URL, never the body (which may hold a card number).
        let response = request
            .send()
            .await
            .map_err(|err| DeliveryError::Retryable(format!("provider unreachable: {err}")))?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(DeliveryError::Retryable(format!(
                "the provider answered {status}"
            )));
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(DeliveryError::Permanent(format!(
                "the provider refused with {status}: {}",
                body.chars().take(200).collect::<String>()
            )));
        }
        Ok(response)
    }

    async fn answer(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<ProviderStatus, DeliveryError> {
        let response = self.send(request).await?;
        let answer: ProviderAnswer = response.json().await.map_err(|err| {
            DeliveryError::Permanent(format!("the provider answered an unreadable body: {err}"))
        })?;
        answer.into_status()
    }
}

#[async_trait]
impl PayoutProvider for HttpPayouts {
    async fn tokenize(&self, card: &CardNumber) -> Result<String, DeliveryError> {
        let request = self
            .client
            .post(format!("{}/cards", self.url))
            .json(&serde_json::json!({ "number": card.digits() }));
        let answer: TokenAnswer = self.send(request).await?.json().await.map_err(|err| {
            DeliveryError::Permanent(format!("the provider answered an unreadable body: {err}"))
        })?;
        Ok(answer.token)
    }

    async fn pay(
        &self,
        id: &str,
        token: &str,
        amount: &str,
    ) -> Result<ProviderStatus, DeliveryError> {
        let request = self
            .client
            .post(format!("{}/payouts", self.url))
            .header("Idempotency-Key", id)
            .json(&PayRequest { id, token, amount });
        self.answer(request).await
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError> {
        self.answer(self.client.get(format!("{}/payouts/{id}", self.url)))
            .await
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
