#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proton_vcr::fuzz_entry::matcher_answer(data));
