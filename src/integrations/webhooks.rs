//! Sending one webhook: a signed POST to the subscriber's URL with a timeout. The
//! headers follow the Standard Webhooks specification (`webhook-id`,
//! `webhook-timestamp` in seconds, `webhook-signature`); any 2xx is delivered, anything
//! else (another status, a timeout, no connection) is worth another try, which the
//! effect queue schedules.

use std::time::{Duration, Instant};

use super::signature::sign_webhook;

/// What one try got: the receiver's status (if it answered) and how long it took.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub status: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

/// The HTTP client webhooks are sent with.
pub struct WebhookSender {
    client: reqwest::Client,
}

impl WebhookSender {
    pub fn new(timeout_ms: u64) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .connect_timeout(Duration::from_millis(timeout_ms.min(3_000)))
            // A receiver's redirect is not followed: the signature names one URL.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client })
    }

    /// Posts `body` to `url`, signed with `secret` as message `id` at `timestamp`
    /// (seconds).
    pub async fn send(
        &self,
        url: &str,
        secret: &str,
        id: &str,
        timestamp: i64,
        body: &str,
    ) -> Attempt {
        let started = Instant::now();
        let Some(signature) = sign_webhook(secret, id, timestamp, body.as_bytes()) else {
            return Attempt {
                status: None,
                error: Some("the subscription's secret is unreadable".into()),
                duration_ms: 0,
            };
        };
        let answer = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_string())
            .send()
            .await;
        let duration_ms = started.elapsed().as_millis() as i64;
        match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                Attempt {
                    status: Some(status),
                    error: (!(200..300).contains(&status))
                        .then(|| format!("the receiver answered {status}")),
                    duration_ms,
                }
            }
            Err(err) => Attempt {
                status: None,
                error: Some(if err.is_timeout() {
                    "the receiver did not answer in time".to_string()
                } else {
                    format!("the receiver is unreachable: {err}")
                }),
                duration_ms,
            },
        }
    }
}
