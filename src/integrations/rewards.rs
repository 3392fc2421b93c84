//! The rewards provider: buys gift certificates and virtual cards (top-ups have a
//! provider of their own, `super::topups`). One trait; a console implementation for
//! development that fulfils after a short delay; an HTTP implementation with
//! timeouts, tested against a local fake provider.
//!
//! Every order carries our own id (`order-{order}-{line}`) as the provider's
//! idempotency key, so asking again after a timeout never buys twice. A certificate's
//! code and PIN are returned to the caller and never logged.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::DeliveryError;
use super::http::ProviderClient;
use crate::config::{ProviderKind, RewardSettings};

/// One line of an order as the provider sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderOrder {
    /// Ours, unique per order line: the provider's idempotency key.
    pub id: String,
    /// `gift_certificate` or `virtual_card`.
    pub kind: String,
    /// Our reward's SKU (the provider's product).
    pub sku: String,
    /// The retail network of a certificate.
    pub network: Option<String>,
    /// Face value of one unit, decimal string.
    pub amount: String,
    pub quantity: i64,
}

/// Where the provider stands with one order line.
#[derive(Clone, PartialEq, Eq)]
pub enum ProviderStatus {
    /// Delivered: the certificate (code, PIN) where there is one.
    Done {
        reference: Option<String>,
        code: Option<String>,
        pin: Option<String>,
    },
    /// Accepted, not finished: ask again or wait for the callback.
    Processing { reference: Option<String> },
    /// The provider will not deliver it.
    Failed { reason: String },
}

impl std::fmt::Debug for ProviderStatus {
    // Codes and PINs are money: they never reach a log through a `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderStatus::Done { reference, .. } => f
                .debug_struct("Done")
                .field("reference", reference)
                .finish_non_exhaustive(),
            ProviderStatus::Processing { reference } => f
                .debug_struct("Processing")
                .field("reference", reference)
                .finish(),
            ProviderStatus::Failed { reason } => {
                f.debug_struct("Failed").field("reason", reason).finish()
            }
        }
    }
}

#[async_trait]
pub trait RewardProvider: Send + Sync {
    /// Places (or, with the same id, finds again) an order line.
    async fn order(&self, order: &ProviderOrder) -> Result<ProviderStatus, DeliveryError>;
    /// Where an order line placed earlier stands.
    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError>;
}

/// Fulfils every order this long after it was first placed, with a made-up
/// certificate: lets a newcomer watch an order move from placed to fulfilled.
const CONSOLE_DELAY: Duration = Duration::from_secs(2);

/// The development provider: remembers orders in memory, prints them without codes.
#[derive(Default)]
pub struct ConsoleProvider {
    placed: Mutex<HashMap<String, Instant>>,
}

impl ConsoleProvider {
    fn answer(&self, id: &str) -> ProviderStatus {
        let placed = self
            .placed
            .lock()
            .map(|orders| orders.get(id).copied())
            .unwrap_or_default();
        match placed {
            Some(at) if at.elapsed() >= CONSOLE_DELAY => {
                let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(id.as_bytes()));
                ProviderStatus::Done {
                    reference: Some(format!("console-{id}")),
                    code: Some(digest[..16].to_uppercase()),
                    pin: Some(digest[16..20].to_string()),
                }
            }
            Some(_) => ProviderStatus::Processing {
                reference: Some(format!("console-{id}")),
            },
            None => ProviderStatus::Failed {
                reason: "the console provider does not know this order (the server restarted)"
                    .into(),
            },
        }
    }
}

#[async_trait]
impl RewardProvider for ConsoleProvider {
    async fn order(&self, order: &ProviderOrder) -> Result<ProviderStatus, DeliveryError> {
        if let Ok(mut orders) = self.placed.lock() {
            orders.entry(order.id.clone()).or_insert_with(Instant::now);
        }
        println!(
            "[rewards] order {}: {} × {} {} ({})",
            order.id, order.quantity, order.kind, order.sku, order.amount
        );
        Ok(self.answer(&order.id))
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError> {
        Ok(self.answer(id))
    }
}

/// The provider's API: `POST {url}/orders` with the order as JSON and
/// `Idempotency-Key: {id}`, `GET {url}/orders/{id}`; both answer
/// `{"status": "done"|"processing"|"failed", "reference", "code", "pin", "reason"}`.
pub struct HttpProvider {
    client: ProviderClient,
}

/// The provider's answer on the wire (also the body of its callbacks).
#[derive(Deserialize)]
pub struct ProviderAnswer {
    pub id: Option<String>,
    pub status: String,
    pub reference: Option<String>,
    pub code: Option<String>,
    pub pin: Option<String>,
    pub reason: Option<String>,
}

impl ProviderAnswer {
    /// Asks a provider to do something under our `id` (its idempotency key), with
    /// `body` as JSON, and reads where it stands: how every provider of this answer
    /// shape (rewards, top-ups, payouts) is asked.
    pub async fn placed(
        client: &ProviderClient,
        path: &str,
        id: &str,
        body: &impl Serialize,
    ) -> Result<ProviderStatus, DeliveryError> {
        let request = client.post(path).header("Idempotency-Key", id).json(body);
        client.send::<ProviderAnswer>(request).await?.into_status()
    }

    /// Where something asked earlier stands (`GET {path}`).
    pub async fn looked_up(
        client: &ProviderClient,
        path: &str,
    ) -> Result<ProviderStatus, DeliveryError> {
        client
            .send::<ProviderAnswer>(client.get(path))
            .await?
            .into_status()
    }

    /// The status it reports; an unknown status is the provider's mistake.
    pub fn into_status(self) -> Result<ProviderStatus, DeliveryError> {
        match self.status.as_str() {
            "done" => Ok(ProviderStatus::Done {
                reference: self.reference,
                code: self.code,
                pin: self.pin,
            }),
            "processing" => Ok(ProviderStatus::Processing {
                reference: self.reference,
            }),
            "failed" => Ok(ProviderStatus::Failed {
                reason: self
                    .reason
                    .unwrap_or_else(|| "the provider gave no reason".into()),
            }),
            other => Err(DeliveryError::Permanent(format!(
                "the provider answered an unknown status {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}

impl HttpProvider {
    pub fn new(settings: &RewardSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: ProviderClient::new(
                settings.url.as_deref(),
                settings.api_key.as_ref(),
                settings.timeout_ms,
                "rewards.url",
            )?,
        })
    }
}

#[async_trait]
impl RewardProvider for HttpProvider {
    async fn order(&self, order: &ProviderOrder) -> Result<ProviderStatus, DeliveryError> {
        ProviderAnswer::placed(&self.client, "/orders", &order.id, order).await
    }

    async fn status(&self, id: &str) -> Result<ProviderStatus, DeliveryError> {
        ProviderAnswer::looked_up(&self.client, &format!("/orders/{id}")).await
    }
}

pub fn provider_from_settings(
    settings: &RewardSettings,
) -> anyhow::Result<Box<dyn RewardProvider>> {
    Ok(match settings.provider {
        ProviderKind::Console => Box::new(ConsoleProvider::default()),
        ProviderKind::Http => Box::new(HttpProvider::new(settings)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_done_status_never_shows_its_code_in_debug_output() {
        let done = ProviderStatus::Done {
            reference: Some("r1".into()),
            code: Some("SECRETCODE".into()),
            pin: Some("1234".into()),
        };
        let shown = format!("{done:?}");
        assert!(
            !shown.contains("SECRETCODE") && !shown.contains("1234"),
            "{shown}"
        );
    }
}
