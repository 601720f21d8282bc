//! An axum app on gpm: each connection a goroutine, HTTP/1.1 and HTTP/2 on
//! one port, no tokio runtime. `cargo run --release --example axum`, then
//! `curl localhost:3000/users/7` (an address may be given: `-- 127.0.0.1:0`).
use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

async fn user(Path(id): Path<u64>) -> Json<Value> {
    Json(json!({ "id": id, "name": format!("gopher {id}") }))
}

#[gpm::main]
async fn main() -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(|| async { "Hello from a goroutine!\n" }))
        .route("/users/{id}", get(user));
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = gpm::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    gpm_compat::serve(listener, app).await
}
