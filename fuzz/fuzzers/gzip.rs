//! Fuzz target `gzip`: see [`ctverify_fuzz::targets::gzip`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::gzip(data));
