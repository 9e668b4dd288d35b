//! The local test harness: DynamoDB Local, moto (S3 and the other control-plane APIs), real
//! OpenSearch 2.19/3.9 nodes (the target of the end-to-end tests, [`OpenSearch`]), real
//! Elasticsearch 8.19/9.5 nodes (writers of real repositories, [`Elasticsearch`]) and
//! osmem-server (an in-memory OpenSearch, kept only for a JVM-less demo: see [`Osmem`]), gofakes3 and s3s-fs
//! (fast S3 emulators over a folder, for the end-to-end benchmark: [`LocalS3`]), each
//! started on a free loopback port, plus AWS SDK clients configured for them, the generated real
//! repositories ([`RealSnapshots`]), and a Lambda Runtime API emulator ([`RuntimeApi`]) that
//! runs a Lambda binary and invokes it; and the chaos soak ([`soak`], `make soak`).
//!
//! The servers are installed by `tests/harness/install.sh` (`make harness`) into
//! [`harness_dir`]. Each `start()` is synchronous and returns once the server answers; the
//! process is killed when the handle is dropped and also dies with the test process (it is put
//! in its own process group and gets `PR_SET_PDEATHSIG`), so nothing outlives a test run.
//!
//! ```no_run
//! # async fn demo() -> Result<(), backfill_harness::HarnessError> {
//! let moto = backfill_harness::Moto::start()?;
//! let cfg = backfill_harness::sdk_config(&moto.endpoint).await;
//! let s3 = backfill_harness::s3_client(&cfg);
//! s3.list_buckets().send().await.unwrap();
//! # Ok(()) }
//! ```

mod aws;
mod ecs;
mod elasticsearch;
mod error;
mod http;
mod lambda_runtime;
pub mod lease_sim;
mod opensearch;
mod process;
mod real_snapshots;
mod s3_server;
mod servers;
pub mod soak;

use std::path::{Path, PathBuf};

pub use aws::{s3_client, sdk_config, upload_dir, ACCESS_KEY_ID, SECRET_ACCESS_KEY};
pub use ecs::ecs_worker_service;
pub use elasticsearch::{Elasticsearch, EsVersion};
pub use error::HarnessError;
pub use http::{encode_path_segment, http_request, HttpResponse};
pub use lambda_runtime::{Invocation, RuntimeApi, RuntimeApiError};
pub use opensearch::{Flavour, OpenSearch};
pub use real_snapshots::{RealSnapshots, RealSource, TruthDocument, TypedTruthDocument, Upgraded};
pub use s3_server::{LocalS3, S3Emulator, GOFAKES3_VERSION, S3S_FS_VERSION};
pub use servers::{DynamoDbLocal, Moto, Osmem};

/// Environment variable that moves the install folder (a relative path is taken from the
/// workspace root, as `install.sh` does).
pub const HARNESS_DIR_ENV: &str = "BACKFILL_HARNESS_DIR";

/// Where `install.sh` put the servers: `$BACKFILL_HARNESS_DIR`, or `<workspace>/.cache/harness`.
pub fn harness_dir() -> PathBuf {
    match std::env::var_os(HARNESS_DIR_ENV) {
        Some(dir) if !dir.is_empty() => workspace_root().join(dir),
        _ => workspace_root().join(".cache").join("harness"),
    }
}

/// The workspace root, from where this crate was compiled (tests run from the package folder,
/// so the current directory would not do).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}
