#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proton_vcr::fuzz_entry::body_round_trip(data));
