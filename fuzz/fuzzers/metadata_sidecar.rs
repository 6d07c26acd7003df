//! Fuzz target `metadata_sidecar`: see [`ctverify_fuzz::targets::metadata_sidecar`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::metadata_sidecar(data));
