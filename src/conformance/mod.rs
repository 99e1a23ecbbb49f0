//! Conformance: cassette -> target -> normalise -> diff -> report. (Being written.)
