//! AWS Proton, emulated. (Being written.)
