//! AWS SDK configuration for the local servers.

use std::path::{Path, PathBuf};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;

use crate::HarnessError;

/// The dummy credentials of [`sdk_config`]; servers that check signatures (s3s-fs) are given
/// them.
pub const ACCESS_KEY_ID: &str = "AKIDLOCALHARNESS";
pub const SECRET_ACCESS_KEY: &str = "local-harness-secret";

/// An SDK configuration for a local server: dummy static credentials, region `us-east-1`,
/// every client pointed at `endpoint`. Settings that are explicit here win over the
/// environment and `~/.aws`, so a developer's real AWS setup is never used.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "backfill-harness",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// An S3 client for the emulators: path-style addressing (`http://127.0.0.1:<port>/<bucket>/<key>`),
/// since virtual-host style would need `<bucket>.127.0.0.1` to resolve; checksums only where an
/// operation requires them, since a streamed upload with a checksum goes `aws-chunked`, which
/// gofakes3 stores as it came (chunk headers and trailer in the object).
pub fn s3_client(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(true)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Uploads every file under `dir`, recursively, to `bucket` as `<prefix>/<relative path>` (keys
/// use '/'; no prefix when `prefix` is empty), creating the bucket if needed. Returns the number
/// of objects written. Files are uploaded in path order, one at a time.
pub async fn upload_dir(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    dir: &Path,
) -> Result<u64, HarnessError> {
    create_bucket_if_missing(s3, bucket).await?;
    let mut files = Vec::new();
    collect_files(dir, dir, &mut files)?;
    let prefix = prefix.trim_end_matches('/');
    for (path, relative) in &files {
        let key = if prefix.is_empty() {
            relative.clone()
        } else {
            format!("{prefix}/{relative}")
        };
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e.into()))?;
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .map_err(|e| HarnessError::S3 {
                operation: "PutObject",
                target: format!("s3://{bucket}/{key}"),
                message: DisplayErrorContext(&e).to_string(),
            })?;
    }
    Ok(files.len() as u64)
}

async fn create_bucket_if_missing(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<(), HarnessError> {
    match s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.code(),
                Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(HarnessError::S3 {
            operation: "CreateBucket",
            target: format!("s3://{bucket}"),
            message: DisplayErrorContext(&e).to_string(),
        }),
    }
}

/// Regular files under `dir` (symbolic links followed) with their '/'-joined paths relative
/// to `root`, sorted.
fn collect_files(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(PathBuf, String)>,
) -> Result<(), HarnessError> {
    let read_err = |e| HarnessError::io(format!("reading the folder {}", dir.display()), e);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(read_err)?;
    entries.sort();
    for path in entries {
        let meta = std::fs::metadata(&path)
            .map_err(|e| HarnessError::io(format!("reading {}", path.display()), e))?;
        if meta.is_dir() {
            collect_files(root, &path, out)?;
        } else if meta.is_file() {
            let relative = path
                .strip_prefix(root)
                .expect("a path found under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            out.push((path, relative));
        }
    }
    Ok(())
}
