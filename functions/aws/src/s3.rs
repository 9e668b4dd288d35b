//! S3: the snapshot repository's blobs (ranged GETs, nothing staged on disk) and the
//! failed-documents reports.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use backfill_core::model::ItemKey;
use backfill_core::worker::{failed_documents_report, Rejection, RejectionSink, SnapshotSource};
use snapshot::{BlobError, BlobMeta, BlobStore};
use tokio::runtime::Handle;

/// `s3://bucket/prefix` split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Without leading or trailing `/`; may be empty.
    pub prefix: String,
}

impl S3Location {
    pub fn parse(uri: &str) -> Option<S3Location> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    pub fn key(&self, path: &str) -> String {
        if self.prefix.is_empty() {
            path.to_string()
        } else if path.is_empty() {
            self.prefix.clone()
        } else {
            format!("{}/{path}", self.prefix)
        }
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// A snapshot repository in S3, read through the snapshot reader's blob port.
///
/// The reader is synchronous (it runs on a blocking thread); each call here runs the SDK's
/// request on the given runtime and waits for it. Never call it from an async task.
#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    location: S3Location,
    runtime: Handle,
}

impl S3BlobStore {
    pub fn new(client: Client, location: S3Location, runtime: Handle) -> S3BlobStore {
        S3BlobStore {
            client,
            location,
            runtime,
        }
    }
}

fn blob_error<E>(path: &str, e: SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> BlobError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = e.code().map(str::to_string);
    if matches!(
        code.as_deref(),
        Some("NoSuchKey" | "NotFound" | "NoSuchBucket")
    ) {
        return BlobError::NotFound {
            path: path.to_string(),
        };
    }
    let transient = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            status == 429
                || status >= 500
                || matches!(code.as_deref(), Some("SlowDown" | "RequestTimeout"))
        }
        _ => false,
    };
    let message = match &e {
        SdkError::ServiceError(s) => format!(
            "{}: {}",
            s.err().code().unwrap_or("error"),
            s.err().message().unwrap_or("no message")
        ),
        other => format!("{other}"),
    };
    BlobError::Io {
        path: path.to_string(),
        message,
        transient,
    }
}

impl BlobStore for S3BlobStore {
    fn location(&self) -> String {
        self.location.to_string()
    }

    fn list(&self, dir: &str) -> Result<Vec<BlobMeta>, BlobError> {
        let prefix = {
            let k = self.location.key(dir);
            if k.is_empty() {
                k
            } else {
                format!("{k}/")
            }
        };
        self.runtime.block_on(async {
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let r = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.location.bucket)
                    .prefix(&prefix)
                    .delimiter("/")
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| blob_error(dir, e))?;
                for o in r.contents() {
                    if let Some(k) = o.key() {
                        out.push(BlobMeta {
                            name: k[prefix.len()..].to_string(),
                            size: o.size().unwrap_or(0).max(0) as u64,
                        });
                    }
                }
                match r.next_continuation_token() {
                    Some(t) if r.is_truncated() == Some(true) => token = Some(t.to_string()),
                    _ => break,
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, BlobError> {
        self.runtime.block_on(async {
            let r = self
                .client
                .get_object()
                .bucket(&self.location.bucket)
                .key(self.location.key(path))
                .send()
                .await
                .map_err(|e| blob_error(path, e))?;
            let bytes = r.body.collect().await.map_err(|e| BlobError::Io {
                path: path.to_string(),
                message: e.to_string(),
                transient: true,
            })?;
            Ok(bytes.into_bytes().to_vec())
        })
    }

    fn read_range(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, BlobError> {
        if len == 0 {
            return Ok(Vec::new());
        }
        self.runtime.block_on(async {
            let r = self
                .client
                .get_object()
                .bucket(&self.location.bucket)
                .key(self.location.key(path))
                .range(format!("bytes={offset}-{}", offset + len as u64 - 1))
                .send()
                .await
                .map_err(|e| blob_error(path, e))?;
            let bytes = r.body.collect().await.map_err(|e| BlobError::Io {
                path: path.to_string(),
                message: e.to_string(),
                transient: true,
            })?;
            let bytes = bytes.into_bytes();
            if bytes.len() != len {
                return Err(BlobError::ShortRead {
                    path: path.to_string(),
                    offset,
                    wanted: len,
                    got: bytes.len(),
                });
            }
            Ok(bytes.to_vec())
        })
    }
}

/// Opens snapshots from `s3://` repositories (and local directories, for local runs).
pub struct Snapshots {
    pub s3: Client,
    pub runtime: Handle,
}

impl SnapshotSource for Snapshots {
    fn open(
        &self,
        repository: &str,
        snapshot: &str,
    ) -> Result<snapshot::Snapshot, snapshot::Error> {
        let store: Arc<dyn BlobStore> = match S3Location::parse(repository) {
            Some(loc) => Arc::new(S3BlobStore::new(self.s3.clone(), loc, self.runtime.clone())),
            None => Arc::new(snapshot::LocalDirectory::new(repository)),
        };
        snapshot::Repository::open(store)?.snapshot(snapshot)
    }
}

/// Failed-documents reports as NDJSON objects in S3:
/// `<prefix>/failed-documents/<backfill>/<index>/<shard>/<time>-<worker>.ndjson`, one line per
/// document (`index, id, status, error_type, reason`).
pub struct S3Reports {
    pub client: Client,
    pub location: S3Location,
    pub worker: String,
}

#[async_trait]
impl RejectionSink for S3Reports {
    async fn write(
        &self,
        backfill: &str,
        item: &ItemKey,
        rejections: &[Rejection],
    ) -> Result<(), String> {
        let (key, body) = failed_documents_report(backfill, item, &self.worker, rejections);
        let key = self.location.key(&key);
        self.client
            .put_object()
            .bucket(&self.location.bucket)
            .key(&key)
            .content_type("application/x-ndjson")
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "writing s3://{}/{key}: {}",
                    self.location.bucket,
                    e.message().unwrap_or("failed")
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris_split_into_bucket_and_prefix() {
        let l = S3Location::parse("s3://bucket/some/prefix/").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("bucket", "some/prefix")
        );
        assert_eq!(l.key("index-1"), "some/prefix/index-1");
        assert_eq!(l.to_string(), "s3://bucket/some/prefix");
        let root = S3Location::parse("s3://b").unwrap();
        assert_eq!(root.key("index.latest"), "index.latest");
        assert!(S3Location::parse("/local/dir").is_none());
        assert!(S3Location::parse("s3:///x").is_none());
    }
}
