//! A server sharing a PostgreSQL store with others follows the versions they commit: the
//! store's [watcher](crate::store::pg::watch) reports each newer version (notified at once,
//! polled as a fallback, caught up after an outage), and this builds its snapshot from the
//! database and publishes it, so every replica serves the new city within about a second of
//! the commit and never a mixture (the swap is one pointer).

use std::sync::Arc;
use std::time::Duration;

use super::AppState;
use crate::store::Store;
use crate::store::pg::watch::{Event, Watcher};

/// How often the watcher checks for a new version when no notification arrives, and retries a
/// lost database: a replica whose notification was lost is at most this late.
pub const POLL: Duration = Duration::from_millis(500);

/// Starts following the store of `state` (a PostgreSQL store; `None` for SQLite, whose one
/// server publishes its own approvals). Following stops when the returned watcher is dropped.
pub fn follow(state: &AppState, store: Arc<Store>) -> std::io::Result<Option<Watcher>> {
    let Some(pg) = store.postgres() else {
        return Ok(None);
    };
    let known = state.published().registry_version().unwrap_or(0);
    let url = pg.url().to_owned();
    let state = state.clone();
    Watcher::start(url, known, POLL, move |event| match event {
        Event::Newest(version) => publish(&state, &store, version),
        Event::Lost(reason) => tracing::warn!(
            "database lost ({reason}): serving registry version {} from memory; writes answer \
             503 until it is back",
            state.published().registry_version().unwrap_or(0)
        ),
        Event::Back => tracing::info!("database reachable again"),
    })
    .map(Some)
}

/// Builds and publishes `version` unless it is served already (this server's own approval).
fn publish(state: &AppState, store: &Store, version: i64) {
    if state
        .published()
        .registry_version()
        .is_some_and(|v| v >= version)
    {
        return;
    }
    let started = std::time::Instant::now();
    match crate::store::registry::snapshot_of(store, version) {
        Ok(snapshot) => {
            if state.publish_if_newer(snapshot, version) {
                tracing::info!(
                    "registry version {version} committed by another server: published in \
                     {:.0} ms",
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        Err(e) => tracing::error!("cannot build registry version {version}: {e}"),
    }
}
