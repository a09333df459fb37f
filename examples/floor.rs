//! The HTTP floor for `bench/floor.sh` (issue 19): a bare axum server that answers
//! `GET /api/v1/lookup` with fixed bytes (a lookup answer shequ gave), with no middleware, no
//! logging and no lookup. shequ's single-GET lookup throughput is quoted as a share of what this
//! server reaches in the same run on the same machine: the rest is what shequ itself costs.
//!
//! `cargo run --release --example floor -- ADDR BODY_FILE`

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(body_file)) = (args.next(), args.next()) else {
        return Err("usage: floor ADDR BODY_FILE".into());
    };
    let body = Bytes::from(std::fs::read(&body_file)?);
    // The same runtime shequ serves on: tokio's multi-threaded default, one worker per core.
    tokio::runtime::Runtime::new()?.block_on(async move {
        let app = Router::new().route(
            "/api/v1/lookup",
            get(move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        eprintln!("floor serving on http://{}", listener.local_addr()?);
        if std::env::var_os("FLOOR_SHEQU_LOOP").is_some() {
            shequ::api::serve(listener, app, std::future::pending()).await?;
        } else {
            axum::serve(listener, app).await?;
        }
        Ok(())
    })
}
