//! What every provider spoken to over HTTP shares: a client with timeouts, its base
//! URL and bearer key, and one reading of its answers: 5xx, 429 and no answer are
//! worth retrying, another 4xx is a refusal, a 2xx we cannot read is the provider's
//! defect (retrying the same garbage helps nobody).

use std::time::Duration;

use serde::de::DeserializeOwned;

use super::DeliveryError;
use crate::config::Secret;

pub struct ProviderClient {
    client: reqwest::Client,
    /// The API root, without a trailing slash.
    url: String,
    api_key: Option<String>,
}

impl ProviderClient {
    /// `setting` names the URL's setting for the error when it is missing.
    pub fn new(
        url: Option<&str>,
        api_key: Option<&Secret<String>>,
        timeout_ms: u64,
        setting: &str,
    ) -> anyhow::Result<Self> {
        let url = url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| anyhow::anyhow!("{setting} is required for the http provider"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .connect_timeout(Duration::from_millis(timeout_ms.min(3_000)))
            .build()?;
        Ok(Self {
            client,
            url: url.trim_end_matches('/').to_string(),
            api_key: api_key.map(|k| k.expose().clone()),
        })
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.url))
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(format!("{}{path}", self.url))
    }

    /// Sends with the bearer key and reads a successful answer as `T`. Errors name the
    /// URL and the status, never the request's body (which may hold a card number).
    pub async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, DeliveryError> {
        let request = match &self.api_key {
            Some(key) => request.bearer_auth(key),
            None => request,
        };
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
        response.json().await.map_err(|err| {
            DeliveryError::Permanent(format!(
                "the provider answered {status} with an unreadable body: {err}"
            ))
        })
    }
}
