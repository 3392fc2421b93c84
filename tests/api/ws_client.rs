//! A WebSocket test client over awc: sends JSON frames, answers pings, waits for the
//! next JSON frame with a timeout, and checks every frame it receives against the
//! committed contract (`mobile-contracts/websocket.json`).

use std::sync::OnceLock;
use std::time::Duration;

use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

pub struct WsClient {
    framed: Framed<BoxedSocket, Codec>,
}

impl WsClient {
    /// Connects with `?token=`; returns the HTTP status on refusal.
    pub async fn connect(address: &str, token: &str) -> Result<Self, u16> {
        let url = format!(
            "{}/api/v1/ws?token={token}",
            address.replacen("http", "ws", 1)
        );
        match awc::Client::new().ws(url).connect().await {
            Ok((_, framed)) => Ok(Self { framed }),
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => Err(status.as_u16()),
            Err(err) => panic!("websocket connect failed: {err}"),
        }
    }

    pub async fn send(&mut self, message: Value) {
        self.framed
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send a frame");
    }

    pub async fn subscribe(&mut self, topic: &str) {
        self.send(json!({ "type": "subscribe", "topic": topic }))
            .await;
    }

    /// The next JSON frame, or `None` after `timeout`.
    pub async fn next_within(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let remaining = deadline.checked_duration_since(tokio::time::Instant::now())?;
            let frame = tokio::time::timeout(remaining, self.framed.next())
                .await
                .ok()??;
            match frame.ok()? {
                Frame::Text(bytes) => {
                    let frame: Value = serde_json::from_slice(&bytes).expect("a JSON frame");
                    assert_frame_in_contract(&frame);
                    return Some(frame);
                }
                Frame::Ping(bytes) => {
                    let _ = self.framed.send(Message::Pong(bytes)).await;
                }
                Frame::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// Reads until the server closes the connection; answers the close code (`None`
    /// when the connection ended without a Close frame or nothing came in `timeout`).
    pub async fn close_code_within(&mut self, timeout: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let remaining = deadline.checked_duration_since(tokio::time::Instant::now())?;
            let frame = tokio::time::timeout(remaining, self.framed.next())
                .await
                .ok()??;
            if let Frame::Close(reason) = frame.ok()? {
                return reason.map(|reason| u16::from(reason.code));
            }
        }
    }

    /// Answers the server's Close, ending the connection as a well-behaved client does.
    pub async fn close(&mut self) {
        let _ = self.framed.send(Message::Close(None)).await;
    }

    /// The next JSON frame; panics after 10 s.
    pub async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(10))
            .await
            .expect("a frame within 10 s")
    }

    /// The next frame of `kind` (`snapshot`, `event`, `error`), skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// The next event named `event`, skipping others.
    pub async fn next_event(&mut self, event: &str) -> Value {
        loop {
            let frame = self.next_of("event").await;
            if frame["event"] == event {
                return frame;
            }
        }
    }
}

/// The committed WebSocket contract as one JSON Schema whose root is a server frame.
fn server_frame_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/mobile-contracts/websocket.json"
        );
        let text = std::fs::read_to_string(path).expect("read mobile-contracts/websocket.json");
        let mut document: Value = serde_json::from_str(&text).expect("the contract is JSON");
        document["$ref"] = json!("#/components/schemas/ServerFrame");
        jsonschema::validator_for(&document).expect("the contract compiles as a JSON Schema")
    })
}

/// How `frame` departs from the contract's server frames (empty when it conforms).
pub fn frame_errors(frame: &Value) -> Vec<String> {
    server_frame_validator()
        .iter_errors(frame)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}

/// Panics with every violation when `frame` is not a server frame of the contract.
pub fn assert_frame_in_contract(frame: &Value) {
    let errors = frame_errors(frame);
    assert!(
        errors.is_empty(),
        "a frame the server sent is not in mobile-contracts/websocket.json:\n{frame}\n{}",
        errors.join("\n")
    );
}
