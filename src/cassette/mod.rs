//! Cassettes: the on-disk format (v1), the in-memory model, loading and
//! canonical saving. The format is a contract; see `docs/cassette-format.md`.

mod format;
mod model;
pub mod secrets;
mod store;

pub use format::FORMAT_V1;
pub use model::{
    Body, Cassette, Headers, Interaction, LoadedCassette, Provenance, RESPONSE_TRANSPORT_HEADERS,
    RecordedRequest, RecordedResponse, TRANSPORT_HEADERS,
};
pub use store::{CassetteError, load, load_file, parse, to_bytes, write_atomic};
