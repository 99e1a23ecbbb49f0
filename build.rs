//! Embeds the reference cassettes and their accepted deviations, so that an
//! installed `proton-vcr conform` checks the built-in mock with no checkout.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let cassettes = root.join("cassettes/proton");
    let deviations = root.join("conformance/deviations.json");
    println!("cargo:rerun-if-changed={}", cassettes.display());
    println!("cargo:rerun-if-changed={}", deviations.display());
    let mut files = Vec::new();
    collect(&cassettes, &mut files);
    files.sort();
    let mut out = String::from("/// Reference cassettes: (path in the repository, bytes).\n");
    out.push_str("pub static CASSETTES: &[(&str, &[u8])] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let relative = file.strip_prefix(&root).expect("below the root");
        let _ = writeln!(
            out,
            "    ({:?}, include_bytes!({:?})),",
            relative.to_string_lossy(),
            file.to_string_lossy()
        );
    }
    out.push_str("];\n");
    if deviations.is_file() {
        let _ = writeln!(
            out,
            "/// The accepted deviations that go with them.\npub static DEVIATIONS: Option<&[u8]> = Some(include_bytes!({:?}));",
            deviations.to_string_lossy()
        );
    } else {
        out.push_str("/// The accepted deviations that go with them.\npub static DEVIATIONS: Option<&[u8]> = None;\n");
    }
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("reference.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}
