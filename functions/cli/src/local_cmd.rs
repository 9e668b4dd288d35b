//! `backfill local setup | teardown`: prepares a local setup against running local servers
//! (the working-state table, the buckets, the snapshot uploaded to emulated S3), and removes
//! its worker processes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use aws_sdk_s3::primitives::ByteStream;
use backfill_aws::DynamoStore;
use backfill_local::{LocalFleet, LocalSetup, SETUP_FILE};

#[derive(Debug, clap::Subcommand)]
pub enum LocalCommand {
    /// Creates a local setup: the working-state table in DynamoDB Local, the buckets in the
    /// emulated S3, the snapshot repository uploaded there, and `<dir>/local.json`.
    Setup(Box<SetupArgs>),
    /// Kills the setup's worker processes (no checkpoint; use `pause` or `stop` for that).
    Teardown {
        /// The local setup directory.
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct SetupArgs {
    /// Where the setup lives (its `local.json`, the fleet's pid and log files).
    #[arg(long)]
    pub dir: PathBuf,
    /// DynamoDB Local's endpoint.
    #[arg(long)]
    pub dynamodb: String,
    /// The emulated S3/CloudWatch endpoint (moto).
    #[arg(long)]
    pub aws: String,
    /// The target cluster.
    #[arg(long)]
    pub target: String,
    /// A snapshot repository: a local directory (uploaded) or `s3://bucket/prefix` (used as is).
    #[arg(long)]
    pub repo: String,
    #[arg(long)]
    pub snapshot: String,
    /// The bucket for the uploaded repository, archives and reports.
    #[arg(long, default_value = "backfill-local")]
    pub bucket: String,
    #[arg(long, default_value = "default")]
    pub backfill: String,
    #[arg(long, default_value = backfill_aws::table::DEFAULT_TABLE_NAME)]
    pub table: String,
    #[arg(long, default_value_t = 2)]
    pub default_workers: u32,
    #[arg(long, default_value_t = 8)]
    pub max_workers: u32,
    /// Workers create target indices missing from the target, from the snapshot's settings
    /// and mappings.
    #[arg(long)]
    pub create_missing_indices: bool,
    /// The worker program (default: this program, as `backfill worker`).
    #[arg(long)]
    pub worker_program: Option<PathBuf>,
    /// The workers' log level (their logs: `<dir>/fleet/worker-<k>.log`).
    #[arg(long, default_value = "info")]
    pub worker_log: String,
    /// Seconds between worker checkpoints.
    #[arg(long, default_value_t = 5)]
    pub checkpoint_seconds: u64,
    /// Another target a `start` may name (`target_endpoint`) besides `--target`; repeat or
    /// separate with commas. As the template's AllowedTargetEndpoints.
    #[arg(long, env = "ALLOWED_TARGET_ENDPOINTS", value_delimiter = ',')]
    pub allowed_target_endpoint: Vec<String>,
    /// Another snapshot repository a `start` may name (`snapshot_repository`) besides
    /// `--repo`; repeat or separate with commas. As the template's AllowedSnapshotRepositories.
    #[arg(long, env = "ALLOWED_SNAPSHOT_REPOSITORIES", value_delimiter = ',')]
    pub allowed_snapshot_repository: Vec<String>,
}

pub async fn run(cmd: LocalCommand) -> Result<()> {
    match cmd {
        LocalCommand::Setup(a) => setup(*a).await,
        LocalCommand::Teardown { dir } => teardown(&dir),
    }
}

async fn setup(a: SetupArgs) -> Result<()> {
    let worker_program = match a.worker_program {
        Some(p) => p,
        None => std::env::current_exe()?,
    };
    let worker_program = std::fs::canonicalize(&worker_program)
        .with_context(|| format!("the worker program {} ", worker_program.display()))?;
    let mut setup = LocalSetup {
        region: "us-east-1".into(),
        dynamodb_endpoint: a.dynamodb,
        aws_endpoint: a.aws,
        table: a.table,
        backfill_id: a.backfill,
        snapshot_repository: a.repo.clone(),
        snapshot_name: a.snapshot,
        target_endpoint: a.target,
        archive: format!("s3://{}/archive", a.bucket),
        reports: format!("s3://{}/reports", a.bucket),
        create_missing_indices: a.create_missing_indices,
        default_workers: a.default_workers,
        max_workers: a.max_workers,
        worker_program,
        allowed_target_endpoints: a.allowed_target_endpoint.clone(),
        allowed_snapshot_repositories: a.allowed_snapshot_repository.clone(),
        worker_env: vec![
            (
                "BACKFILL_CHECKPOINT_SECONDS".into(),
                a.checkpoint_seconds.to_string(),
            ),
            ("BACKFILL_LOG".into(), a.worker_log.clone()),
        ],
    };
    // Refused now rather than at the first start.
    setup.overrides()?;
    let cfg = setup.sdk_config().await;
    let store = DynamoStore::new(setup.dynamodb(&cfg), &setup.table);
    store.create_table().await.with_context(|| {
        format!(
            "creating table {} in {}",
            setup.table, setup.dynamodb_endpoint
        )
    })?;
    let s3 = setup.s3(&cfg);
    create_bucket(&s3, &a.bucket).await?;
    if !a.repo.starts_with("s3://") {
        let dir = Path::new(&a.repo);
        // Every layout the reader knows (5.x+ `index.latest`, 1.x/2.x `index`), or its reason.
        let local = std::sync::Arc::new(snapshot::LocalDirectory::new(dir));
        if let Err(e) = snapshot::Repository::open(local) {
            bail!("{} is not a snapshot repository: {e}", dir.display());
        }
        let n = upload_dir(&s3, &a.bucket, "snapshots", dir).await?;
        setup.snapshot_repository = format!("s3://{}/snapshots", a.bucket);
        println!(
            "Uploaded the snapshot repository {} to {} ({n} objects).",
            dir.display(),
            setup.snapshot_repository
        );
    }
    setup.save(&a.dir)?;
    println!(
        "Local setup written to {}. Use it with: backfill --local {} <command>",
        a.dir.join(SETUP_FILE).display(),
        a.dir.display()
    );
    Ok(())
}

fn teardown(dir: &Path) -> Result<()> {
    let fleet = LocalFleet::new(dir.join("fleet"), Vec::new(), Vec::new());
    let killed = fleet
        .kill_all(Duration::from_secs(10))
        .with_context(|| format!("stopping the workers of {}", dir.display()))?;
    println!("Stopped {killed} local worker(s).");
    Ok(())
}

async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<()> {
    match s3.create_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let code = e
                .as_service_error()
                .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s).map(str::to_string));
            match code.as_deref() {
                Some("BucketAlreadyOwnedByYou") | Some("BucketAlreadyExists") => Ok(()),
                _ => Err(anyhow::anyhow!(
                    "creating bucket {bucket}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )),
            }
        }
    }
}

async fn upload_dir(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    dir: &Path,
) -> Result<u64> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    files.sort();
    for path in &files {
        let rel = path
            .strip_prefix(dir)
            .expect("collected under dir")
            .to_string_lossy()
            .replace('\\', "/");
        let body = ByteStream::from_path(path)
            .await
            .with_context(|| format!("reading {}", path.display()))?;
        s3.put_object()
            .bucket(bucket)
            .key(format!("{prefix}/{rel}"))
            .body(body)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "uploading {}: {}",
                    path.display(),
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
    }
    Ok(files.len() as u64)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
