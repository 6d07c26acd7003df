//! S3 mode: the same core driver as a local copy, over `aws-sdk-s3` and
//! `aws-sdk-cloudtrail` (tokio). Requests run concurrently (`--jobs`),
//! log bodies stream through the core's hasher on the blocking pool, and
//! faults that outlast the retries are `read_error`, never tampering.

pub mod body;
pub mod client;
pub mod compat;
pub mod export;
pub mod limits;
pub mod source;
pub mod store;
pub mod strict;
pub mod trail;

pub use crate::run::runtime;
