//! Whole GeoJSON layers streamed a chunk at a time (issue 20).
//!
//! A ×100 city's grids are 708 MB of GeoJSON. Rendered at once they took ~2 s of an async
//! worker (one of two) and each concurrent download held its own copy (one raised the server
//! from 3.6 to 5.55 GB). Layers too large to keep rendered ([`super::WholeLayers`]), and every
//! layer in another CRS, are therefore sent as a stream: the collection's head, then chunks of
//! about [`CHUNK_BYTES`] of features, then its tail, the same bytes as the whole rendering
//! ([`crate::output::geojson::write_features`]).
//!
//! - Each chunk is rendered by `spawn_blocking`, off the async workers, as a job of a few
//!   milliseconds. Not in the admission pool ([`super::admission`]): a stream lives as long as
//!   its client reads, so a permit held for the whole stream would let two slow downloads shut
//!   out every heavy request, and a permit taken per chunk could be refused in the middle of a
//!   body whose 200 is already sent, truncating it.
//! - A bounded channel ([`CHUNKS_AHEAD`]) is the back-pressure: the renderer waits while the
//!   client has not taken the chunks before, so a slow client holds a few MB, not the layer.
//! - The stream holds the snapshot (`Arc<Published>`) it started with, so a layer never mixes
//!   two versions when an approval publishes a new one meanwhile.
//! - A position outside a projected CRS's area of use is a 400 before any byte, as it was when
//!   the layer was rendered whole: every position is converted once first
//!   ([`crate::output::geojson::check_layer`], a heavy job, so in the admission pool, where an
//!   overloaded server refuses it with 503). The conversion is deterministic, so the chunks
//!   then cannot fail on it; were one to fail all the same, the body is broken off (no final
//!   chunk of the chunked encoding), which clients report as an incomplete transfer rather
//!   than reading a truncated collection as whole. The cost is converting a projected layer
//!   twice (measured in BENCHMARKS.md); the geographic CRSs and GCJ-02/BD-09 convert
//!   everywhere and skip the check.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use hyper::body::Frame;
use tokio::sync::mpsc;

use super::error::ApiError;
use super::{AppState, Published};
use crate::crs::Crs;
use crate::output::geojson::{self, Out};
use crate::registry::{Level, Registry};

/// Bytes a chunk holds at least, but the last (about 700 grids): large enough that a chunk's
/// job and channel hop cost nothing beside its rendering, small enough that a stream holds a
/// few MB.
pub(super) const CHUNK_BYTES: usize = 1 << 20;

/// Chunks rendered and waiting for the client, besides the one being rendered.
const CHUNKS_AHEAD: usize = 2;

type Chunk = Result<Bytes, std::io::Error>;

/// The whole layer `level` of `published` in `crs` (`None`: WGS84 as stored) as a streamed
/// body of chunks of about `chunk_bytes`; a 400 naming `crs` if a position is outside its area
/// of use (checked before answering), a 503 if the server is too busy to check.
pub(super) async fn whole_layer(
    state: &AppState,
    published: Arc<Published>,
    level: Level,
    crs: Option<Crs>,
) -> Result<Body, ApiError> {
    if let Some(crs) = crs.clone().filter(|c| !c.converts_everywhere()) {
        let checked = published.clone();
        state
            .admission()
            .cpu
            .run(move || geojson::check_layer(&checked.snapshot().registry, level, Some(&crs)))
            .await?
            .map_err(|e| ApiError::bad_request(format!("parameter `crs`: {e}")))?;
    }
    let (chunks, received) = mpsc::channel(CHUNKS_AHEAD);
    let chunk_bytes = state.whole_layers.chunk_bytes;
    tokio::spawn(produce(chunks, published, level, crs, chunk_bytes));
    Ok(Body::new(LayerBody { chunks: received }))
}

/// Renders the chunks in order into `chunks`, each as a blocking job, until the layer ends or
/// the client goes away (the receiver is dropped).
async fn produce(
    chunks: mpsc::Sender<Chunk>,
    published: Arc<Published>,
    level: Level,
    crs: Option<Crs>,
    chunk_bytes: usize,
) {
    let mut next = 0;
    loop {
        let job = {
            let published = published.clone();
            let crs = crs.clone();
            tokio::task::spawn_blocking(move || {
                let registry = &published.snapshot().registry;
                render_chunk(registry, level, crs.as_ref(), next, chunk_bytes)
            })
        };
        let failure = match job.await {
            Ok(Ok((bytes, after))) => {
                let done = after >= geojson::layer_len(&published.snapshot().registry, level);
                if chunks.send(Ok(bytes)).await.is_err() || done {
                    return;
                }
                next = after;
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("the chunk's job ended: {e}"),
        };
        tracing::error!(
            "streaming the {} from feature {next} broke off: {failure}",
            level.collection()
        );
        let _ = chunks.send(Err(std::io::Error::other(failure))).await;
        return;
    }
}

/// The chunk of the layer's collection from feature `from` on: the collection's head first
/// when `from` is 0, features up to at least `chunk_bytes` bytes, and the tail after the last
/// feature; with the index of the next feature (the layer's length when it is done).
fn render_chunk(
    registry: &Registry,
    level: Level,
    out: Out,
    from: usize,
    chunk_bytes: usize,
) -> serde_json::Result<(Bytes, usize)> {
    let mut buf = Vec::with_capacity(chunk_bytes.min(4 * CHUNK_BYTES) + 64 * 1024);
    if from == 0 {
        buf.extend_from_slice(&geojson::collection_head(out));
    }
    let next = geojson::write_features(&mut buf, registry, level, out, from, chunk_bytes)?;
    if next >= geojson::layer_len(registry, level) {
        buf.extend_from_slice(geojson::COLLECTION_TAIL);
    }
    Ok((Bytes::from(buf), next))
}

/// The response body: the chunks as the producer sends them; an error breaks the connection
/// off (see the module documentation).
struct LayerBody {
    chunks: mpsc::Receiver<Chunk>,
}

impl hyper::body::Body for LayerBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.chunks
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(Frame::data)))
    }
}
