//! Archives of the working state in S3.

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use backfill_core::control::ports::{ArchiveStore, PortError};

use crate::errors::port_error;
use crate::s3::S3Location;

/// Writes archives as JSON objects under `location`.
#[derive(Debug, Clone)]
pub struct S3Archive {
    pub client: Client,
    pub location: S3Location,
}

impl S3Archive {
    pub fn new(client: Client, location: S3Location) -> Self {
        S3Archive { client, location }
    }
}

#[async_trait]
impl ArchiveStore for S3Archive {
    async fn put(&self, key: &str, body: Vec<u8>) -> Result<String, PortError> {
        let key = self.location.key(key.trim_start_matches('/'));
        let uri = format!("s3://{}/{key}", self.location.bucket);
        self.client
            .put_object()
            .bucket(&self.location.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| port_error(&format!("S3 PutObject {uri}"), &e))?;
        Ok(uri)
    }
}
