//! The Redis transport of the event bus: every event this node publishes is delivered
//! here at once and also published on a Redis channel; every node listens on that
//! channel and delivers what other nodes published to its own live actors. Redis
//! pub/sub keeps each publisher's order, which is what version-ordered facts need.
//!
//! If Redis is unreachable, events of other nodes stop arriving until it is back (the
//! listener reconnects); actors that then see a version gap reload from the database,
//! so nothing stays wrong. Publishing never blocks a commit: events queue in a bounded
//! buffer and are dropped (with a warning) if Redis stays down that long.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use stimul_actors::bus::{BusEvent, Dispatch, EventBus};
use tokio::sync::mpsc;

/// Events waiting for Redis before new ones are dropped.
const OUTBOX: usize = 65_536;
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    event: BusEvent,
}

pub struct RedisBus {
    node: String,
    dispatch: Dispatch,
    outbox: mpsc::Sender<String>,
}

impl RedisBus {
    /// Starts the publishing and listening tasks on the current runtime.
    pub fn start(
        client: redis::Client,
        prefix: &str,
        node: String,
        dispatch: Dispatch,
    ) -> Arc<Self> {
        let channel = format!("{prefix}:events");
        let (outbox, pending) = mpsc::channel(OUTBOX);
        tokio::spawn(publish_loop(client.clone(), channel.clone(), pending));
        tokio::spawn(listen_loop(client, channel, node.clone(), dispatch.clone()));
        Arc::new(Self {
            node,
            dispatch,
            outbox,
        })
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: BusEvent) {
        match serde_json::to_string(&Envelope {
            node: self.node.clone(),
            event: event.clone(),
        }) {
            Ok(payload) => {
                if self.outbox.try_send(payload).is_err() {
                    tracing::warn!("redis bus buffer full; an event did not reach the other nodes");
                }
            }
            Err(err) => tracing::error!(error = %err, "could not encode a bus event"),
        }
        (self.dispatch)(event);
    }
}

async fn publish_loop(client: redis::Client, channel: String, mut pending: mpsc::Receiver<String>) {
    let mut connection = None;
    while let Some(payload) = pending.recv().await {
        loop {
            if connection.is_none() {
                match client.get_multiplexed_async_connection().await {
                    Ok(c) => connection = Some(c),
                    Err(err) => {
                        tracing::warn!(error = %err, "redis unreachable for publishing; retrying");
                        tokio::time::sleep(RECONNECT_PAUSE).await;
                        continue;
                    }
                }
            }
            let Some(c) = connection.as_mut() else {
                continue;
            };
            let sent: redis::RedisResult<i64> = redis::cmd("PUBLISH")
                .arg(&channel)
                .arg(&payload)
                .query_async(c)
                .await;
            match sent {
                Ok(_) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "publishing to redis failed; reconnecting");
                    connection = None;
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
            }
        }
    }
}

async fn listen_loop(client: redis::Client, channel: String, node: String, dispatch: Dispatch) {
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if let Err(err) = pubsub.subscribe(&channel).await {
                    tracing::warn!(error = %err, "subscribing to redis failed");
                } else {
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        match serde_json::from_str::<Envelope>(&payload) {
                            Ok(envelope) if envelope.node != node => dispatch(envelope.event),
                            Ok(_) => {}
                            Err(err) => tracing::warn!(error = %err, "unreadable bus event"),
                        }
                    }
                    tracing::warn!("redis subscription ended; reconnecting");
                }
            }
            Err(err) => tracing::warn!(error = %err, "redis unreachable for listening; retrying"),
        }
        tokio::time::sleep(RECONNECT_PAUSE).await;
    }
}
