//! Fuzz target `times`: see [`ctverify_fuzz::targets::times`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::times(data));
