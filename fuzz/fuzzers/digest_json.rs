//! Fuzz target `digest_json`: see [`ctverify_fuzz::targets::digest_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::digest_json(data));
