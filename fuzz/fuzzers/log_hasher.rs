//! Fuzz target `log_hasher`: see [`ctverify_fuzz::targets::log_hasher`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::log_hasher(data));
