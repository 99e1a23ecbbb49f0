//! JSON as the matcher, the model and the conformance diff all read it:
//! member paths (`path`) and the places two values differ (`diff`). Depends on
//! nothing in the crate, so any layer may use it.

mod diff;
mod path;

pub use diff::{JsonDifference, diff, diff_paths_capped};
pub use path::{TokenPath, push_member};
