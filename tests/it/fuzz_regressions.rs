//! Every input the fuzzers ever crashed on (and the seed inputs) runs again
//! here, in CI, through the same entry points the fuzz targets use.

use crate::support;

fn replay_inputs(target: &str, check: fn(&[u8])) -> usize {
    let dir = support::repo_root().join("fuzz/regressions").join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} panics again", path.display());
        count += 1;
    }
    count
}

#[test]
fn cassette_parse_regressions_stay_fixed() {
    assert!(replay_inputs("cassette_parse", proton_vcr::fuzz_entry::cassette_parse) > 0);
}

#[test]
fn matcher_answer_regressions_stay_fixed() {
    assert!(replay_inputs("matcher_answer", proton_vcr::fuzz_entry::matcher_answer) > 0);
}

#[test]
fn mock_request_regressions_stay_fixed() {
    assert!(replay_inputs("mock_request", proton_vcr::fuzz_entry::mock_request) > 0);
}

#[test]
fn body_round_trip_regressions_stay_fixed() {
    assert!(replay_inputs("body_round_trip", proton_vcr::fuzz_entry::body_round_trip) > 0);
}
