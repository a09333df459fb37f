//! The HTTP API (axum): thin handlers over a [`Snapshot`]. Routers are composed per area; every
//! error is an [`ApiError`] rendered as problem+json.

pub mod access_log;
mod address;
mod admission;
mod audit;
mod auth;
mod basemap;
mod download;
mod edge;
mod error;
mod extract;
mod features;
pub mod follow;
mod grid_groups;
mod health;
mod layer_stream;
mod limits;
mod log;
mod lookup;
mod metrics;
mod ogc;
mod openapi;
mod proposals;
mod resurveys;
mod route_table;
mod schemas;
mod select;
mod server;
mod suggest;
mod tiles;
mod users;
mod versions;
mod web;
mod workflow;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

pub use address::MAX_BATCH_QUERIES;
pub use admission::{Admission, Pool, PoolConfig, RETRY_AFTER_SECS};
pub use auth::{Authenticated, CSRF_HEADER, ReadAccess, SESSION_COOKIE};
pub use auth::{Clock, SystemClock};
pub use basemap::BasemapConfig;
pub use error::ApiError;
pub use extract::parse_date;
pub use limits::Limits;
pub use lookup::MAX_BATCH_POINTS;
pub use server::{App, ServerLimits, serve, serve_with, shutdown_signal};

use route_table::RouteTable;

use crate::Snapshot;
use crate::audit::AuditReport;
use crate::output::PlaceJson;
use crate::registry::{Level, Touched};
use crate::store::Store;
use crate::tiles::{StyleOptions, TileCache, TileSource};

/// Server settings that affect request handling.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes (413 beyond).
    pub body_limit: usize,
    /// Rendered tiles kept in memory (0: none).
    pub tile_cache: usize,
    /// Style options: raster basemap and glyph URL templates.
    pub style: StyleOptions,
    /// Whether `/metrics` is served and requests are counted for it.
    pub metrics: bool,
    /// Whether reads (registry, lookups, tiles, audit) are open or need a credential.
    pub read_access: ReadAccess,
    /// Caps on the work one request may ask for (413 beyond).
    pub limits: Limits,
    /// Admission of CPU-heavy requests (validation, splits, batches, older snapshots).
    pub cpu_pool: PoolConfig,
    /// Admission of password hashing (logins, new users).
    pub hash_pool: PoolConfig,
    /// Longest time a request may take, body included (503 `timeout` beyond): a client that
    /// trickles its body, or a handler stuck on a lock, frees its connection. 60 s, nginx's
    /// `proxy_read_timeout` and `client_body_timeout`; the slowest legitimate request (an
    /// approval that rebuilds the snapshot) takes a few seconds.
    pub request_timeout: std::time::Duration,
    /// The origin clients reach the server at (`http://host:port`, no trailing slash), for the
    /// absolute URLs in TileJSON, the tile catalog and the style. Configured, never taken from
    /// the request's `Host` header: a forged `Host` would otherwise be written into answers
    /// that caches and other clients reuse.
    pub public_url: String,
    /// The 天地图 basemap proxy: key, upstream, attribution, bounds.
    pub basemap: BasemapConfig,
    /// The access log written by hand into the log's buffer (`serve` logging to a file or
    /// pipe); `None`: each request's line goes through `tracing`.
    pub access_log: Option<access_log::AccessLog>,
    /// Whole GeoJSON layers: which are kept once rendered, and the chunks the others stream in.
    pub whole_layers: WholeLayers,
}

impl Default for ApiConfig {
    fn default() -> Self {
        // 10,000 points of ~40 bytes each, with room for pretty-printed JSON.
        ApiConfig {
            body_limit: 2 * 1024 * 1024,
            // ~10 KB a tile on average: about 200 MB at most.
            tile_cache: 20_000,
            style: StyleOptions::default(),
            read_access: ReadAccess::Open,
            metrics: true,
            limits: Limits::default(),
            cpu_pool: PoolConfig::cpu_default(),
            hash_pool: PoolConfig::hash_default(),
            basemap: BasemapConfig::default(),
            request_timeout: std::time::Duration::from_secs(60),
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            access_log: None,
            whole_layers: WholeLayers::default(),
        }
    }
}

/// The public URL when none is configured: the default listening address.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// Checks a `--public-url`: `http://` or `https://`, a host, no path, query or fragment (the
/// routes are appended to it). Returns it without a trailing slash.
pub fn parse_public_url(url: &str) -> Result<String, String> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or_else(|| format!("public URL {url:?}: must start with http:// or https://"))?;
    if rest.is_empty()
        || rest
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '"'))
    {
        return Err(format!(
            "public URL {url:?}: give scheme, host and port only, e.g. https://map.example.org"
        ));
    }
    Ok(trimmed.to_owned())
}

/// The public URL of a server bound to `bound` when none is configured: the bound address, with
/// a wildcard address (0.0.0.0, ::) replaced by loopback, since a wildcard is not reachable.
pub fn default_public_url(bound: std::net::SocketAddr) -> String {
    let ip = match bound.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }
        ip => ip,
    };
    format!("http://{}", std::net::SocketAddr::new(ip, bound.port()))
}

/// The largest whole GeoJSON collection (in vertices) a snapshot keeps once rendered: about
/// 30 MB of JSON. The sample city's are kept, so they are served from memory as before; a ×100
/// city's three held 0.9 GB (issue 20), so they are rendered per request, the same bytes, by the
/// same function.
const KEPT_COLLECTION_VERTICES: usize = 1_000_000;

/// How whole GeoJSON layers (`GET /api/v1/grids` with no filter) are answered: those of at most
/// `kept_vertices` vertices in WGS84 from bytes kept once rendered; the others, and every one in
/// another CRS, streamed in chunks of about `chunk_bytes` ([`layer_stream`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeLayers {
    /// The largest layer kept rendered ([`KEPT_COLLECTION_VERTICES`] unless tests lower it).
    pub kept_vertices: usize,
    /// Bytes a streamed chunk holds at least (its last feature ends past them), but the last.
    pub chunk_bytes: usize,
}

impl Default for WholeLayers {
    fn default() -> Self {
        WholeLayers {
            kept_vertices: KEPT_COLLECTION_VERTICES,
            chunk_bytes: layer_stream::CHUNK_BYTES,
        }
    }
}

/// Vertices of every area of `level` (rings' closing repeats included).
fn layer_vertices(registry: &crate::registry::Registry, level: Level) -> usize {
    let count = |area: &geo::MultiPolygon<f64>| -> usize {
        area.iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum()
    };
    match level {
        Level::Town => registry.towns.iter().map(|t| count(&t.area)).sum(),
        Level::Community => registry
            .communities
            .iter()
            .filter_map(|c| c.territory.as_deref())
            .map(count)
            .sum(),
        Level::Grid => registry.grids.iter().map(|g| count(&g.area)).sum(),
    }
}

/// A snapshot as published by the server, with renderings that are computed once per snapshot.
pub struct Published {
    snapshot: Snapshot,
    /// Distinct for every snapshot published by this process, increasing; keys cached tiles.
    version: u64,
    /// The stored registry version it was built from (`None` when served from files only).
    registry_version: Option<i64>,
    /// The whole GeoJSON collections kept once rendered: only those of at most
    /// `kept_collection_vertices` vertices (see [`KEPT_COLLECTION_VERTICES`]).
    collections: [OnceLock<Bytes>; 3],
    kept_collection_vertices: usize,
    audit: OnceLock<Arc<AuditReport>>,
    tiles: OnceLock<TileSource>,
    /// The lookup answers' pieces ([`PlaceJson`]), written when the snapshot is published so
    /// that no lookup waits for them (a few milliseconds on the sample city).
    place_json: PlaceJson,
    /// When it was published (Unix seconds), for `/metrics`.
    published_at: u64,
}

impl Published {
    fn new(snapshot: Snapshot, registry_version: Option<i64>, kept_vertices: usize) -> Arc<Self> {
        static NEXT_VERSION: AtomicU64 = AtomicU64::new(1);
        let place_json = PlaceJson::new(&snapshot.registry);
        Arc::new(Published {
            snapshot,
            version: NEXT_VERSION.fetch_add(1, Ordering::Relaxed),
            registry_version,
            collections: Default::default(),
            kept_collection_vertices: kept_vertices,
            audit: OnceLock::new(),
            tiles: OnceLock::new(),
            place_json,
            published_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        })
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The process-local version (distinct per published snapshot).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// When this snapshot was published (Unix seconds).
    pub fn published_at(&self) -> u64 {
        self.published_at
    }

    /// The stored registry version this snapshot shows, if it came from the store.
    pub fn registry_version(&self) -> Option<i64> {
        self.registry_version
    }

    /// The snapshot's tile source, built on first use (unless publication brought it).
    pub fn tile_source(&self) -> &TileSource {
        self.tiles
            .get_or_init(|| TileSource::new(&self.snapshot.registry))
    }

    /// The lookup answers' pieces.
    pub(crate) fn place_json(&self) -> &PlaceJson {
        &self.place_json
    }

    /// The tile source of `after`, a snapshot made from this one by a change (`touched`, when
    /// known), derived from this snapshot's tile source ([`TileSource::with_change`]) with every
    /// zoom prepared; `None` when this one's is not built yet (then `after`'s is built whole
    /// when published, as at start-up).
    pub fn tiles_after(&self, after: &Snapshot, touched: Option<&Touched>) -> Option<TileSource> {
        let old = self.tiles.get()?;
        let started = std::time::Instant::now();
        let tiles = TileSource::with_change(old, &self.snapshot.registry, &after.registry, touched);
        tracing::info!(
            "tile source carried over to the new snapshot in {:.1} ms ({} of {} shapes cut again)",
            started.elapsed().as_secs_f64() * 1e3,
            tiles.recut_shapes().unwrap_or(0),
            tiles.shape_count()
        );
        Some(tiles)
    }

    /// The coverage audit of the snapshot, computed on first use.
    fn audit(&self) -> Arc<AuditReport> {
        self.audit
            .get_or_init(|| Arc::new(self.snapshot.audit(&|_, _| {})))
            .clone()
    }

    /// Builds now what is otherwise built on first use (tile topology and its simplified shapes
    /// at every zoom, audit, the collections it keeps), so that no request waits for it: the first
    /// tile after start-up took 196–365 ms when the topology was built on the request path, and
    /// the first tile of each zoom 11–32 ms while that zoom's shapes were simplified.
    pub fn warm(&self) {
        let phase = |what: &str, started: std::time::Instant| {
            tracing::info!("{what} in {:.0} ms", started.elapsed().as_secs_f64() * 1e3);
        };
        let started = std::time::Instant::now();
        self.tile_source();
        phase("tile topology and label points", started);
        let started = std::time::Instant::now();
        self.tile_source().prepare_all_zooms();
        phase("simplified shapes of z0-z16", started);
        let started = std::time::Instant::now();
        self.audit();
        phase("audit", started);
        let started = std::time::Instant::now();
        let (kept, per_request): (Vec<Level>, Vec<Level>) = Level::ALL
            .into_iter()
            .partition(|&l| self.keeps_collection(l));
        for &level in &kept {
            self.collection(level);
        }
        phase("collections", started);
        let names =
            |levels: &[Level]| -> Vec<&str> { levels.iter().map(|l| l.collection()).collect() };
        tracing::info!(
            "collections kept: {:?}; streamed per request (over {} vertices): {:?}",
            names(&kept),
            self.kept_collection_vertices,
            names(&per_request)
        );
    }

    /// Whether the whole collection of `layer` is kept once rendered.
    fn keeps_collection(&self, layer: Level) -> bool {
        layer_vertices(&self.snapshot.registry, layer) <= self.kept_collection_vertices
    }

    /// The full GeoJSON collection of `layer`: kept from its first rendering when small enough
    /// ([`KEPT_COLLECTION_VERTICES`]), else rendered for this request.
    fn collection(&self, layer: Level) -> Bytes {
        let cell = &self.collections[layer.index()];
        if let Some(bytes) = cell.get() {
            return bytes.clone();
        }
        if !self.keeps_collection(layer) {
            return features::render_all(&self.snapshot.registry, layer);
        }
        cell.get_or_init(|| features::render_all(&self.snapshot.registry, layer))
            .clone()
    }
}

/// Tile settings that outlive a snapshot: the cache is shared by every version.
struct TileSettings {
    cache: TileCache,
    style: StyleOptions,
    /// [`ApiConfig::public_url`].
    public_url: String,
}

/// Shared state of all handlers. Clones share everything: publishing a snapshot through one
/// clone is seen by every handler at its next request. One `Arc`, because axum clones the state
/// into every request's handler: a clone is then one atomic increment, not one per field (at
/// 40,000 lookups a second, the per-field clones and drops cost 5 % of the workers' time).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares (reached through `Deref`).
#[derive(Clone)]
pub struct Shared {
    current: Arc<RwLock<Arc<Published>>>,
    tiles: Arc<TileSettings>,
    store: Option<Arc<Store>>,
    /// Held while a proposal moves, so approvals commit and publish one at a time, in order.
    moves: Arc<tokio::sync::Mutex<()>>,
    /// Snapshots of past versions built for `as_of` requests, most recent use last.
    history: Arc<Mutex<Vec<Arc<Published>>>>,
    /// Held while a past snapshot is built, so concurrent requests for it wait for one build.
    history_builds: Arc<tokio::sync::Mutex<()>>,
    /// Bounded pools for CPU-heavy work and password hashing.
    admission: Arc<Admission>,
    limits: Limits,
    basemap: Arc<BasemapConfig>,
    /// Failed-login counters (back-off per account and per client address).
    logins: Arc<crate::accounts::throttle::Throttle>,
    /// The time the login back-off counts in; a manual clock in tests.
    clock: Arc<dyn Clock>,
    /// Counters for `/metrics`.
    metrics: Arc<metrics::Metrics>,
    /// How whole layers are answered ([`ApiConfig::whole_layers`]).
    whole_layers: WholeLayers,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Past versions kept built at once (each is a whole snapshot: ~100 MB for the sample city).
const HISTORY_KEPT: usize = 3;

impl AppState {
    pub fn new(snapshot: Snapshot) -> Self {
        Self::with_config(snapshot, &ApiConfig::default())
    }

    /// A state whose tile cache and style follow `config`.
    pub fn with_config(snapshot: Snapshot, config: &ApiConfig) -> Self {
        let kept = config.whole_layers.kept_vertices;
        Self::build(Published::new(snapshot, None, kept), config, None)
    }

    /// A state backed by `store`, serving `snapshot` (the store's `registry_version`).
    pub fn with_store(
        snapshot: Snapshot,
        registry_version: i64,
        store: Arc<Store>,
        config: &ApiConfig,
    ) -> Self {
        Self::build(
            Published::new(
                snapshot,
                Some(registry_version),
                config.whole_layers.kept_vertices,
            ),
            config,
            Some(store),
        )
    }

    fn build(published: Arc<Published>, config: &ApiConfig, store: Option<Arc<Store>>) -> Self {
        AppState(Arc::new(Shared {
            current: Arc::new(RwLock::new(published)),
            tiles: Arc::new(TileSettings {
                cache: TileCache::new(config.tile_cache),
                style: config.style.clone(),
                public_url: config.public_url.clone(),
            }),
            store,
            moves: Arc::default(),
            history: Arc::default(),
            history_builds: Arc::default(),
            admission: Arc::new(Admission::new(config.cpu_pool, config.hash_pool)),
            limits: config.limits,
            basemap: Arc::new(config.basemap.clone()),
            logins: Arc::default(),
            clock: Arc::new(SystemClock::default()),
            metrics: Arc::new(metrics::Metrics::new()),
            whole_layers: config.whole_layers,
        }))
    }

    /// The same state with the login back-off counting time on `clock` (tests move it by hand
    /// instead of sleeping).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        Arc::make_mut(&mut self.0).clock = clock;
        self
    }

    /// Publishes a new snapshot: requests that start from now on see it; requests already
    /// running finish on the one they started with. Cached tiles of older snapshots are no
    /// longer served (the cache is keyed by the process-local version).
    /// What is built lazily per snapshot is then built on a background thread ([`Published::warm`]),
    /// so that it is ready before the first requests for it arrive.
    pub fn publish(&self, snapshot: Snapshot, registry_version: Option<i64>) {
        self.publish_with_audit(snapshot, registry_version, None);
    }

    /// [`AppState::publish`] with the snapshot's audit when the caller has computed it already
    /// (an approval's gate does), so that it is not computed again.
    pub fn publish_with_audit(
        &self,
        snapshot: Snapshot,
        registry_version: Option<i64>,
        audit: Option<AuditReport>,
    ) {
        self.publish_prepared(snapshot, registry_version, audit, None);
    }

    /// [`AppState::publish_with_audit`] with the snapshot's tile source too when the caller has
    /// made it already (an approval derives it from the current one,
    /// [`Published::tiles_after`]), so that the first tile asked of the new snapshot does not
    /// wait for a whole build.
    pub fn publish_prepared(
        &self,
        snapshot: Snapshot,
        registry_version: Option<i64>,
        audit: Option<AuditReport>,
        tiles: Option<TileSource>,
    ) {
        let published = self.prepared(snapshot, registry_version, audit, tiles);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = published.clone();
        Self::warm_later(published);
    }

    /// Publishes `snapshot` of the stored registry `version` unless the snapshot served is
    /// that version or a newer one already; whether it did. A server sharing its database with
    /// others learns of their approvals (and of its own, a second time) this way, in any order,
    /// and never goes back to an older version.
    pub fn publish_if_newer(&self, snapshot: Snapshot, version: i64) -> bool {
        self.publish_prepared_if_newer(snapshot, version, None, None)
    }

    /// [`AppState::publish_if_newer`] with the audit and tile source the caller made already
    /// (a version followed from its rows, as [`AppState::publish_prepared`] has them).
    pub fn publish_prepared_if_newer(
        &self,
        snapshot: Snapshot,
        version: i64,
        audit: Option<AuditReport>,
        tiles: Option<TileSource>,
    ) -> bool {
        let published = self.prepared(snapshot, Some(version), audit, tiles);
        {
            let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
            if current.registry_version.is_some_and(|v| v >= version) {
                return false;
            }
            *current = published.clone();
        }
        Self::warm_later(published);
        true
    }

    /// A snapshot to publish, with its audit and tile source when the caller made them already.
    fn prepared(
        &self,
        snapshot: Snapshot,
        registry_version: Option<i64>,
        audit: Option<AuditReport>,
        tiles: Option<TileSource>,
    ) -> Arc<Published> {
        let published = Published::new(snapshot, registry_version, self.whole_layers.kept_vertices);
        if let Some(audit) = audit {
            let _ = published.audit.set(Arc::new(audit));
        }
        if let Some(tiles) = tiles {
            let _ = published.tiles.set(tiles);
        }
        published
    }

    fn warm_later(published: Arc<Published>) {
        let warming = std::thread::Builder::new()
            .name("warm-snapshot".into())
            .spawn(move || published.warm());
        if let Err(e) = warming {
            // Not fatal: everything is still built on first use.
            tracing::warn!("cannot start a thread to prepare the new snapshot: {e}");
        }
    }

    /// The snapshot being served now.
    /// Waits until no proposal moves on this server, and holds the moves until the guard is
    /// dropped: an approval commits its version and publishes it under this guard, so versions
    /// are published in order, and whoever follows the store ([`follow::catch_up`]) waits for
    /// it rather than building a version this server is about to publish.
    pub async fn move_in_flight(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.moves.lock().await
    }

    pub fn published(&self) -> Arc<Published> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The registry as it stood on `date`: the published snapshot if that version is still in
    /// force, else a snapshot of the older version (built on first use, a few kept).
    pub async fn published_as_of(&self, date: time::Date) -> Result<Arc<Published>, ApiError> {
        let Some(store) = self.store.clone() else {
            return Err(ApiError::bad_request(
                "parameter `as_of`: this server keeps no history (it serves files, not a database)",
            ));
        };
        let current = self.published();
        let version = store
            .read(|c| crate::store::registry::version_as_of(c, Some(date)))
            .map_err(|e| match e {
                crate::store::registry::AsOfError::Store(e) => ApiError::from(e),
                e => ApiError::not_found(e.to_string()),
            })?;
        if current.registry_version == Some(version.id) {
            return Ok(current);
        }
        let history = || self.history.lock().unwrap_or_else(|p| p.into_inner());
        let kept_version = || {
            let mut kept = history();
            let at = kept
                .iter()
                .position(|p| p.registry_version == Some(version.id))?;
            let hit = kept.remove(at);
            kept.push(hit.clone());
            Some(hit)
        };
        if let Some(hit) = kept_version() {
            return Ok(hit);
        }
        // One build at a time: the map asks for a dozen tiles of the past day at once, and each
        // would otherwise build the same snapshot (and fill the admission pool with copies).
        let _building = self.history_builds.lock().await;
        if let Some(hit) = kept_version() {
            return Ok(hit);
        }
        let id = version.id;
        let snapshot = self
            .admission
            .cpu
            .run(move || crate::store::registry::snapshot_of(&store, id))
            .await??;
        let published = Published::new(snapshot, Some(id), self.whole_layers.kept_vertices);
        let mut kept = history();
        if kept.len() >= HISTORY_KEPT {
            kept.remove(0);
        }
        kept.push(published.clone());
        Ok(published)
    }

    /// The admission pools (tests fill them with [`Pool::occupy`]).
    pub fn admission(&self) -> &Admission {
        &self.admission
    }

    /// The caps on the work one request may ask for.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The basemap proxy's configuration.
    pub fn basemap(&self) -> &BasemapConfig {
        &self.basemap
    }

    /// The store, when the server keeps one.
    pub fn store(&self) -> Option<&Arc<Store>> {
        self.store.as_ref()
    }

    /// The published snapshot's process-local version.
    pub fn version(&self) -> u64 {
        self.published().version
    }

    /// Tiles currently cached (all versions).
    pub fn cached_tiles(&self) -> usize {
        self.tiles.cache.len()
    }

    fn tile_settings(&self) -> &TileSettings {
        &self.tiles
    }
}

/// `/tiles/…`: catalog, TileJSON and tiles.
fn tiles_router() -> RouteTable {
    RouteTable::new()
        .route("/tiles/catalog", get(tiles::catalog))
        .route("/tiles/{file}", get(tiles::tilejson))
        .route("/tiles/{layers}/{z}/{x}/{y}", get(tiles::tile))
}

/// Who made a request, as the request log names it: filled in by the credential check
/// ([`Authenticated`], the read gate, login) when one succeeds.
#[derive(Clone, Default)]
pub(crate) struct LoggedUser(Arc<OnceLock<String>>);

impl LoggedUser {
    /// Names the request's user in the slot the request carries (if any).
    pub(crate) fn set(extensions: &axum::http::Extensions, user: &str) {
        if let Some(slot) = extensions.get::<LoggedUser>() {
            slot.name(user);
        }
    }

    pub(crate) fn name(&self, user: &str) {
        let _ = self.0.set(user.to_owned());
    }

    /// The user named, if any.
    pub(crate) fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

/// `/api/v1/…` reads of the registry: lookups, addresses, features, versions and history.
fn registry_routes() -> RouteTable {
    RouteTable::new()
        .route(
            "/api/v1/lookup", // = lookup::PATH, which the edge answers before routing
            get(lookup::lookup_one).post(lookup::lookup_batch),
        )
        .route(
            "/api/v1/address",
            get(address::address_one).post(address::address_batch),
        )
        .route("/api/v1/towns", get(features::towns))
        .route("/api/v1/towns/{code}", get(features::town))
        .route("/api/v1/communities", get(features::communities))
        .route("/api/v1/communities/{code}", get(features::community))
        .route("/api/v1/grids", get(features::grids))
        .route("/api/v1/grids/{code}", get(features::grid))
        .route("/api/v1/versions", get(versions::list))
        .route("/api/v1/versions/{a}/diff/{b}", get(versions::diff))
        .route("/api/v1/{layer}/{code}/history", get(versions::history))
        .route("/api/v1/audit", get(audit::report))
        .route("/api/v1/audit.geojson", get(audit::geojson))
        .route("/api/v1/audit/findings", get(audit::findings))
        .route("/api/v1/openapi.json", get(openapi::openapi))
        .route("/api/v1/docs", get(openapi::docs))
}

/// `/api/v1/proposals…`: stored proposals and their procedure, validation, splits, suggestions.
fn proposal_routes() -> RouteTable {
    RouteTable::new()
        .route(
            "/api/v1/proposals",
            get(workflow::list).post(workflow::create),
        )
        .route(
            "/api/v1/proposals/{id}",
            get(workflow::show).put(workflow::edit),
        )
        .route(
            "/api/v1/resurveys",
            post(resurveys::upload).layer(DefaultBodyLimit::max(resurveys::UPLOAD_LIMIT)),
        )
        .route("/api/v1/proposals/{id}/comments", post(workflow::comment))
        .route("/api/v1/proposals/{id}/vote", post(workflow::vote))
        .route(
            "/api/v1/proposals/{id}/transition",
            post(workflow::transition),
        )
        .route(
            "/api/v1/proposals/validate",
            post(proposals::validate_proposal),
        )
        .route("/api/v1/proposals/split", post(proposals::split))
        .route("/api/v1/proposals/suggest", post(suggest::suggest))
        .route(
            "/api/v1/proposals/grid-groups",
            post(grid_groups::grid_groups),
        )
        .route(
            "/api/v1/proposals/assignment",
            post(grid_groups::assignment),
        )
}

/// `/api/v1/…` of accounts: sign-in, users, tokens and the audit log.
fn account_routes() -> RouteTable {
    RouteTable::new()
        .route("/api/v1/login", post(auth::login))
        .route("/api/v1/logout", post(auth::logout))
        .route("/api/v1/me", get(auth::me))
        .route("/api/v1/users", get(users::list).post(users::add))
        .route("/api/v1/users/{name}/disable", post(users::disable))
        .route(
            "/api/v1/tokens",
            get(users::tokens).post(users::create_token),
        )
        .route("/api/v1/tokens/{id}", delete(users::revoke_token))
        .route("/api/v1/log", get(log::entries))
        .route("/api/v1/log/verify", get(log::verify))
}

/// The complete router: [`service`] as a [`Router`], for in-process callers and tests.
pub fn router(state: AppState, config: &ApiConfig) -> Router {
    Router::new().fallback_service(service(state, config))
}

/// The whole application as one service: API routes, problem+json fallbacks, body limit, the
/// read gate (with [`ReadAccess::Token`]), and the [edge](edge) around it all (request log,
/// metrics, CORS, compression, time limit). [`serve`] runs it as it is: wrapped in a `Router`
/// (as [`router`] does) every request also went through an outer router with nothing but a
/// fallback, a twelfth of a lookup's instructions (BENCHMARKS.md, issue 19).
pub fn service(
    state: AppState,
    config: &ApiConfig,
) -> impl tower::Service<
    axum::extract::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    let table = RouteTable::new()
        .route("/health", get(health::health))
        .merge(registry_routes())
        .merge(proposal_routes())
        .merge(account_routes())
        .merge(tiles_router())
        .merge(ogc::routes())
        .route("/style.json", get(tiles::style))
        .route("/basemap", get(basemap::info))
        .route("/basemap/{layer}/{z}/{x}/{y}", get(basemap::tile))
        .route("/", get(web::index))
        .route("/web/{*path}", get(web::file));
    let table = if config.metrics {
        table.route("/metrics", get(metrics::metrics))
    } else {
        table
    };
    let (routes, templates) = table.build();
    let routes = routes
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not accept that method",
            )
        });
    let routes = if config.read_access == ReadAccess::Token {
        routes.layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::read_gate,
        ))
    } else {
        routes
    };
    let metrics = config.metrics.then(|| state.metrics.clone());
    let lookup = (config.read_access == ReadAccess::Open).then(|| state.clone());
    let routes = routes.with_state(state);
    // Wrapped once around the whole router rather than with `Router::layer`, which gives every
    // route its own copy of the stack: axum clones the matched route's stack for each request,
    // and each layer clones what is inside it again (callgrind: 58,000 instructions a lookup
    // with the layers per route against 27,000 without any; BENCHMARKS.md, issue 19).
    let inner = tower::Layer::layer(&DefaultBodyLimit::max(config.body_limit), routes);
    edge::Edge::new(
        inner,
        edge::EdgeConfig {
            templates,
            metrics,
            time_limit: config.request_timeout,
            access_log: config.access_log.clone(),
            lookup,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mini() -> Snapshot {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mini");
        match Snapshot::load(&dir) {
            Ok(s) => s,
            Err(e) => panic!("the mini city must load: {e}"),
        }
    }

    fn is_warm(p: &Published) -> bool {
        p.tiles.get().is_some()
            && p.audit.get().is_some()
            && p.collections.iter().all(|c| c.get().is_some())
    }

    #[test]
    fn warming_builds_what_requests_would_otherwise_build() {
        let state = AppState::new(mini());
        assert!(!is_warm(&state.published()));
        state.published().warm();
        assert!(is_warm(&state.published()));
    }

    /// A collection above the bound is not kept (nor rendered at warm-up) and is served as
    /// the same bytes as a kept one; the mini city's are all kept.
    #[test]
    fn large_collections_are_rendered_per_request_as_the_same_bytes() {
        let kept = Published::new(mini(), None, KEPT_COLLECTION_VERTICES);
        let mut unkept = Published::new(mini(), None, KEPT_COLLECTION_VERTICES);
        match Arc::get_mut(&mut unkept) {
            Some(p) => p.kept_collection_vertices = 0,
            None => panic!("a new Published is not shared"),
        }
        kept.warm();
        unkept.warm();
        for level in Level::ALL {
            assert!(kept.collections[level.index()].get().is_some());
            assert!(unkept.collections[level.index()].get().is_none());
            let bytes = unkept.collection(level);
            assert!(unkept.collections[level.index()].get().is_none());
            assert!(!bytes.is_empty());
            assert_eq!(bytes, kept.collection(level), "{level:?}");
            assert_eq!(
                bytes,
                features::render_all(&mini().registry, level),
                "{level:?}"
            );
        }
    }

    #[test]
    fn an_audit_handed_to_publish_is_served_not_recomputed() {
        let state = AppState::new(mini());
        let snapshot = mini();
        let mut audit = crate::audit::audit(&snapshot.registry, &snapshot.guidelines, &|_, _| {});
        // A mark no recomputation would produce.
        audit.summary.findings = 123_456;
        state.publish_with_audit(snapshot, None, Some(audit));
        assert_eq!(state.published().audit().summary.findings, 123_456);
    }

    #[test]
    fn tiles_derived_for_a_new_snapshot_are_published_with_it() {
        let state = AppState::new(mini());
        let before = state.published();
        // Not built yet: nothing to derive from, the new snapshot builds its own.
        assert!(before.tiles_after(&mini(), None).is_none());
        before.warm();
        let tiles = before.tiles_after(&mini(), None);
        // The same city: every shape carried over, none cut again.
        assert_eq!(tiles.as_ref().and_then(TileSource::recut_shapes), Some(0));
        state.publish_prepared(mini(), None, None, tiles);
        // There the moment it is published, not built by the warm-up thread.
        let published = state.published();
        let source = published.tiles.get();
        assert_eq!(source.and_then(TileSource::recut_shapes), Some(0));
    }

    #[test]
    fn a_published_snapshot_is_warmed_without_any_request() {
        let state = AppState::new(mini());
        state.publish(mini(), None);
        let published = state.published();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !is_warm(&published) {
            assert!(
                std::time::Instant::now() < deadline,
                "the new snapshot was not prepared within 60 s"
            );
            std::thread::yield_now();
        }
    }
}
