//! The local CLI backend: the control plane's own handlers, in this process, against the local harness
//! (DynamoDB Local, moto's S3 and CloudWatch, a target on loopback) with worker processes on
//! this machine as the fleet. A local setup is a directory holding `local.json` (written by
//! `backfill local setup`) and the fleet's files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use backfill_asl::RealClock;
use backfill_aws::{CloudWatchProgress, DynamoStore, S3Archive, S3Location, Snapshots};
use backfill_core::control::endpoint_policy::{
    EndpointError, OverridePolicy, Repository, RepositoryError, TargetUrl,
};
use backfill_core::control::{Control, ControlConfig, InProcessStop};
use backfill_opensearch::{Auth, OpenSearchClusters};
use serde::{Deserialize, Serialize};

use crate::LocalFleet;

/// The file that makes a directory a local setup.
pub const SETUP_FILE: &str = "local.json";

/// Why a local setup cannot be read, written or opened.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{} is not a local setup (no readable {SETUP_FILE}); create one with `backfill local setup`", dir.display())]
    NotASetup {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is malformed", path.display())]
    Malformed {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the worker program {} of the local setup in {} does not exist; build it with `cargo build -p backfill-cli`", program.display(), dir.display())]
    NoWorkerProgram { program: PathBuf, dir: PathBuf },
    #[error("archive {0:?} is not s3://bucket/prefix")]
    Archive(String),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// Everything local mode needs to know, as `backfill local setup` wrote it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalSetup {
    pub region: String,
    /// DynamoDB Local.
    pub dynamodb_endpoint: String,
    /// moto: S3 (snapshot, archive, reports) and CloudWatch.
    pub aws_endpoint: String,
    pub table: String,
    pub backfill_id: String,
    pub snapshot_repository: String,
    pub snapshot_name: String,
    pub target_endpoint: String,
    /// `s3://bucket/prefix` where stop archives the working state.
    pub archive: String,
    /// Where workers write failed-documents reports.
    pub reports: String,
    pub create_missing_indices: bool,
    pub default_workers: u32,
    pub max_workers: u32,
    /// The program the fleet runs: `backfill` (run as `backfill worker`) or `backfill-worker`.
    pub worker_program: PathBuf,
    /// Extra environment for workers (checkpoint interval, log level, …).
    #[serde(default)]
    pub worker_env: Vec<(String, String)>,
    /// Other targets and repositories a start may name (`--allowed-target-endpoint`,
    /// `--allowed-snapshot-repository`).
    #[serde(default)]
    pub allowed_target_endpoints: Vec<String>,
    #[serde(default)]
    pub allowed_snapshot_repositories: Vec<String>,
}

impl LocalSetup {
    pub fn load(dir: &Path) -> Result<LocalSetup, SetupError> {
        let path = dir.join(SETUP_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| SetupError::NotASetup {
            dir: dir.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| SetupError::Malformed { path, source })
    }

    pub fn save(&self, dir: &Path) -> Result<(), SetupError> {
        let path = dir.join(SETUP_FILE);
        let write = |source| SetupError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(write)?;
        let mut text = serde_json::to_vec_pretty(self).expect("a setup serialises");
        text.push(b'\n');
        std::fs::write(&path, text).map_err(write)
    }

    /// What a start may point workers at besides the defaults; every entry follows the URL
    /// rules. A repository may be a local directory here.
    pub fn overrides(&self) -> Result<OverridePolicy, SetupError> {
        let policy = OverridePolicy {
            allowed_target_endpoints: self.allowed_target_endpoints.clone(),
            allowed_snapshot_repositories: self.allowed_snapshot_repositories.clone(),
            local_directories: true,
        };
        TargetUrl::parse(&self.target_endpoint)?;
        for e in &policy.allowed_target_endpoints {
            TargetUrl::parse(e)?;
        }
        for r in policy
            .allowed_snapshot_repositories
            .iter()
            .chain([&self.snapshot_repository])
        {
            Repository::parse(r, true)?;
        }
        Ok(policy)
    }

    /// Static dummy credentials: the local servers accept any, and a developer's real AWS
    /// credentials are never picked up.
    fn credentials() -> Credentials {
        Credentials::new(
            "AKIDLOCALBACKFILL",
            "local-backfill-secret",
            None,
            None,
            "backfill-local",
        )
    }

    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .credentials_provider(Self::credentials())
            .endpoint_url(&self.aws_endpoint)
            .load()
            .await
    }

    pub fn dynamodb(&self, cfg: &SdkConfig) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(cfg)
                .endpoint_url(&self.dynamodb_endpoint)
                .build(),
        )
    }

    /// Path-style: moto's buckets are not resolvable host names.
    pub fn s3(&self, cfg: &SdkConfig) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(cfg)
                .force_path_style(true)
                .build(),
        )
    }

    /// `backfill worker`, or a `backfill-worker` program.
    fn worker_command(&self) -> Vec<String> {
        let program = self.worker_program.display().to_string();
        if self
            .worker_program
            .file_name()
            .is_some_and(|n| n == "backfill")
        {
            vec![program, "worker".into()]
        } else {
            vec![program]
        }
    }

    /// What every worker process gets, on top of the CLI's own environment.
    fn worker_env(&self) -> Vec<(String, String)> {
        let creds = Self::credentials();
        let mut env: Vec<(String, String)> = [
            ("AWS_REGION", self.region.as_str()),
            ("AWS_ACCESS_KEY_ID", creds.access_key_id()),
            ("AWS_SECRET_ACCESS_KEY", creds.secret_access_key()),
            ("AWS_ENDPOINT_URL_DYNAMODB", &self.dynamodb_endpoint),
            ("AWS_ENDPOINT_URL_S3", &self.aws_endpoint),
            ("AWS_ENDPOINT_URL", &self.aws_endpoint),
            ("BACKFILL_ID", &self.backfill_id),
            ("BACKFILL_TABLE", &self.table),
            ("BACKFILL_REPORTS", &self.reports),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // As the template's task: credentials go only to the setup's target and those allowed.
        let allowed: Vec<&str> = [self.target_endpoint.as_str()]
            .into_iter()
            .chain(self.allowed_target_endpoints.iter().map(String::as_str))
            .collect();
        env.push(("ALLOWED_TARGET_ENDPOINTS".into(), allowed.join(",")));
        env.extend(self.worker_env.iter().cloned());
        env
    }
}

/// The control plane of a local setup, ready for calls.
pub struct LocalControl {
    pub control: Arc<Control>,
}

impl LocalControl {
    pub async fn open(dir: &Path) -> Result<LocalControl, SetupError> {
        let setup = LocalSetup::load(dir)?;
        if !setup.worker_program.is_file() {
            return Err(SetupError::NoWorkerProgram {
                program: setup.worker_program.clone(),
                dir: dir.to_path_buf(),
            });
        }
        let cfg = setup.sdk_config().await;
        let s3 = setup.s3(&cfg);
        let archive = S3Location::parse(&setup.archive)
            .ok_or_else(|| SetupError::Archive(setup.archive.clone()))?;
        let fleet = LocalFleet::new(
            dir.join("fleet"),
            setup.worker_command(),
            setup.worker_env(),
        );
        let stop = Arc::new(InProcessStop::new(Arc::new(RealClock)));
        let control = Arc::new(Control {
            config: ControlConfig {
                default_backfill: setup.backfill_id.clone(),
                default_workers: setup.default_workers,
                max_workers: setup.max_workers,
                fleet_name: "Local fleet".into(),
                snapshot_repository: Some(setup.snapshot_repository.clone()),
                snapshot_name: Some(setup.snapshot_name.clone()),
                target_endpoint: Some(setup.target_endpoint.clone()),
                create_missing_indices: setup.create_missing_indices,
                overrides: setup.overrides()?,
                ..ControlConfig::default()
            },
            store: Arc::new(DynamoStore::new(setup.dynamodb(&cfg), &setup.table)),
            fleet: Arc::new(fleet),
            snapshots: Arc::new(Snapshots {
                s3: s3.clone(),
                runtime: tokio::runtime::Handle::current(),
            }),
            stop_workflow: stop.clone(),
            archive: Arc::new(S3Archive::new(s3, archive)),
            progress: Arc::new(CloudWatchProgress::new(
                aws_sdk_cloudwatch::Client::new(&cfg),
                "Backfill",
            )),
            clusters: Arc::new(OpenSearchClusters::new(Auth::None)),
        });
        stop.bind(&control);
        Ok(LocalControl { control })
    }
}
