//! The reference cassettes and accepted deviations built into the binary
//! (from `cassettes/proton/` and `conformance/deviations.json`), used when
//! `conform` is run outside a checkout.

use super::deviations::{Deviations, DeviationsError};
use crate::cassette::{self, CassetteError, LoadedCassette};
use std::path::Path;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/reference.rs"));
}

/// How many reference cassettes are built in.
pub fn count() -> usize {
    embedded::CASSETTES.len()
}

/// The built-in reference cassettes, named by their path in the repository.
pub fn cassettes() -> Result<Vec<LoadedCassette>, CassetteError> {
    embedded::CASSETTES
        .iter()
        .map(|(path, bytes)| {
            let path = Path::new(path);
            Ok(LoadedCassette {
                path: path.to_path_buf(),
                cassette: cassette::parse(path, bytes)?,
            })
        })
        .collect()
}

/// The built-in accepted deviations.
pub fn deviations() -> Result<Deviations, DeviationsError> {
    match embedded::DEVIATIONS {
        Some(bytes) => Deviations::parse(Path::new("conformance/deviations.json"), bytes),
        None => Ok(Deviations::default()),
    }
}
