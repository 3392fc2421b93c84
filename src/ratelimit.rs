//! Fixed-window rate limits for authentication and other abuse-prone calls. With
//! Redis configured, counters live there so every node sees the same count; without
//! it they live in this process (one node, or a per-node limit).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dashmap::DashMap;

use crate::db::Clock;

/// The outcome of counting one more event against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit; the window ends in this many seconds.
    Limited {
        retry_after_secs: u64,
    },
}

#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts an event for `key` and says whether it is within `limit` per `window`.
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Decision>;

    /// Says whether `key` is already at or over `limit`, without counting.
    async fn peek(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Decision>;

    /// Forgets `key` (e.g. failed logins after a successful one).
    async fn reset(&self, key: &str) -> anyhow::Result<()>;
}

/// Counters in a concurrent map. Expired windows are swept as the map grows, so
/// memory stays proportional to the keys active within one window.
pub struct InMemoryRateLimiter {
    clock: Clock,
    /// key → (window start in epoch ms, window length in ms, count)
    windows: DashMap<String, (i64, i64, u32)>,
}

/// Above this many keys an insert sweeps expired windows first.
const SWEEP_ABOVE_KEYS: usize = 100_000;

impl InMemoryRateLimiter {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            windows: DashMap::new(),
        }
    }

    fn sweep(&self, now: i64) {
        self.windows
            .retain(|_, (start, length, _)| now < *start + *length);
    }
}

fn decision(count: u32, limit: u32, window_end_ms: i64, now: i64) -> Decision {
    if count <= limit {
        Decision::Allowed
    } else {
        let remaining_ms = (window_end_ms - now).max(0) as u64;
        Decision::Limited {
            retry_after_secs: remaining_ms.div_ceil(1000).max(1),
        }
    }
}

#[async_trait]
impl RateLimiter for InMemoryRateLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Decision> {
        let now = self.clock.now_ms();
        let length = window.as_millis() as i64;
        if self.windows.len() > SWEEP_ABOVE_KEYS {
            self.sweep(now);
        }
        let mut entry = self
            .windows
            .entry(key.to_string())
            .or_insert((now, length, 0));
        let (start, _, count) = entry.value_mut();
        if now >= *start + length {
            *start = now;
            *count = 0;
        }
        *count = count.saturating_add(1);
        Ok(decision(*count, limit, *start + length, now))
    }

    async fn peek(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Decision> {
        let now = self.clock.now_ms();
        let length = window.as_millis() as i64;
        Ok(match self.windows.get(key) {
            Some(entry) if now < entry.0 + length => {
                // At the limit already means the next attempt would be over it.
                decision(entry.2.saturating_add(1), limit, entry.0 + length, now)
            }
            _ => Decision::Allowed,
        })
    }

    async fn reset(&self, key: &str) -> anyhow::Result<()> {
        self.windows.remove(key);
        Ok(())
    }
}

/// Counters in Redis: `INCR` plus `PEXPIRE … NX` so the first hit opens the window.
pub struct RedisRateLimiter {
    connection: redis::aio::ConnectionManager,
    /// The deployment's key prefix.
    prefix: String,
}

impl RedisRateLimiter {
    pub fn new(connection: redis::aio::ConnectionManager, prefix: &str) -> Self {
        Self {
            connection,
            prefix: prefix.to_string(),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}:rl:{key}", self.prefix)
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn hit(&self, key: &str, limit: u32, window: Duration) -> anyhow::Result<Decision> {
        let key = self.key(key);
        let mut connection = self.connection.clone();
        let (count, ttl_ms): (u32, i64) = redis::pipe()
            .atomic()
            .incr(&key, 1)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(window.as_millis() as u64)
            .arg("NX")
            .ignore()
            .cmd("PTTL")
            .arg(&key)
            .query_async(&mut connection)
            .await?;
        Ok(decision(count, limit, ttl_ms.max(0), 0))
    }

    async fn peek(&self, key: &str, limit: u32, _window: Duration) -> anyhow::Result<Decision> {
        let key = self.key(key);
        let mut connection = self.connection.clone();
        let (count, ttl_ms): (Option<u32>, i64) = redis::pipe()
            .get(&key)
            .cmd("PTTL")
            .arg(&key)
            .query_async(&mut connection)
            .await?;
        Ok(decision(
            count.unwrap_or(0).saturating_add(1),
            limit,
            ttl_ms.max(0),
            0,
        ))
    }

    async fn reset(&self, key: &str) -> anyhow::Result<()> {
        let mut connection = self.connection.clone();
        let _: () = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async(&mut connection)
            .await?;
        Ok(())
    }
}

pub type SharedRateLimiter = Arc<dyn RateLimiter>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_memory_limits_and_reopens_after_window() {
        let clock = Clock::default();
        let limiter = InMemoryRateLimiter::new(clock.clone());
        let window = Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(
                limiter.hit("k", 3, window).await.ok(),
                Some(Decision::Allowed)
            );
        }
        assert!(matches!(
            limiter.hit("k", 3, window).await.ok(),
            Some(Decision::Limited { retry_after_secs }) if retry_after_secs <= 60
        ));
        assert!(matches!(
            limiter.peek("k", 3, window).await.ok(),
            Some(Decision::Limited { .. })
        ));
        assert_eq!(
            limiter.hit("other", 3, window).await.ok(),
            Some(Decision::Allowed)
        );
        clock.advance(Duration::from_secs(61));
        assert_eq!(
            limiter.hit("k", 3, window).await.ok(),
            Some(Decision::Allowed)
        );
    }

    #[tokio::test]
    async fn peek_does_not_count() {
        let limiter = InMemoryRateLimiter::new(Clock::default());
        let window = Duration::from_secs(60);
        for _ in 0..10 {
            assert_eq!(
                limiter.peek("k", 1, window).await.ok(),
                Some(Decision::Allowed)
            );
        }
        assert_eq!(
            limiter.hit("k", 1, window).await.ok(),
            Some(Decision::Allowed)
        );
        assert!(matches!(
            limiter.peek("k", 1, window).await.ok(),
            Some(Decision::Limited { .. })
        ));
        assert!(limiter.reset("k").await.is_ok());
        assert_eq!(
            limiter.peek("k", 1, window).await.ok(),
            Some(Decision::Allowed)
        );
    }
}
