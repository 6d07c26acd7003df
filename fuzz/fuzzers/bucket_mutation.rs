//! Fuzz target `bucket_mutation`: see [`ctverify_fuzz::bucket`].
#![no_main]

libfuzzer_sys::fuzz_target!(|case: ctverify_fuzz::bucket::Case| ctverify_fuzz::bucket::check(&case));
