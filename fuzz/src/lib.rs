//! Harnesses of the ctverify fuzz targets.
//!
//! Each binary in `fuzzers/` is a one-line shim (as in rustls' `fuzz/`) that
//! hands libFuzzer's input to a function here:
//!
//! - [`targets`]: one function per parser of untrusted input (gzip framing,
//!   digest JSON, key files, metadata sidecars, object keys, times, ARNs,
//!   streaming log hashing). None may panic; where a parser has a property
//!   that can be checked cheaply (chunking does not change the result, a
//!   parsed key or time prints back to itself...) it is asserted too.
//! - [`bucket`]: structured mutations of a committed test-vector bucket, run
//!   through the whole engine ([`engine::verify_in_memory`]), with the
//!   soundness oracle "never `valid` unless everything vouched for is intact".
//!
//! Keeping the harnesses in a library keeps them testable on stable (see
//! `tests/corpus.rs`, which replays the committed corpus).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bucket;
pub mod engine;
pub mod targets;

use std::io::{Read, Write};
use std::sync::atomic::AtomicBool;

/// When set, the harnesses no longer step around the known core bugs
/// reproduced in `fuzz/artifacts-found/` (see `tests/corpus.rs`).
pub static KNOWN_BUGS: AtomicBool = AtomicBool::new(false);

/// Splits `data` into pieces whose sizes follow a pseudo-random sequence
/// chosen by `seed`, so a fuzz input controls how a streaming parser is fed.
/// The low three bits select the largest piece (1 byte up to 64 KiB), the
/// rest seed the sequence.
pub fn chunks(data: &[u8], seed: u8) -> impl Iterator<Item = &[u8]> {
    const MAX: [usize; 8] = [1, 2, 7, 16, 100, 1024, 4096, 65536];
    let max = MAX[usize::from(seed & 7)];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(seed));
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = (1 + (rng.next() % max as u64) as usize).min(rest.len());
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    })
}

/// The inflated bytes of a single gzip member and how many bytes follow it,
/// decoded by flate2's own gzip reader (framing code independent of
/// `core::gzip`); `None` when flate2 rejects the member.
pub(crate) fn flate2_member(z: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut d = flate2::bufread::GzDecoder::new(z);
    let mut out = Vec::new();
    d.read_to_end(&mut out).ok()?;
    Some((out, d.into_inner().len()))
}

/// Gzip-compresses `data` (flate2, fast level).
pub(crate) fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing to a Vec cannot fail.
    e.write_all(data).expect("gzip into a Vec");
    e.finish().expect("gzip into a Vec")
}

/// Deterministic xorshift64 (the same generator as the core's tests).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
