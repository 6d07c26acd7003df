//! Fuzz target `arn`: see [`ctverify_fuzz::targets::arn`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| ctverify_fuzz::targets::arn(data));
