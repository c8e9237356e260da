//! The credential a client calls chibo with: `authorization: Bearer <token>` on every call.

use anyhow::bail;
use tonic::{
    metadata::{Ascii, MetadataValue},
    service::Interceptor,
};

/// Adds `authorization: Bearer <token>` to every call (nothing, without a token).
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// The header for `token` (`--token`, `CHIBO_TOKEN`); none without one.
    pub fn new(token: Option<&str>) -> anyhow::Result<Bearer> {
        let Some(token) = token.map(str::trim) else { return Ok(Bearer(None)) };
        if token.is_empty() {
            bail!("--token (or CHIBO_TOKEN) is empty");
        }
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| anyhow::anyhow!("--token (or CHIBO_TOKEN) holds characters a token never has"))?;
        Ok(Bearer(Some(value)))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}
