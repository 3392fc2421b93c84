//! Who a token belongs to and what they may do, cached for a short while so a request
//! does not spend two queries on it. Every change that affects access (logout,
//! blocking, approval, roles, a store's owner, a move between stores) publishes an
//! `AccessChanged` event and every node drops the entries concerned; the short
//! lifetime bounds how stale an entry can be if such an event were lost.

use dashmap::DashMap;
use stimul_actors::bus::BusEvent;

use super::Principal;
use stimul_actors::live::RealtimeCore;

/// How long a cached principal is trusted without asking the database.
pub const TTL_MS: i64 = 30_000;
/// Above this many entries new ones are not cached (memory stays bounded under a
/// flood of distinct tokens).
const MAX_ENTRIES: usize = 200_000;

struct Entry {
    principal: Principal,
    /// The earlier of the cache lifetime and the session's expiry.
    valid_until: i64,
}

#[derive(Default)]
pub struct AccessCache {
    entries: DashMap<String, Entry>,
}

impl AccessCache {
    pub fn get(&self, token_hash: &str, now_ms: i64) -> Option<Principal> {
        let entry = self.entries.get(token_hash)?;
        if now_ms < entry.valid_until {
            return Some(entry.principal.clone());
        }
        drop(entry);
        self.entries.remove(token_hash);
        None
    }

    pub fn put(&self, principal: &Principal, session_expires_at: i64, now_ms: i64) {
        if self.entries.len() >= MAX_ENTRIES {
            return;
        }
        let valid_until = session_expires_at.min(now_ms + TTL_MS);
        self.entries.insert(
            principal.token_hash.clone(),
            Entry {
                principal: principal.clone(),
                valid_until,
            },
        );
    }

    /// Drops what an `AccessChanged` event concerns.
    pub fn forget(&self, event: &BusEvent) {
        if let BusEvent::AccessChanged {
            user_id,
            token_hash,
        } = event
        {
            match (user_id, token_hash) {
                (None, None) => self.entries.clear(),
                (_, Some(token)) => {
                    self.entries.remove(token);
                }
                (Some(user), None) => self
                    .entries
                    .retain(|_, entry| entry.principal.id() != *user),
            }
        }
    }
}

/// Tells every node that `user_id`'s access changed (after the change committed).
pub fn user_changed(live: &RealtimeCore, user_id: i64) {
    live.publish(BusEvent::AccessChanged {
        user_id: Some(user_id),
        token_hash: None,
    });
}

/// Tells every node that access changed for many people at once (a role's
/// permissions, an import).
pub fn everyone_changed(live: &RealtimeCore) {
    live.publish(BusEvent::AccessChanged {
        user_id: None,
        token_hash: None,
    });
}

/// Tells every node that a session ended.
pub fn session_ended(live: &RealtimeCore, token_hash: &str) {
    live.publish(BusEvent::AccessChanged {
        user_id: None,
        token_hash: Some(token_hash.to_string()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Access;
    use crate::auth::Account;

    fn principal(user: i64, token: &str) -> Principal {
        let account = Account {
            id: user,
            program_id: 1,
            kind: crate::domain::AccountKind::Participant,
            login: None,
            phone: None,
            name: "x".into(),
            status: crate::domain::PersonStatus::Active,
            store_id: None,
            partner_id: None,
            brand_id: None,
        };
        Principal {
            account,
            access: Access::default(),
            token_hash: token.into(),
        }
    }

    #[test]
    fn entries_expire_and_are_forgotten_by_user_token_or_all() {
        let cache = AccessCache::default();
        cache.put(&principal(1, "a"), i64::MAX, 0);
        cache.put(&principal(1, "b"), i64::MAX, 0);
        cache.put(&principal(2, "c"), 500, 0);
        assert!(cache.get("a", TTL_MS - 1).is_some());
        assert!(cache.get("a", TTL_MS).is_none(), "the cache lifetime ends");
        assert!(
            cache.get("c", 500).is_none(),
            "the session's expiry ends it sooner"
        );
        cache.put(&principal(1, "a"), i64::MAX, 0);
        cache.forget(&BusEvent::AccessChanged {
            user_id: Some(1),
            token_hash: None,
        });
        assert!(cache.get("a", 1).is_none() && cache.get("b", 1).is_none());
        cache.put(&principal(2, "c"), i64::MAX, 0);
        cache.put(&principal(3, "d"), i64::MAX, 0);
        cache.forget(&BusEvent::AccessChanged {
            user_id: None,
            token_hash: Some("c".into()),
        });
        assert!(cache.get("c", 1).is_none() && cache.get("d", 1).is_some());
        cache.forget(&BusEvent::AccessChanged {
            user_id: None,
            token_hash: None,
        });
        assert!(cache.get("d", 1).is_none());
    }
}
