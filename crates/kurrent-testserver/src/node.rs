//! What the node says about itself: `ServerFeatures.GetSupportedMethods`, which the client
//! calls on connecting, and `Gossip.Read`, which it calls to discover a cluster (a connection
//! string with several hosts, or `esdb+discover://`). The test server is a one-node cluster,
//! its own leader.

use std::net::SocketAddr;

use tonic::{Request, Response, Status};

use crate::wire::event_store::client::{
    self as common,
    gossip::{self, gossip_server, member_info::VNodeState, ClusterInfo, EndPoint, MemberInfo},
    server_features::{server_features_server, SupportedMethod, SupportedMethods},
};

/// The KurrentDB version the test server answers as.
pub const SERVER_VERSION: &str = "24.10.0";

/// The node, as the services that describe it see it.
#[derive(Clone, Debug)]
pub struct Node {
    /// The address clients reach it at.
    pub address: SocketAddr,
    pub instance_id: uuid::Uuid,
}

#[tonic::async_trait]
impl server_features_server::ServerFeatures for Node {
    /// The methods implemented here, named as KurrentDB names them (lowercase). Batch append
    /// is not among them, so the client does not use it.
    async fn get_supported_methods(&self, _: Request<()>) -> Result<Response<SupportedMethods>, Status> {
        let method = |service: &str, method: &str, features: &[&str]| SupportedMethod {
            method_name: method.to_owned(),
            service_name: service.to_owned(),
            features: features.iter().map(|f| (*f).to_owned()).collect(),
        };
        let streams = "event_store.client.streams.streams";
        Ok(Response::new(SupportedMethods {
            methods: vec![
                method(streams, "read", &["position", "events"]),
                method(streams, "append", &[]),
                method("event_store.client.server_features.serverfeatures", "getsupportedmethods", &[]),
                method("event_store.client.gossip.gossip", "read", &[]),
            ],
            event_store_server_version: SERVER_VERSION.to_owned(),
        }))
    }
}

#[tonic::async_trait]
impl gossip_server::Gossip for Node {
    async fn read(&self, _: Request<()>) -> Result<Response<ClusterInfo>, Status> {
        let bits = self.instance_id.as_u128();
        let instance_id = common::Uuid {
            value: Some(common::uuid::Value::Structured(common::uuid::Structured {
                most_significant_bits: (bits >> 64) as u64 as i64,
                least_significant_bits: bits as u64 as i64,
            })),
        };
        let time_stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos() / 100).unwrap_or(i64::MAX));
        Ok(Response::new(gossip::ClusterInfo {
            members: vec![MemberInfo {
                instance_id: Some(instance_id),
                time_stamp,
                state: VNodeState::Leader.into(),
                is_alive: true,
                http_end_point: Some(EndPoint {
                    address: self.address.ip().to_string(),
                    port: u32::from(self.address.port()),
                }),
            }],
        }))
    }
}
