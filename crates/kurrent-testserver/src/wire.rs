//! The KurrentDB protocol, compiled by build.rs from the definitions the `eventstore` package
//! ships. Module paths follow the protobuf packages, as the generated code expects.
#![allow(missing_docs, clippy::all, dead_code)]

pub mod event_store {
    pub mod client {
        include!(concat!(env!("OUT_DIR"), "/event_store.client.rs"));
        pub mod streams {
            include!(concat!(env!("OUT_DIR"), "/event_store.client.streams.rs"));
        }
        pub mod server_features {
            include!(concat!(env!("OUT_DIR"), "/event_store.client.server_features.rs"));
        }
        pub mod gossip {
            include!(concat!(env!("OUT_DIR"), "/event_store.client.gossip.rs"));
        }
    }
}

pub mod google {
    pub mod rpc {
        include!(concat!(env!("OUT_DIR"), "/google.rpc.rs"));
    }
}
