//! The `chibo.v1` protobuf schema (the one public contract, in `proto/`) compiled to Rust.
//!
//! Messages always; the tonic client and server of each service with the `grpc` feature. The
//! conversions between these wire types and the plain domain types live in [`convert`].
#![allow(missing_docs)]

/// Generated messages of package `chibo.v1`, with proto3-JSON serde impls.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/messages/chibo.v1.rs"));
    include!(concat!(env!("OUT_DIR"), "/messages/chibo.v1.serde.rs"));

    #[cfg(feature = "grpc")]
    mod clients {
        include!(concat!(env!("OUT_DIR"), "/services/client/chibo.v1.rs"));
    }
    #[cfg(feature = "grpc")]
    mod servers {
        include!(concat!(env!("OUT_DIR"), "/services/server/chibo.v1.rs"));
    }
    #[cfg(feature = "grpc")]
    pub use clients::*;
    #[cfg(feature = "grpc")]
    pub use servers::*;
}

#[cfg(feature = "grpc")]
pub mod codec;

pub mod convert;
pub mod submit;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wire;

/// The encoded `FileDescriptorSet` of the schema, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/chibo_descriptor.bin"));
