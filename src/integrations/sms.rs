//! SMS delivery: one-time login codes and notifications.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::DeliveryError;
use crate::config::{ProviderKind, SmsSettings};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SmsMessage {
    /// E.164 phone number.
    pub to: String,
    pub text: String,
}

#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, message: &SmsMessage) -> Result<(), DeliveryError>;
}

/// Prints messages to standard output: the development provider, so a developer can
/// log in with the code shown in the terminal.
pub struct ConsoleSms;

#[async_trait]
impl SmsSender for ConsoleSms {
    async fn send(&self, message: &SmsMessage) -> Result<(), DeliveryError> {
        println!("[sms to {}] {}", message.to, message.text);
        tracing::info!(to = %message.to, "sms printed to console");
        Ok(())
    }
}

/// Posts `{"to","text","sender"}` as JSON to a gateway with a bearer key and expects
/// a 2xx answer with `{"id": "..."}`.
pub struct HttpSms {
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
    sender: String,
}

#[derive(Serialize)]
struct GatewayRequest<'a> {
    to: &'a str,
    text: &'a str,
    sender: &'a str,
}

#[derive(Deserialize)]
struct GatewayAnswer {
    id: String,
}

impl HttpSms {
    pub fn new(settings: &SmsSettings) -> anyhow::Result<Self> {
        let url = settings
            .url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| anyhow::anyhow!("sms.url is required for the http SMS provider"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .connect_timeout(Duration::from_millis(settings.timeout_ms.min(3_000)))
            .build()?;
        Ok(Self {
            client,
            url,
            api_key: settings.api_key.as_ref().map(|k| k.expose().clone()),
            sender: settings.sender.clone(),
        })
    }
}

#[async_trait]
impl SmsSender for HttpSms {
    async fn send(&self, message: &SmsMessage) -> Result<(), DeliveryError> {
        let mut request = self.client.post(&self.url).json(&GatewayRequest {
            to: &message.to,
            text: &message.text,
            sender: &self.sender,
        });
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .map_err(|err| DeliveryError::Retryable(format!("gateway unreachable: {err}")))?;
        let status = response.status();
        if status.is_success() {
            // A 2xx without an id means we cannot tell whether it was accepted; trying
            // again risks a duplicate code, which is harmless, unlike a lost one.
            let answer: GatewayAnswer = response.json().await.map_err(|err| {
                DeliveryError::Retryable(format!(
                    "gateway answered {status} with an unreadable body: {err}"
                ))
            })?;
            tracing::info!(gateway_id = %answer.id, "sms accepted by gateway");
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 429 {
            Err(DeliveryError::Retryable(format!(
                "gateway answered {status}"
            )))
        } else {
            let body = response.text().await.unwrap_or_default();
            Err(DeliveryError::Permanent(format!(
                "gateway refused the message with {status}: {}",
                body.chars().take(200).collect::<String>()
            )))
        }
    }
}

pub fn sender_from_settings(settings: &SmsSettings) -> anyhow::Result<Box<dyn SmsSender>> {
    Ok(match settings.provider {
        ProviderKind::Console => Box::new(ConsoleSms),
        ProviderKind::Http => Box::new(HttpSms::new(settings)?),
    })
}
