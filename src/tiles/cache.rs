//! A bounded in-memory cache of rendered tiles.
//!
//! Keys carry the snapshot version, so a tile of an older registry can never answer a request
//! against a newer one; old entries simply age out. Eviction is first-in first-out per shard:
//! tile traffic is dominated by a small hot set that is re-inserted soon after falling out,
//! and FIFO needs no bookkeeping on the read path, which is the hot one.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

/// Shards, so concurrent readers rarely wait on the same lock.
const SHARDS: usize = 16;

/// What identifies a rendered tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileKey {
    /// Snapshot version the tile was rendered from.
    pub version: u64,
    /// [`super::LayerSet::key`].
    pub layers: u64,
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// A rendered tile: its bytes (`None` when empty) and a strong validator of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedTile {
    pub body: Option<Bytes>,
    pub etag: Arc<str>,
}

impl CachedTile {
    /// Wraps rendered bytes with an ETag derived from the bytes themselves, so identical tiles
    /// of two snapshots validate each other and a changed tile never does.
    pub fn new(body: Option<Vec<u8>>) -> Self {
        let mut h = DefaultHasher::new();
        body.as_deref().unwrap_or_default().hash(&mut h);
        let etag = format!(
            "\"{:016x}-{:x}\"",
            h.finish(),
            body.as_ref().map_or(0, Vec::len)
        );
        CachedTile {
            body: body.map(Bytes::from),
            etag: etag.into(),
        }
    }
}

#[derive(Default)]
struct Shard {
    map: HashMap<TileKey, CachedTile>,
    order: VecDeque<TileKey>,
}

/// At most `capacity` tiles (0 disables caching).
pub struct TileCache {
    per_shard: usize,
    shards: Vec<Mutex<Shard>>,
}

impl TileCache {
    pub fn new(capacity: usize) -> Self {
        TileCache {
            per_shard: capacity.div_ceil(SHARDS),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, key: &TileKey) -> MutexGuard<'_, Shard> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let shard = &self.shards[(h.finish() as usize) % SHARDS];
        // A panic while holding the lock cannot leave a half-written entry behind (inserts are
        // single map operations), so a poisoned shard is still sound.
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, key: &TileKey) -> Option<CachedTile> {
        self.shard(key).map.get(key).cloned()
    }

    pub fn insert(&self, key: TileKey, tile: CachedTile) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self.shard(&key);
        if shard.map.insert(key, tile).is_none() {
            shard.order.push_back(key);
        }
        while shard.order.len() > self.per_shard {
            if let Some(old) = shard.order.pop_front() {
                shard.map.remove(&old);
            }
        }
    }

    /// Tiles held now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).map.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(version: u64, x: u32) -> TileKey {
        TileKey {
            version,
            layers: 1,
            z: 10,
            x,
            y: 0,
        }
    }

    #[test]
    fn bounded_and_keyed_by_version() {
        let cache = TileCache::new(32);
        for x in 0..1000 {
            cache.insert(key(1, x), CachedTile::new(Some(vec![x as u8])));
        }
        assert!(cache.len() <= 32, "{}", cache.len());
        cache.insert(key(1, 5000), CachedTile::new(Some(vec![1])));
        assert!(cache.get(&key(1, 5000)).is_some());
        assert!(cache.get(&key(2, 5000)).is_none());
    }

    #[test]
    fn zero_capacity_holds_nothing_and_etags_follow_bytes() {
        let cache = TileCache::new(0);
        cache.insert(key(1, 1), CachedTile::new(None));
        assert!(cache.is_empty());
        let a = CachedTile::new(Some(vec![1, 2, 3]));
        assert_eq!(a.etag, CachedTile::new(Some(vec![1, 2, 3])).etag);
        assert_ne!(a.etag, CachedTile::new(Some(vec![1, 2, 4])).etag);
        assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
    }
}
