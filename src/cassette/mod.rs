//! Cassettes: the on-disk format (v2, reading v1), the in-memory model, loading and
//! canonical saving. The format is a contract; see `docs/cassette-format.md`.
//!
//! Loading reads a file in pieces (`reader`) and turns each interaction into
//! the model (`model`: bodies as exact bytes, headers as one string) as it
//! goes, so a large cassette costs about what the model holds, not the file
//! and the model together.

mod format;
mod inflate;
mod journal;
mod lock;
mod model;
mod raw_json;
mod reader;
mod redact;
pub mod secrets;
mod sensitive;
mod store;
mod writer;

pub use format::{FORMAT_V1, FORMAT_V2, Version};
pub use journal::journal_path;
pub use lock::{CassetteLock, lock_path};
pub use model::{
    Body, Cassette, HeaderValues, Headers, Interaction, LoadedCassette, Provenance,
    RESPONSE_TRANSPORT_HEADERS, RecordedRequest, RecordedResponse, TRANSPORT_HEADERS,
};
pub use redact::{
    AccountRedaction, ByteSet, DOCUMENTATION_ACCOUNT_ID, Leak, SECRET_HEADERS,
    SECRET_VALUE_HEADERS, SecretScan, Unredacted, check_bytes, check_interaction, redact_cassette,
};
pub use sensitive::{MASKED, SensitiveMembers, is_placeholder, looks_like_access_key_id};
pub use store::{
    CassetteError, MAX_CASSETTE_BYTES, cassette_files, clean_temporaries, load, load_file, parse,
    parse_versioned, parse_with_journal, read_regular_file, to_bytes, write_atomic,
};
pub use writer::{CassetteWriter, Entry, StartKey, WriteError, WriteMode, WriterOptions};
