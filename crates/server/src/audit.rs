//! The `chibo.v1.Audit` service: the latest signed checkpoint, and inclusion and consistency
//! proofs from the Merkle log, for any tree size the log holds.

use std::sync::Arc;

use chibo_integrity::merkle::ProofError;
use chibo_proto::v1::{self as pb, audit_server::Audit};
use chibo_store::EventStore;
use chibo_tlog::{Checkpoints, MerkleLog};
use tonic::{Request, Response, Status};

/// The Audit service over the Merkle log and the checkpoints signed from it.
pub struct AuditService {
    store: Arc<dyn EventStore>,
    log: Arc<MerkleLog>,
    checkpoints: Arc<Checkpoints>,
}

impl AuditService {
    /// The service answering from `log` and `checkpoints`.
    pub fn new(store: Arc<dyn EventStore>, log: Arc<MerkleLog>, checkpoints: Arc<Checkpoints>) -> Self {
        Self { store, log, checkpoints }
    }

    /// `requested`, or the latest checkpoint's size for 0.
    fn size_or_latest(&self, field: &str, requested: u64) -> Result<u64, Status> {
        if requested != 0 {
            return Ok(requested);
        }
        match self.checkpoints.latest() {
            Some(signed) => Ok(signed.checkpoint.size),
            None => Err(Status::failed_precondition(format!(
                "{field}: 0 asks for the latest checkpoint, and none is signed yet"
            ))),
        }
    }

    /// Checks the tree holds `size` leaves (waiting briefly for commits it has not caught up
    /// with).
    async fn holds(&self, field: &str, size: u64) -> Result<(), Status> {
        if self.log.wait_for(size, std::time::Duration::from_secs(5)).await {
            Ok(())
        } else {
            Err(Status::out_of_range(format!("{field}: {size} is beyond the log's {} events", self.log.size())))
        }
    }
}

fn proof_status<E: std::fmt::Display>(field: &str, e: ProofError<E>) -> Status {
    match e {
        ProofError::Source(e) => Status::internal(format!("the Merkle tree cannot be read: {e}")),
        other => Status::invalid_argument(format!("{field}: {other}")),
    }
}

#[tonic::async_trait]
impl Audit for AuditService {
    async fn get_checkpoint(&self, _: Request<pb::GetCheckpointRequest>) -> Result<Response<pb::Checkpoint>, Status> {
        let Some(signed) = self.checkpoints.latest() else {
            let why = self.checkpoints.stopped().unwrap_or_else(|| "none is signed yet".to_owned());
            return Err(Status::unavailable(format!("no checkpoint: {why}")));
        };
        Ok(Response::new(pb::Checkpoint {
            note: signed.note,
            origin: signed.checkpoint.origin,
            size: signed.checkpoint.size,
            root: signed.checkpoint.root.to_vec(),
            verifier_key: self.checkpoints.verifier().to_string(),
        }))
    }

    async fn inclusion_proof(
        &self,
        request: Request<pb::InclusionProofRequest>,
    ) -> Result<Response<pb::InclusionProofResponse>, Status> {
        let pb::InclusionProofRequest { position, tree_size } = request.into_inner();
        let tree_size = self.size_or_latest("tree_size", tree_size)?;
        if position >= tree_size {
            return Err(Status::invalid_argument(format!(
                "position: {position} is not inside the tree of {tree_size} events"
            )));
        }
        self.holds("tree_size", tree_size).await?;
        let hashes = self.log.inclusion_proof(position, tree_size).map_err(|e| proof_status("position", e))?;
        let root = self.log.root(tree_size).map_err(|e| proof_status("tree_size", e))?;
        let stored =
            self.store.read_all(position.checked_sub(1), 1).await.map_err(|e| Status::unavailable(e.to_string()))?;
        let event_hash = stored.first().filter(|e| e.position == position).map(|e| e.hash).ok_or_else(|| {
            Status::internal(format!("the store holds no event at position {position} below the tree size"))
        })?;
        Ok(Response::new(pb::InclusionProofResponse {
            position,
            tree_size,
            event_hash: event_hash.to_vec(),
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
            root: root.to_vec(),
        }))
    }

    async fn consistency_proof(
        &self,
        request: Request<pb::ConsistencyProofRequest>,
    ) -> Result<Response<pb::ConsistencyProofResponse>, Status> {
        let pb::ConsistencyProofRequest { old_size, new_size } = request.into_inner();
        let new_size = self.size_or_latest("new_size", new_size)?;
        if old_size > new_size {
            return Err(Status::invalid_argument(format!("old_size: {old_size} is above new_size {new_size}")));
        }
        self.holds("new_size", new_size).await?;
        let hashes = self.log.consistency_proof(old_size, new_size).map_err(|e| proof_status("old_size", e))?;
        let old_root = self.log.root(old_size).map_err(|e| proof_status("old_size", e))?;
        let new_root = self.log.root(new_size).map_err(|e| proof_status("new_size", e))?;
        Ok(Response::new(pb::ConsistencyProofResponse {
            old_size,
            new_size,
            hashes: hashes.iter().map(|h| h.to_vec()).collect(),
            old_root: old_root.to_vec(),
            new_root: new_root.to_vec(),
        }))
    }
}
