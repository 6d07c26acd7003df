//! # ctverify-core
//!
//! ctverify-core reads no files, opens no sockets and reads no clock. It is
//! the verification logic of ctverify — CloudTrail digest parsing, public
//! keys, signatures, chain and coverage logic, streaming log hashing and the
//! report — shared by the CLI (local directory or S3) and the browser (WASM).
//!
//! Bytes flow in from the front end and findings flow out:
//!
//! ```text
//!   front end                        core (verify::Driver)
//!   ---------                        ----
//!   list prefixes ──────────────▶  verify::Listing        which prefixes (never the whole bucket)
//!   listed keys ────────────────▶  Driver::plan           which digests to load
//!   load digests (parallel) ────▶  ParsedDigest::parse    on the worker; Driver::add_digest
//!                                  Driver::analyze        signatures, chain, coverage → log jobs
//!   stream each log ────────────▶  logs::LogHasher        (in parallel, chunk by chunk)
//!   log results (any order) ────▶  Driver::log_result ──▶ report::Sink events
//!                                  Driver::finish ──────▶ report::Report
//! ```
//!
//! "Now" is an input ([`verify::Options::now`]), so results are reproducible.
//! A digest is trusted only through [`verify::Verified`], which only the
//! signature check creates.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "compat")]
pub mod compat;
pub mod digest;
pub mod gzip;
pub mod keys;
pub mod layout;
pub mod logs;
pub mod report;
pub mod signature;
pub mod strict_json;
pub mod time;
pub mod verify;

pub use report::{Finding, Kind, Report, Sink, Verdict};
pub use time::Timestamp;
