//! The topic hub of one node: who is subscribed to what, the per-topic sequence number,
//! and fan-out of pushed events to WebSocket sessions.
//!
//! Each event is serialised once into a frame shared by every subscriber. Sequence
//! numbers are per topic and per node: a client sees consecutive numbers on its
//! connection, and a gap means it missed something and should resubscribe for a fresh
//! snapshot. Every subscriber has a bounded backlog: when a session falls more than
//! [`MAX_BACKLOG`] frames behind, the hub stops queueing for it and marks the topic
//! *lagged*; the session later replaces what it missed with one fresh snapshot
//! (coalescing) or, if it stays behind, is closed. Memory per slow client is bounded.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix::{Message, Recipient};
use dashmap::DashMap;
use serde::Serialize;

/// Frames a subscriber may have queued before the hub stops sending to it.
pub const MAX_BACKLOG: usize = 256;

/// A frame for a session to write as is.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct Push {
    pub topic: Arc<str>,
    pub frame: Arc<str>,
}

/// What a session shares with the hub about its own backlog.
#[derive(Debug, Default)]
pub struct Backlog {
    /// Frames sent to the session and not yet written by it.
    queued: AtomicUsize,
    /// Topics on which frames were dropped because the backlog was full.
    lagged: Mutex<HashSet<Arc<str>>>,
}

impl Backlog {
    /// The session wrote one frame.
    pub fn written(&self) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Takes the topics that lost frames, for the session to resync.
    pub fn take_lagged(&self) -> Vec<Arc<str>> {
        match self.lagged.lock() {
            Ok(mut lagged) => lagged.drain().collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn is_lagging(&self) -> bool {
        self.lagged.lock().map(|l| !l.is_empty()).unwrap_or(false)
    }

    fn mark_lagged(&self, topic: &Arc<str>) {
        if let Ok(mut lagged) = self.lagged.lock() {
            lagged.insert(topic.clone());
        }
    }
}

#[derive(Clone)]
pub struct Subscriber {
    pub id: u64,
    pub recipient: Recipient<Push>,
    pub backlog: Arc<Backlog>,
}

struct TopicState {
    /// The name clients know the topic by (`me` for a user's own topic).
    display: Arc<str>,
    seq: u64,
    subscribers: Vec<Subscriber>,
}

#[derive(Default)]
pub struct TopicHub {
    topics: DashMap<Arc<str>, Arc<Mutex<TopicState>>>,
    next_subscriber: AtomicU64,
}

/// A payload pushed to clients on a topic. The event's name belongs to its type, so a
/// name always comes with the same shape: the WebSocket contract's union of events is
/// keyed by these names (`stimul::ws::contract` checks each at compile time).
pub trait LiveEvent: Serialize {
    /// The frame's `event`.
    const NAME: &'static str;
}

#[derive(Serialize)]
struct EventFrame<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    topic: &'a str,
    seq: u64,
    event: &'a str,
    data: &'a T,
}

impl TopicHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh id for a subscribing session.
    pub fn subscriber_id(&self) -> u64 {
        self.next_subscriber.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers `subscriber` on `topic` (shown to clients as `display`) and returns the
    /// topic's current sequence number, which the snapshot carries.
    pub fn subscribe(&self, topic: &str, display: &str, subscriber: Subscriber) -> u64 {
        let state = self
            .topics
            .entry(Arc::from(topic))
            .or_insert_with(|| {
                Arc::new(Mutex::new(TopicState {
                    display: Arc::from(display),
                    seq: 0,
                    subscribers: Vec::new(),
                }))
            })
            .clone();
        let Ok(mut state) = state.lock() else {
            return 0;
        };
        state.subscribers.retain(|s| s.id != subscriber.id);
        state.subscribers.push(subscriber);
        state.seq
    }

    pub fn unsubscribe(&self, topic: &str, subscriber_id: u64) {
        let emptied = match self.topics.get(topic) {
            Some(state) => match state.lock() {
                Ok(mut state) => {
                    state.subscribers.retain(|s| s.id != subscriber_id);
                    state.subscribers.is_empty()
                }
                Err(_) => false,
            },
            None => false,
        };
        if emptied {
            self.topics.remove_if(topic, |_, state| {
                state
                    .lock()
                    .map(|s| s.subscribers.is_empty())
                    .unwrap_or(false)
            });
        }
    }

    pub fn has_subscribers(&self, topic: &str) -> bool {
        self.topics.get(topic).is_some_and(|state| {
            state
                .lock()
                .map(|s| !s.subscribers.is_empty())
                .unwrap_or(false)
        })
    }

    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.topics.get(topic).map_or(0, |state| {
            state.lock().map(|s| s.subscribers.len()).unwrap_or(0)
        })
    }

    /// Sends `event` to every subscriber of `topic`; returns the sequence number it got,
    /// or `None` when nobody listens (nothing is numbered then).
    pub fn publish<T: LiveEvent>(&self, topic: &str, event: &T) -> Option<u64> {
        self.publish_named(topic, T::NAME, event)
    }

    /// Sends an event already split into name and payload: one that another node
    /// published as a [`LiveEvent`] and the bus carried here.
    pub(crate) fn publish_named<T: Serialize>(
        &self,
        topic: &str,
        event: &str,
        data: &T,
    ) -> Option<u64> {
        let state = self.topics.get(topic)?.clone();
        let Ok(mut state) = state.lock() else {
            return None;
        };
        if state.subscribers.is_empty() {
            return None;
        }
        state.seq += 1;
        let seq = state.seq;
        let frame = serde_json::to_string(&EventFrame {
            kind: "event",
            topic: &state.display,
            seq,
            event,
            data,
        })
        .ok()?;
        let push = Push {
            topic: Arc::from(topic),
            frame: Arc::from(frame),
        };
        for subscriber in &state.subscribers {
            if subscriber.backlog.queued.load(Ordering::Acquire) >= MAX_BACKLOG {
                subscriber.backlog.mark_lagged(&push.topic);
                continue;
            }
            subscriber.backlog.queued.fetch_add(1, Ordering::AcqRel);
            subscriber.recipient.do_send(push.clone());
        }
        Some(seq)
    }

    /// Number of topics with subscribers (for metrics).
    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix::{Actor, Context, Handler};

    /// A session that never reads its mailbox quickly: counts frames it handles.
    struct Sink {
        received: Arc<AtomicUsize>,
        backlog: Arc<Backlog>,
    }

    impl Actor for Sink {
        type Context = Context<Self>;
    }

    impl Handler<Push> for Sink {
        type Result = ();
        fn handle(&mut self, _push: Push, _ctx: &mut Context<Self>) {
            self.received.fetch_add(1, Ordering::SeqCst);
            self.backlog.written();
        }
    }

    #[derive(Serialize)]
    struct Tick(usize);

    impl LiveEvent for Tick {
        const NAME: &'static str = "tick";
    }

    #[actix::test]
    async fn numbers_events_per_topic_and_bounds_backlog() {
        let hub = TopicHub::new();
        let backlog = Arc::new(Backlog::default());
        let received = Arc::new(AtomicUsize::new(0));
        let sink = Sink {
            received: received.clone(),
            backlog: backlog.clone(),
        }
        .start();
        let subscriber = Subscriber {
            id: hub.subscriber_id(),
            recipient: sink.recipient(),
            backlog: backlog.clone(),
        };
        assert_eq!(hub.publish("user:1", &Tick(1)), None, "nobody listens yet");
        assert_eq!(hub.subscribe("user:1", "me", subscriber.clone()), 0);
        assert_eq!(hub.publish("user:1", &Tick(1)), Some(1));
        assert_eq!(hub.publish("user:1", &Tick(2)), Some(2));
        assert_eq!(
            hub.publish("user:2", &Tick(2)),
            None,
            "other topics are separate"
        );

        // Without yielding, the sink cannot drain: the backlog fills and the topic lags.
        for n in 0..(MAX_BACKLOG * 2) {
            hub.publish("user:1", &Tick(n));
        }
        assert_eq!(backlog.queued(), MAX_BACKLOG);
        assert!(backlog.is_lagging());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(received.load(Ordering::SeqCst), MAX_BACKLOG);
        assert_eq!(backlog.queued(), 0);
        assert_eq!(backlog.take_lagged(), vec![Arc::<str>::from("user:1")]);

        hub.unsubscribe("user:1", subscriber.id);
        assert!(!hub.has_subscribers("user:1"));
        assert_eq!(hub.topic_count(), 0);
    }
}
