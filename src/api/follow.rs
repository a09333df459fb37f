//! A server sharing a PostgreSQL store with others follows the versions they commit: the
//! store's [watcher](crate::store::pg::watch) reports each newer version (notified at once,
//! polled as a fallback, caught up after an outage), and this builds its snapshot from the
//! database and publishes it, so every replica serves the new city within about a second of
//! the commit and never a mixture (the swap is one pointer).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{AppState, Published};
use crate::Snapshot;
use crate::audit::AuditReport;
use crate::store::Store;
use crate::store::pg::watch::{Event, Watcher};
use crate::tiles::TileSource;

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
        Event::Newest(version) => catch_up(&state, &store, version),
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
/// The version after the one served, when an approval made it, is built from the served
/// snapshot and the version's rows ([`follow_change`]); any other is read whole.
pub fn catch_up(state: &AppState, store: &Store, version: i64) {
    // This server's own approval commits its version before publishing it, and the store
    // reports the version in between: wait for the move in flight (a watcher thread may block;
    // an uncontended lock is taken without blocking, wherever this is called from), then see
    // whether it published the version.
    drop(
        state
            .moves
            .try_lock()
            .unwrap_or_else(|_| state.moves.blocking_lock()),
    );
    let current = state.published();
    let served = current.registry_version();
    if served.is_some_and(|v| v >= version) {
        return;
    }
    let started = std::time::Instant::now();
    if served == Some(version - 1) {
        match follow_change(&current, store, version) {
            Ok(Some((snapshot, audit, tiles))) => {
                if state.publish_prepared_if_newer(snapshot, version, Some(audit), tiles) {
                    state
                        .metrics
                        .followed_from_change
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        "registry version {version} committed by another server: built from \
                         its rows and published in {:.0} ms",
                        started.elapsed().as_secs_f64() * 1e3
                    );
                }
                return;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(
                "registry version {version} cannot be built from its rows ({e}): reading it whole"
            ),
        }
    }
    match crate::store::registry::snapshot_of(store, version) {
        Ok(snapshot) => {
            if state.publish_if_newer(snapshot, version) {
                state.metrics.followed_whole.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    "registry version {version} committed by another server: read whole and \
                     published in {:.0} ms",
                    started.elapsed().as_secs_f64() * 1e3
                );
            }
        }
        Err(e) => tracing::error!("cannot build registry version {version}: {e}"),
    }
}

/// `version` built from `current` (the version before it) as the server that approved it
/// built it: the approval's rows applied in memory ([`Snapshot::with_edit`]), its audit from
/// the current one's and its tile source carried over. `None` when no approval made it (it is
/// then read whole).
fn follow_change(
    current: &Published,
    store: &Store,
    version: i64,
) -> Result<Option<(Snapshot, AuditReport, Option<TileSource>)>, String> {
    let Some(stored) = store
        .read(|c| crate::store::registry::edit_of(c, version))
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let (snapshot, touched) = current
        .snapshot()
        .with_edit(&stored.edit())
        .map_err(|e| e.to_string())?;
    let audit = snapshot.audit_after(&current.audit(), &touched);
    let tiles = current.tiles_after(&snapshot, Some(&touched));
    Ok(Some((snapshot, audit, tiles)))
}
