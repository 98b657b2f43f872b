//! Validated tokens, remembered for at most `token_cache_time` and never
//! past their expiry (so a hit needs no expiry check). Keyed by a SHA-256 of the token, so the cache holds
//! no token and a client's token length costs it nothing; bounded in
//! entries and bytes whatever clients send (oldest entries go first).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use sha2::{Digest, Sha256};

use super::token::TokenInfo;

pub type Key = [u8; 32];

pub fn key(token: &str) -> Key {
    Sha256::digest(token.as_bytes()).into()
}

struct Entry {
    info: Arc<TokenInfo>,
    until: Instant,
    bytes: usize,
    /// Which of the key's places in `order` is the current one.
    seq: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// Insertion order, for eviction; a place whose `seq` is not its
    /// entry's is left over from a replaced or expired entry.
    order: VecDeque<(Key, u64)>,
    bytes: usize,
    next_seq: u64,
}

pub struct TokenCache {
    ttl: Duration,
    max_entries: usize,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

/// Bytes an entry costs besides its token data.
const ENTRY_OVERHEAD: usize = 128;

impl TokenCache {
    pub fn new(ttl: Duration, max_entries: usize, max_bytes: usize) -> Self {
        TokenCache { ttl, max_entries, max_bytes, inner: Mutex::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &Key) -> Option<Arc<TokenInfo>> {
        let mut inner = self.lock();
        let fresh = inner.entries.get(key).is_some_and(|e| e.until > Instant::now());
        if fresh {
            return inner.entries.get(key).map(|e| e.info.clone());
        }
        if let Some(stale) = inner.entries.remove(key) {
            inner.bytes -= stale.bytes;
        }
        None
    }

    pub fn put(&self, key: Key, info: Arc<TokenInfo>) {
        let Ok(left) = (info.expires_at - Utc::now()).to_std() else { return };
        let ttl = self.ttl.min(left);
        let bytes = ENTRY_OVERHEAD + info.size();
        if ttl.is_zero() || bytes > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&key) {
            inner.bytes -= old.bytes;
        }
        while inner.entries.len() >= self.max_entries || inner.bytes + bytes > self.max_bytes {
            let Some((oldest, seq)) = inner.order.pop_front() else { break };
            if inner.entries.get(&oldest).is_some_and(|e| e.seq == seq)
                && let Some(old) = inner.entries.remove(&oldest)
            {
                inner.bytes -= old.bytes;
            }
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.entries.insert(key, Entry { info, until: Instant::now() + ttl, bytes, seq });
        inner.order.push_back((key, seq));
        inner.bytes += bytes;
        // Replaced and expired entries leave places behind; keep the
        // queue bounded.
        if inner.order.len() > 2 * self.max_entries {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(k, seq)| entries.get(k).is_some_and(|e| e.seq == *seq));
        }
    }

    #[cfg(test)]
    fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(roles: usize, expires_in: i64) -> Arc<TokenInfo> {
        Arc::new(TokenInfo {
            user_id: "u".into(),
            user_domain_id: None,
            project_id: Some("p".into()),
            project_domain_id: None,
            domain_id: None,
            system_all: false,
            roles: (0..roles).map(|i| format!("role-{i}")).collect(),
            is_admin_project: None,
            expires_at: Utc::now() + chrono::Duration::seconds(expires_in),
        })
    }

    #[test]
    fn entries_live_until_the_cache_time_or_the_token_expiry() {
        let cache = TokenCache::new(Duration::from_millis(200), 10, 1 << 20);
        cache.put(key("a"), info(1, 3600));
        assert_eq!(cache.get(&key("a")).unwrap().user_id, "u");
        assert_eq!(cache.get(&key("b")), None);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(cache.get(&key("a")), None);
        assert_eq!(cache.usage(), (0, 0));

        let long = TokenCache::new(Duration::from_secs(300), 10, 1 << 20);
        long.put(key("expired"), info(1, -1));
        assert_eq!(long.get(&key("expired")), None, "an expired token is not remembered");
        long.put(key("soon"), info(1, 1));
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(long.get(&key("soon")), None, "nor kept past its expiry");
    }

    #[test]
    fn bounded_in_entries_and_bytes() {
        let cache = TokenCache::new(Duration::from_secs(300), 100, 64 * 1024);
        for i in 0..10_000 {
            cache.put(key(&format!("token-{i}")), info(1, 3600));
            let (n, bytes) = cache.usage();
            assert!(n <= 100 && bytes <= 64 * 1024);
        }
        assert!(cache.get(&key("token-9999")).is_some(), "the newest stay");
        assert!(cache.get(&key("token-0")).is_none(), "the oldest went");
        for i in 0..50 {
            cache.put(key(&format!("wide-{i}")), info(200, 3600));
            assert!(cache.usage().1 <= 64 * 1024);
        }
        cache.put(key("huge"), info(100_000, 3600));
        assert!(cache.get(&key("huge")).is_none(), "an entry over the whole budget is not kept");
        for _ in 0..1000 {
            cache.put(key("same"), info(1, 3600));
        }
        assert!(cache.lock().order.len() <= 200);
    }

    #[test]
    fn a_zero_cache_time_keeps_nothing() {
        let cache = TokenCache::new(Duration::ZERO, 10, 1 << 20);
        cache.put(key("a"), info(1, 3600));
        assert_eq!(cache.get(&key("a")), None);
    }
}
