//! Prepares a backfill by hand against the local servers (until the control plane's `start`
//! does it): uploads a snapshot repository directory to S3, creates the working-state table,
//! the backfill record (running) and one work item per shard.
//!
//!     seed-backfill --dynamodb <url> --s3 <url> --repo <dir> --snapshot <name> \
//!                   --backfill <id> --target <url> [--create-missing-indices] [--table <name>]
//!                   [--split-docs <n>]  (split shards above n live documents into ranges; 0: never)
//!
//! Prints the `s3://` location of the uploaded repository.

use std::path::PathBuf;
use std::sync::Arc;

use backfill_aws::DynamoStore;
use backfill_core::model::{
    BackfillRecord, BackfillState, ItemKey, NewItem, SnapshotRef, TargetRef,
};
use backfill_core::WorkStore;

struct Args {
    dynamodb: String,
    s3: String,
    repo: PathBuf,
    snapshot: String,
    backfill: String,
    target: String,
    table: String,
    create_missing: bool,
    split_docs: Option<u64>,
}

fn parse() -> Result<Args, String> {
    let mut a = std::env::args().skip(1);
    let (mut dynamodb, mut s3, mut repo, mut snapshot, mut backfill, mut target) =
        (None, None, None, None, None, None);
    let mut table = backfill_aws::table::DEFAULT_TABLE_NAME.to_string();
    let mut create_missing = false;
    let mut split_docs = None;
    while let Some(flag) = a.next() {
        let mut value = || a.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--dynamodb" => dynamodb = Some(value()?),
            "--s3" => s3 = Some(value()?),
            "--repo" => repo = Some(PathBuf::from(value()?)),
            "--snapshot" => snapshot = Some(value()?),
            "--backfill" => backfill = Some(value()?),
            "--target" => target = Some(value()?),
            "--table" => table = value()?,
            "--create-missing-indices" => create_missing = true,
            "--split-docs" => {
                let v = value()?;
                split_docs = Some(
                    v.parse()
                        .map_err(|_| format!("--split-docs {v}: not a number"))?,
                )
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let need = |v: Option<String>, name: &str| v.ok_or(format!("--{name} is required"));
    Ok(Args {
        dynamodb: need(dynamodb, "dynamodb")?,
        s3: need(s3, "s3")?,
        repo: repo.ok_or("--repo is required")?,
        snapshot: need(snapshot, "snapshot")?,
        backfill: need(backfill, "backfill")?,
        target: need(target, "target")?,
        table,
        create_missing,
        split_docs,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("seed-backfill: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("seed-backfill: {e}");
        std::process::exit(1);
    }
}

async fn run(a: Args) -> Result<(), Box<dyn std::error::Error>> {
    let repo = snapshot::Repository::open(Arc::new(snapshot::LocalDirectory::new(&a.repo)))?;
    let snap = repo.snapshot(&a.snapshot)?;
    let mut keys = Vec::new();
    for index in snap.index_names() {
        for shard in 0..snap.index(&index)?.number_of_shards {
            keys.push(ItemKey::shard(&index, shard));
        }
    }
    let s3 = backfill_harness::s3_client(&backfill_harness::sdk_config(&a.s3).await);
    backfill_harness::upload_dir(&s3, "snapshots", &a.backfill, &a.repo).await?;
    let location = format!("s3://snapshots/{}", a.backfill);
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&backfill_harness::sdk_config(&a.dynamodb).await),
        &a.table,
    );
    store.create_table().await?;
    let now = backfill_core::lease::now_ms();
    store
        .create_backfill(&BackfillRecord {
            state: BackfillState::Running,
            create_missing_indices: a.create_missing,
            desired_workers: 1,
            started_at: Some(now),
            range_split: match a.split_docs {
                Some(max_docs) => backfill_core::split::RangeSplit {
                    max_docs,
                    max_bytes: 0,
                },
                None => Default::default(),
            },
            ..BackfillRecord::new(
                &a.backfill,
                SnapshotRef {
                    repository: location.clone(),
                    name: a.snapshot.clone(),
                },
                TargetRef {
                    endpoint: a.target.clone(),
                },
                now,
            )
        })
        .await?;
    let new: Vec<NewItem> = keys
        .into_iter()
        .map(|key| NewItem {
            key,
            docs_expected: 0,
        })
        .collect();
    let created = store.create_items(&a.backfill, &new).await?;
    eprintln!("backfill {}: {} work item(s) created", a.backfill, created);
    println!("{location}");
    Ok(())
}
