//! A participant's WebSocket as a phone holds it: connect with the session token,
//! subscribe to a topic and wait for its snapshot, answer the server's pings, and hand
//! every JSON frame over with the moment it arrived. It also checks the protocol's
//! promise that `seq` is consecutive per topic on one connection, and can record a
//! socket in the background until told to stop (a passive watcher, as sellers are).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One JSON frame from the server, with the fields every frame kind may carry.
#[derive(Debug, Deserialize)]
pub struct Frame {
    /// `snapshot`, `event`, `error`, `pong`, `unsubscribed`, and `decided` (the answer
    /// to a moderator's `decide`).
    #[serde(rename = "type")]
    pub kind: String,
    pub topic: Option<String>,
    pub seq: Option<u64>,
    pub event: Option<String>,
    #[serde(default)]
    pub data: Value,
    /// Of an `error` frame.
    pub code: Option<String>,
    pub message: Option<String>,
    /// Of a `decided` frame, and of an `error` frame answering a `decide`.
    pub item_id: Option<i64>,
    /// Of a `decided` frame: `approve`, `reject`, `rework`.
    pub decision: Option<String>,
}

/// What a socket yields next.
pub enum Incoming {
    Frame(Instant, Frame),
    /// The connection ended; the reason if it was not a clean close from our side.
    Closed(String),
}

/// Sequence numbers seen on one connection, per topic: the protocol numbers events
/// consecutively after the snapshot's `seq`, and a snapshot restarts the count.
#[derive(Debug, Default)]
pub struct SeqCheck {
    last: HashMap<String, u64>,
    /// Times an event's `seq` jumped ahead (events were skipped).
    pub gaps: u64,
    /// Sequence numbers skipped by those jumps.
    pub skipped: u64,
    /// Events whose `seq` was not above the previous one.
    pub repeats: u64,
}

impl SeqCheck {
    fn observe(&mut self, frame: &Frame) {
        let (Some(topic), Some(seq)) = (&frame.topic, frame.seq) else {
            return;
        };
        match frame.kind.as_str() {
            "snapshot" => {
                self.last.insert(topic.clone(), seq);
            }
            "event" => {
                // An event before any snapshot of its topic cannot be checked.
                if let Some(last) = self.last.get_mut(topic) {
                    if seq > *last + 1 {
                        self.gaps += 1;
                        self.skipped += seq - *last - 1;
                    } else if seq <= *last {
                        self.repeats += 1;
                    }
                    *last = seq;
                }
            }
            _ => {}
        }
    }
}

pub struct LiveSocket {
    stream: WsStream,
    seq: SeqCheck,
}

impl LiveSocket {
    /// Opens the socket; a refusal reports the HTTP status (401 for a bad token).
    pub async fn connect(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let connecting = tokio_tungstenite::connect_async(url);
        let (stream, _) = match tokio::time::timeout(timeout, connecting).await {
            Err(_) => bail!("no WebSocket handshake within {timeout:?}"),
            Ok(Err(tungstenite::Error::Http(response))) => {
                bail!("the server refused the WebSocket: {}", response.status())
            }
            Ok(Err(err)) => return Err(err).context("opening the WebSocket"),
            Ok(Ok(connected)) => connected,
        };
        Ok(Self {
            stream,
            seq: SeqCheck::default(),
        })
    }

    pub async fn send(&mut self, message: &Value) -> anyhow::Result<()> {
        self.stream
            .send(Message::text(message.to_string()))
            .await
            .context("sending a WebSocket frame")
    }

    /// Subscribes to `topic` and waits for its snapshot (frames before it, such as
    /// events of other topics, are dropped: callers subscribe before anything moves).
    pub async fn subscribe(&mut self, topic: &str, timeout: Duration) -> anyhow::Result<Frame> {
        self.subscribe_with(topic, json!({}), timeout).await
    }

    /// [`Self::subscribe`] with the topic's options (a moderator's `capacity` and
    /// `kinds`), given as the fields of a JSON object.
    pub async fn subscribe_with(
        &mut self,
        topic: &str,
        options: Value,
        timeout: Duration,
    ) -> anyhow::Result<Frame> {
        let mut message = json!({ "type": "subscribe", "topic": topic });
        if let (Some(message), Value::Object(options)) = (message.as_object_mut(), options) {
            message.extend(options);
        }
        self.send(&message).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let incoming = tokio::time::timeout_at(deadline, self.next())
                .await
                .map_err(|_| anyhow::anyhow!("no snapshot of {topic:?} within {timeout:?}"))?;
            match incoming {
                Incoming::Closed(reason) => bail!("closed while subscribing: {reason}"),
                Incoming::Frame(_, frame) if frame.topic.as_deref() != Some(topic) => {}
                Incoming::Frame(_, frame) => match frame.kind.as_str() {
                    "snapshot" => return Ok(frame),
                    "error" => bail!(
                        "subscribing to {topic:?}: {} {}",
                        frame.code.unwrap_or_default(),
                        frame.message.unwrap_or_default()
                    ),
                    _ => {}
                },
            }
        }
    }

    /// The next JSON frame, stamped on arrival (before parsing, so parsing costs are
    /// not counted as delivery time). Pings are answered on the way.
    pub async fn next(&mut self) -> Incoming {
        loop {
            let message = match self.stream.next().await {
                None => return Incoming::Closed("the connection ended".into()),
                Some(Err(err)) => return Incoming::Closed(err.to_string()),
                Some(Ok(message)) => message,
            };
            let arrived = Instant::now();
            match message {
                Message::Text(text) => match serde_json::from_str::<Frame>(text.as_str()) {
                    Ok(frame) => {
                        self.seq.observe(&frame);
                        return Incoming::Frame(arrived, frame);
                    }
                    Err(err) => return Incoming::Closed(format!("unreadable frame: {err}")),
                },
                // tungstenite queues the pong itself; flushing sends it now rather than
                // with our next write, which a passive watcher may never make.
                Message::Ping(_) => {
                    if let Err(err) = self.stream.flush().await {
                        return Incoming::Closed(format!("answering a ping: {err}"));
                    }
                }
                Message::Close(frame) => {
                    let reason = frame
                        .map(|f| format!("closed by the server: {} {}", f.code, f.reason))
                        .unwrap_or_else(|| "closed by the server".into());
                    return Incoming::Closed(reason);
                }
                Message::Pong(_) | Message::Binary(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The sequence figures so far, leaving the count empty.
    pub fn take_seq(&mut self) -> SeqCheck {
        std::mem::take(&mut self.seq)
    }

    /// Closes politely; errors do not matter any more.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}

/// What a recorded socket saw.
pub struct Recording<T> {
    pub items: Vec<T>,
    pub seq: SeqCheck,
    /// Set when the connection ended before we stopped it.
    pub ended_early: Option<String>,
}

/// Sequence figures summed over many sockets.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct SeqTotals {
    pub gaps: u64,
    pub skipped: u64,
    pub repeats: u64,
}

impl SeqTotals {
    pub fn add(&mut self, check: &SeqCheck) {
        self.gaps += check.gaps;
        self.skipped += check.skipped;
        self.repeats += check.repeats;
    }
}

/// Reads `socket` in the background until `stop` turns true, keeping what `extract`
/// makes of each frame.
pub fn record<T, F>(
    mut socket: LiveSocket,
    mut stop: watch::Receiver<bool>,
    mut extract: F,
) -> JoinHandle<Recording<T>>
where
    T: Send + 'static,
    F: FnMut(Instant, Frame) -> Option<T> + Send + 'static,
{
    tokio::spawn(async move {
        let mut items = Vec::new();
        let mut ended_early = None;
        loop {
            tokio::select! {
                // A dropped sender also means stop.
                _ = stop.wait_for(|stopped| *stopped) => break,
                incoming = socket.next() => match incoming {
                    Incoming::Frame(at, frame) => items.extend(extract(at, frame)),
                    Incoming::Closed(reason) => {
                        ended_early = Some(reason);
                        break;
                    }
                },
            }
        }
        let seq = socket.take_seq();
        if ended_early.is_none() {
            socket.close().await;
        }
        Recording {
            items,
            seq,
            ended_early,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: &str, seq: u64) -> Frame {
        Frame {
            kind: kind.into(),
            topic: Some("me".into()),
            seq: Some(seq),
            event: None,
            data: Value::Null,
            code: None,
            message: None,
            item_id: None,
            decision: None,
        }
    }

    #[test]
    fn sequence_gaps_and_repeats_are_counted_and_a_snapshot_restarts_the_count() {
        let mut check = SeqCheck::default();
        for (kind, seq) in [
            ("event", 9), // before any snapshot: not checkable
            ("snapshot", 3),
            ("event", 4),
            ("event", 5),
            ("event", 8), // skipped 6 and 7
            ("event", 8), // repeat
            ("snapshot", 20),
            ("event", 21),
        ] {
            check.observe(&frame(kind, seq));
        }
        assert_eq!((check.gaps, check.skipped, check.repeats), (1, 2, 1));
    }
}
