//! S3 mode: the same core driver as a local copy, over `aws-sdk-s3` and
//! `aws-sdk-cloudtrail` (tokio). Requests run concurrently (`--jobs`),
//! log bodies stream through the core's hasher on the blocking pool, and
//! faults that outlast the retries are `read_error`, never tampering.

pub mod body;
pub mod client;
pub mod compat;
pub mod export;
pub mod limits;
pub mod store;
pub mod strict;
pub mod trail;

/// The runtime of an S3 run: worker threads for the requests; hashing runs
/// on its blocking pool.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
