//! Fuzz target `object_keys`: see [`ctverify_fuzz::targets::object_keys`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::object_keys(data));
