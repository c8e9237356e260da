//! Compiles the KurrentDB protocol definitions that the `eventstore` package ships (its
//! `protos/` directory) into tonic servers, with protox (pure Rust; no system `protoc`).
//!
//! The definitions are not copied into this repository: the test server speaks exactly the
//! protocol of the client version in `Cargo.lock`, found through `cargo metadata`.

use std::{
    env, io,
    path::{Path, PathBuf},
    process::Command,
};

/// The client whose protocol the test server speaks; `Cargo.toml` pins the same version.
const CLIENT: (&str, &str) = ("eventstore", "4.0.0");

/// The services the test server implements and the files they import.
const PROTOS: [&str; 4] = ["shared.proto", "streams.proto", "serverfeatures.proto", "gossip.proto"];

fn main() -> io::Result<()> {
    let protos = client_package_dir()?.join("protos");
    for file in PROTOS {
        println!("cargo:rerun-if-changed={}", protos.join(file).display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let fds = protox::compile(PROTOS, [&protos]).map_err(|e| io::Error::other(e.to_string()))?;
    tonic_build::configure()
        .build_client(false)
        .build_server(true)
        // The client itself maps `event_store.client.Empty` to `()`; so does the server, which
        // keeps the two sides' generated types alike.
        .extern_path(".event_store.client.Empty", "()")
        .bytes([
            ".event_store.client.StreamIdentifier.stream_name",
            ".event_store.client.streams.AppendReq.ProposedMessage.data",
            ".event_store.client.streams.AppendReq.ProposedMessage.custom_metadata",
            ".event_store.client.streams.ReadResp.ReadEvent.RecordedEvent.data",
            ".event_store.client.streams.ReadResp.ReadEvent.RecordedEvent.custom_metadata",
        ])
        .compile_fds(fds)
}

/// The directory of the `eventstore` package.
fn client_package_dir() -> io::Result<PathBuf> {
    let metadata_error = match from_cargo_metadata() {
        Ok(dir) => return Ok(dir),
        Err(error) => error,
    };
    // `cargo metadata` lists the whole workspace, so offline it fails when some package that
    // this build does not need (another crate's dev-dependency, say) was never downloaded.
    // This package was: it is a dependency of this crate.
    let dir = from_registry_sources().ok_or_else(|| {
        io::Error::other(format!("{metadata_error}\nand no {}-{} among the registry's sources", CLIENT.0, CLIENT.1))
    })?;
    let first_line = metadata_error.to_string().lines().next().unwrap_or_default().to_owned();
    println!("cargo:warning=took the protocol definitions from {} ({first_line})", dir.display());
    Ok(dir)
}

/// The package in the dependency graph, from `cargo metadata` (offline and locked).
fn from_cargo_metadata() -> io::Result<PathBuf> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.toml");
    let mut command = Command::new(cargo);
    command.args(["metadata", "--format-version", "1", "--locked", "--offline"]);
    command.arg("--manifest-path").arg(&manifest);
    // Only the packages for this target.
    if let Some(target) = env::var_os("TARGET") {
        command.arg("--filter-platform").arg(target);
    }
    let output = command.output()?;
    if !output.status.success() {
        return Err(io::Error::other(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr))));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(io::Error::other)?;
    let packages = metadata["packages"].as_array().into_iter().flatten();
    let manifest_path = packages
        .filter(|p| p["name"] == CLIENT.0 && p["version"] == CLIENT.1)
        .find_map(|p| p["manifest_path"].as_str())
        .ok_or_else(|| io::Error::other(format!("cargo metadata lists no package {} {}", CLIENT.0, CLIENT.1)))?;
    Ok(Path::new(manifest_path).parent().expect("a manifest path names a file in a directory").to_path_buf())
}

/// The package among those Cargo has unpacked from registries:
/// `$CARGO_HOME/registry/src/*/NAME-VERSION`.
fn from_registry_sources() -> Option<PathBuf> {
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    let mut registries: Vec<_> = std::fs::read_dir(cargo_home.join("registry/src"))
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    registries.sort();
    registries
        .into_iter()
        .map(|registry| registry.join(format!("{}-{}", CLIENT.0, CLIENT.1)))
        .find(|dir| dir.join("protos/streams.proto").is_file())
}
