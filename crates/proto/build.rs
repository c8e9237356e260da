//! Compiles `proto/chibo/v1/*.proto` with protox (pure Rust; no system `protoc`) into prost
//! messages, pbjson serde impls, tonic services and the descriptor set used by reflection.

use std::{env, fs, io, path::PathBuf};

use prost::Message;

fn main() -> io::Result<()> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../proto");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let files = [
        "chibo/v1/events.proto",
        "chibo/v1/ledger.proto",
        "chibo/v1/standings.proto",
        "chibo/v1/audit.proto",
        "chibo/v1/keys.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }

    let fds = protox::compile(files, [&root]).map_err(|e| io::Error::other(e.to_string()))?;
    let fds_bytes = fds.encode_to_vec();
    fs::write(out.join("chibo_descriptor.bin"), &fds_bytes)?;

    // Messages only: the crates that hash and store events need no gRPC stack.
    let messages = out.join("messages");
    fs::create_dir_all(&messages)?;
    tonic_build::configure()
        .build_client(false)
        .build_server(false)
        .out_dir(&messages)
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(fds.clone())?;

    pbjson_build::Builder::new()
        .out_dir(&messages)
        .register_descriptors(&fds_bytes)
        .map_err(|e| io::Error::other(e.to_string()))?
        .build(&[".chibo.v1"])
        .map_err(|e| io::Error::other(e.to_string()))?;

    // Services, referring to the messages above, behind the `grpc` feature: the clients, then
    // the servers. A server takes `SubmitBatch` requests with their events left encoded
    // (`crate::submit`), for the server to read one at a time, and answers with receipts
    // written as they are made; clients send and receive prost's messages.
    if env::var_os("CARGO_FEATURE_GRPC").is_some() {
        for (side, client) in [("client", true), ("server", false)] {
            let services = out.join("services").join(side);
            fs::create_dir_all(&services)?;
            let mut builder = tonic_build::configure()
                .build_client(client)
                .build_server(!client)
                .out_dir(&services)
                .compile_well_known_types(true)
                .extern_path(".google.protobuf", "::pbjson_types")
                .extern_path(".chibo.v1", "crate::v1")
                .codec_path("crate::codec::StatusCodec");
            if !client {
                builder = builder
                    .extern_path(".chibo.v1.SubmitBatchRequest", "crate::submit::SubmitBatchWire")
                    .extern_path(".chibo.v1.SubmitBatchResponse", "crate::submit::SubmitBatchReply");
            }
            builder.compile_fds(fds.clone())?;
        }
    }
    Ok(())
}
