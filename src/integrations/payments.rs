//! The card payment provider: takes the part of an order's total the buyer's points
//! do not cover. One trait; a console implementation for development that confirms a
//! payment a few seconds after it was asked; an HTTP implementation with timeouts,
//! tested against a local fake.
//!
//! A payment carries our id (`payment-{order}`) as the provider's idempotency key, and
//! a refund `refund-{order}`, so asking again after a timeout never charges or refunds
//! twice. The buyer enters the card on the provider's page (`confirmation_url`): no
//! card number ever passes through this server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use stimul_actors::rules::points::Points;

use super::DeliveryError;
use super::http::ProviderClient;
use crate::config::{PaymentSettings, ProviderKind};

/// A payment to ask of the buyer's card.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentRequest {
    /// Ours: the provider's idempotency key.
    pub id: String,
    /// Roubles, decimal string.
    pub amount: String,
    /// What the buyer sees on the payment page.
    pub description: String,
    /// Where the provider's page sends the buyer back.
    pub return_url: Option<String>,
}

/// Where the provider stands with a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Asked, not paid yet: the buyer pays at `confirmation_url`.
    Pending {
        reference: Option<String>,
        confirmation_url: Option<String>,
    },
    /// Paid: the provider confirms this amount was taken.
    Succeeded {
        reference: Option<String>,
        amount: Points,
    },
    /// Not paid and never will be (declined, abandoned, cancelled).
    Failed { reason: String },
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Asks for a payment (or, with the same id, finds the one asked earlier).
    async fn create(&self, payment: &PaymentRequest) -> Result<PaymentStatus, DeliveryError>;
    /// Where a payment asked earlier stands.
    async fn status(&self, id: &str) -> Result<PaymentStatus, DeliveryError>;
    /// Returns a taken payment in full; `id` is the payment's, the refund's own key is
    /// derived from it. Answers once the provider has accepted the refund.
    async fn refund(&self, id: &str, amount: &str) -> Result<(), DeliveryError>;
}

/// The console provider confirms a payment this long after it was asked: lets a
/// newcomer watch an order wait for its payment, then go on.
const CONSOLE_DELAY: Duration = Duration::from_secs(3);

/// The development provider: remembers payments in memory and prints them.
#[derive(Default)]
pub struct ConsolePayments {
    asked: Mutex<HashMap<String, (Instant, Points)>>,
}

impl ConsolePayments {
    fn answer(&self, id: &str) -> PaymentStatus {
        let asked = self
            .asked
            .lock()
            .map(|payments| payments.get(id).copied())
            .unwrap_or_default();
        match asked {
            Some((at, amount)) if at.elapsed() >= CONSOLE_DELAY => PaymentStatus::Succeeded {
                reference: Some(format!("console-{id}")),
                amount,
            },
            Some(_) => PaymentStatus::Pending {
                reference: Some(format!("console-{id}")),
                confirmation_url: None,
            },
            None => PaymentStatus::Failed {
                reason: "the console provider does not know this payment (the server restarted)"
                    .into(),
            },
        }
    }
}

#[async_trait]
impl PaymentProvider for ConsolePayments {
    async fn create(&self, payment: &PaymentRequest) -> Result<PaymentStatus, DeliveryError> {
        let amount = Points::parse(&payment.amount)
            .map_err(|err| DeliveryError::Permanent(format!("amount: {err}")))?;
        if let Ok(mut payments) = self.asked.lock() {
            payments
                .entry(payment.id.clone())
                .or_insert_with(|| (Instant::now(), amount));
        }
        println!(
            "[payments] {}: {} asked of a card for {:?}; the console provider confirms it in {} s",
            payment.id,
            payment.amount,
            payment.description,
            CONSOLE_DELAY.as_secs()
        );
        Ok(self.answer(&payment.id))
    }

    async fn status(&self, id: &str) -> Result<PaymentStatus, DeliveryError> {
        Ok(self.answer(id))
    }

    async fn refund(&self, id: &str, amount: &str) -> Result<(), DeliveryError> {
        println!("[payments] {id}: {amount} refunded to the card");
        Ok(())
    }
}

/// The provider's answer on the wire (also the body of its callbacks):
/// `{"id", "status": "pending"|"succeeded"|"failed", "amount", "reference",
/// "confirmation_url", "reason"}`.
#[derive(Debug, Deserialize)]
pub struct PaymentAnswer {
    pub id: Option<String>,
    pub status: String,
    pub amount: Option<String>,
    pub reference: Option<String>,
    pub confirmation_url: Option<String>,
    pub reason: Option<String>,
}

impl PaymentAnswer {
    /// The status it reports; an unknown status, or a success without a readable
    /// amount, is the provider's mistake and never counts as paid.
    pub fn into_status(self) -> Result<PaymentStatus, DeliveryError> {
        match self.status.as_str() {
            "pending" => Ok(PaymentStatus::Pending {
                reference: self.reference,
                confirmation_url: self.confirmation_url,
            }),
            "succeeded" => {
                let amount = self
                    .amount
                    .as_deref()
                    .map(|a| Points::parse(a.trim()))
                    .transpose()
                    .ok()
                    .flatten()
                    .ok_or_else(|| {
                        DeliveryError::Permanent(
                            "the provider reported a payment without a readable amount".into(),
                        )
                    })?;
                Ok(PaymentStatus::Succeeded {
                    reference: self.reference,
                    amount,
                })
            }
            "failed" => Ok(PaymentStatus::Failed {
                reason: self
                    .reason
                    .unwrap_or_else(|| "the provider gave no reason".into()),
            }),
            other => Err(DeliveryError::Permanent(format!(
                "the provider answered an unknown payment status {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}

/// The provider's API: `POST {url}/payments` with the request as JSON and
/// `Idempotency-Key: {id}`, `GET {url}/payments/{id}`, `POST {url}/payments/{id}/refund`
/// `{"amount"}` with `Idempotency-Key: refund-{id}`.
pub struct HttpPayments {
    client: ProviderClient,
}

#[derive(Deserialize)]
struct RefundAnswer {
    status: String,
}

impl HttpPayments {
    pub fn new(settings: &PaymentSettings) -> anyhow::Result<Self> {
        Ok(Self {
            client: ProviderClient::new(
                settings.url.as_deref(),
                settings.api_key.as_ref(),
                settings.timeout_ms,
                "payments.url",
            )?,
        })
    }
}

#[async_trait]
impl PaymentProvider for HttpPayments {
    async fn create(&self, payment: &PaymentRequest) -> Result<PaymentStatus, DeliveryError> {
        let request = self
            .client
            .post("/payments")
            .header("Idempotency-Key", &payment.id)
            .json(payment);
        self.client
            .send::<PaymentAnswer>(request)
            .await?
            .into_status()
    }

    async fn status(&self, id: &str) -> Result<PaymentStatus, DeliveryError> {
        self.client
            .send::<PaymentAnswer>(self.client.get(&format!("/payments/{id}")))
            .await?
            .into_status()
    }

    async fn refund(&self, id: &str, amount: &str) -> Result<(), DeliveryError> {
        let request = self
            .client
            .post(&format!("/payments/{id}/refund"))
            .header("Idempotency-Key", format!("refund-{id}"))
            .json(&serde_json::json!({ "amount": amount }));
        let answer = self.client.send::<RefundAnswer>(request).await?;
        match answer.status.as_str() {
            "refunded" => Ok(()),
            "pending" => Err(DeliveryError::Retryable(
                "the provider is still refunding".into(),
            )),
            other => Err(DeliveryError::Permanent(format!(
                "the provider answered an unknown refund status {:?}",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}

pub fn payments_from_settings(
    settings: &PaymentSettings,
) -> anyhow::Result<std::sync::Arc<dyn PaymentProvider>> {
    Ok(match settings.provider {
        ProviderKind::Console => std::sync::Arc::new(ConsolePayments::default()),
        ProviderKind::Http => std::sync::Arc::new(HttpPayments::new(settings)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: &str, amount: Option<&str>) -> PaymentAnswer {
        PaymentAnswer {
            id: Some("payment-1".into()),
            status: status.into(),
            amount: amount.map(str::to_string),
            reference: None,
            confirmation_url: None,
            reason: None,
        }
    }

    #[test]
    fn a_success_counts_only_with_a_readable_amount() {
        assert_eq!(
            answer("succeeded", Some("200.00")).into_status().ok(),
            Some(PaymentStatus::Succeeded {
                reference: None,
                amount: Points::from_hundredths(20_000)
            })
        );
        assert!(answer("succeeded", None).into_status().is_err());
        assert!(answer("succeeded", Some("lots")).into_status().is_err());
        assert!(answer("paid-ish", Some("200")).into_status().is_err());
        assert!(matches!(
            answer("pending", None).into_status(),
            Ok(PaymentStatus::Pending { .. })
        ));
    }
}
