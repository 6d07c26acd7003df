//! Fuzz target `key_file`: see [`ctverify_fuzz::targets::key_file`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::key_file(data));
