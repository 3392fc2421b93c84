//! E-mail and mobile push: one trait for both channels' providers (a message to one
//! person), a console implementation that prints, and an HTTP implementation posting
//! JSON with a bearer key, tested against a local fake. SMS has its own module (login
//! codes came first).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::DeliveryError;
use super::http::ProviderClient;
use crate::config::{ChannelSettings, ProviderKind};

/// A message to one person on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelMessage {
    /// The e-mail address, or our user id for push.
    pub to: String,
    pub title: String,
    pub body: String,
    /// What the message is about (trigger and values), for the app to open it.
    #[serde(default)]
    pub data: serde_json::Value,
}

#[async_trait]
pub trait MessageSender: Send + Sync {
    async fn send(&self, message: &ChannelMessage) -> Result<(), DeliveryError>;
}

/// Prints messages: development.
pub struct ConsoleMessages {
    pub channel: &'static str,
}

#[async_trait]
impl MessageSender for ConsoleMessages {
    async fn send(&self, message: &ChannelMessage) -> Result<(), DeliveryError> {
        println!(
            "[{} to {}] {}: {}",
            self.channel, message.to, message.title, message.body
        );
        Ok(())
    }
}

/// E-mail through an HTTP e-mail API.
pub struct HttpEmail {
    client: ProviderClient,
    sender: String,
}

/// Push through an HTTP push provider.
pub struct HttpPush {
    client: ProviderClient,
}

#[derive(Deserialize)]
struct Accepted {}

#[async_trait]
impl MessageSender for HttpEmail {
    async fn send(&self, message: &ChannelMessage) -> Result<(), DeliveryError> {
        let request = self.client.post("/messages").json(&serde_json::json!({
            "to": message.to,
            "from": self.sender,
            "subject": message.title,
            "text": message.body,
        }));
        self.client.send::<Accepted>(request).await.map(|_| ())
    }
}

#[async_trait]
impl MessageSender for HttpPush {
    async fn send(&self, message: &ChannelMessage) -> Result<(), DeliveryError> {
        let request = self.client.post("/messages").json(&serde_json::json!({
            "user_id": message.to,
            "title": message.title,
            "body": message.body,
            "data": message.data,
        }));
        self.client.send::<Accepted>(request).await.map(|_| ())
    }
}

fn client(settings: &ChannelSettings, setting: &str) -> anyhow::Result<ProviderClient> {
    ProviderClient::new(
        settings.url.as_deref(),
        settings.api_key.as_ref(),
        settings.timeout_ms,
        setting,
    )
}

pub fn email_from_settings(settings: &ChannelSettings) -> anyhow::Result<Box<dyn MessageSender>> {
    Ok(match settings.provider {
        ProviderKind::Console => Box::new(ConsoleMessages { channel: "email" }),
        ProviderKind::Http => Box::new(HttpEmail {
            client: client(settings, "email.url")?,
            sender: settings.sender.clone(),
        }),
    })
}

pub fn push_from_settings(settings: &ChannelSettings) -> anyhow::Result<Box<dyn MessageSender>> {
    Ok(match settings.provider {
        ProviderKind::Console => Box::new(ConsoleMessages { channel: "push" }),
        ProviderKind::Http => Box::new(HttpPush {
            client: client(settings, "push.url")?,
        }),
    })
}
