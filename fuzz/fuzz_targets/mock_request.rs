#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proton_vcr::fuzz_entry::mock_request(data));
